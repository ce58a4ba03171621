// Queue depths as metrics (docs/design.md §14): one reading of CrashQueue::stats() written into
// gauges, so /metrics and the status page (web/status_page.h) show how much work is waiting.
//
//   bw_queue_messages{queue="standard|priority|reprocessing",state="ready|in_flight|dead_letter"}
//       messages in each queue at the last reading. `in_flight` only where the queue reports it
//       (the embedded queue; RabbitMQ's passive declare counts ready messages only, so the series
//       is not written for it rather than written as 0).
//   bw_queue_stats_timestamp_seconds   Unix time of the last successful reading
//   bw_queue_stats_failures_total      readings that failed (queue unreachable)
//
// Whoever holds a queue decides how often to read it (the web app's status page does every
// 10 s). A failed reading leaves the gauges at their last values; the timestamp tells how old
// they are.
// Thread safety: as CrashQueue::stats() (safe from any thread) and the registry.
#pragma once

#include <chrono>

#include "core/metrics.h"
#include "queue/crash_queue.h"

namespace bw::queue {

// Reads `queue.stats()` once and sets the gauges above. Returns false (and counts a failure)
// when the queue could not be read (QueueUnavailable); other exceptions propagate.
bool record_queue_depths(CrashQueue& queue, metrics::Registry& registry,
                         std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace bw::queue
