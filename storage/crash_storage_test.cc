// Behavioural tests of the Crash Storage API, written once and run against every implementation
// and composition.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "storage/compositions.h"
#include "storage/fs_crash_storage.h"
#include "storage/memory_crash_storage.h"
#include "storage/storage_test_util.h"

namespace bw::storage {
namespace {

using testing::accepted_id;
using testing::binary_bytes;
using testing::deferred_id;
using testing::TempDir;

struct Implementation {
  std::string name;
  std::function<std::shared_ptr<CrashStorage>(const std::filesystem::path& dir)> make;
  bool keeps_processed = true;
  bool deferred_are_new = true;  // deferred crashes show up in new_crashes
  bool dump_files_are_temporary = false;  // get_dumps_as_files writes copies (removed afterwards)
};

std::shared_ptr<CrashStorage> full_fs(const std::filesystem::path& dir) {
  return std::make_shared<FileSystemCrashStorage>(dir / "standard", dir / "deferred", dir / "processed");
}

std::vector<Implementation> implementations() {
  return {
      {"Memory", [](const auto&) { return std::make_shared<MemoryCrashStorage>(); }, true, true, true},
      {"FileSystemRaw", [](const auto& dir) { return std::make_shared<FileSystemRawCrashStorage>(dir / "raw"); },
       false, true},
      {"FileSystemThrottled",
       [](const auto& dir) { return std::make_shared<FileSystemThrottledCrashStorage>(dir / "std", dir / "def"); },
       false, false},
      {"FileSystem", full_fs, true, false},
      {"FileSystemWithDeferredDateTree",
       [](const auto& dir) {
         FileSystemStorageOptions options;
         options.deferred_date_tree = true;
         return std::make_shared<FileSystemCrashStorage>(dir / "s", dir / "d", dir / "p", options);
       },
       true, true},
      {"Poly",
       [](const auto& dir) {
         return std::make_shared<PolyCrashStorage>(
             std::vector<std::shared_ptr<CrashStorage>>{full_fs(dir / "a"), std::make_shared<MemoryCrashStorage>()});
       },
       true, false},
      {"Fallback",
       [](const auto& dir) {
         return std::make_shared<FallbackCrashStorage>(full_fs(dir / "a"), std::make_shared<MemoryCrashStorage>());
       },
       true, false},
      {"PrimaryDeferred",
       [](const auto& dir) {
         return std::make_shared<PrimaryDeferredCrashStorage>(full_fs(dir / "a"), std::make_shared<MemoryCrashStorage>());
       },
       true, true},
  };
}

class CrashStorageTest : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override { store_ = GetParam().make(dir_.path()); }

  nlohmann::json sample_raw(const CrashId& id) {
    return {{"ProductName", "Firefox"}, {"Version", "128.0"}, {"uuid", id.str()}, {"nested", {{"a", 1}}}};
  }
  CrashId save_sample(ThrottleResult throttle = ThrottleResult::kAccept) {
    auto id = CrashId::generate(throttle);
    store_->save_raw_crash(id, sample_raw(id), {{"upload_file_minidump", binary_bytes(1000, 1)}});
    return id;
  }

  TempDir dir_;
  std::shared_ptr<CrashStorage> store_;
};

TEST_P(CrashStorageTest, SavedRawCrashAndDumpsReadBackExactly) {
  auto id = accepted_id();
  auto main_dump = binary_bytes(3 << 20, 7);  // a few MB with NULs
  auto extra = binary_bytes(12345, 8);
  store_->save_raw_crash(id, sample_raw(id),
                         {{"upload_file_minidump", main_dump}, {"memory_report", extra}, {"empty", std::string()}});
  EXPECT_TRUE(store_->has_raw_crash(id));
  EXPECT_EQ(store_->get_raw_crash(id), sample_raw(id));
  EXPECT_EQ(store_->get_dump_names(id), (std::vector<std::string>{"upload_file_minidump", "memory_report", "empty"}));
  EXPECT_EQ(store_->get_dump(id, "upload_file_minidump"), main_dump);
  EXPECT_EQ(store_->get_dump(id, "memory_report"), extra);
  EXPECT_EQ(store_->get_dump(id, "empty"), "");
}

TEST_P(CrashStorageTest, DumpsGivenAsFilesAreStoredAndTheSourceIsLeftAlone) {
  auto id = accepted_id();
  auto bytes = binary_bytes(2 << 20, 9);
  auto source = dir_ / "incoming.dump";
  { std::ofstream(source, std::ios::binary) << bytes; }
  store_->save_raw_crash(id, sample_raw(id), {{"upload_file_minidump", source}});
  EXPECT_EQ(store_->get_dump(id, "upload_file_minidump"), bytes);
  ASSERT_TRUE(std::filesystem::exists(source));
  std::filesystem::remove(source);  // the caller removes its file; the stored dump stays
  EXPECT_EQ(store_->get_dump(id, "upload_file_minidump"), bytes);
  EXPECT_THROW(store_->save_raw_crash(accepted_id(), sample_raw(id), {{"upload_file_minidump", dir_ / "missing"}}),
               std::invalid_argument);
}

TEST_P(CrashStorageTest, DumpsAsFilesHoldTheDumpBytes) {
  auto id = accepted_id();
  auto a = binary_bytes(5000, 3), b = binary_bytes(70000, 4);
  store_->save_raw_crash(id, sample_raw(id), {{"upload_file_minidump", a}, {"upload_file_minidump_browser", b}});
  std::vector<std::filesystem::path> paths;
  {
    auto files = store_->get_dumps_as_files(id);
    ASSERT_EQ(files.paths().size(), 2u);
    EXPECT_EQ(fs::read_file(files.paths().at("upload_file_minidump")), a);
    EXPECT_EQ(fs::read_file(files.paths().at("upload_file_minidump_browser")), b);
    for (auto& [name, path] : files.paths()) paths.push_back(path);
  }
  // Files made for the caller are gone with the DumpFiles; files that are the store's own stay.
  for (auto& p : paths) EXPECT_EQ(std::filesystem::exists(p), !GetParam().dump_files_are_temporary) << p;
  EXPECT_THROW(store_->get_dumps_as_files(accepted_id()), CrashNotFound);
}

TEST_P(CrashStorageTest, MissingCrashesDumpsAndProcessedAreCrashNotFound) {
  auto missing = accepted_id();
  EXPECT_FALSE(store_->has_raw_crash(missing));
  EXPECT_THROW(store_->get_raw_crash(missing), CrashNotFound);
  EXPECT_THROW(store_->get_dump_names(missing), CrashNotFound);
  EXPECT_THROW(store_->get_dump(missing, "upload_file_minidump"), CrashNotFound);
  EXPECT_THROW(store_->get_dumps_as_files(missing), CrashNotFound);
  EXPECT_THROW(store_->remove(missing), CrashNotFound);
  auto id = save_sample();
  EXPECT_THROW(store_->get_dump(id, "memory_report"), CrashNotFound);
  if (GetParam().keeps_processed) {
    EXPECT_THROW(store_->get_processed(missing), CrashNotFound);
    EXPECT_THROW(store_->get_processed(id), CrashNotFound);  // raw but not processed
  } else {
    EXPECT_THROW(store_->get_processed(id), UnsupportedOperation);
    EXPECT_THROW(store_->save_processed(id, {{"a", 1}}), UnsupportedOperation);
  }
}

TEST_P(CrashStorageTest, BadDumpNamesAreRefusedAndNothingIsStored) {
  auto id = accepted_id();
  for (const std::string& bad : std::vector<std::string>{"../x", "../../etc/passwd", "a/b", "", "x.dump",
                                                        std::string(31, 'a'), std::string("a\0", 2)}) {
    EXPECT_THROW(store_->save_raw_crash(id, sample_raw(id), {{bad, std::string("x")}}), std::invalid_argument) << bad;
  }
  EXPECT_THROW(store_->save_raw_crash(id, sample_raw(id), {{"a", std::string("1")}, {"a", std::string("2")}}),
               std::invalid_argument);
  EXPECT_FALSE(store_->has_raw_crash(id));
  EXPECT_TRUE(store_->new_crashes(10).empty());
  auto saved = save_sample();
  EXPECT_THROW(store_->get_dump(saved, "../raw_crash"), std::invalid_argument);
  EXPECT_THROW(store_->get_dump(saved, "raw_crash.json"), std::invalid_argument);
}

TEST_P(CrashStorageTest, SavingAgainReplacesTheCrashWhole) {
  auto id = accepted_id();
  store_->save_raw_crash(id, {{"v", 1}}, {{"upload_file_minidump", std::string("one")}, {"extra", std::string("e")}});
  store_->save_raw_crash(id, {{"v", 2}}, {{"other", std::string("two")}});
  EXPECT_EQ(store_->get_raw_crash(id), (nlohmann::json{{"v", 2}}));
  EXPECT_EQ(store_->get_dump_names(id), std::vector<std::string>{"other"});
  EXPECT_EQ(store_->get_dump(id, "other"), "two");
  EXPECT_THROW(store_->get_dump(id, "upload_file_minidump"), CrashNotFound);
  // Still one new crash, not two.
  EXPECT_EQ(store_->new_crashes(10), std::vector<CrashId>{id});
}

TEST_P(CrashStorageTest, ProcessedCrashRoundTrips) {
  auto id = save_sample();
  if (!GetParam().keeps_processed) {
    EXPECT_THROW(store_->save_processed(id, {{"a", 1}}), UnsupportedOperation);
    EXPECT_THROW(store_->get_processed(id), UnsupportedOperation);
    return;
  }
  nlohmann::json processed = {{"signature", "js::RunScript | foo"}, {"success", true}, {"uuid", id.str()},
                              {"json_dump", {{"crashing_thread", {{"frames", nlohmann::json::array({1, 2, 3})}}}}}};
  store_->save_processed(id, processed);
  EXPECT_EQ(store_->get_processed(id), processed);
  processed["signature"] = "other";
  store_->save_processed(id, processed);
  EXPECT_EQ(store_->get_processed(id)["signature"], "other");
  EXPECT_EQ(store_->get_raw_crash(id)["uuid"], id.str());  // the raw crash is untouched
}

TEST_P(CrashStorageTest, ProcessedCrashesAreListedByDay) {
  if (!GetParam().keeps_processed) {
    EXPECT_THROW(store_->processed_days(), UnsupportedOperation);
    EXPECT_THROW(store_->processed_crash_ids("20261201"), UnsupportedOperation);
    return;
  }
  using namespace std::chrono;
  auto day = [](int d) { return sys_days{year(2026) / 11 / d} + hours(12); };
  auto a = CrashId::generate(ThrottleResult::kAccept, day(3));
  auto b = CrashId::generate(ThrottleResult::kDefer, day(3));
  auto c = CrashId::generate(ThrottleResult::kAccept, day(1));
  auto raw_only = CrashId::generate(ThrottleResult::kAccept, day(2));
  for (auto& id : {a, b, c, raw_only}) store_->save_raw_crash(id, sample_raw(id), {});
  for (auto& id : {a, b, c}) store_->save_processed(id, {{"uuid", id.str()}});

  EXPECT_EQ(store_->processed_days(), (std::vector<std::string>{"20261101", "20261103"}));
  auto expected = std::vector<CrashId>{a, b};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(store_->processed_crash_ids("20261103"), expected);
  EXPECT_EQ(store_->processed_crash_ids("20261101"), std::vector<CrashId>{c});
  EXPECT_TRUE(store_->processed_crash_ids("20261102").empty());  // raw only
  EXPECT_TRUE(store_->processed_crash_ids("20261131").empty());  // not a day
  EXPECT_TRUE(store_->processed_crash_ids("../etc").empty());

  store_->remove(a);
  EXPECT_EQ(store_->processed_crash_ids("20261103"), std::vector<CrashId>{b});
}

TEST_P(CrashStorageTest, RemoveForgetsEverything) {
  auto id = save_sample();
  if (GetParam().keeps_processed) store_->save_processed(id, {{"a", 1}});
  store_->remove(id);
  EXPECT_FALSE(store_->has_raw_crash(id));
  EXPECT_THROW(store_->get_raw_crash(id), CrashNotFound);
  EXPECT_THROW(store_->get_dump(id, "upload_file_minidump"), CrashNotFound);
  if (GetParam().keeps_processed) {
    EXPECT_THROW(store_->get_processed(id), CrashNotFound);
  }
  EXPECT_TRUE(store_->new_crashes(10).empty());
  EXPECT_FALSE(store_->claim_new_crash().has_value());
  EXPECT_THROW(store_->remove(id), CrashNotFound);
}

TEST_P(CrashStorageTest, NewCrashesAreListedOldestFirst) {
  std::vector<CrashId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(save_sample());
  EXPECT_EQ(store_->new_crashes(100), ids);
  EXPECT_EQ(store_->new_crashes(2), (std::vector<CrashId>{ids[0], ids[1]}));
  EXPECT_TRUE(store_->new_crashes(0).empty());
  // Listing claims nothing.
  EXPECT_EQ(store_->new_crashes(100), ids);
}

TEST_P(CrashStorageTest, ClaimConfirmAndRelease) {
  auto a = save_sample(), b = save_sample(), c = save_sample();
  EXPECT_EQ(store_->claim_new_crash(), a);
  EXPECT_EQ(store_->claim_new_crash(), b);
  EXPECT_EQ(store_->new_crashes(10), std::vector<CrashId>{c});  // claimed ones are not listed
  store_->release_new_crash(a);                                 // failed: offered again, first
  EXPECT_EQ(store_->new_crashes(10), (std::vector<CrashId>{a, c}));
  EXPECT_EQ(store_->claim_new_crash(), a);
  store_->confirm_new_crash(a);
  store_->confirm_new_crash(b);
  EXPECT_EQ(store_->claim_new_crash(), c);
  EXPECT_FALSE(store_->claim_new_crash().has_value());
  store_->confirm_new_crash(c);
  EXPECT_TRUE(store_->new_crashes(10).empty());
  // Confirmed crashes are still stored; confirming or releasing again is harmless.
  EXPECT_TRUE(store_->has_raw_crash(a));
  store_->confirm_new_crash(a);
  store_->release_new_crash(a);
  EXPECT_FALSE(store_->claim_new_crash().has_value());
}

TEST_P(CrashStorageTest, BatchClaimsTakeTheOldestAtOnce) {
  std::vector<CrashId> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(save_sample());
  EXPECT_TRUE(store_->claim_new_crashes(0).empty());
  auto first = store_->claim_new_crashes(10);
  EXPECT_EQ(first, std::vector<CrashId>(ids.begin(), ids.begin() + 10));
  EXPECT_EQ(store_->new_crashes(100), std::vector<CrashId>(ids.begin() + 10, ids.end()));
  EXPECT_EQ(store_->claim_new_crash(), ids[10]);  // single claims and batches mix
  auto rest = store_->claim_new_crashes(100);
  EXPECT_EQ(rest, std::vector<CrashId>(ids.begin() + 11, ids.end()));
  EXPECT_TRUE(store_->claim_new_crashes(5).empty());
  store_->release_new_crash(ids[3]);
  EXPECT_EQ(store_->claim_new_crashes(3), std::vector<CrashId>{ids[3]});
  for (const auto& id : ids) store_->confirm_new_crash(id);
  EXPECT_TRUE(store_->new_crashes(10).empty());
}

TEST_P(CrashStorageTest, AnUnconfirmedCrashIsOfferedAgainWhenTheConsumerDoesNotFinish) {
  auto id = save_sample();
  // A consumer that claims and then dies: with a zero lease the claim is already expired.
  EXPECT_EQ(store_->claim_new_crash(std::chrono::seconds(0)), id);
  EXPECT_EQ(store_->new_crashes(10), std::vector<CrashId>{id});
  EXPECT_EQ(store_->claim_new_crash(), id);
  // A live lease keeps it away from other walkers.
  EXPECT_FALSE(store_->claim_new_crash().has_value());
  // A late confirm of the first consumer still forgets the crash.
  store_->confirm_new_crash(id);
  EXPECT_FALSE(store_->claim_new_crash().has_value());
}

TEST_P(CrashStorageTest, ExpiredLeasesComeBack) {
  auto id = save_sample();
  auto claimed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(store_->claim_new_crash(std::chrono::seconds(1)), id);
  std::optional<CrashId> again;
  // Waiting for the lease to run out is the behaviour under test; poll with a generous limit.
  while (!again && std::chrono::steady_clock::now() - claimed_at < std::chrono::seconds(60)) {
    again = store_->claim_new_crash();
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(again, id);
  EXPECT_GE(std::chrono::steady_clock::now() - claimed_at, std::chrono::seconds(1));
}

TEST_P(CrashStorageTest, DeferredCrashesAreStoredAndReadable) {
  auto id = deferred_id();
  store_->save_raw_crash(id, sample_raw(id), {{"upload_file_minidump", binary_bytes(100, 5)}});
  EXPECT_TRUE(store_->has_raw_crash(id));
  EXPECT_EQ(store_->get_raw_crash(id), sample_raw(id));
  EXPECT_EQ(store_->get_dump(id, "upload_file_minidump"), binary_bytes(100, 5));
  auto listed = store_->new_crashes(10);
  if (GetParam().deferred_are_new) {
    EXPECT_EQ(listed, std::vector<CrashId>{id});
    EXPECT_EQ(store_->claim_new_crash(), id);
    store_->confirm_new_crash(id);
  } else {
    EXPECT_TRUE(listed.empty());
  }
  EXPECT_FALSE(store_->claim_new_crash().has_value());
  store_->remove(id);
  EXPECT_FALSE(store_->has_raw_crash(id));
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, CrashStorageTest, ::testing::ValuesIn(implementations()),
                         [](const ::testing::TestParamInfo<Implementation>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
}  // namespace bw::storage
