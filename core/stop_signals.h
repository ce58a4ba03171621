// Waiting for SIGINT/SIGTERM in a long-running process (every role: collector, processor, web,
// serve). Construct it first thing (before any thread starts) so the signals are blocked in every
// thread and delivered only to `wait`.
// Thread safety: one object per process; `wait` and `wait_for` from one thread.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>

namespace bw {

class StopSignals {
 public:
  StopSignals();   // blocks SIGINT and SIGTERM in this thread and the threads it starts
  ~StopSignals();  // restores the previous mask
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // Returns the signal that arrived.
  int wait();
  // The signal that arrived within `timeout`, or nullopt (a loop that also watches other work).
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

}  // namespace bw
