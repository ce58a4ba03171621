// The three file-system crash storages of docs/design.md §4, each adding to the previous:
//
//   FileSystemRawCrashStorage        one root for every raw crash (the collector's buffer)
//   FileSystemThrottledCrashStorage  a standard root (throttle digit 0: to be processed) and a
//                                    deferred root (digit 1: stored, processed on demand)
//   FileSystemCrashStorage           + a processed root (processed_crash.json.gz)
//
// Roots are separate paths so each population can sit on its own file system. Reads look in the
// root the crash id's throttle digit names first, then in the other one, so a crash saved under
// either root is found. The standard root keeps a date tree (new_crashes / claims); the deferred
// root keeps one only when asked (nothing walks deferred crashes by default, as in Socorro's
// storage, docs/design.md §4); the processed root never does. Layout, atomicity and claims:
// crash_root.h, docs/storage.md.
//
// Thread safety: every method may be called from many threads, and from many processes sharing
// the roots. Errors: see crash_storage.h.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "storage/crash_root.h"
#include "storage/crash_storage.h"

namespace bw::storage {

struct FileSystemStorageOptions {
  bool standard_date_tree = true;   // Raw storage: its only root always has one
  bool deferred_date_tree = false;
  std::chrono::seconds stale_temporary_age{3600};
  std::function<void(std::string_view step)> save_step_hook;  // test-only, see CrashRootOptions
};

// Shared machinery: raw roots in preference order plus an optional processed root.
class FileSystemStorageBase : public CrashStorage {
 public:
  void save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps) override;
  void save_processed(const CrashId& id, const nlohmann::json& processed) override;
  nlohmann::json get_raw_crash(const CrashId& id) override;
  std::vector<std::string> get_dump_names(const CrashId& id) override;
  std::string get_dump(const CrashId& id, const std::string& name) override;
  DumpFiles get_dumps_as_files(const CrashId& id) override;
  nlohmann::json get_processed(const CrashId& id) override;
  bool has_raw_crash(const CrashId& id) override;
  void remove(const CrashId& id) override;
  std::vector<CrashId> new_crashes(size_t limit) override;
  std::optional<CrashId> claim_new_crash(std::chrono::seconds lease = std::chrono::seconds(300)) override;
  std::vector<CrashId> claim_new_crashes(size_t max, std::chrono::seconds lease = std::chrono::seconds(300)) override;
  void confirm_new_crash(const CrashId& id) override;
  void release_new_crash(const CrashId& id) override;
  std::vector<std::string> processed_days() override;
  std::vector<CrashId> processed_crash_ids(const std::string& day) override;

  // Removes leftover .tmp folders of dead writers (older than the stale age) in every root.
  size_t remove_stale_temporaries();
  // The root a crash with this id is saved in.
  CrashRoot& root_for(const CrashId& id);

 protected:
  FileSystemStorageBase() = default;
  void add_raw_root(std::filesystem::path path, bool date_tree, const FileSystemStorageOptions& options);
  void set_processed_root(std::filesystem::path path, const FileSystemStorageOptions& options);

 private:
  // The roots to look in for `id`, its own first.
  std::vector<CrashRoot*> read_order(const CrashId& id);
  // The root holding the crash, or CrashNotFound.
  CrashRoot& holder(const CrashId& id);
  std::vector<std::unique_ptr<CrashRoot>> raw_roots_;  // [0] standard (or the only root), [1] deferred
  std::unique_ptr<CrashRoot> processed_root_;
};

class FileSystemRawCrashStorage : public FileSystemStorageBase {
 public:
  explicit FileSystemRawCrashStorage(std::filesystem::path root, FileSystemStorageOptions options = {});
};

class FileSystemThrottledCrashStorage : public FileSystemStorageBase {
 public:
  FileSystemThrottledCrashStorage(std::filesystem::path standard_root, std::filesystem::path deferred_root,
                                  FileSystemStorageOptions options = {});
};

class FileSystemCrashStorage : public FileSystemThrottledCrashStorage {
 public:
  // Throws std::invalid_argument when the processed root is one of the raw roots (a raw save
  // replaces the whole crash folder, which would drop the processed file).
  FileSystemCrashStorage(std::filesystem::path standard_root, std::filesystem::path deferred_root,
                         std::filesystem::path processed_root, FileSystemStorageOptions options = {});
};

}  // namespace bw::storage
