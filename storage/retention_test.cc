// Retention of the file-system storage: nothing younger than its age is touched (the cutoff day
// stays, the day before goes, for raw crashes, dumps and processed crashes), with real files;
// runs killed midway leave nothing half-visible and the next run finishes; concurrent runs and
// readers are safe.
#include "storage/retention.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "storage/crash_root.h"
#include "storage/fs_crash_storage.h"
#include "storage/storage_test_util.h"
#include "tests/child_process/child_process.h"

namespace bw::storage {
namespace {

using testing::binary_bytes;
using testing::count_entries;
using testing::TempDir;
namespace fsys = std::filesystem;
using Clock = std::chrono::system_clock;

// A UTC time from an ISO-like "YYYY-MM-DD HH:MM:SS".
Clock::time_point utc(const std::string& text) {
  std::tm tm{};
  EXPECT_EQ(std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec),
            6)
      << text;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return Clock::from_time_t(timegm(&tm));
}

CrashId id_at(const std::string& when, ThrottleResult throttle = ThrottleResult::kAccept) {
  return CrashId::generate(throttle, utc(when));
}

fsys::path crash_folder(const fsys::path& root, const CrashId& id) {
  const auto& s = id.str();
  return root / id.date_folder() / "name" / s.substr(0, 2) / s.substr(2, 2) / s;
}

// The roots of one data folder, as the factory lays them out.
StorageRoots roots_in(const TempDir& dir) {
  return StorageRoots{dir / "collector", dir / "standard", dir / "deferred", dir / "processed"};
}

std::unique_ptr<FileSystemCrashStorage> primary(const StorageRoots& roots, bool date_trees = false) {
  FileSystemStorageOptions options;
  options.standard_date_tree = date_trees;
  options.deferred_date_tree = date_trees;
  return std::make_unique<FileSystemCrashStorage>(roots.standard, roots.deferred, roots.processed, options);
}

std::vector<DumpInput> two_dumps(uint32_t seed) {
  return {{"upload_file_minidump", binary_bytes(5000, seed)}, {"memory_report", binary_bytes(300, seed + 1)}};
}

// Runs `fn` in a child process and waits for it; returns the wait status.
template <typename Fn>
int in_child(Fn fn) {
  return test_support::ForkedChild([&] {
           fn();
           return 0;
         })
      .wait();
}

// Entries of <root>/.tmp (0 when there is none).
size_t tmp_entries(const fsys::path& root) { return count_entries(root / ".tmp"); }

TEST(RetentionTest, FirstKeptDayIsTheUtcDayOfNowMinusTheAge) {
  EXPECT_EQ(first_kept_day(0, utc("2024-05-10 13:00:00")), std::nullopt);
  EXPECT_EQ(first_kept_day(1, utc("2024-05-10 13:00:00")), "20240509");
  EXPECT_EQ(first_kept_day(1, utc("2024-05-10 00:00:00")), "20240509");
  EXPECT_EQ(first_kept_day(1, utc("2024-05-09 23:59:59")), "20240508");
  EXPECT_EQ(first_kept_day(30, utc("2024-03-01 06:00:00")), "20240131");  // leap February
  EXPECT_EQ(first_kept_day(1, utc("2025-01-01 00:30:00")), "20241231");
  EXPECT_EQ(first_kept_day(180, utc("2024-05-10 13:00:00")), "20231112");
  EXPECT_THROW(first_kept_day(-1, utc("2024-05-10 13:00:00")), std::invalid_argument);
  EXPECT_THROW(first_kept_day(kMaxRetentionDays + 1, utc("2024-05-10 13:00:00")), std::invalid_argument);
}

TEST(RetentionTest, SettingsComeFromTheStorageSectionAndDefaultToForever) {
  auto defaults = RetentionSettings::from_config(Config::defaults());
  EXPECT_EQ(defaults.raw_crashes_days, 0);
  EXPECT_EQ(defaults.raw_dumps_days, 0);
  EXPECT_EQ(defaults.processed_days, 0);
  EXPECT_FALSE(defaults.any());

  Config::Sources sources;
  sources.overrides = {{"storage.raw_crashes_retention_days", "180"}, {"storage.processed_retention_days", "90"}};
  sources.environment = {{"BREAKWATER_STORAGE_RAW_DUMPS_RETENTION_DAYS", "30"}};
  auto s = RetentionSettings::from_config(Config::load(sources));
  EXPECT_EQ(s.raw_crashes_days, 180);
  EXPECT_EQ(s.raw_dumps_days, 30);
  EXPECT_EQ(s.processed_days, 90);
  EXPECT_TRUE(s.any());
  EXPECT_EQ(Config::defaults().get_int("index", "retention_days"), 0);

  for (const char* bad : {"-1", "36501"}) {
    Config::Sources b;
    b.overrides = {{"storage.raw_dumps_retention_days", bad}};
    try {
      RetentionSettings::from_config(Config::load(b));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("storage.raw_dumps_retention_days"), std::string::npos) << e.what();
    }
  }
}

TEST(RetentionTest, RawCrashesOfTheCutoffDayStayAndTheDayBeforeGoesWhole) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots, /*date_trees=*/true);
  FileSystemRawCrashStorage buffer(roots.collector);
  const auto now = utc("2024-05-10 12:00:00");  // 3 days: keeps 20240507 on
  auto gone = id_at("2024-05-06 23:59:59");
  auto gone_early = id_at("2024-05-06 00:00:00");
  auto gone_deferred = id_at("2024-05-06 12:00:00", ThrottleResult::kDefer);
  auto gone_older = id_at("2024-04-01 08:00:00");
  auto kept = id_at("2024-05-07 00:00:00");
  auto kept_deferred = id_at("2024-05-07 00:00:00", ThrottleResult::kDefer);
  auto kept_today = id_at("2024-05-10 11:00:00");
  auto kept_future = id_at("2024-05-11 01:00:00");  // a clock ahead of ours: younger, kept
  for (auto& id : {gone, gone_early, gone_deferred, gone_older, kept, kept_deferred, kept_today, kept_future}) {
    store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(7));
    store->save_processed(id, {{"uuid", id.str()}});
  }
  buffer.save_raw_crash(gone, {{"uuid", gone.str()}}, two_dumps(7));
  ASSERT_EQ(store->claim_new_crash(), gone_older);  // a claim in an expired day goes with it
  // Things that are not day folders, or not real dates, are not ours.
  fsys::create_directories(roots.standard / "lost+found");
  fsys::create_directories(roots.standard / "20241399");
  fsys::create_directories(roots.standard / "2024050");

  std::vector<std::string> lines;
  RetentionOptions options;
  options.progress = [&](std::string_view line) { lines.emplace_back(line); };
  auto result = apply_retention(roots, RetentionSettings{3, 0, 0}, now, options);

  EXPECT_EQ(result.raw_days, 3u);  // standard 20240401 and 20240506, deferred 20240506
  EXPECT_EQ(result.raw_crashes, 4u);
  EXPECT_EQ(result.dumps, 0u);
  EXPECT_EQ(result.processed_days, 0u);
  EXPECT_EQ(result.summary(), "removed 3 days of raw crashes (4 crashes)");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("standard root"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("2 days before 20240507 (3 raw crashes)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("deferred root"), std::string::npos) << lines[1];

  for (auto& id : {gone, gone_early, gone_deferred, gone_older}) {
    EXPECT_FALSE(store->has_raw_crash(id)) << id.str();
    EXPECT_THROW(store->get_raw_crash(id), CrashNotFound) << id.str();
    EXPECT_EQ(store->get_processed(id)["uuid"], id.str());  // processed has its own age
  }
  EXPECT_FALSE(fsys::exists(roots.standard / "20240506"));
  EXPECT_FALSE(fsys::exists(roots.standard / "20240401"));
  EXPECT_FALSE(fsys::exists(roots.deferred / "20240506"));
  for (auto& id : {kept, kept_deferred, kept_today, kept_future}) {
    EXPECT_EQ(store->get_raw_crash(id)["uuid"], id.str());
    EXPECT_EQ(store->get_dump(id, "upload_file_minidump"), binary_bytes(5000, 7));
    EXPECT_EQ(store->get_dump(id, "memory_report"), binary_bytes(300, 8));
  }
  // The date tree of kept days is intact: the kept crashes are still offered, oldest first.
  EXPECT_EQ(store->new_crashes(10), (std::vector<CrashId>{kept, kept_deferred, kept_today, kept_future}));
  // The collector buffer is never expired by age.
  EXPECT_EQ(buffer.get_dump(gone, "memory_report"), binary_bytes(300, 8));
  for (auto* name : {"lost+found", "20241399", "2024050"}) EXPECT_TRUE(fsys::is_directory(roots.standard / name)) << name;
  EXPECT_EQ(tmp_entries(roots.standard), 0u);
  EXPECT_EQ(tmp_entries(roots.deferred), 0u);

  // Nothing left to do at the same time; an hour later the cutoff day is still kept.
  EXPECT_EQ(apply_retention(roots, RetentionSettings{3, 0, 0}, now).summary(), "removed nothing");
  EXPECT_EQ(apply_retention(roots, RetentionSettings{3, 0, 0}, utc("2024-05-10 23:59:59")).raw_days, 0u);
  // A second later the next day begins and 20240507 is wholly older than now - 3 days.
  auto next = apply_retention(roots, RetentionSettings{3, 0, 0}, utc("2024-05-11 00:00:00"));
  EXPECT_EQ(next.raw_days, 2u);
  EXPECT_EQ(next.raw_crashes, 2u);
  EXPECT_FALSE(store->has_raw_crash(kept));
  EXPECT_TRUE(store->has_raw_crash(kept_today));
}

TEST(RetentionTest, DumpsOfTheCutoffDayStayAndTheDayBeforeLosesOnlyItsDumps) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots);
  const auto now = utc("2024-05-10 12:00:00");  // 30 days: keeps 20240410 on
  auto old = id_at("2024-04-09 23:59:59");
  auto old_deferred = id_at("2024-04-09 10:00:00", ThrottleResult::kDefer);
  auto no_dumps = id_at("2024-04-09 10:00:00");
  auto kept = id_at("2024-04-10 00:00:00");
  for (auto& id : {old, old_deferred, kept}) store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(3));
  store->save_raw_crash(no_dumps, {{"uuid", no_dumps.str()}}, {});
  store->save_processed(old, {{"uuid", old.str()}});

  auto result = apply_retention(roots, RetentionSettings{0, 30, 0}, now);
  EXPECT_EQ(result.dumps, 4u);
  EXPECT_EQ(result.dump_crashes, 2u);  // the crash without dumps had nothing to remove
  EXPECT_EQ(result.raw_days, 0u);
  EXPECT_EQ(result.summary(), "removed 4 dumps of 2 crashes");

  for (auto& id : {old, old_deferred}) {
    EXPECT_EQ(store->get_raw_crash(id)["uuid"], id.str());  // the raw crash stays
    EXPECT_TRUE(store->get_dump_names(id).empty());         // the listing says no dumps
    EXPECT_TRUE(store->get_dumps_as_files(id).paths().empty());
    EXPECT_THROW(store->get_dump(id, "upload_file_minidump"), CrashNotFound);  // not corrupt data
    EXPECT_THROW(store->get_dump(id, "memory_report"), CrashNotFound);
    std::set<std::string> files;
    auto folder = crash_folder(id.throttle() == ThrottleResult::kDefer ? roots.deferred : roots.standard, id);
    for (auto& e : fsys::directory_iterator(folder)) files.insert(e.path().filename().string());
    EXPECT_EQ(files, (std::set<std::string>{"raw_crash.json", "dump_names.json"}));
  }
  EXPECT_EQ(store->get_processed(old)["uuid"], old.str());
  EXPECT_EQ(store->get_raw_crash(no_dumps)["uuid"], no_dumps.str());
  EXPECT_EQ(store->get_dump_names(kept), (std::vector<std::string>{"upload_file_minidump", "memory_report"}));
  EXPECT_EQ(store->get_dump(kept, "upload_file_minidump"), binary_bytes(5000, 3));
  EXPECT_EQ(store->get_dump(kept, "memory_report"), binary_bytes(300, 4));

  // A finished day is not walked again...
  EXPECT_TRUE(fsys::exists(roots.standard / "20240409" / ".dumps-expired"));
  EXPECT_EQ(apply_retention(roots, RetentionSettings{0, 30, 0}, now).summary(), "removed nothing");
  // ...until a crash is saved into it late (a crash mover catching up): that one loses its dumps.
  auto late = id_at("2024-04-09 18:00:00");
  store->save_raw_crash(late, {{"uuid", late.str()}}, two_dumps(5));
  EXPECT_FALSE(fsys::exists(roots.standard / "20240409" / ".dumps-expired"));
  auto again = apply_retention(roots, RetentionSettings{0, 30, 0}, now);
  EXPECT_EQ(again.dumps, 2u);
  EXPECT_EQ(again.dump_crashes, 1u);
  EXPECT_TRUE(store->get_dump_names(late).empty());
  EXPECT_EQ(store->get_dump(kept, "memory_report"), binary_bytes(300, 4));
}

TEST(RetentionTest, DumpsAgeNoFurtherThanTheirRawCrashes) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots);
  const auto now = utc("2024-05-10 12:00:00");
  auto a = id_at("2024-05-01 10:00:00"), b = id_at("2024-05-05 10:00:00"), c = id_at("2024-05-08 10:00:00");
  for (auto& id : {a, b, c}) store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(1));
  // Raw crashes 7 days (keeps 20240503 on), dumps 4 days (keeps 20240506 on).
  auto result = apply_retention(roots, RetentionSettings{7, 4, 0}, now);
  EXPECT_EQ(result.raw_days, 1u);
  EXPECT_EQ(result.raw_crashes, 1u);
  EXPECT_EQ(result.dumps, 2u);
  EXPECT_EQ(result.dump_crashes, 1u);
  EXPECT_FALSE(store->has_raw_crash(a));
  EXPECT_TRUE(store->get_dump_names(b).empty());
  EXPECT_EQ(store->get_dump_names(c).size(), 2u);
  // Dumps kept longer than their raw crashes simply go with them.
  auto longer = apply_retention(roots, RetentionSettings{4, 30, 0}, now);
  EXPECT_EQ(longer.raw_days, 1u);
  EXPECT_EQ(longer.dumps, 0u);
  EXPECT_FALSE(store->has_raw_crash(b));
  EXPECT_EQ(store->get_dump_names(c).size(), 2u);
}

TEST(RetentionTest, ProcessedCrashesOfTheCutoffDayStayAndTheDayBeforeGoes) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots);
  const auto now = utc("2024-05-10 00:00:00");  // 1 day: keeps 20240509 on
  auto gone = id_at("2024-05-08 23:59:59"), kept = id_at("2024-05-09 00:00:00"), today = id_at("2024-05-10 00:00:00");
  for (auto& id : {gone, kept, today}) {
    store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(9));
    store->save_processed(id, {{"uuid", id.str()}, {"signature", "s"}});
  }
  auto result = apply_retention(roots, RetentionSettings{0, 0, 1}, now);
  EXPECT_EQ(result.processed_days, 1u);
  EXPECT_EQ(result.processed_crashes, 1u);
  EXPECT_EQ(result.raw_days, 0u);
  EXPECT_EQ(result.summary(), "removed 1 day of processed crashes (1 crash)");
  EXPECT_THROW(store->get_processed(gone), CrashNotFound);
  EXPECT_EQ(store->get_raw_crash(gone)["uuid"], gone.str());  // raw crashes have their own age
  EXPECT_EQ(store->get_dump(gone, "memory_report"), binary_bytes(300, 10));
  EXPECT_EQ(store->get_processed(kept)["uuid"], kept.str());
  EXPECT_EQ(store->get_processed(today)["uuid"], today.str());
  EXPECT_FALSE(fsys::exists(roots.processed / "20240508"));
  EXPECT_EQ(tmp_entries(roots.processed), 0u);
}

TEST(RetentionTest, AgesOfZeroAndMissingRootsTouchNothing) {
  TempDir dir;
  auto roots = roots_in(dir);
  {
    auto store = primary(roots);
    auto id = id_at("2001-01-01 00:00:00");
    store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(1));
    store->save_processed(id, {{"uuid", id.str()}});
    EXPECT_EQ(apply_retention(roots, RetentionSettings{}, utc("2024-05-10 00:00:00")).summary(), "removed nothing");
    EXPECT_EQ(store->get_dump(id, "memory_report"), binary_bytes(300, 2));
    EXPECT_EQ(store->get_processed(id)["uuid"], id.str());
  }
  TempDir empty;
  EXPECT_EQ(apply_retention(roots_in(empty), RetentionSettings{1, 1, 1}, utc("2024-05-10 00:00:00")).summary(),
            "removed nothing");
  EXPECT_EQ(count_entries(empty.path()), 0u);  // no root was created
}

TEST(RetentionTest, ConfigGivesTheRootsAndTheAges) {
  TempDir dir;
  Config::Sources sources;
  sources.overrides = {{"server.data", dir.path().string()}, {"storage.raw_crashes_retention_days", "2"}};
  auto config = Config::load(sources);
  auto store = make_primary_storage(config);
  auto buffer = make_collector_buffer(config);
  auto old = CrashId::generate(ThrottleResult::kAccept, Clock::now() - std::chrono::hours(24 * 4));
  auto fresh = CrashId::generate(ThrottleResult::kAccept);
  for (auto& id : {old, fresh}) {
    store->save_raw_crash(id, {{"uuid", id.str()}}, {});
    buffer->save_raw_crash(id, {{"uuid", id.str()}}, {});
  }
  auto result = apply_retention(config);
  EXPECT_EQ(result.raw_days, 1u);
  EXPECT_FALSE(store->has_raw_crash(old));
  EXPECT_TRUE(store->has_raw_crash(fresh));
  EXPECT_TRUE(buffer->has_raw_crash(old));
}

// A run SIGKILLed after a day left its root, before it was deleted: the day is already wholly
// invisible, and the next run deletes what was left in .tmp.
TEST(RetentionTest, RunKilledMidDayLeavesNothingVisibleAndTheNextRunFinishes) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots);
  const auto now = utc("2024-05-10 12:00:00");
  std::vector<CrashId> old;
  for (int i = 0; i < 20; ++i) old.push_back(id_at("2024-05-01 10:00:00"));
  for (auto& id : old) store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(2));
  auto kept = id_at("2024-05-09 10:00:00");
  store->save_raw_crash(kept, {{"uuid", kept.str()}}, two_dumps(2));

  int status = in_child([&] {
    RetentionOptions options;
    options.step_hook = [](std::string_view step) {
      if (step == "expire day renamed") ::raise(SIGKILL);
    };
    apply_retention(roots, RetentionSettings{3, 0, 0}, now, options);
  });
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_FALSE(fsys::exists(roots.standard / "20240501"));
  for (auto& id : old) EXPECT_FALSE(store->has_raw_crash(id));
  EXPECT_EQ(tmp_entries(roots.standard), 1u);  // the dead run's trash

  auto result = apply_retention(roots, RetentionSettings{3, 0, 0}, now);
  EXPECT_EQ(result.raw_days, 0u);  // the day had already left the root
  EXPECT_EQ(tmp_entries(roots.standard), 0u);
  EXPECT_EQ(store->get_dump(kept, "memory_report"), binary_bytes(300, 3));
}

// A run SIGKILLed after a crash's dump list was emptied, before its dump files went: the crash
// lists no dumps (never a listed dump that is missing), and the next run removes the files.
TEST(RetentionTest, RunKilledMidDumpsLeavesAConsistentListingAndTheNextRunFinishes) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots);
  const auto now = utc("2024-05-10 12:00:00");
  auto a = id_at("2024-05-01 10:00:00"), b = id_at("2024-05-01 11:00:00");
  for (auto& id : {a, b}) store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(4));

  int status = in_child([&] {
    RetentionOptions options;
    options.step_hook = [](std::string_view step) {
      if (step == "expire dump_names.json emptied") ::raise(SIGKILL);
    };
    apply_retention(roots, RetentionSettings{0, 3, 0}, now, options);
  });
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  int emptied = 0;
  for (auto& id : {a, b}) {
    auto names = store->get_dump_names(id);
    EXPECT_EQ(store->get_raw_crash(id)["uuid"], id.str());
    if (names.empty()) {
      ++emptied;
    } else {
      for (auto& n : names) EXPECT_FALSE(store->get_dump(id, n).empty());  // every listed dump is there
    }
  }
  EXPECT_EQ(emptied, 1);
  EXPECT_FALSE(fsys::exists(roots.standard / "20240501" / ".dumps-expired"));

  auto result = apply_retention(roots, RetentionSettings{0, 3, 0}, now);
  EXPECT_EQ(result.dumps, 4u);  // the two files the dead run left and the other crash's two
  EXPECT_EQ(result.dump_crashes, 2u);
  for (auto& id : {a, b}) {
    EXPECT_TRUE(store->get_dump_names(id).empty());
    EXPECT_THROW(store->get_dump(id, "upload_file_minidump"), CrashNotFound);
    std::set<std::string> files;
    for (auto& e : fsys::directory_iterator(crash_folder(roots.standard, id))) files.insert(e.path().filename().string());
    EXPECT_EQ(files, (std::set<std::string>{"raw_crash.json", "dump_names.json"}));
  }
}

// Two runs at once (as two hosts sharing the roots would) and readers of kept crashes throughout:
// every expired day is removed once, no run fails, every read of a kept crash succeeds.
TEST(RetentionTest, ConcurrentRunsAndReadersAreSafe) {
  TempDir dir;
  auto roots = roots_in(dir);
  auto store = primary(roots);
  const auto now = utc("2024-05-31 12:00:00");  // 10 days: keeps 20240521 on
  std::vector<CrashId> old, kept;
  for (int day = 1; day <= 30; ++day) {
    char when[32];
    std::snprintf(when, sizeof when, "2024-05-%02d 10:00:00", day);
    for (int i = 0; i < 4; ++i) {
      auto id = id_at(when, i % 2 ? ThrottleResult::kDefer : ThrottleResult::kAccept);
      store->save_raw_crash(id, {{"uuid", id.str()}}, two_dumps(6));
      store->save_processed(id, {{"uuid", id.str()}});
      (day < 21 ? old : kept).push_back(id);
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    while (!stop) {
      for (auto& id : kept) {
        try {
          // Days 21..25 lose their dumps during the run; later days keep them.
          bool dumps_kept = id.date_folder() >= "20240526";
          if (store->get_raw_crash(id)["uuid"] != id.str() || store->get_processed(id)["uuid"] != id.str() ||
              (dumps_kept && store->get_dump(id, "memory_report") != binary_bytes(300, 7))) {
            ++bad_reads;
          }
        } catch (...) {
          ++bad_reads;
        }
      }
    }
  });
  RetentionResult results[2];
  std::atomic<int> failures{0};
  std::vector<std::thread> runs;
  for (auto& r : results) {
    runs.emplace_back([&] {
      try {
        r = apply_retention(roots, RetentionSettings{10, 5, 10}, now);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : runs) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(results[0].raw_days + results[1].raw_days, 40u);  // 20 days in each raw root
  EXPECT_EQ(results[0].raw_crashes + results[1].raw_crashes, old.size());
  EXPECT_EQ(results[0].processed_days + results[1].processed_days, 20u);
  EXPECT_EQ(results[0].processed_crashes + results[1].processed_crashes, old.size());
  for (auto& id : old) EXPECT_FALSE(store->has_raw_crash(id));
  // Days 21..25 lost their dumps (keeps 20240526 on), the rest keep them.
  for (auto& id : kept) {
    EXPECT_EQ(store->get_raw_crash(id)["uuid"], id.str());
    EXPECT_EQ(store->get_dump_names(id).size(), id.date_folder() < "20240526" ? 0u : 2u) << id.str();
  }
  for (auto* root : {&roots.standard, &roots.deferred, &roots.processed}) EXPECT_EQ(tmp_entries(*root), 0u);
}

TEST(RetentionTest, CrashRootRefusesABadFirstKeptDay) {
  TempDir dir;
  CrashRoot root(dir / "root");
  EXPECT_THROW(root.expire_days_before("2024051"), std::invalid_argument);
  EXPECT_THROW(root.expire_dumps_before("20240231"), std::invalid_argument);
  EXPECT_THROW(root.expire_days_before("../x/yz"), std::invalid_argument);
}

}  // namespace
}  // namespace bw::storage
