// record_queue_depths: the gauges equal what the embedded queue holds (ready, in flight, dead
// letters per queue); a queue that cannot be read counts a failure and leaves the gauges alone; a
// queue that does not report in-flight messages gets no in_flight series.
#include "queue/queue_metrics.h"

#include <gtest/gtest.h>

#include "core/temp_dir.h"

namespace bw::queue {
namespace {

using namespace std::chrono_literals;

double gauge(const metrics::Registry& r, const std::string& queue, const std::string& state) {
  auto snap = r.snapshot();
  const auto* s = snap.series("bw_queue_messages", "{queue=\"" + queue + "\",state=\"" + state + "\"}");
  return s ? s->value : -1;
}

TEST(QueueMetricsTest, GaugesEqualTheEmbeddedQueue) {
  test_support::TempDir dir;
  QueueSettings settings;
  settings.embedded_path = dir.path() / "queue.sqlite";
  settings.lease = 60s;
  auto q = open_crash_queue(settings);
  for (int i = 0; i < 3; ++i) q->publish({CrashId::generate(ThrottleResult::kAccept)}, QueueKind::kStandard);
  q->publish({CrashId::generate(ThrottleResult::kAccept)}, QueueKind::kPriority);
  q->publish({CrashId::generate(ThrottleResult::kAccept)}, QueueKind::kPriority);
  auto first = q->consume(1s);  // priority first
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->queue, QueueKind::kPriority);
  auto second = q->consume(1s);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(q->give_up(*second, "test"));  // a dead letter of the priority queue

  metrics::Registry r;
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  ASSERT_TRUE(record_queue_depths(*q, r, at));
  EXPECT_EQ(gauge(r, "standard", "ready"), 3);
  EXPECT_EQ(gauge(r, "standard", "in_flight"), 0);
  EXPECT_EQ(gauge(r, "standard", "dead_letter"), 0);
  EXPECT_EQ(gauge(r, "priority", "ready"), 0);
  EXPECT_EQ(gauge(r, "priority", "in_flight"), 1);
  EXPECT_EQ(gauge(r, "priority", "dead_letter"), 1);
  EXPECT_EQ(gauge(r, "reprocessing", "ready"), 0);
  EXPECT_EQ(r.snapshot().series("bw_queue_stats_timestamp_seconds", "")->value, 1'800'000'000);
  EXPECT_NE(r.exposition().find("bw_queue_messages{queue=\"standard\",state=\"ready\"} 3\n"), std::string::npos);

  // The next reading follows the queue.
  ASSERT_TRUE(q->ack(*first));
  ASSERT_TRUE(record_queue_depths(*q, r));
  EXPECT_EQ(gauge(r, "priority", "in_flight"), 0);
}

// A queue whose stats() fails, or reports no in-flight count (as RabbitMQ).
class StatsOnlyQueue final : public CrashQueue {
 public:
  void publish(const CrashMessage&, QueueKind) override {}
  void publish_batch(std::span<const CrashMessage>, QueueKind) override {}
  std::optional<Delivery> consume(std::chrono::milliseconds) override { return std::nullopt; }
  bool ack(const Delivery&) override { return false; }
  bool retry(const Delivery&, std::string_view) override { return false; }
  bool give_up(const Delivery&, std::string_view) override { return false; }
  QueueStats stats() override {
    if (down) throw QueueUnavailable("broker unreachable");
    QueueStats s;
    s.in_flight_reported = false;
    s.queues[0].ready = 7;
    return s;
  }
  uint64_t purge(QueueKind) override { return 0; }
  bool down = false;
};

TEST(QueueMetricsTest, FailedReadingsAreCountedAndUnreportedStatesLeftOut) {
  StatsOnlyQueue q;
  metrics::Registry r;
  ASSERT_TRUE(record_queue_depths(q, r));
  EXPECT_EQ(gauge(r, "standard", "ready"), 7);
  EXPECT_EQ(gauge(r, "standard", "in_flight"), -1);  // not written, rather than written as 0
  q.down = true;
  EXPECT_FALSE(record_queue_depths(q, r));
  EXPECT_FALSE(record_queue_depths(q, r));
  EXPECT_EQ(r.snapshot().series("bw_queue_stats_failures_total", "")->value, 2);
  EXPECT_EQ(gauge(r, "standard", "ready"), 7);  // the last reading stays
}

}  // namespace
}  // namespace bw::queue
