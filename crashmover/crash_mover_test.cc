// The crash mover against real file-system storages. The queue is the in-memory one where it is
// incidental to the test, and the embedded SQLite queue where processes, outages or kills matter.
#include "crashmover/crash_mover.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "core/config.h"
#include "crashmover/crash_mover_test_util.h"
#include "queue/memory_crash_queue.h"
#include "tests/child_process/child_process.h"

namespace bw::crashmover {
namespace {

using namespace std::chrono_literals;
using namespace bw::crashmover::testing;

MoverSettings fast_settings() {
  MoverSettings s;
  s.backoff_initial = 50ms;
  s.backoff_max = 400ms;
  s.idle_wait = 50ms;
  s.claim_lease = 60s;
  s.backlog_interval = 100ms;
  return s;
}

TEST(MoverSettings, DefaultsAreOneSecondDoublingToSixty) {
  auto s = MoverSettings::from_config(Config::defaults());
  EXPECT_EQ(s.backoff_initial, 1s);
  EXPECT_EQ(s.backoff_max, 60s);
  EXPECT_EQ(s.claim_lease, 300s);
  EXPECT_EQ(s.idle_wait, 100ms) << "one default for serve and a separate crash mover";
  Config::Sources src;
  src.overrides = {{"crashmover.backoff_initial", "2m"}, {"crashmover.backoff_max", "1m"}};
  EXPECT_THROW(MoverSettings::from_config(Config::load(src)), ConfigError);
}

TEST(CrashMover, MovesAcceptedToStandardAndQueuesThemDeferredToDeferredOnly) {
  Site site;
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  auto primary = site.primary();
  queue::MemoryQueueBroker broker;
  auto q = broker.connect(site.queue_settings());
  std::vector<CrashId> accepted, deferred;
  for (int i = 0; i < 5; ++i) accepted.push_back(CrashId::generate(ThrottleResult::kAccept));
  for (int i = 0; i < 3; ++i) deferred.push_back(CrashId::generate(ThrottleResult::kDefer));
  for (const auto& id : accepted) collect(buffer, id);
  for (const auto& id : deferred) collect(buffer, id);

  CrashMover mover({&buffer}, *primary, *q, fast_settings());
  EXPECT_EQ(mover.backlog().crashes, 8u);
  EXPECT_TRUE(mover.backlog().oldest_age.has_value());
  mover.drain();

  storage::FileSystemRawCrashStorage standard_root(site.standard), deferred_root(site.deferred);
  for (const auto& id : accepted) {
    EXPECT_TRUE(standard_root.has_raw_crash(id));
    EXPECT_EQ(primary->get_dump(id, "upload_file_minidump"), dump_bytes(id));
    EXPECT_EQ(primary->get_raw_crash(id)["uuid"], id.str());
  }
  for (const auto& id : deferred) {
    EXPECT_TRUE(deferred_root.has_raw_crash(id));
    EXPECT_FALSE(standard_root.has_raw_crash(id));
  }
  auto queued = drain_queue(*q);
  EXPECT_EQ(queued.size(), accepted.size());
  for (const auto& id : accepted) EXPECT_EQ(queued[id.str()], 1);
  EXPECT_TRUE(buffer.new_crashes(100).empty());
  // Moved crashes leave the buffer entirely, not only its date tree.
  for (const auto& id : accepted) EXPECT_FALSE(buffer.has_raw_crash(id));
  for (const auto& id : deferred) EXPECT_FALSE(buffer.has_raw_crash(id));
  EXPECT_EQ(mover.backlog().crashes, 0u);
  auto counts = mover.counts();
  EXPECT_EQ(counts.moved, 8u);
  EXPECT_EQ(counts.queued, 5u);
  EXPECT_EQ(counts.deferred, 3u);
  EXPECT_EQ(counts.retries, 0u);
}

TEST(CrashMover, TwoMoversShareTwoCollectorBuffersEachCrashStoredAndQueuedOnce) {
  const size_t total = 10000 / kScale;
  Site site(fast_temp_base());
  std::vector<CrashId> ids;
  {
    storage::FileSystemRawCrashStorage a(site.buffer_a), b(site.buffer_b);
    for (size_t i = 0; i < total; ++i) {
      auto id = CrashId::generate(i % 10 == 0 ? ThrottleResult::kDefer : ThrottleResult::kAccept);
      collect(i % 2 ? a : b, id);
      ids.push_back(id);
    }
  }
  RecordProperty("crashes", static_cast<int>(total));
  std::vector<MoverCounts> counts(2);
  std::vector<std::thread> movers;
  for (int m = 0; m < 2; ++m) {
    movers.emplace_back([&, m] {
      // Each mover has its own objects, as separate processes would.
      storage::FileSystemRawCrashStorage a(site.buffer_a), b(site.buffer_b);
      auto primary = site.primary();
      auto q = queue::open_crash_queue(site.queue_settings());
      CrashMover mover(m == 0 ? std::vector<storage::CrashStorage*>{&a, &b} : std::vector<storage::CrashStorage*>{&b, &a},
                       *primary, *q, fast_settings());
      mover.drain();
      counts[m] = mover.counts();
    });
  }
  for (auto& t : movers) t.join();

  EXPECT_EQ(counts[0].moved + counts[1].moved, total);
  EXPECT_GT(counts[0].moved, 0u);
  EXPECT_GT(counts[1].moved, 0u);
  storage::FileSystemRawCrashStorage standard_root(site.standard), deferred_root(site.deferred);
  auto q = queue::open_crash_queue(site.queue_settings());
  auto queued = drain_queue(*q);
  size_t accepted = 0;
  for (const auto& id : ids) {
    bool is_accepted = id.throttle() == ThrottleResult::kAccept;
    accepted += is_accepted;
    ASSERT_EQ(standard_root.has_raw_crash(id), is_accepted) << id.str();
    ASSERT_EQ(deferred_root.has_raw_crash(id), !is_accepted) << id.str();
    ASSERT_EQ(queued.count(id.str()) ? queued[id.str()] : 0, is_accepted ? 1 : 0) << id.str();
  }
  EXPECT_EQ(queued.size(), accepted);
  storage::FileSystemRawCrashStorage a(site.buffer_a), b(site.buffer_b);
  EXPECT_TRUE(a.new_crashes(10).empty());
  EXPECT_TRUE(b.new_crashes(10).empty());
}

TEST(CrashMover, PrimaryStorageDownBacklogGrowsThenDrainsToZero) {
  Site site;
  storage::FileSystemRawCrashStorage collector(site.buffer_a);
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  auto primary = site.primary();
  queue::MemoryQueueBroker broker;
  auto q = broker.connect(site.queue_settings());
  std::vector<CrashId> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(CrashId::generate(ThrottleResult::kAccept));
    collect(collector, ids.back());
  }
  site.break_standard_root();
  CrashMover mover({&buffer}, *primary, *q, fast_settings());
  std::thread runner([&] { mover.run(); });

  // The collector keeps saving while the mover fails and backs off.
  ASSERT_TRUE(eventually([&] { return mover.counts().retries >= 3; }, 60s));
  auto problems = mover.health_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("crash mover: failing for"), std::string::npos) << problems[0];
  for (int i = 0; i < 30; ++i) {
    ids.push_back(CrashId::generate(ThrottleResult::kAccept));
    collect(collector, ids.back());
  }
  EXPECT_EQ(mover.counts().moved, 0u);
  // A batch in progress holds its crashes as claims, which the backlog does not list: poll so
  // the measurement falls between two attempts (the mover waits 50-400 ms between them).
  EXPECT_TRUE(eventually([&] { return mover.backlog().crashes == 50u; }, 60s))
      << "the backlog grows while storage is down: " << mover.backlog().crashes;
  EXPECT_GE(mover.current_backoff(), 100ms) << "the wait doubles";
  EXPECT_LE(mover.current_backoff(), 400ms) << "up to the maximum";

  site.repair_standard_root();
  ASSERT_TRUE(eventually([&] { return mover.counts().moved == 50; }, 120s));
  // moved_ counts inside the batch; the streak ends when the batch returns.
  EXPECT_TRUE(eventually([&] { return mover.health_problems().empty(); }, 60s));
  mover.stop();
  runner.join();
  EXPECT_EQ(mover.backlog().crashes, 0u);
  auto queued = drain_queue(*q);
  for (const auto& id : ids) {
    EXPECT_TRUE(primary->has_raw_crash(id)) << id.str();
    EXPECT_EQ(queued[id.str()], 1) << id.str();
  }
}

TEST(CrashMover, QueueDownBacklogGrowsThenDrains) {
  Site site;
  auto qs = site.queue_settings();
  qs.publish_timeout = 100ms;
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  auto primary = site.primary();
  auto q = queue::open_crash_queue(qs);
  std::vector<CrashId> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(CrashId::generate(ThrottleResult::kAccept));
    collect(buffer, ids.back());
  }
  // Another process holding the queue's write lock is the embedded queue's outage.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(qs.embedded_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  CrashMover mover({&buffer}, *primary, *q, fast_settings());
  std::thread runner([&] { mover.run(); });
  ASSERT_TRUE(eventually([&] { return mover.counts().retries >= 2; }, 60s));
  EXPECT_EQ(mover.counts().moved, 0u) << "nothing is confirmed before it is queued";
  EXPECT_TRUE(eventually([&] { return mover.backlog().crashes == 20u; }, 60s))  // between two attempts
      << mover.backlog().crashes;
  ASSERT_EQ(mover.health_problems().size(), 1u);
  EXPECT_NE(mover.health_problems()[0].find("queue"), std::string::npos) << mover.health_problems()[0];

  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_TRUE(eventually([&] { return mover.counts().moved == 20; }, 120s));
  EXPECT_TRUE(eventually([&] { return mover.health_problems().empty(); }, 60s));
  mover.stop();
  runner.join();
  EXPECT_EQ(mover.backlog().crashes, 0u);
  auto queued = drain_queue(*q);
  EXPECT_EQ(queued.size(), 20u);
  for (const auto& id : ids) EXPECT_EQ(queued[id.str()], 1) << id.str();
}

TEST(CrashMover, SigkillMidBatchLosesNothing) {
  const size_t total = 3000 / kScale;
  Site site(fast_temp_base());
  std::vector<CrashId> ids;
  {
    storage::FileSystemRawCrashStorage buffer(site.buffer_a);
    for (size_t i = 0; i < total; ++i) {
      ids.push_back(CrashId::generate(ThrottleResult::kAccept));
      collect(buffer, ids.back());
    }
  }
  auto settings = fast_settings();
  settings.claim_lease = 10s;
  settings.batch_size = 50;

  test_support::ForkedChild mover_process([&] {
    storage::FileSystemRawCrashStorage buffer(site.buffer_a);
    auto primary = site.primary();
    auto q = queue::open_crash_queue(site.queue_settings());
    CrashMover mover({&buffer}, *primary, *q, settings);
    mover.run();
    return 0;
  });
  // Kill it once it is well into the work.
  auto q = queue::open_crash_queue(site.queue_settings());
  bool busy = eventually([&] { return q->stats().of(queue::QueueKind::kStandard).ready >= total / 4; }, 300s);
  mover_process.kill_now();
  ASSERT_TRUE(busy);
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  EXPECT_GT(buffer.new_crashes(total).size() + 0u, 0u) << "killed before the end";

  // Its claims expire; another mover finishes the job.
  std::this_thread::sleep_for(settings.claim_lease + 1s);
  auto primary = site.primary();
  CrashMover mover({&buffer}, *primary, *q, settings);
  mover.drain();
  EXPECT_TRUE(buffer.new_crashes(10).empty());
  auto queued = drain_queue(*q);
  size_t duplicates = 0;
  for (const auto& id : ids) {
    ASSERT_TRUE(primary->has_raw_crash(id)) << id.str();
    ASSERT_GE(queued[id.str()], 1) << id.str();
    duplicates += static_cast<size_t>(queued[id.str()] - 1);
  }
  RecordProperty("requeued_after_kill", static_cast<int>(duplicates));
  EXPECT_LE(duplicates, settings.batch_size) << "only the batch in flight may be queued twice";
}

TEST(CrashMover, UnreadableCrashIsLeftForAnOperatorAndDoesNotBlockOthers) {
  Site site;
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  auto primary = site.primary();
  queue::MemoryQueueBroker broker;
  auto q = broker.connect(site.queue_settings());
  auto bad = CrashId::generate(ThrottleResult::kAccept);
  auto good = CrashId::generate(ThrottleResult::kAccept);
  collect(buffer, bad);
  collect(buffer, good);
  const std::string& s = bad.str();
  auto folder = site.buffer_a / bad.date_folder() / "name" / s.substr(0, 2) / s.substr(2, 2) / s;
  ASSERT_TRUE(std::filesystem::exists(folder / "raw_crash.json"));
  fs::write_file_synced(folder / "raw_crash.json", "{not json");

  CrashMover mover({&buffer}, *primary, *q, fast_settings());
  mover.drain();
  EXPECT_EQ(mover.counts().failed, 1u);
  EXPECT_EQ(mover.counts().moved, 1u);
  EXPECT_TRUE(primary->has_raw_crash(good));
  EXPECT_FALSE(primary->has_raw_crash(bad));
  EXPECT_TRUE(std::filesystem::exists(folder / "raw_crash.json")) << "kept in the buffer";
  auto queued = drain_queue(*q);
  EXPECT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[good.str()], 1);
}

TEST(CrashMover, StopInterruptsTheBackoffWait) {
  Site site;
  storage::FileSystemRawCrashStorage buffer(site.buffer_a);
  auto primary = site.primary();
  queue::MemoryQueueBroker broker;
  auto q = broker.connect(site.queue_settings());
  collect(buffer, CrashId::generate(ThrottleResult::kAccept));
  site.break_standard_root();
  auto settings = fast_settings();
  settings.backoff_initial = 3600s;
  settings.backoff_max = 3600s;
  CrashMover mover({&buffer}, *primary, *q, settings);
  std::thread runner([&] { mover.run(); });
  ASSERT_TRUE(eventually([&] { return mover.counts().retries >= 1; }, 60s));
  mover.stop();
  runner.join();  // would hang for an hour if stop() did not wake the wait
  EXPECT_EQ(mover.backlog().crashes, 1u);
}

}  // namespace
}  // namespace bw::crashmover
