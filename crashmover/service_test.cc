// The crash mover service as the commands assemble it: configuration, real file-system storages
// and the embedded queue of the data folder.
#include "crashmover/service.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "crashmover/crash_mover_test_util.h"
#include "storage/factory.h"

namespace bw::crashmover {
namespace {

using namespace std::chrono_literals;
using namespace bw::crashmover::testing;

TEST(CrashMoverService, DrainsOnTheCallersThreadThenRunsOnItsOwnUntilStopped) {
  TempDir dir;
  Config::Sources sources;
  sources.overrides = {{"server.data", dir.path().string()}, {"crashmover.idle_wait", "20ms"}};
  Config config = Config::load(sources);
  auto buffer = storage::make_collector_buffer(config);
  auto primary = storage::make_primary_storage(config);
  const CrashId first = CrashId::generate(ThrottleResult::kAccept);
  collect(*buffer, first);

  CrashMoverService service(config, {buffer.get()}, *primary, 7);
  EXPECT_EQ(service.settings().batch_size, 7u) << "the command's --batch-size";
  EXPECT_EQ(service.settings().idle_wait, 20ms) << "the rest from [crashmover]";
  service.drain();
  EXPECT_EQ(service.counts().moved, 1u);
  EXPECT_TRUE(primary->has_raw_crash(first));

  service.start();
  const CrashId second = CrashId::generate(ThrottleResult::kAccept);
  collect(*buffer, second);
  EXPECT_TRUE(eventually([&] { return service.counts().moved == 2; }, 30s)) << "moved by the service's thread";
  EXPECT_TRUE(service.health_problems().empty());
  service.stop();
  service.stop();  // idempotent

  // Both were published on the data folder's queue, the one the processors consume.
  auto q = queue::open_crash_queue(queue::QueueSettings::from_config(config));
  auto queued = drain_queue(*q);
  EXPECT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[first.str()], 1);
  EXPECT_EQ(queued[second.str()], 1);
}

}  // namespace
}  // namespace bw::crashmover
