// Retention of a whole site: storage ages and the index age, applied by one run, and nothing
// younger than its age touched.
#include "maintenance/retention_job.h"

#include <gtest/gtest.h>

#include "core/temp_dir.h"
#include "core/timestamp.h"
#include "index/fields.h"
#include "storage/factory.h"

namespace bw::maintenance {
namespace {

using std::chrono::system_clock;
using test_support::TempDir;

Config config_for(const TempDir& dir, std::vector<std::pair<std::string, std::string>> extra) {
  Config::Sources sources;
  sources.overrides = {{"server.data", (dir.path() / "data").string()},
                       {"index.sqlite_path", (dir.path() / "index.sqlite").string()}};
  for (auto& e : extra) sources.overrides.push_back(std::move(e));
  return Config::load(sources);
}

TEST(RetentionJob, ExpiresStorageAndIndexByTheirOwnAgesAndNothingYounger) {
  TempDir dir;
  Config config = config_for(dir, {{"storage.processed_retention_days", "10"}, {"index.retention_days", "5"}});
  auto storage = storage::make_primary_storage(config);
  auto crash_index = index::open_crash_index(config);
  auto now = system_clock::now();
  // Crashes 2, 6 and 12 days old, indexed with their arrival time.
  std::map<int, CrashId> ids;
  for (int age : {2, 6, 12}) {
    auto when = now - std::chrono::days(age);
    auto id = CrashId::generate(ThrottleResult::kAccept, when);
    nlohmann::json processed = {{"uuid", id.str()}, {"date_processed", iso_timestamp(when)}, {"signature", "s"}};
    storage->save_raw_crash(id, {{"uuid", id.str()}}, {});
    storage->save_processed(id, processed);
    crash_index->upsert(processed, nlohmann::json::object());
    ids.emplace(age, id);
  }
  RetentionJob job(config, crash_index.get());
  ASSERT_TRUE(job.enabled());
  std::vector<std::string> lines;
  RetentionRun run = job.run_once(now, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(run.index_rows, 2u);  // 6 and 12 days old
  EXPECT_EQ(run.storage.processed_crashes, 1u);  // 12 days old
  EXPECT_TRUE(crash_index->get(ids.at(2).str(), {}));
  EXPECT_FALSE(crash_index->get(ids.at(6).str(), {}));
  EXPECT_NO_THROW(storage->get_processed(ids.at(6)));
  EXPECT_THROW(storage->get_processed(ids.at(12)), storage::CrashNotFound);
  // Raw crashes have no age set: all kept.
  for (auto& [age, id] : ids) EXPECT_TRUE(storage->has_raw_crash(id)) << age;
  EXPECT_NE(run.summary().find("2 crashes dropped from the index"), std::string::npos) << run.summary();
  // A second run finds nothing more.
  RetentionRun again = job.run_once(now);
  EXPECT_EQ(again.index_rows, 0u);
  EXPECT_EQ(again.storage.processed_crashes, 0u);
}

TEST(RetentionJob, DisabledByDefaultAndRefusesBadAges) {
  TempDir dir;
  Config defaults = config_for(dir, {});
  RetentionJob job(defaults, nullptr);
  EXPECT_FALSE(job.enabled());
  job.start(std::chrono::milliseconds(0), std::chrono::milliseconds(10));  // nothing to do: no thread
  job.stop();
  EXPECT_THROW(RetentionJob(config_for(dir, {{"index.retention_days", "-1"}}), nullptr), ConfigError);
}

TEST(RetentionJob, PeriodicRunsReportFailuresAsHealthProblems) {
  TempDir dir;
  Config config = config_for(dir, {{"index.retention_days", "1"}});
  // An index whose retention always fails.
  class BrokenIndex final : public index::CrashIndex {
   public:
    const index::FieldCatalogue& fields() const override { return *catalogue_; }
    void upsert_batch(std::span<const index::CrashInput>) override {}
    std::optional<nlohmann::json> get(std::string_view, const index::Permissions&) override { return std::nullopt; }
    bool remove(std::string_view) override { return false; }
    nlohmann::json execute(const index::SuperSearchQuery&) override { return {}; }
    index::TopCrashersResult top_crashers(const index::TopCrashersQuery&) override { return {}; }
    uint64_t drop_older_than(system_clock::time_point) override { throw index::IndexUnavailable("database is gone"); }
    uint64_t count() override { return 0; }
    uint64_t stored_bytes() override { return 0; }
    std::vector<index::ProductVersionDay> product_version_days(int64_t) override { return {}; }
    std::vector<index::MissingSymbol> missing_symbols(const index::MissingSymbolsQuery&) override { return {}; }
    std::vector<std::string> crashes_missing_symbols(std::string_view, std::string_view, size_t) override { return {}; }

   private:
    std::shared_ptr<const index::FieldCatalogue> catalogue_ = index::FieldCatalogue::builtin();
  } broken;
  RetentionJob job(config, &broken);
  job.start(std::chrono::milliseconds(0), std::chrono::milliseconds(20));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (job.health_problems().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  job.stop();
  auto problems = job.health_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("database is gone"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace bw::maintenance
