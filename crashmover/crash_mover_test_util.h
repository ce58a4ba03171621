// Helpers for the crash mover tests: a temporary site (collector buffers, primary storage and an
// embedded queue), crashes written the way the collector writes them, and checks of where each
// crash ended up.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "queue/crash_queue.h"
#include "storage/fs_crash_storage.h"

namespace bw::crashmover::testing {

// Sanitizer builds run the big tests with fewer crashes (they are several times slower).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr size_t kScale = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr size_t kScale = 5;
#else
inline constexpr size_t kScale = 1;
#endif
#else
inline constexpr size_t kScale = 1;
#endif

// Where the volume tests keep their site: tmpfs when there is one. Every save fsyncs several
// times (7 ms each on the CI disk), which would make 10,000 crashes take many minutes; what
// these tests check (claims, exactly-once moves, recovery) does not depend on the disk.
inline std::filesystem::path fast_temp_base() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

using bw::test_support::TempDir;

inline std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

inline std::string dump_bytes(const CrashId& id) { return "MDMP\x93\xa7" + id.str() + std::string(64, '\0'); }

// What the collector saves for one crash.
inline void collect(storage::CrashStorage& buffer, const CrashId& id) {
  nlohmann::json raw = {{"ProductName", "Breakwater"}, {"Version", "1.0"}, {"uuid", id.str()},
                        {"submitted_timestamp", utc_now_iso()}};
  buffer.save_raw_crash(id, raw, {storage::DumpInput{"upload_file_minidump", dump_bytes(id)}});
}

// A site: two collector buffers, primary storage with its three roots, an embedded queue.
struct Site {
  explicit Site(const std::filesystem::path& base = std::filesystem::temp_directory_path()) : dir(base) {}
  TempDir dir;
  std::filesystem::path buffer_a = dir.path() / "collector-a";
  std::filesystem::path buffer_b = dir.path() / "collector-b";
  std::filesystem::path standard = dir.path() / "crashes" / "standard";
  std::filesystem::path deferred = dir.path() / "crashes" / "deferred";
  std::filesystem::path processed = dir.path() / "crashes" / "processed";

  queue::QueueSettings queue_settings() const {
    queue::QueueSettings s;
    s.embedded_path = dir.path() / "queue" / "crash-queue.sqlite";
    return s;
  }
  std::unique_ptr<storage::FileSystemCrashStorage> primary() const {
    return std::make_unique<storage::FileSystemCrashStorage>(standard, deferred, processed);
  }
  // The primary storage's standard root replaced by a plain file: every save fails (as root,
  // permissions would not stop us, so the outage is a path that cannot hold a folder).
  void break_standard_root() const {
    std::filesystem::create_directories(standard);
    std::filesystem::rename(standard, standard.string() + ".away");
    fs::write_file_synced(standard, "not a folder");
  }
  void repair_standard_root() const {
    std::filesystem::remove(standard);
    std::filesystem::rename(standard.string() + ".away", standard);
  }
};

// Every message on a queue, acked: crash id → times queued.
inline std::map<std::string, int> drain_queue(queue::CrashQueue& q) {
  std::map<std::string, int> seen;
  while (auto d = q.consume(std::chrono::milliseconds(500))) {
    seen[d->message.id.str()]++;
    q.ack(*d);
  }
  return seen;
}

// Waits for `condition` up to `timeout`, checking every 20 ms. For conditions only observable
// by looking (files, other processes).
template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace bw::crashmover::testing
