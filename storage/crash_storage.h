// The Crash Storage API (docs/design.md §5): one interface for every place crashes are kept.
//
// Implementations (each in its own file beside this one):
//   FileSystemRawCrashStorage       one root, raw crashes only (the collector's buffer)
//   FileSystemThrottledCrashStorage standard + deferred roots, chosen by the throttle digit
//   FileSystemCrashStorage          standard + deferred + processed roots: the whole API
//   MemoryCrashStorage              in memory, for unit tests of code above this API
//   PolyCrashStorage / FallbackCrashStorage / PrimaryDeferredCrashStorage: compositions
//
// Errors:
//   CrashNotFound          the crash (or the named dump, or its processed form) does not exist.
//   TransientStorageError  the store could not do it now (disk full, I/O error, unreachable):
//                          callers retry with backoff; nothing was half-written.
//   UnsupportedOperation   this implementation does not keep that kind of data (for example
//                          processed crashes in raw-only storage).
//   CorruptCrashData       stored bytes do not decode (bad JSON, bad gzip, bad dump list):
//                          retrying will not help; the crash needs an operator.
//   std::invalid_argument  a dump name that is not [A-Za-z0-9_]{1,30}, or duplicate dump names:
//                          refused before any file access.
// Crash ids are validated `CrashId` values, so no implementation ever sees a path-like id.
//
// Atomicity: a save is all-or-nothing as seen by readers; a crash that `save_raw_crash` returned
// for is durably stored (fsync'd) before the call returns.
//
// Thread safety: every implementation is safe to call from many threads at once, and the
// file-system ones from many processes sharing one root.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"

namespace bw::storage {

class CrashNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class TransientStorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class UnsupportedOperation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};
class CorruptCrashData : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True for [A-Za-z0-9_]{1,30}: the only dump names any implementation stores or looks up, so a
// dump name can never be a path ("../x", "a/b", "") or collide with the crash's own files.
bool is_valid_dump_name(std::string_view name);
// Throws std::invalid_argument naming the bad dump name unless is_valid_dump_name.
void check_dump_name(std::string_view name);

// A dump handed to save_raw_crash: its bytes, or a file holding them. A file is linked or
// copied, never moved: the caller still owns it and removes it afterwards (unlinks it; it must not
// rewrite it in place, since a hard link shares the bytes).
struct DumpInput {
  std::string name;  // validated by the caller: [A-Za-z0-9_]{1,30}
  std::variant<std::string, std::filesystem::path> content;
};

// Dumps as files a stack walker can map. Files this object created (for stores that do not keep
// dumps as plain files) are removed when it is destroyed.
class DumpFiles {
 public:
  DumpFiles() = default;
  DumpFiles(const DumpFiles&) = delete;
  DumpFiles& operator=(const DumpFiles&) = delete;
  DumpFiles(DumpFiles&&) noexcept = default;
  DumpFiles& operator=(DumpFiles&& other) noexcept;  // removes this object's own temporaries first
  ~DumpFiles();

  void add(std::string name, std::filesystem::path path, bool temporary);
  const std::map<std::string, std::filesystem::path>& paths() const { return paths_; }

 private:
  void remove_temporaries() noexcept;

  std::map<std::string, std::filesystem::path> paths_;
  std::vector<std::filesystem::path> temporaries_;
};

class CrashStorage {
 public:
  virtual ~CrashStorage() = default;

  // Stores the raw crash (annotations + collector fields) and its dumps under `id`. Saving an id
  // that exists replaces it whole.
  virtual void save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash,
                              const std::vector<DumpInput>& dumps) = 0;
  // Stores the processed crash (gzip'd JSON on disk).
  virtual void save_processed(const CrashId& id, const nlohmann::json& processed) = 0;

  virtual nlohmann::json get_raw_crash(const CrashId& id) = 0;
  virtual std::vector<std::string> get_dump_names(const CrashId& id) = 0;
  virtual std::string get_dump(const CrashId& id, const std::string& name) = 0;
  virtual DumpFiles get_dumps_as_files(const CrashId& id) = 0;
  virtual nlohmann::json get_processed(const CrashId& id) = 0;
  virtual bool has_raw_crash(const CrashId& id) = 0;

  // Removes everything stored for `id` (raw, dumps, processed). CrashNotFound if nothing was.
  virtual void remove(const CrashId& id) = 0;

  // --- New crashes (the date tree) ---
  // Complete raw crashes not yet confirmed, oldest first, at most `limit`. A listing only: it
  // includes crashes currently claimed by someone else only if their claim has expired.
  virtual std::vector<CrashId> new_crashes(size_t limit) = 0;
  // Atomically claims the oldest unclaimed new crash: two consumers never hold the same crash.
  // A claim not confirmed or released within `lease` expires and the crash is offered again.
  virtual std::optional<CrashId> claim_new_crash(std::chrono::seconds lease = std::chrono::seconds(300)) = 0;
  // Claims up to `max` of the oldest unclaimed new crashes at once, oldest first, with the same
  // promises as claim_new_crash (a consumer's batch). Fewer (or none) when fewer are waiting.
  // If it throws, it holds none of the claims it made. The default calls claim_new_crash;
  // file-system storage lists each date folder once per batch instead of once per crash.
  virtual std::vector<CrashId> claim_new_crashes(size_t max, std::chrono::seconds lease = std::chrono::seconds(300));
  // The consumer is done (saved elsewhere, queued): forget the crash in the date tree (claimed or
  // not: a consumer whose lease ran out still finishes the job). Forgetting a crash that is not
  // new is a no-op, so a retried confirm is harmless.
  virtual void confirm_new_crash(const CrashId& id) = 0;
  // The consumer failed: offer the crash again at once, in its original place (oldest first).
  // A no-op when the crash is not claimed (its lease already expired and it was offered again).
  virtual void release_new_crash(const CrashId& id) = 0;

  // --- Listing processed crashes (rebuilding the index, docs/search.md) ---
  // Days (YYYYMMDD, ascending) under which processed crashes may be kept; the day is the crash
  // id's. UnsupportedOperation (the default) for stores that keep no processed crashes.
  virtual std::vector<std::string> processed_days();
  // Ids of the processed crashes of one such day, sorted. A listing only: a crash may be removed
  // right after. Empty for a day with none (or that is not a day). UnsupportedOperation by default.
  virtual std::vector<CrashId> processed_crash_ids(const std::string& day);
};

// Releases each claim, ignoring failures (an unreleased claim expires by itself).
void release_all(CrashStorage& storage, const std::vector<CrashId>& claimed) noexcept;

}  // namespace bw::storage
