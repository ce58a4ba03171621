// The one way tests start processes: `breakwater` itself in the end-to-end and collector tests,
// and the private PostgreSQL and RabbitMQ servers (tests/postgres, tests/rabbitmq).
//
// spawn_child is fork + exec with everything decided before the fork (after it, only
// async-signal-safe calls: the test process has threads): a clean signal mask (a test binary may
// block SIGTERM), output into files, optionally its own process group (so killpg reaches what the
// child starts), a parent-death signal (a crashed test leaves no server behind) and a user to run
// as (PostgreSQL refuses root).
//
// ChildProcess owns one started process: stopped (SIGTERM, then SIGKILL after a grace period) and
// reaped by the destructor, so a failing test never leaves processes behind. Drive one object from
// one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bw::test_support {

struct SpawnOptions {
  std::vector<std::string> argv;                // argv[0] is a path (no PATH search)
  std::optional<std::vector<std::string>> env;  // "NAME=value" entries; nullopt: this process's
  std::filesystem::path cwd;                    // empty: this process's
  std::filesystem::path out;                    // stdout; empty: /dev/null
  std::filesystem::path err;                    // stderr; empty: the same file as out
  bool truncate = false;                        // empty the files first (else append)
  bool own_process_group = false;
  int parent_death_signal = 0;  // sent to the child when this process dies; 0: none
  // Run as this user and group, without supplementary groups (needs root).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// Starts the process; returns its pid. Throws std::runtime_error when fork fails. When exec (or the
// preparation before it) fails the child exits with 127 (126: cwd, 125: user or group).
pid_t spawn_child(const SpawnOptions& options);
// The exit code in a wait status, or 128 + the signal that ended the process.
int exit_code(int wait_status);
// Waits (EINTR-safe) for a child to end; returns exit_code of its status, or -1 if it is not ours.
int wait_exit_code(pid_t pid);
// The last `max_bytes` of a file (a child's log, for an error message); empty when unreadable.
std::string file_tail(const std::filesystem::path& path, size_t max_bytes);

class ChildProcess {
 public:
  explicit ChildProcess(SpawnOptions options);
  // Starts argv with stdout and stderr in <log_prefix>.out / .err (emptied first).
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_prefix);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;
  // Waits until stdout contains `text`; false at the deadline or if the process ended.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // The next whole line of stdout after the previous one read_line returned; throws
  // std::runtime_error at the deadline or when the process ended without writing one.
  std::string read_line(std::chrono::milliseconds timeout);
  // SIGTERM (or `signal`), wait up to `grace`, then SIGKILL. Returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(60), int signal = 15 /* SIGTERM */);
  void kill_now();  // SIGKILL (to the group when it has its own) and reap
  // Waits for exit; the wait status, or nullopt at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // Child process ids of this process (from /proc), e.g. stack-walking workers.
  std::vector<pid_t> children() const;

 private:
  void send(int signal) const;

  SpawnOptions options_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  size_t lines_read_ = 0;  // bytes of stdout already returned by read_line
};

// A forked copy of this test process running `body` (its return value is the exit code; an
// exception is printed to stderr and exits 2), for tests that need a second process of the same
// code: several processes on one file, a process killed mid-operation. The copy gets SIGKILL if
// this process dies, and leaves with _exit (no destructors, no GoogleTest handlers: it is a copy
// of the test runner). Killed (SIGKILL) and reaped by the destructor unless already waited for.
class ForkedChild {
 public:
  explicit ForkedChild(const std::function<int()>& body);
  ~ForkedChild();
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for the exit; returns the wait status (-1 when already reaped).
  int wait();
  // Waits for the exit; true when it exited with 0.
  bool succeeded() { return exit_code(wait()) == 0; }
  void kill_now();  // SIGKILL and reap

 private:
  pid_t pid_ = -1;
};

// Runs a command to completion (killed at the timeout: exit_code -1) with its output.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run(std::vector<std::string> argv, const std::filesystem::path& log_prefix,
              std::chrono::milliseconds timeout = std::chrono::seconds(300));

}  // namespace bw::test_support
