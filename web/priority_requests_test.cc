// Priority requests: at most one publish per crash per interval, bounded memory, failures
// reported, and the publishes really land on the (embedded) priority queue.
#include "web/priority_requests.h"

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "core/temp_dir.h"

namespace bw::web {
namespace {

using namespace std::chrono_literals;
using Clock = PriorityRequests::Clock;

queue::QueueSettings embedded(const test_support::TempDir& dir) {
  queue::QueueSettings s;
  s.embedded_path = dir.path() / "queue" / "crash-queue.sqlite";
  return s;
}

bool wait_for_publishes(const PriorityRequests& p, uint64_t n) {
  auto deadline = Clock::now() + 10s;
  while (p.publishes_done() < n && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return p.publishes_done() >= n;
}

// Every message on the priority queue now.
std::vector<std::string> drain_priority(queue::CrashQueue& q) {
  std::vector<std::string> ids;
  while (auto d = q.consume(50ms)) {
    EXPECT_EQ(d->queue, queue::QueueKind::kPriority);
    ids.push_back(d->message.id.str());
    q.ack(*d);
  }
  return ids;
}

TEST(PriorityRequestsTest, PublishesOncePerIntervalPerCrash) {
  test_support::TempDir dir;
  auto q = queue::open_crash_queue(embedded(dir));
  auto consumer = queue::open_crash_queue(embedded(dir));
  PriorityRequests p(*q, {60s, 100});
  CrashId a = CrashId::generate(ThrottleResult::kDefer);
  CrashId b = CrashId::generate(ThrottleResult::kAccept);
  auto t0 = Clock::now();
  EXPECT_EQ(p.request(a, t0), PriorityRequests::Result::kScheduled);
  EXPECT_EQ(p.request(a, t0 + 1s), PriorityRequests::Result::kRecent);
  EXPECT_EQ(p.request(a, t0 + 59s), PriorityRequests::Result::kRecent);
  EXPECT_EQ(p.request(b, t0 + 1s), PriorityRequests::Result::kScheduled);
  ASSERT_TRUE(wait_for_publishes(p, 2));
  auto ids = drain_priority(*consumer);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> want = {a.str(), b.str()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);

  // Once the minute is over, a view asks again.
  EXPECT_EQ(p.request(a, t0 + 60s), PriorityRequests::Result::kScheduled);
  ASSERT_TRUE(wait_for_publishes(p, 3));
  EXPECT_EQ(drain_priority(*consumer), std::vector<std::string>{a.str()});
  EXPECT_EQ(q->stats().of(queue::QueueKind::kStandard).ready, 0u);
}

TEST(PriorityRequestsTest, MemoryIsBoundedAndFloodsAreRefused) {
  test_support::TempDir dir;
  auto q = queue::open_crash_queue(embedded(dir));
  PriorityRequests p(*q, {60s, 3});
  auto t0 = Clock::now();
  std::vector<CrashId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(CrashId::generate(ThrottleResult::kDefer));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.request(ids[i], t0), PriorityRequests::Result::kScheduled);
  EXPECT_EQ(p.request(ids[3], t0 + 10s), PriorityRequests::Result::kRefused);
  EXPECT_EQ(p.tracked(), 3u);
  // After the interval the old entries make room.
  EXPECT_EQ(p.request(ids[4], t0 + 61s), PriorityRequests::Result::kScheduled);
  EXPECT_LE(p.tracked(), 3u);
  ASSERT_TRUE(wait_for_publishes(p, 4));
}

// A queue that is down: every publish fails as a broker outage would.
class DownQueue final : public queue::CrashQueue {
 public:
  void publish(const queue::CrashMessage&, queue::QueueKind) override { throw queue::QueueUnavailable("broker unreachable"); }
  void publish_batch(std::span<const queue::CrashMessage>, queue::QueueKind) override {
    throw queue::QueueUnavailable("broker unreachable");
  }
  std::optional<queue::Delivery> consume(std::chrono::milliseconds) override { return std::nullopt; }
  bool ack(const queue::Delivery&) override { return false; }
  bool retry(const queue::Delivery&, std::string_view) override { return false; }
  bool give_up(const queue::Delivery&, std::string_view) override { return false; }
  queue::QueueStats stats() override { return {}; }
  uint64_t purge(queue::QueueKind) override { return 0; }
};

TEST(PriorityRequestsTest, FailuresAreReportedAndNotRetriedWithinTheInterval) {
  DownQueue q;
  PriorityRequests p(q, {60s, 10});
  CrashId a = CrashId::generate(ThrottleResult::kDefer);
  auto t0 = Clock::now();
  EXPECT_FALSE(p.health_problem());
  EXPECT_EQ(p.request(a, t0), PriorityRequests::Result::kScheduled);
  ASSERT_TRUE(wait_for_publishes(p, 1));
  auto problem = p.health_problem();
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("broker unreachable"), std::string::npos) << *problem;
  EXPECT_EQ(p.request(a, t0 + 1s), PriorityRequests::Result::kRecent);
}

}  // namespace
}  // namespace bw::web
