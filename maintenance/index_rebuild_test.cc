// Rebuilding the crash index from a real file-system store into a real SQLite index.
#include "maintenance/index_rebuild.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "core/timestamp.h"
#include "index/fields.h"
#include "storage/factory.h"

namespace bw::maintenance {
namespace {

using nlohmann::json;
using std::chrono::system_clock;
using test_support::TempDir;

class IndexRebuildTest : public ::testing::Test {
 protected:
  IndexRebuildTest() {
    Config::Sources sources;
    sources.overrides = {{"server.data", (dir_.path() / "data").string()}};
    storage_ = storage::make_primary_storage(Config::load(sources));
    index::IndexSettings s;
    s.sqlite_path = dir_.path() / "index.sqlite";
    s.fields = index::FieldCatalogue::builtin();
    index_ = index::open_crash_index(s);
  }

  // A processed crash received `days_ago` days ago, with Breakpad-style raw annotations.
  CrashId add(int days_ago, const std::string& signature) {
    auto when = system_clock::now() - std::chrono::days(days_ago);
    auto id = CrashId::generate(ThrottleResult::kAccept, when);
    storage_->save_raw_crash(id, {{"uuid", id.str()}, {"prod", "RawOnly"}}, {});
    storage_->save_processed(id, {{"uuid", id.str()},
                                  {"date_processed", iso_timestamp(when)},
                                  {"signature", signature},
                                  {"success", true}});
    return id;
  }

  TempDir dir_;
  std::unique_ptr<storage::FileSystemCrashStorage> storage_;
  std::unique_ptr<index::CrashIndex> index_;
};

TEST_F(IndexRebuildTest, IndexesEveryProcessedCrashOnceAndResumesFromADay) {
  std::vector<CrashId> old_ids, new_ids;
  for (int i = 0; i < 7; ++i) old_ids.push_back(add(3, "old " + std::to_string(i % 2)));
  for (int i = 0; i < 5; ++i) new_ids.push_back(add(0, "new"));
  // A crash that is stored but not processed is not indexed.
  storage_->save_raw_crash(CrashId::generate(ThrottleResult::kAccept), {{"prod", "x"}}, {});

  std::vector<std::string> lines;
  RebuildOptions options;
  options.batch = 3;  // several batches per day
  options.progress = [&](std::string_view line) { lines.emplace_back(line); };
  RebuildResult r = rebuild_index(*storage_, *index_, options);
  EXPECT_EQ(r.indexed, 12u);
  EXPECT_EQ(r.days, 2u);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(index_->count(), 12u);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.front().find("day " + old_ids[0].date_folder() + ": 7 crashes indexed"), std::string::npos) << lines.front();
  // The raw crash fills what the processed crash lacks (Breakpad's `prod`).
  auto hit = index_->get(new_ids[0].str(), {});
  ASSERT_TRUE(hit);
  EXPECT_EQ((*hit)["product"], "RawOnly");
  EXPECT_EQ((*hit)["signature"], "new");

  // Again, from the newer day only: nothing counted twice.
  options.since_day = new_ids[0].date_folder();
  r = rebuild_index(*storage_, *index_, options);
  EXPECT_EQ(r.indexed, 5u);
  EXPECT_EQ(r.days, 1u);
  EXPECT_EQ(index_->count(), 12u);
  index::TopCrashersQuery query;
  query.product = "RawOnly";
  auto top = index_->top_crashers(query);
  EXPECT_EQ(top.total, 12);
}

TEST_F(IndexRebuildTest, UnreadableAndUnindexableCrashesAreSkippedAndNamed) {
  auto good = add(0, "fine");
  auto no_date = CrashId::generate(ThrottleResult::kAccept);
  storage_->save_raw_crash(no_date, {{"uuid", no_date.str()}}, {});
  storage_->save_processed(no_date, {{"uuid", no_date.str()}, {"signature", "no date"}});
  auto corrupt = add(0, "soon corrupt");
  // Overwrite the gzip'd processed crash with garbage.
  auto path = dir_.path() / "data";
  bool found = false;
  for (auto& e : std::filesystem::recursive_directory_iterator(path)) {
    if (e.path().filename() == "processed_crash.json.gz" && e.path().parent_path().filename() == corrupt.str()) {
      fs::write_file_atomically(e.path(), "not gzip");
      found = true;
    }
  }
  ASSERT_TRUE(found);
  std::vector<std::string> lines;
  RebuildOptions options;
  options.progress = [&](std::string_view line) { lines.emplace_back(line); };
  RebuildResult r = rebuild_index(*storage_, *index_, options);
  EXPECT_EQ(r.indexed, 1u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_TRUE(index_->get(good.str(), {}));
  std::string all;
  for (auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("skipped " + no_date.str()), std::string::npos) << all;
  EXPECT_NE(all.find("skipped " + corrupt.str()), std::string::npos) << all;
}

TEST(ParseDay, AcceptsIsoAndCompactDaysOnly) {
  EXPECT_EQ(parse_day("2026-11-01"), "20261101");
  EXPECT_EQ(parse_day("20261101"), "20261101");
  EXPECT_FALSE(parse_day("2026-02-30"));
  EXPECT_FALSE(parse_day("2026-1-01"));
  EXPECT_FALSE(parse_day("2026110a"));
  EXPECT_FALSE(parse_day(""));
}

}  // namespace
}  // namespace bw::maintenance
