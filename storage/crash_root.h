// One file-system root of crashes, laid out as DESIGN §4 (see docs/storage.md):
//
//   <root>/<YYYYMMDD>/name/<id[0:2]>/<id[2:4]>/<id>/      the crash folder (name tree)
//   <root>/<YYYYMMDD>/date/<HH>/<MM>/<id>                  symlink → the crash folder (date tree)
//   <root>/<YYYYMMDD>/claimed/<HH>/<MM>/<id>.<claimed ms>.<deadline ms>   a claimed date link
//   <root>/.tmp/<pid>-tmp-<16 hex>/                        saves being built; trash being removed
//
// YYYYMMDD comes from the crash id; HH/MM is the UTC time the crash was saved.
//
// Promises:
// - A crash folder appears whole: it is built in .tmp (same file system), every file and the
//   folder fsync'd, then renamed into place (an existing crash is swapped out atomically with
//   renameat2(RENAME_EXCHANGE)); only then is the date link made (and fsync'd). Readers and
//   walkers never see half a crash; a save killed midway leaves only a .tmp folder.
// - Claims are renames of the date link into claimed/: exactly one caller wins, across threads,
//   processes and hosts sharing the root. Claims past their deadline are renamed back.
// - .tmp folders are flock'd by the process building them; remove_stale_temporaries only removes
//   folders older than the configured age that nobody holds a lock on.
// Errors: CrashNotFound for a missing crash or file, TransientStorageError for I/O failures,
// std::invalid_argument for bad dump names (before any file access).
// Thread safety: no mutable state besides atomics; safe from many threads and processes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"
#include "storage/crash_storage.h"

namespace bw::storage {

struct CrashRootOptions {
  // Link saved crashes from the date tree (needed for new_crashes / claims).
  bool date_tree = true;
  // .tmp folders (and dangling date links) older than this, not locked by a live writer, are
  // removed by remove_stale_temporaries, which walks also run every quarter of this age.
  std::chrono::seconds stale_temporary_age{3600};
  // Test-only pause point, called after each step of a save: "raw_crash.json", "<name>.dump",
  // "dump_names.json", "renamed", "linked".
  std::function<void(std::string_view step)> save_step_hook;
};

// A new crash in the date tree, with its place in walk order.
struct NewCrashEntry {
  std::string day;     // YYYYMMDD
  std::string hour;    // HH
  std::string minute;  // MM
  int64_t linked_ns = 0;  // when the date link was made (its lstat mtime)
  CrashId id;

  auto order_key() const { return std::tie(day, hour, minute, linked_ns, id); }
};

class CrashRoot {
 public:
  CrashRoot(std::filesystem::path root, CrashRootOptions options = {});

  const std::filesystem::path& path() const { return root_; }
  bool has_date_tree() const { return options_.date_tree; }

  // <root>/<YYYYMMDD>/name/<id[0:2]>/<id[2:4]>/<id>
  std::filesystem::path crash_dir(const CrashId& id) const;
  // True when the crash folder exists (it always holds raw_crash.json or the saved file).
  bool has_crash(const CrashId& id) const;

  // Saves raw_crash.json, one <name>.dump per dump and dump_names.json, replacing any earlier
  // crash with this id whole. Makes the date link unless the crash is already new or claimed.
  void save_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps);
  // Writes one file into the crash folder (creating it), atomically and durably.
  void save_file(const CrashId& id, const std::string& filename, std::string_view bytes);
  // A file of the crash folder. CrashNotFound when the crash or the file is missing.
  std::string read_file(const CrashId& id, const std::string& filename) const;
  // Removes the crash folder and its date link or claim. True when the crash folder existed.
  bool remove_crash(const CrashId& id);

  // --- date tree (only when has_date_tree) ---
  // Complete new crashes, oldest first, at most `limit`; returns expired claims first.
  std::vector<NewCrashEntry> list_new(size_t limit);
  // Claims `entry` (from list_new) until now + lease. False when someone else has it or the
  // crash has gone.
  bool try_claim(const NewCrashEntry& entry, std::chrono::milliseconds lease);
  // Removes the claim or date link of `id`. True when there was one.
  bool confirm(const CrashId& id);
  // Puts a claimed crash back in its date folder. True when it was claimed.
  bool release(const CrashId& id);
  // Renames claims whose deadline has passed back into the date tree; returns how many.
  size_t return_expired_claims();
  // Removes .tmp folders older than the stale age that no live writer holds; returns how many.
  size_t remove_stale_temporaries();

 private:
  struct Claim {
    std::filesystem::path path;
    std::string hour, minute;
    int64_t deadline_ms = 0;
  };

  std::filesystem::path tmp_root() const { return root_ / ".tmp"; }
  std::filesystem::path date_link_path(const CrashId& id, const std::string& hour, const std::string& minute) const;
  std::string date_link_target(const CrashId& id) const;
  std::vector<std::string> days() const;
  std::optional<std::filesystem::path> find_date_link(const CrashId& id) const;
  std::optional<Claim> find_claim(const CrashId& id) const;
  void make_date_link(const CrashId& id);
  // Renames `from` to `to`, creating to's folder if a concurrent prune removed it. False when
  // `from` is gone (someone else moved it first).
  bool move_entry(const std::filesystem::path& from, const std::filesystem::path& to, bool durable);
  void prune_empty(const std::filesystem::path& folder, const std::filesystem::path& stop) const;
  void maybe_remove_stale_temporaries();
  void step(std::string_view name) const {
    if (options_.save_step_hook) options_.save_step_hook(name);
  }

  std::filesystem::path root_;
  CrashRootOptions options_;
  std::atomic<int64_t> next_stale_sweep_ms_{0};
};

}  // namespace bw::storage
