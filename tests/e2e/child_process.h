// A child process for end-to-end tests: started with posix_spawn, stdout and stderr in files,
// stopped (SIGTERM, then SIGKILL after a grace period) and reaped by the destructor, so a failing
// test never leaves processes behind. Thread safety: drive one object from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bw::e2e {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with argv; output goes to <log_prefix>.out / .err.
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_prefix);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;
  // Waits until stdout contains `text`; false at the deadline or if the process ended.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(60));
  void kill_now();  // SIGKILL and reap
  // Waits for exit; nullopt at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // Child process ids of this process (from /proc), e.g. stack-walking workers.
  std::vector<pid_t> children() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_, err_;
};

// Runs a command to completion; returns its exit code and stdout.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run(std::vector<std::string> argv, const std::filesystem::path& log_prefix,
              std::chrono::milliseconds timeout = std::chrono::seconds(300));

}  // namespace bw::e2e
