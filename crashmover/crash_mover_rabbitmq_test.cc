// The crash mover with RabbitMQ as its queue (a private broker, tests/rabbitmq): the broker
// goes down while crashes arrive; the mover backs off, the backlog grows, and it drains by itself
// once the broker is back, every crash stored and queued once.
#include <gtest/gtest.h>

#include <thread>

#include "crashmover/crash_mover.h"
#include "crashmover/crash_mover_test_util.h"
#include "queue/rabbitmq_crash_queue.h"
#include "tests/rabbitmq/rabbitmq_server.h"

namespace bw::crashmover {
namespace {

using namespace std::chrono_literals;
using namespace bw::crashmover::testing;

TEST(CrashMoverWithRabbitMq, QueueDownBacklogGrowsThenDrainsToZero) {
  if (!bw::testing::RabbitMqServer::available()) GTEST_SKIP() << "rabbitmq-server is not installed";
  bw::testing::RabbitMqServer broker;
  Site site;
  queue::QueueSettings qs;
  qs.url = broker.url();
  qs.publish_timeout = 500ms;
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  auto primary = site.primary();
  queue::RabbitMqCrashQueue q(qs);
  MoverSettings settings;
  settings.backoff_initial = 100ms;
  settings.backoff_max = 800ms;
  settings.idle_wait = 50ms;
  CrashMover mover({&buffer}, *primary, q, settings);
  std::thread runner([&] { mover.run(); });

  std::vector<CrashId> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(CrashId::generate(i % 4 == 0 ? ThrottleResult::kDefer : ThrottleResult::kAccept));
    collect(buffer, ids.back());
  }
  ASSERT_TRUE(eventually([&] { return mover.counts().moved == 20; }, 120s));

  broker.stop();
  // The collector keeps accepting. (Only accepted crashes: a deferred one needs no queue and is
  // moved even now, which is right but would blur the count.)
  for (int i = 0; i < 40; ++i) {
    ids.push_back(CrashId::generate(ThrottleResult::kAccept));
    collect(buffer, ids.back());
  }
  ASSERT_TRUE(eventually([&] { return mover.counts().retries >= 3; }, 120s));
  EXPECT_EQ(mover.counts().moved, 20u) << "nothing is confirmed while the queue is down";
  // Polled: a batch in progress holds its crashes as claims, which the backlog does not list.
  EXPECT_TRUE(eventually([&] { return mover.backlog().crashes == 40u; }, 60s)) << mover.backlog().crashes;

  broker.start();
  ASSERT_TRUE(eventually([&] { return mover.counts().moved == 60; }, 180s));
  mover.stop();
  runner.join();
  EXPECT_EQ(mover.backlog().crashes, 0u);

  std::map<std::string, int> queued = drain_queue(q);
  for (const auto& id : ids) {
    EXPECT_TRUE(primary->has_raw_crash(id)) << id.str();
    EXPECT_EQ(queued.count(id.str()) ? queued[id.str()] : 0, id.throttle() == ThrottleResult::kAccept ? 1 : 0)
        << id.str();
  }
}

}  // namespace
}  // namespace bw::crashmover
