// A RAII wrapper over one librabbitmq connection with one open channel.
//
// Construction connects (TCP with a timeout), logs in and opens channel 1; destruction closes the
// channel and the connection politely when it still can and frees everything. Every failure is an
// AmqpError carrying the broker's or the library's reason; after one, the object must be dropped
// (the protocol state is unknown) and a new one made: that is how callers reconnect.
//
// Thread safety: none; one thread at a time per object.
#pragma once

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace bw::queue {

class AmqpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AmqpEndpoint {
  std::string host = "localhost";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";

  // amqp://user:pass@host:port/vhost (vhost percent-decoded; "/" when absent). Throws
  // std::invalid_argument for anything else, amqps:// included (TLS is not supported yet).
  static AmqpEndpoint parse(const std::string& url);
  // host:port/vhost, without credentials, for logs.
  std::string display() const;
};

class AmqpConnection {
 public:
  static constexpr amqp_channel_t kChannel = 1;

  AmqpConnection(const AmqpEndpoint& endpoint, std::chrono::seconds heartbeat,
                 std::chrono::milliseconds timeout);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t state() const { return state_; }

  // Throws AmqpError unless the last synchronous RPC succeeded.
  void check_rpc(const char* what);
  void check_reply(const amqp_rpc_reply_t& reply, const char* what);
  // Throws AmqpError for a negative librabbitmq status.
  static void check_status(int status, const char* what);
  // The socket or protocol failed: skip the polite close on destruction, it cannot succeed.
  void mark_broken() {
    channel_open_ = false;
    logged_in_ = false;
  }

 private:
  amqp_connection_state_t state_ = nullptr;
  bool channel_open_ = false;
  bool logged_in_ = false;
};

// A short text for an RPC reply ("CHANNEL_CLOSE 404 NOT_FOUND - no queue 'x'", "socket closed").
std::string describe_reply(const amqp_rpc_reply_t& reply);

}  // namespace bw::queue
