#include "queue/queue_metrics.h"

#include <string>

#include "core/log.h"

namespace bw::queue {

bool record_queue_depths(CrashQueue& queue, metrics::Registry& registry, std::chrono::system_clock::time_point now) {
  QueueStats stats;
  try {
    stats = queue.stats();
  } catch (const QueueUnavailable& e) {
    registry.counter("bw_queue_stats_failures_total", "queue depth readings that failed (queue unreachable)").inc();
    logger("queue")->warn("cannot read the queue depths: {}", e.what());
    return false;
  }
  const std::string help = "messages in each queue at the last reading, by state";
  for (QueueKind kind : kAllQueueKinds) {
    const QueueDepth& d = stats.of(kind);
    const std::string name(to_string(kind));
    registry.gauge("bw_queue_messages", help, {{"queue", name}, {"state", "ready"}}).set(static_cast<double>(d.ready));
    if (stats.in_flight_reported) {
      registry.gauge("bw_queue_messages", help, {{"queue", name}, {"state", "in_flight"}})
          .set(static_cast<double>(d.in_flight));
    }
    registry.gauge("bw_queue_messages", help, {{"queue", name}, {"state", "dead_letter"}})
        .set(static_cast<double>(d.dead_letters));
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  registry.gauge("bw_queue_stats_timestamp_seconds", "Unix time of the last successful queue depth reading")
      .set(static_cast<double>(seconds));
  return true;
}

}  // namespace bw::queue
