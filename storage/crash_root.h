// One file-system root of crashes, laid out as docs/design.md §4 (see docs/storage.md):
//
//   <root>/<YYYYMMDD>/name/<id[0:2]>/<id[2:4]>/<id>/      the crash folder (name tree)
//   <root>/<YYYYMMDD>/date/<HH>/<MM>/<id>                  symlink → the crash folder (date tree)
//   <root>/<YYYYMMDD>/claimed/<HH>/<MM>/<id>.<claimed ms>.<deadline ms>   a claimed date link
//   <root>/.tmp/<pid>-tmp-<16 hex>/                        saves being built; trash being removed
//   <root>/.tmp/<pid>-expire-tmp-<16 hex>/<YYYYMMDD>/      a day being removed by retention
//   <root>/<YYYYMMDD>/.dumps-expiring, .dumps-expired      retention's dump pass: running, done
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
  // "dump_names.json", "renamed", "linked"; and of retention: "expire day renamed" (a day folder
  // is in .tmp, not yet deleted), "expire dump_names.json emptied" (a crash's dump list is [],
  // its dump files not yet removed).
  std::function<void(std::string_view step)> save_step_hook;
};

// What one retention pass over a root removed (see expire_days_before, expire_dumps_before).
struct ExpiryCounts {
  uint64_t days = 0;     // day folders removed whole
  uint64_t crashes = 0;  // crash folders in them, or crashes whose dumps were removed
  uint64_t dumps = 0;    // dump files removed
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

  // --- listing (for rebuilding the index) ---
  // Day folders named by a valid date (YYYYMMDD), ascending.
  std::vector<std::string> crash_days() const;
  // Ids of the crash folders saved under `day` that hold `filename`, sorted. A listing only: a
  // crash may be removed or replaced right after. Empty when the day folder does not exist.
  std::vector<CrashId> crash_ids_with_file(const std::string& day, const std::string& filename) const;

  // --- retention (docs/storage.md, "Retention") ---
  // `first_kept_day` is a "YYYYMMDD": day folders named by a valid date before it are expired,
  // that day and later ones are never touched. Folders that are not a valid date are left alone.
  //
  // Removes each expired day folder whole (crashes, dumps, processed files, date links, claims):
  // it is renamed into a flock'd .tmp folder in one step (readers see the whole day or none of
  // it), then deleted. Counts the days and the crash folders in them.
  ExpiryCounts expire_days_before(const std::string& first_kept_day);
  // Removes the dumps of every crash in the expired day folders, keeping raw_crash.json: first
  // dump_names.json becomes [] (atomically, fsync'd), then the .dump files go, so no reader is
  // ever offered a dump that is missing; get_dump of a removed dump is CrashNotFound. Works on
  // the crash folder through one descriptor, so a crash saved again meanwhile (its folder
  // swapped) is left whole for the next pass. A day whose pass completed is marked
  // (<day>/.dumps-expired) and skipped afterwards; save_crash removes the mark, so a crash saved
  // late into an expired day loses its dumps on the next pass. Counts crashes and dump files.
  ExpiryCounts expire_dumps_before(const std::string& first_kept_day);
  // Removes what expiry runs that died midway left in .tmp (whatever its age) unless a live
  // process holds it; returns how many folders. The expire_* calls run it first.
  size_t remove_expiry_trash();

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
  // Valid-date day folders before first_kept_day; std::invalid_argument for a bad first_kept_day.
  std::vector<std::string> expired_days(const std::string& first_kept_day) const;
  // Removes the dumps of one crash folder: crashes is 1 when anything changed, dumps the files.
  ExpiryCounts expire_crash_dumps(const std::filesystem::path& crash_folder);
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
