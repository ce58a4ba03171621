// File-system specific tests: the on-disk layout, roots, hard links, corruption, pruning, and the
// concurrency and crash-safety promises (threads, processes, writers killed mid-save).
#include "storage/fs_crash_storage.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "storage/records.h"
#include "storage/storage_test_util.h"
#include "tests/child_process/child_process.h"

namespace bw::storage {
namespace {

using testing::accepted_id;
using testing::binary_bytes;
using testing::count_entries;
using testing::deferred_id;
using testing::TempDir;
using test_support::ForkedChild;
namespace fsys = std::filesystem;

fsys::path crash_folder(const fsys::path& root, const CrashId& id) {
  const auto& s = id.str();
  return root / id.date_folder() / "name" / s.substr(0, 2) / s.substr(2, 2) / s;
}

// Every date link of `id` under root/<day>/date/HH/MM.
std::vector<fsys::path> date_links(const fsys::path& root, const CrashId& id) {
  std::vector<fsys::path> out;
  auto date = root / id.date_folder() / "date";
  if (!fsys::exists(date)) return out;
  for (auto& hour : fsys::directory_iterator(date)) {
    for (auto& minute : fsys::directory_iterator(hour.path())) {
      if (fsys::is_symlink(minute.path() / id.str())) out.push_back(minute.path() / id.str());
    }
  }
  return out;
}

std::string hour_minute(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d/%02d", tm.tm_hour, tm.tm_min);
  return buf;
}

TEST(FileSystemCrashStorageTest, LayoutIsTheNameTreeAndTheDateTree) {
  TempDir dir;
  auto root = dir / "collector";
  FileSystemRawCrashStorage store(root);
  auto id = accepted_id();
  auto before = std::chrono::system_clock::now();
  store.save_raw_crash(id, {{"ProductName", "Firefox"}}, {{"upload_file_minidump", binary_bytes(4096, 1)}});
  auto after = std::chrono::system_clock::now();

  auto folder = crash_folder(root, id);
  ASSERT_TRUE(fsys::is_directory(folder)) << folder;
  std::set<std::string> files;
  for (auto& e : fsys::directory_iterator(folder)) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"raw_crash.json", "dump_names.json", "upload_file_minidump.dump"}));
  EXPECT_EQ(nlohmann::json::parse(fs::read_file(folder / "dump_names.json")),
            nlohmann::json::array({"upload_file_minidump"}));
  EXPECT_EQ(nlohmann::json::parse(fs::read_file(folder / "raw_crash.json"))["ProductName"], "Firefox");

  auto links = date_links(root, id);
  ASSERT_EQ(links.size(), 1u);
  const auto& s = id.str();
  EXPECT_EQ(fsys::read_symlink(links[0]), fsys::path("../../../name/" + s.substr(0, 2) + "/" + s.substr(2, 2) + "/" + s));
  EXPECT_EQ(fsys::canonical(links[0]), fsys::canonical(folder));
  auto slot = links[0].parent_path().parent_path().filename().string() + "/" + links[0].parent_path().filename().string();
  EXPECT_TRUE(slot == hour_minute(before) || slot == hour_minute(after)) << slot;
  EXPECT_EQ(count_entries(root / ".tmp"), 0u);  // nothing left over
}

TEST(FileSystemCrashStorageTest, ThrottleDigitChoosesTheRootAndProcessedIsGzipJson) {
  TempDir dir;
  FileSystemCrashStorage store(dir / "standard", dir / "deferred", dir / "processed");
  auto accepted = accepted_id(), deferred = deferred_id();
  store.save_raw_crash(accepted, {{"a", 1}}, {});
  store.save_raw_crash(deferred, {{"d", 1}}, {});
  EXPECT_TRUE(fsys::is_directory(crash_folder(dir / "standard", accepted)));
  EXPECT_FALSE(fsys::exists(crash_folder(dir / "deferred", accepted)));
  EXPECT_TRUE(fsys::is_directory(crash_folder(dir / "deferred", deferred)));
  EXPECT_FALSE(fsys::exists(crash_folder(dir / "standard", deferred)));
  // Deferred crashes are not walked, so their root has no date tree.
  EXPECT_EQ(date_links(dir / "standard", accepted).size(), 1u);
  EXPECT_FALSE(fsys::exists(dir / "deferred" / deferred.date_folder() / "date"));

  nlohmann::json processed = {{"signature", "a | b"}, {"uuid", accepted.str()}};
  store.save_processed(accepted, processed);
  auto file = crash_folder(dir / "processed", accepted) / "processed_crash.json.gz";
  ASSERT_TRUE(fsys::exists(file));
  EXPECT_EQ(nlohmann::json::parse(records::gzip_decompress(fs::read_file(file), 1 << 20)), processed);
  EXPECT_FALSE(fsys::exists(dir / "processed" / accepted.date_folder() / "date"));

  EXPECT_THROW(FileSystemCrashStorage(dir / "s", dir / "d", dir / "s"), std::invalid_argument);
}

TEST(FileSystemCrashStorageTest, ReadsLookInBothRoots) {
  TempDir dir;
  // A deferred crash that sits in the standard root (saved there by a raw store).
  FileSystemRawCrashStorage raw(dir / "standard");
  auto id = deferred_id();
  raw.save_raw_crash(id, {{"x", 1}}, {{"upload_file_minidump", std::string("MDMP")}});
  FileSystemThrottledCrashStorage store(dir / "standard", dir / "deferred");
  EXPECT_TRUE(store.has_raw_crash(id));
  EXPECT_EQ(store.get_raw_crash(id)["x"], 1);
  EXPECT_EQ(store.get_dump(id, "upload_file_minidump"), "MDMP");
  store.remove(id);
  EXPECT_FALSE(raw.has_raw_crash(id));
}

TEST(FileSystemCrashStorageTest, DumpFilesAreHardLinkedOnOneFileSystemAndCopiedAcross) {
  TempDir dir;
  FileSystemRawCrashStorage store(dir / "root");
  auto bytes = binary_bytes(1 << 20, 2);
  auto source = dir / "upload.dump";
  fs::write_file_synced(source, bytes);
  auto id = accepted_id();
  store.save_raw_crash(id, {{"a", 1}}, {{"upload_file_minidump", source}});
  struct stat src{}, dst{};
  ASSERT_EQ(::stat(source.c_str(), &src), 0);
  ASSERT_EQ(::stat((crash_folder(dir / "root", id) / "upload_file_minidump.dump").c_str(), &dst), 0);
  EXPECT_EQ(src.st_ino, dst.st_ino);  // linked, not copied

  struct stat shm{};
  if (::stat("/dev/shm", &shm) != 0 || shm.st_dev == src.st_dev) GTEST_SKIP() << "no second file system";
  TempDir other("/dev/shm");
  auto far = other / "upload.dump";
  fs::write_file_synced(far, bytes);
  auto id2 = accepted_id();
  store.save_raw_crash(id2, {{"a", 1}}, {{"upload_file_minidump", far}});
  EXPECT_EQ(store.get_dump(id2, "upload_file_minidump"), bytes);
  fsys::remove(far);
  EXPECT_EQ(store.get_dump(id2, "upload_file_minidump"), bytes);
}

TEST(FileSystemCrashStorageTest, RefusedSavesTouchNoFile) {
  TempDir dir;
  auto root = dir / "never-created";
  FileSystemRawCrashStorage store(root);
  auto id = accepted_id();
  EXPECT_THROW(store.save_raw_crash(id, {}, {{"../../x", std::string("x")}}), std::invalid_argument);
  EXPECT_THROW(store.save_raw_crash(id, {}, {{"a/b", std::string("x")}}), std::invalid_argument);
  EXPECT_THROW(store.get_dump(id, "../raw_crash"), std::invalid_argument);
  EXPECT_FALSE(fsys::exists(root));
  // Crash ids are validated values: path-like text never becomes a CrashId.
  for (const char* text : {"../../../etc/passwd", "de1bb258-cbbf-4589-a673-34f800160918/..",
                           "..1bb258-cbbf-4589-a673-34f800160918", "de1bb258/cbbf-4589-a673-34f800160918",
                           "DE1BB258-CBBF-4589-A673-34F800160918"}) {
    EXPECT_FALSE(CrashId::parse(text).has_value()) << text;
  }
}

TEST(FileSystemCrashStorageTest, CorruptFilesAreReportedAsCorrupt) {
  TempDir dir;
  FileSystemRawCrashStorage store(dir / "root");
  auto id = accepted_id();
  store.save_raw_crash(id, {{"a", 1}}, {{"upload_file_minidump", std::string("x")}});
  auto folder = crash_folder(dir / "root", id);
  fs::write_file_synced(folder / "raw_crash.json", "{\"a\":");
  fs::write_file_synced(folder / "dump_names.json", "[\"../../x\"]");
  EXPECT_THROW(store.get_raw_crash(id), CorruptCrashData);
  EXPECT_THROW(store.get_dump_names(id), CorruptCrashData);
  EXPECT_THROW(store.get_dumps_as_files(id), CorruptCrashData);

  FileSystemCrashStorage full(dir / "s", dir / "d", dir / "p");
  full.save_processed(id, {{"a", 1}});
  fs::write_file_synced(crash_folder(dir / "p", id) / "processed_crash.json.gz", "not gzip");
  EXPECT_THROW(full.get_processed(id), CorruptCrashData);
}

TEST(FileSystemCrashStorageTest, ForeignEntriesInTheDateTreeAreIgnored) {
  TempDir dir;
  auto root = dir / "root";
  FileSystemRawCrashStorage store(root);
  auto id = accepted_id();
  store.save_raw_crash(id, {{"a", 1}}, {});
  auto day = root / id.date_folder();
  fsys::create_directories(day / "date" / "00" / "00");
  fs::write_file_synced(day / "date" / "00" / "00" / "junk", "x");
  auto other = accepted_id();  // a link to a crash that does not exist
  fsys::create_symlink("../../../name/x", day / "date" / "00" / "00" / other.str());
  fsys::create_directories(root / "notaday" / "date" / "00" / "00");
  fsys::create_directories(day / "date" / "99" / "00");
  EXPECT_EQ(store.new_crashes(10), std::vector<CrashId>{id});
  EXPECT_EQ(store.claim_new_crash(), id);
  EXPECT_FALSE(store.claim_new_crash().has_value());
}

TEST(FileSystemCrashStorageTest, ClaimsAreMovedAsideAndEmptyDateFoldersArePruned) {
  TempDir dir;
  auto root = dir / "root";
  FileSystemRawCrashStorage store(root);
  auto id = accepted_id();
  store.save_raw_crash(id, {{"a", 1}}, {});
  // Move the link to a minute that is not the current one (the current one is left for writers).
  auto links = date_links(root, id);
  ASSERT_EQ(links.size(), 1u);
  int hour = std::stoi(links[0].parent_path().parent_path().filename().string());
  char other_hour[8];
  std::snprintf(other_hour, sizeof other_hour, "%02d", (hour + 12) % 24);
  auto date = root / id.date_folder() / "date";
  auto slot = date / other_hour / "17";
  fsys::create_directories(slot);
  fsys::rename(links[0], slot / id.str());
  fsys::remove(links[0].parent_path());
  fsys::remove(links[0].parent_path().parent_path());

  ASSERT_EQ(store.claim_new_crash(std::chrono::seconds(0)), id);
  EXPECT_FALSE(fsys::exists(date / other_hour)) << "emptied date folders are pruned";
  auto claimed = root / id.date_folder() / "claimed" / other_hour / "17";
  ASSERT_EQ(count_entries(claimed), 1u);
  EXPECT_EQ(fsys::directory_iterator(claimed)->path().filename().string().substr(0, 36), id.str());
  // The expired claim goes back to its own slot on the next walk.
  EXPECT_EQ(store.new_crashes(10), std::vector<CrashId>{id});
  EXPECT_TRUE(fsys::is_symlink(slot / id.str()));
  EXPECT_FALSE(fsys::exists(root / id.date_folder() / "claimed" / other_hour));
  ASSERT_EQ(store.claim_new_crash(), id);
  store.confirm_new_crash(id);
  EXPECT_FALSE(fsys::exists(date / other_hour));
  EXPECT_FALSE(fsys::exists(root / id.date_folder() / "claimed" / other_hour));
  EXPECT_TRUE(store.has_raw_crash(id));
  store.remove(id);
  EXPECT_FALSE(fsys::exists(root / id.date_folder() / "name")) << "emptied name folders are pruned";
}

// 4 writer threads and 2 walker threads on one root, one claiming a crash at a time and one in
// batches of 7: every crash is yielded exactly once.
TEST(FileSystemCrashStorageTest, ConcurrentWritersAndSingleAndBatchWalkersYieldEachCrashOnce) {
  TempDir dir;
  FileSystemRawCrashStorage store(dir / "root");
  constexpr int kWriters = 4, kPerWriter = 60;
  std::mutex mu;
  std::vector<CrashId> written;
  std::map<CrashId, int> yielded;
  std::atomic<int> writers_left{kWriters};
  std::atomic<bool> failed{false};

  auto walker = [&](size_t batch) {
    FileSystemRawCrashStorage own(dir / "root");  // as a separate instance would
    for (;;) {
      bool done = writers_left.load() == 0;
      std::vector<CrashId> ids;
      if (batch == 1) {
        if (auto id = own.claim_new_crash()) ids.push_back(*id);
      } else {
        ids = own.claim_new_crashes(batch);
        if (ids.size() > batch) failed = true;
      }
      if (ids.empty()) {
        if (done) return;
        std::this_thread::yield();
        continue;
      }
      for (const auto& id : ids) {
        // The claimed crash is complete.
        try {
          if (own.get_raw_crash(id)["uuid"] != id.str()) failed = true;
          if (own.get_dump(id, "upload_file_minidump").size() != 2000) failed = true;
        } catch (const std::exception&) {
          failed = true;
        }
        {
          std::lock_guard lock(mu);
          ++yielded[id];
        }
        own.confirm_new_crash(id);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(walker, 1);
  threads.emplace_back(walker, 7);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto id = CrashId::generate(i % 5 == 0 ? ThrottleResult::kDefer : ThrottleResult::kAccept);
        store.save_raw_crash(id, {{"uuid", id.str()}},
                             {{"upload_file_minidump", binary_bytes(2000, static_cast<uint32_t>(w * 1000 + i))}});
        std::lock_guard lock(mu);
        written.push_back(id);
      }
      --writers_left;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(failed.load());
  ASSERT_EQ(written.size(), size_t{kWriters * kPerWriter});
  EXPECT_EQ(yielded.size(), written.size());
  for (auto& id : written) EXPECT_EQ(yielded[id], 1) << id.str();
  EXPECT_TRUE(store.new_crashes(10).empty());
}

// The same with two walker processes sharing the root.
TEST(FileSystemCrashStorageTest, WalkerProcessesNeverGetTheSameCrash) {
  TempDir dir;
  auto root = dir / "root";
  auto done_marker = dir / "writers-done";
  std::vector<std::unique_ptr<ForkedChild>> walkers;
  for (int w = 0; w < 2; ++w) {
    auto out = dir / ("walker-" + std::to_string(w));
    walkers.push_back(std::make_unique<ForkedChild>([&root, &done_marker, out] {
      int code = 0;
      FileSystemRawCrashStorage own(root);
      std::ofstream file(out);
      for (;;) {
        bool done = fsys::exists(done_marker);
        auto id = own.claim_new_crash();
        if (!id) {
          if (done) break;
          ::usleep(500);
          continue;
        }
        if (own.get_raw_crash(*id)["uuid"] != id->str()) code = 3;
        file << id->str() << "\n";
        own.confirm_new_crash(*id);
      }
      file.close();
      return file ? code : 4;
    }));
  }
  FileSystemRawCrashStorage store(root);
  std::mutex mu;
  std::vector<CrashId> written;
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto id = accepted_id();
        store.save_raw_crash(id, {{"uuid", id.str()}}, {{"upload_file_minidump", std::string(100, 'm')}});
        std::lock_guard lock(mu);
        written.push_back(id);
      }
    });
  }
  for (auto& t : writers) t.join();
  fs::write_file_synced(done_marker, "done");
  std::map<std::string, int> yielded;
  for (int w = 0; w < 2; ++w) {
    int status = walkers[w]->wait();
    ASSERT_TRUE(WIFEXITED(status)) << status;
    ASSERT_EQ(WEXITSTATUS(status), 0);
    std::ifstream in(dir / ("walker-" + std::to_string(w)));
    for (std::string line; std::getline(in, line);) ++yielded[line];
  }
  EXPECT_EQ(yielded.size(), written.size());
  for (auto& id : written) EXPECT_EQ(yielded[id.str()], 1) << id.str();
}

// A child process saving `dumps` as crash `id` under `root`, paused at save step `step` until
// `resume` is called (or it is killed).
class PausedWriter {
 public:
  PausedWriter(const fsys::path& root, const CrashId& id, const std::vector<DumpInput>& dumps, const std::string& step) {
    if (::pipe(ready_) != 0 || ::pipe(hold_) != 0) throw std::runtime_error("pipe");
    child_ = std::make_unique<ForkedChild>([&, this] {
      FileSystemStorageOptions options;
      options.save_step_hook = [&](std::string_view s) {
        if (s != step) return;
        char c = 'x';
        if (::write(ready_[1], &c, 1) != 1) ::_exit(5);
        if (::read(hold_[0], &c, 1) != 1) ::_exit(6);
      };
      FileSystemRawCrashStorage own(root, options);
      own.save_raw_crash(id, {{"uuid", id.str()}}, dumps);
      return 0;
    });
  }
  ~PausedWriter() {
    child_.reset();
    for (int fd : {ready_[0], ready_[1], hold_[0], hold_[1]}) ::close(fd);
  }
  // Waits until the writer reaches the step; false if it never does.
  bool reached() {
    char c = 0;
    return ::read(ready_[0], &c, 1) == 1;
  }
  void resume() {
    char c = 'x';
    ASSERT_EQ(::write(hold_[1], &c, 1), 1);
  }
  ForkedChild& child() { return *child_; }

 private:
  int ready_[2] = {-1, -1};
  int hold_[2] = {-1, -1};
  std::unique_ptr<ForkedChild> child_;
};

// A child saving a crash with two large dumps is SIGKILLed at `step`: no half crash is visible,
// the next walk does not yield it, and the leftover .tmp folder is cleaned up afterwards.
void kill_writer_at(const std::string& step) {
  TempDir dir;
  auto root = dir / "root";
  auto id = accepted_id();
  auto big = binary_bytes(8 << 20, 11), big2 = binary_bytes(4 << 20, 12);
  {
    PausedWriter writer(root, id, {{"upload_file_minidump", big}, {"upload_file_minidump_browser", big2}}, step);
    ASSERT_TRUE(writer.reached()) << "the writer never reached " << step;
    writer.child().kill_now();
  }

  FileSystemStorageOptions options;
  options.stale_temporary_age = std::chrono::seconds(0);
  FileSystemRawCrashStorage store(root, options);
  EXPECT_FALSE(store.has_raw_crash(id));
  EXPECT_THROW(store.get_raw_crash(id), CrashNotFound);
  EXPECT_TRUE(store.new_crashes(10).empty());
  EXPECT_FALSE(store.claim_new_crash().has_value());
  EXPECT_FALSE(fsys::exists(crash_folder(root, id)));
  // The dead writer's folder is removed by the stale sweep (a walk runs it too).
  EXPECT_EQ(count_entries(root / ".tmp"), 0u) << "the walk's sweep should have removed it";
  // A later save of the same crash works normally.
  store.save_raw_crash(id, {{"uuid", id.str()}}, {{"upload_file_minidump", big}});
  EXPECT_EQ(store.claim_new_crash(), id);
  EXPECT_EQ(store.get_dump(id, "upload_file_minidump"), big);
}

TEST(FileSystemCrashStorageTest, WriterKilledAfterRawCrashLeavesNoVisibleCrash) { kill_writer_at("raw_crash.json"); }
TEST(FileSystemCrashStorageTest, WriterKilledBetweenDumpsLeavesNoVisibleCrash) {
  kill_writer_at("upload_file_minidump.dump");
}
TEST(FileSystemCrashStorageTest, WriterKilledBeforeRenameLeavesNoVisibleCrash) { kill_writer_at("dump_names.json"); }

TEST(FileSystemCrashStorageTest, StaleSweepLeavesLiveWritersAlone) {
  TempDir dir;
  auto root = dir / "root";
  auto id = accepted_id();
  PausedWriter writer(root, id, {{"upload_file_minidump", binary_bytes(1 << 20, 1)}}, "upload_file_minidump.dump");
  ASSERT_TRUE(writer.reached());
  FileSystemStorageOptions options;
  options.stale_temporary_age = std::chrono::seconds(0);
  FileSystemRawCrashStorage store(root, options);
  EXPECT_EQ(store.remove_stale_temporaries(), 0u);
  EXPECT_TRUE(store.new_crashes(10).empty());  // a walk (and its sweep) neither yields nor removes it
  EXPECT_EQ(count_entries(root / ".tmp"), 1u);
  writer.resume();
  EXPECT_TRUE(writer.child().succeeded());
  EXPECT_EQ(store.claim_new_crash(), id);
  EXPECT_EQ(store.get_dump(id, "upload_file_minidump"), binary_bytes(1 << 20, 1));
  EXPECT_EQ(count_entries(root / ".tmp"), 0u);
}

TEST(FileSystemCrashStorageTest, StaleSweepWaitsForTheConfiguredAge) {
  TempDir dir;
  auto root = dir / "root";
  fsys::create_directories(root / ".tmp" / "123-tmp-0000000000000000");
  FileSystemRawCrashStorage store(root);  // default age: an hour
  EXPECT_EQ(store.remove_stale_temporaries(), 0u);
  EXPECT_EQ(count_entries(root / ".tmp"), 1u);
  FileSystemStorageOptions options;
  options.stale_temporary_age = std::chrono::seconds(0);
  EXPECT_EQ(FileSystemRawCrashStorage(root, options).remove_stale_temporaries(), 1u);
  EXPECT_EQ(count_entries(root / ".tmp"), 0u);
}

}  // namespace
}  // namespace bw::storage
