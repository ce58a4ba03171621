#include "queue/amqp_connection.h"

#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <cstring>
#include <vector>

namespace bw::queue {
namespace {

std::string bytes_text(const amqp_bytes_t& b) {
  return b.bytes ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string();
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

AmqpEndpoint AmqpEndpoint::parse(const std::string& url) {
  if (url.rfind("amqp://", 0) != 0) throw std::invalid_argument("queue url must start with amqp://");
  // amqp_parse_url points into (and decodes in place) the buffer it is given.
  std::vector<char> buffer(url.begin(), url.end());
  buffer.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    throw std::invalid_argument("queue url is not amqp://user:pass@host:port/vhost");
  }
  AmqpEndpoint e;
  e.host = info.host ? info.host : "localhost";
  e.port = info.port;
  e.user = info.user ? info.user : "guest";
  e.password = info.password ? info.password : "guest";
  e.vhost = info.vhost ? info.vhost : "/";
  // librabbitmq reads "amqp://host" (no path) as vhost "/" and "amqp://host/" as "": both mean "/".
  if (e.vhost.empty()) e.vhost = "/";
  if (e.port <= 0 || e.port > 65535) throw std::invalid_argument("queue url port out of range");
  return e;
}

std::string AmqpEndpoint::display() const { return host + ":" + std::to_string(port) + "/" + vhost; }

std::string describe_reply(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return "connection closed by broker: " + std::to_string(m->reply_code) + " " + bytes_text(m->reply_text);
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return "channel closed by broker: " + std::to_string(m->reply_code) + " " + bytes_text(m->reply_text);
      }
      return "unexpected broker method " + std::to_string(reply.reply.id);
  }
  return "unknown reply";
}

AmqpConnection::AmqpConnection(const AmqpEndpoint& endpoint, std::chrono::seconds heartbeat,
                               std::chrono::milliseconds timeout) {
  state_ = amqp_new_connection();
  if (!state_) throw AmqpError("out of memory creating an AMQP connection");
  amqp_socket_t* socket = amqp_tcp_socket_new(state_);
  if (!socket) {
    amqp_destroy_connection(state_);
    throw AmqpError("cannot create an AMQP socket");
  }
  try {
    timeval tv = to_timeval(timeout);
    int status = amqp_socket_open_noblock(socket, endpoint.host.c_str(), endpoint.port, &tv);
    if (status != AMQP_STATUS_OK) {
      throw AmqpError("cannot connect to " + endpoint.display() + ": " + amqp_error_string2(status));
    }
    check_status(amqp_set_handshake_timeout(state_, &tv), "handshake timeout");
    check_status(amqp_set_rpc_timeout(state_, &tv), "rpc timeout");
    amqp_rpc_reply_t login =
        amqp_login(state_, endpoint.vhost.c_str(), 0, 131072, static_cast<int>(heartbeat.count()),
                   AMQP_SASL_METHOD_PLAIN, endpoint.user.c_str(), endpoint.password.c_str());
    check_reply(login, "login");
    logged_in_ = true;
    amqp_channel_open(state_, kChannel);
    check_rpc("channel open");
    channel_open_ = true;
  } catch (...) {
    if (logged_in_) amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
    state_ = nullptr;
    throw;
  }
}

AmqpConnection::~AmqpConnection() {
  if (!state_) return;
  // Polite close when the link is still up; errors here only mean it was already gone.
  if (channel_open_) amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
  if (logged_in_) amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state_);
}

void AmqpConnection::check_rpc(const char* what) { check_reply(amqp_get_rpc_reply(state_), what); }

void AmqpConnection::check_reply(const amqp_rpc_reply_t& reply, const char* what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
    // The broker closed the channel or connection: nothing else can be sent on it.
    channel_open_ = false;
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) logged_in_ = false;
  } else {
    channel_open_ = false;
    logged_in_ = false;
  }
  throw AmqpError(std::string(what) + ": " + describe_reply(reply));
}

void AmqpConnection::check_status(int status, const char* what) {
  if (status < 0) throw AmqpError(std::string(what) + ": " + amqp_error_string2(status));
}

}  // namespace bw::queue
