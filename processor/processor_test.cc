// The queue-consuming processor on the in-memory queue and in-memory storage: ack after save,
// retries, dead letters recorded as failed processings, deferred crashes, reprocessing, admin.
#include "processor/processor.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "core/fs_util.h"
#include "index/fields.h"
#include "processor/admin.h"
#include "processor/rules.h"
#include "processor/test_util.h"
#include "queue/memory_crash_queue.h"
#include "storage/memory_crash_storage.h"

namespace bw::processor {
namespace {

namespace t = testing;
using namespace std::chrono_literals;
using nlohmann::json;

// MemoryCrashStorage whose raw-crash reads fail (transiently) while `failing` is set.
class FlakyStorage final : public storage::MemoryCrashStorage {
 public:
  json get_raw_crash(const CrashId& id) override {
    if (failing) throw storage::TransientStorageError("disk unavailable");
    return MemoryCrashStorage::get_raw_crash(id);
  }
  std::atomic<bool> failing{false};
};

// A real SQLite crash index whose writes fail (IndexUnavailable) while `failing` is set.
class FlakyIndex final : public index::CrashIndex {
 public:
  explicit FlakyIndex(const std::filesystem::path& file) {
    index::IndexSettings s;
    s.sqlite_path = file;
    s.fields = index::FieldCatalogue::builtin();
    real_ = index::open_crash_index(s);
  }
  const index::FieldCatalogue& fields() const override { return real_->fields(); }
  void upsert_batch(std::span<const index::CrashInput> crashes) override {
    if (failing) throw index::IndexUnavailable("index server gone");
    real_->upsert_batch(crashes);
  }
  std::optional<json> get(std::string_view id, const index::Permissions& p) override { return real_->get(id, p); }
  bool remove(std::string_view id) override { return real_->remove(id); }
  json execute(const index::SuperSearchQuery& q) override { return real_->execute(q); }
  index::TopCrashersResult top_crashers(const index::TopCrashersQuery& q) override { return real_->top_crashers(q); }
  uint64_t drop_older_than(std::chrono::system_clock::time_point cutoff) override { return real_->drop_older_than(cutoff); }
  uint64_t count() override { return real_->count(); }
  uint64_t stored_bytes() override { return real_->stored_bytes(); }
  std::vector<index::ProductVersionDay> product_version_days(int64_t first_day) override {
    return real_->product_version_days(first_day);
  }
  std::vector<index::MissingSymbol> missing_symbols(const index::MissingSymbolsQuery& q) override {
    return real_->missing_symbols(q);
  }
  std::vector<std::string> crashes_missing_symbols(std::string_view f, std::string_view id, size_t n) override {
    return real_->crashes_missing_symbols(f, id, n);
  }
  std::atomic<bool> failing{false};

 private:
  std::unique_ptr<index::CrashIndex> real_;
};

class ProcessorTest : public ::testing::Test {
 protected:
  ProcessorTest()
      : dir_(std::filesystem::temp_directory_path() / ("bw-processor-" + std::to_string(::getpid()) + "-" + fs::unique_temp_name())),
        generator_(signature::SignatureGenerator::builtin()),
        pipeline_(storage_, make_ruleset(default_rule_names(), {&walker_, &generator_, 500}),
                  make_ruleset({"signature"}, {&walker_, &generator_, 500})) {
    settings_.max_deliveries = 2;
  }
  ~ProcessorTest() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<queue::CrashQueue> open() { return broker_.connect(settings_); }

  CrashId save(ThrottleResult throttle = ThrottleResult::kAccept) {
    auto id = CrashId::generate(throttle);
    storage_.save_raw_crash(id, {{"ProductName", "Test"}, {"submitted_timestamp", "2024-01-01T00:00:00+00:00"}},
                            {{"upload_file_minidump", std::string("MDMP")}});
    return id;
  }

  // Runs a processor until `done` holds (or a generous deadline passes).
  template <typename Pred>
  bool run_until(Pred done, size_t threads = 2) {
    Processor p(pipeline_, [this] { return open(); }, threads, 200ms);
    p.start();
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    p.stop();
    counts_ = p.counts();
    return done();
  }

  bool processed(const CrashId& id) {
    try {
      storage_.get_processed(id);
      return true;
    } catch (const storage::CrashNotFound&) {
      return false;
    }
  }

  std::filesystem::path dir_;
  FlakyStorage storage_;
  t::FakeDumpWalker walker_;
  signature::SignatureGenerator generator_;
  CrashPipeline pipeline_;
  queue::MemoryQueueBroker broker_;
  queue::QueueSettings settings_;
  ProcessorCounts counts_;
};

TEST_F(ProcessorTest, ProcessesQueuedCrashesAndAcksAfterSaving) {
  std::vector<CrashId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(save());
  auto q = open();
  for (const auto& id : ids) q->publish({id}, queue::QueueKind::kStandard);
  ASSERT_TRUE(run_until([&] {
    for (const auto& id : ids) {
      if (!processed(id)) return false;
    }
    return q->stats().of(queue::QueueKind::kStandard).in_flight == 0;
  }));
  for (const auto& id : ids) EXPECT_EQ(storage_.get_processed(id)["product"], "Test");
  auto stats = q->stats().of(queue::QueueKind::kStandard);
  EXPECT_EQ(stats.ready, 0u);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.dead_letters, 0u);
  EXPECT_EQ(counts_.processed, 5u);
}

// Every processed crash lands in the index; reprocessing replaces its row.
TEST_F(ProcessorTest, ProcessedCrashesAreIndexedOnceEvenWhenReprocessed) {
  FlakyIndex crash_index(dir_ / "index.sqlite");
  CrashPipeline pipeline(storage_, make_ruleset(default_rule_names(), {&walker_, &generator_, 500}),
                         make_ruleset({"signature"}, {&walker_, &generator_, 500}), false, &crash_index);
  auto id = save();
  pipeline.process(id, queue::Ruleset::kDefault);
  auto hit = crash_index.get(id.str(), {});
  ASSERT_TRUE(hit);
  EXPECT_EQ((*hit)["product"], "Test");
  EXPECT_EQ((*hit)["signature"], storage_.get_processed(id)["signature"]);
  pipeline.process(id, queue::Ruleset::kRegenerateSignature);
  pipeline.process(id, queue::Ruleset::kDefault);
  EXPECT_EQ(crash_index.count(), 1u);
}

// The index down: the crash is saved, stays queued (as a new message, so no delivery count runs
// out and it is never dead-lettered as failed), processing pauses, health says why; once the
// index is back the crash is indexed as a success.
TEST_F(ProcessorTest, IndexOutageKeepsTheCrashQueuedUntilItIsIndexed) {
  FlakyIndex crash_index(dir_ / "index.sqlite");
  crash_index.failing = true;
  CrashPipeline pipeline(storage_, make_ruleset(default_rule_names(), {&walker_, &generator_, 500}),
                         make_ruleset({"signature"}, {&walker_, &generator_, 500}), false, &crash_index);
  auto id = save();
  auto q = open();
  q->publish({id}, queue::QueueKind::kStandard);
  Processor p(pipeline, [this] { return open(); }, 1, 100ms);
  p.start();
  // More attempts than max_deliveries (2) allows for one message.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (p.counts().retried < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_GE(p.counts().retried, 3u);
  EXPECT_EQ(p.counts().dead_lettered, 0u);
  EXPECT_EQ(q->stats().of(queue::QueueKind::kStandard).dead_letters, 0u);
  auto problems = p.health_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("index server gone"), std::string::npos) << problems[0];
  EXPECT_TRUE(processed(id)) << "saved before indexing: storage is the truth";
  EXPECT_FALSE(crash_index.get(id.str(), {}));

  crash_index.failing = false;
  deadline = std::chrono::steady_clock::now() + 60s;
  while (!crash_index.get(id.str(), {}) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(crash_index.get(id.str(), {}));
  while (q->stats().of(queue::QueueKind::kStandard).ready + q->stats().of(queue::QueueKind::kStandard).in_flight > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  p.stop();
  EXPECT_EQ((*crash_index.get(id.str(), {}))["success"], true);
  EXPECT_EQ(storage_.get_processed(id)["success"], true);
  EXPECT_TRUE(p.health_problems().empty());
  auto stats = q->stats().of(queue::QueueKind::kStandard);
  EXPECT_EQ(stats.ready + stats.in_flight + stats.dead_letters, 0u);
}

TEST_F(ProcessorTest, UnreachableQueueIsAHealthProblemUntilItComesBack) {
  std::atomic<bool> queue_down{true};
  Processor p(
      pipeline_,
      [&]() -> std::unique_ptr<queue::CrashQueue> {
        if (queue_down) throw queue::QueueUnavailable("connection refused");
        return open();
      },
      1, 100ms);
  EXPECT_TRUE(p.health_problems().empty()) << "healthy before it has tried";
  p.start();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (p.health_problems().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  auto problems = p.health_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("processor: failing for"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("connection refused"), std::string::npos) << problems[0];
  queue_down = false;
  deadline = std::chrono::steady_clock::now() + 60s;
  while (!p.health_problems().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(p.health_problems().empty());
  p.stop();
}

TEST_F(ProcessorTest, DeferredCrashIsProcessedFromThePriorityQueue) {
  auto id = save(ThrottleResult::kDefer);
  request_priority(*open(), &storage_, {id.with_prefix()});
  ASSERT_TRUE(run_until([&] { return processed(id); }, 1));
  EXPECT_EQ(storage_.get_processed(id)["uuid"], id.str());
}

TEST_F(ProcessorTest, ReprocessingThroughTheQueueKeepsHistory) {
  auto id = save();
  auto q = open();
  q->publish({id}, queue::QueueKind::kStandard);
  ASSERT_TRUE(run_until([&] { return processed(id); }, 1));
  auto result = request_reprocessing(*q, &storage_, {id.str(), "not-an-id", CrashId::generate(ThrottleResult::kAccept).str()},
                                     queue::Ruleset::kRegenerateSignature);
  EXPECT_EQ(result.published, std::vector<CrashId>{id});
  ASSERT_EQ(result.refused.size(), 2u);
  EXPECT_NE(result.refused[0].find("not a crash id"), std::string::npos);
  EXPECT_NE(result.refused[1].find("no such crash"), std::string::npos);
  ASSERT_TRUE(run_until([&] { return storage_.get_processed(id)["processor_history"].size() == 1; }, 1));
  EXPECT_EQ(storage_.get_processed(id)["processor_ruleset"], "regenerate_signature");
}

TEST_F(ProcessorTest, TransientFailuresAreRetriedThenRecordedAsFailed) {
  auto id = save();
  storage_.failing = true;
  auto q = open();
  q->publish({id}, queue::QueueKind::kStandard);
  // max_deliveries = 2: tried twice, then dead-lettered; the dead-letter handler records the
  // failure (record_failure does not read the raw crash, so it works while reads fail).
  ASSERT_TRUE(run_until([&] { return processed(id); }, 1));
  json p = storage_.get_processed(id);
  EXPECT_EQ(p["success"], false);
  std::string note = p["processor_notes"].back();
  EXPECT_NE(note.find("dead-lettered from the standard queue"), std::string::npos) << note;
  EXPECT_NE(note.find("disk unavailable"), std::string::npos) << note;
  EXPECT_EQ(counts_.retried, 2u);
  EXPECT_EQ(counts_.dead_lettered, 1u);
  EXPECT_EQ(q->stats().of(queue::QueueKind::kStandard).dead_letters, 1u);
}

// Hardening finding 6: a queued id that was never stored got a stub processed crash. It is
// dead-lettered at once with the reason, and no processed crash is invented.
TEST_F(ProcessorTest, MissingRawCrashIsDeadLetteredAtOnceAndNotInvented) {
  auto id = CrashId::generate(ThrottleResult::kAccept);
  auto q = open();
  q->publish({id}, queue::QueueKind::kStandard);
  ASSERT_TRUE(run_until([&] { return q->stats().of(queue::QueueKind::kStandard).dead_letters == 1; }, 1));
  EXPECT_FALSE(processed(id));
  EXPECT_FALSE(storage_.has_raw_crash(id));
  EXPECT_EQ(counts_.retried, 0u);
  EXPECT_EQ(counts_.dead_lettered, 1u);
}

TEST_F(ProcessorTest, StopWaitsForTheCrashInHandAndLeavesTheRestQueued) {
  auto q = open();
  std::vector<CrashId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(save());
    q->publish({ids.back()}, queue::QueueKind::kStandard);
  }
  Processor p(pipeline_, [this] { return open(); }, 1, 200ms);
  p.start();
  p.stop();
  // Whatever was taken was finished and acked; nothing is left in flight.
  auto stats = q->stats().of(queue::QueueKind::kStandard);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.ready + p.counts().processed, 3u);
}

Config config_with(std::vector<std::pair<std::string, std::string>> overrides) {
  Config::Sources sources;
  sources.overrides = std::move(overrides);
  return Config::load(sources);
}

TEST(ProcessorSettings, FromConfig) {
  auto config = config_with({{"processor.workers", "3"}, {"processor.stackwalk_timeout", "5s"},
                             {"processor.ruleset", "cleanup,stackwalk"}});
  auto s = ProcessorSettings::from_config(config);
  EXPECT_EQ(s.workers, 3u);
  EXPECT_EQ(s.worker_processes, 3u);
  EXPECT_EQ(s.stackwalk_timeout, 5s);
  EXPECT_EQ(s.ruleset, (std::vector<std::string>{"cleanup", "stackwalk"}));
  EXPECT_EQ(s.max_frames, 500u);
  EXPECT_FALSE(s.test_hooks);
  EXPECT_THROW(ProcessorSettings::from_config(config_with({{"processor.max_frames", "1"}})), ConfigError);
  EXPECT_THROW(ProcessorSettings::from_config(config_with({{"processor.workers", "-1"}})), ConfigError);
}

}  // namespace
}  // namespace bw::processor
