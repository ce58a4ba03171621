// The in-memory queue: the shared behavioural suite, plus what only it shows (a consumer is an
// instance, an outage is set by the test).
#include "queue/memory_crash_queue.h"

#include <gtest/gtest.h>

#include <thread>

#include "queue/crash_queue_contract.h"

namespace bw::queue {
namespace {

using namespace std::chrono_literals;

class MemoryBackend : public contract::QueueBackend {
 public:
  QueueSettings fresh_settings() override { return QueueSettings{}; }
  void inject_raw(const QueueSettings&, QueueKind queue, const std::string& body) override {
    broker_.inject_raw(queue, body);
  }
  void interrupt() override {
    broker_.set_available(false);
    std::this_thread::sleep_for(1s);
    broker_.set_available(true);
  }
  std::chrono::milliseconds redelivery_delay() const override { return 0ms; }
  bool strict_priority() const override { return true; }
  std::unique_ptr<CrashQueue> open(const QueueSettings& settings) override { return broker_.connect(settings); }
  // A consumer here is an instance: it dies by being destroyed with its delivery unended.
  std::string consume_and_die(const QueueSettings& settings) override {
    auto q = open(settings);
    auto d = q->consume(10s);
    return d ? d->message.encode() : "none";
  }

 private:
  MemoryQueueBroker broker_;
};

using contract::CrashQueueContract;
INSTANTIATE_TEST_SUITE_P(Memory, CrashQueueContract,
                         ::testing::Values(contract::BackendFactory([] { return std::make_unique<MemoryBackend>(); })));

TEST(MemoryCrashQueue, AnOutageGivesBackWhatWasDeliveredAndRefusesUntilItEnds) {
  MemoryQueueBroker broker;
  QueueSettings settings;
  settings.publish_timeout = 200ms;
  auto q = broker.connect(settings);
  CrashMessage m{contract::test_crash_id()};
  q->publish(m, QueueKind::kStandard);
  auto d = q->consume(1s);
  ASSERT_TRUE(d);

  broker.set_available(false);
  EXPECT_THROW(q->consume(100ms), QueueUnavailable);
  EXPECT_THROW(q->publish(m, QueueKind::kStandard), QueueUnavailable);
  EXPECT_THROW(q->stats(), QueueUnavailable);
  EXPECT_FALSE(q->ack(*d)) << "the outage ended the delivery";

  broker.set_available(true);
  auto again = q->consume(1s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->message, m);
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_TRUE(q->ack(*again));
  EXPECT_EQ(q->stats().of(QueueKind::kStandard).ready, 0u);
}

TEST(MemoryCrashQueue, ADeliveryIsOnlyItsReceiversToEnd) {
  MemoryQueueBroker broker;
  auto mine = broker.connect(QueueSettings{});
  auto other = broker.connect(QueueSettings{});
  mine->publish(CrashMessage{contract::test_crash_id()}, QueueKind::kPriority);
  auto d = mine->consume(1s);
  ASSERT_TRUE(d);
  EXPECT_EQ(other->stats().of(QueueKind::kPriority).in_flight, 1u);
  EXPECT_FALSE(other->ack(*d));
  EXPECT_FALSE(other->give_up(*d, "not mine"));
  EXPECT_TRUE(mine->ack(*d));
  EXPECT_EQ(other->stats().of(QueueKind::kPriority).in_flight, 0u);
}

TEST(MemoryCrashQueue, SettingsWithoutAFileOrUrlAreEnoughButBadDeliverySettingsAreRefused) {
  MemoryQueueBroker broker;
  QueueSettings bad;
  bad.max_deliveries = 0;
  EXPECT_THROW(broker.connect(bad), std::invalid_argument);
  EXPECT_NO_THROW(broker.connect(QueueSettings{}));
}

}  // namespace
}  // namespace bw::queue
