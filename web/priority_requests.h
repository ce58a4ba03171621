// Priority processing for crashes someone is looking at (docs/design.md §12): the report page of a
// crash that is stored but not processed asks for it here, and this pushes its id onto the priority
// queue, at most once per `interval` per crash (crash-stats keeps a 60 s cache key for the same).
//
// What it promises:
// - `request` never blocks on the queue: it records the crash and returns; one background thread
//   publishes (a publish may wait up to queue.publish_timeout through an outage).
// - At most one publish per crash per `interval`, counted from the request that scheduled it; a
//   publish that failed is not retried before the interval is over (the next view after it
//   asks again). Failures are logged, counted and reported by `health_problem`.
// - Memory is bounded: at most `max_tracked` crashes are remembered. When every one of them was
//   asked for within the interval, a new crash is refused (kRefused) rather than letting a flood
//   of page views flood the priority queue; it is processed in its turn.
//
// Ownership and threads: borrows the queue, which must outlive this object. All members may be
// called from any thread. The destructor stops the thread; publishes not yet started are dropped
// (the crash is still stored, and the next view asks again).
// Metrics: bw_web_priority_requests_total{result="scheduled|recent|refused"},
// bw_web_priority_publishes_total{result="ok|failed"}.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/crash_id.h"
#include "core/failure_streak.h"
#include "queue/crash_queue.h"

namespace bw::web {

class PriorityRequests {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Result { kScheduled, kRecent, kRefused };

  struct Options {
    std::chrono::milliseconds interval{std::chrono::minutes(1)};
    size_t max_tracked = 10000;
  };

  PriorityRequests(queue::CrashQueue& queue, Options options);
  ~PriorityRequests();
  PriorityRequests(const PriorityRequests&) = delete;
  PriorityRequests& operator=(const PriorityRequests&) = delete;

  // Asks for `id` to be processed first. kScheduled: a publish is now on its way; kRecent: one
  // was scheduled within the interval; kRefused: too many crashes asked for at once.
  Result request(const CrashId& id, Clock::time_point now = Clock::now());

  // Publishes done (successful or not) since construction: for tests waiting on the thread.
  uint64_t publishes_done() const;
  // Crashes remembered right now (never above max_tracked).
  size_t tracked() const;
  // "web: priority queue: failing for ..." while publishes fail; nullopt otherwise.
  std::optional<std::string> health_problem() const;
  // The queue it publishes to (the status page reads its depths from the same instance).
  queue::CrashQueue& queue() const { return queue_; }

 private:
  void run();

  queue::CrashQueue& queue_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<CrashId, Clock::time_point> asked_;  // crash → when a publish was scheduled
  std::deque<CrashId> to_publish_;
  uint64_t publishes_done_ = 0;
  bool stopping_ = false;
  FailureStreak failures_;
  std::thread thread_;
};

}  // namespace bw::web
