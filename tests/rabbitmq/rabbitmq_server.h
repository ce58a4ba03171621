// A private RabbitMQ broker for tests: started on loopback on free ports, with its own node name,
// data and log folders, Erlang cookie (HOME points into the temporary folder) and its own epmd on
// a free port, so test binaries never touch a system broker or each other. No plugins are
// enabled (so no management listener).
//
// Ownership: the object owns the broker process group, its epmd and the temporary folder; the
// destructor stops both processes (SIGTERM, then SIGKILL after a timeout) and removes the folder.
// stop() and start() keep the data folder and ports, so durable queues survive a restart and
// clients can reconnect to the same URL.
//
// Errors: std::runtime_error when the broker cannot be started (not installed, no free port,
// did not answer within the start timeout); available() tells tests whether to skip.
// Thread safety: none; drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace bw::testing {

class RabbitMqServer {
 public:
  // Creates the folders and starts the broker; waits until it accepts AMQP logins.
  explicit RabbitMqServer(std::chrono::seconds start_timeout = std::chrono::seconds(120));
  ~RabbitMqServer();
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  // True when rabbitmq-server and epmd are installed.
  static bool available();

  // amqp://guest:guest@127.0.0.1:<port>/
  std::string url() const;
  int port() const { return amqp_port_; }

  // Graceful stop (SIGTERM to the broker's process group); waits for it to exit.
  void stop();
  // Starts again on the same ports and data; waits until it accepts logins.
  void start();
  // SIGKILL of the broker's process group, no shutdown at all.
  void kill();
  bool running() const { return broker_pid_ > 0; }

 private:
  void start_epmd();
  void wait_until_ready();
  void wait_for_exit(pid_t pid, std::chrono::seconds timeout);

  std::filesystem::path base_;
  std::string node_name_;
  int amqp_port_ = 0;
  int dist_port_ = 0;
  int epmd_port_ = 0;
  pid_t broker_pid_ = -1;
  pid_t epmd_pid_ = -1;
  std::chrono::seconds start_timeout_;
};

}  // namespace bw::testing
