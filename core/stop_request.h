// A request to stop that a background thread sleeps on: the one way Breakwater's loops (the
// storage use monitor, the status page's sampler, the crash mover, the processor's threads) wait
// between rounds and learn that they must end. `request` wakes every sleeper at once, so an owner
// that requests a stop and then joins its thread never waits out an interval.
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace bw {

class StopRequest {
 public:
  // Asks every waiter to stop and wakes them; later waits return at once. Idempotent.
  void request();
  // Withdraws the request, for an object that starts its threads again after a stop.
  void reset();
  // True once requested (and not reset since).
  bool requested() const { return requested_.load(); }
  // Sleeps up to `duration`; true when a stop was requested before or during the wait.
  bool wait_for(std::chrono::milliseconds duration);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> requested_{false};
};

}  // namespace bw
