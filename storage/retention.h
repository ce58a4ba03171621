// Retention of the file-system crash storage (docs/storage.md, "Retention"): raw crashes, their
// dumps and processed crashes each have their own age, set in [storage]:
//
//   storage.raw_crashes_retention_days  whole day folders of the standard and deferred roots
//   storage.raw_dumps_retention_days    only the dump files of the raw crashes (raw_crash.json stays)
//   storage.processed_retention_days    whole day folders of the processed root
//
// 0 keeps forever (the default for all three). The collector buffer is never expired by age: it
// is a queue the crash mover empties, and expiring it would lose crashes nobody has stored yet.
//
// Age is the crash id's date (its YYYYMMDD day folder: the submission day, UTC), in whole UTC
// days. With N days, the first day kept is the UTC day of `now - N days`: that day and every
// later one are never touched, every earlier one is wholly older than `now - N days` and goes.
// (N = 1 at any time on 2024-05-10 keeps 20240509 and 20240510, expires 20240508.)
//
// Safety: a day folder leaves its root in one rename (into a flock'd folder in the root's .tmp)
// before it is deleted, exactly as `remove` does for one crash, so readers and writers see a
// whole day or none of it. Dumps are expired by emptying dump_names.json first, then unlinking
// the files. A run killed midway leaves nothing half-visible, and the next run finishes it
// (CrashRoot::remove_expiry_trash, the per-day dump marks). Several runs at once (processes or
// hosts sharing the roots) are safe: whichever renames a day first expires it.
// A crash whose day is past retention may be expired at any time, even just after it is saved.
//
// Errors: ConfigError (from_config) for a negative or absurd age; TransientStorageError for I/O
// failures (the run stops at the first; running again continues where it stopped).
// Thread safety: stateless; safe to run from several threads and processes at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "storage/factory.h"

namespace bw::storage {

// Longest age accepted (100 years): keeps `now - days` far inside the clock's range.
inline constexpr int64_t kMaxRetentionDays = 36500;

struct RetentionSettings {
  int64_t raw_crashes_days = 0;  // 0 = keep forever
  int64_t raw_dumps_days = 0;    // 0 = keep as long as the raw crash
  int64_t processed_days = 0;    // 0 = keep forever

  // Reads the three storage.*_retention_days keys; ConfigError naming the key for a value
  // outside 0..kMaxRetentionDays.
  static RetentionSettings from_config(const Config& config);
  // True when some age is set (a run can remove something).
  bool any() const { return raw_crashes_days > 0 || raw_dumps_days > 0 || processed_days > 0; }
};

// What one run removed, for a progress line and metrics.
struct RetentionResult {
  uint64_t raw_days = 0;           // day folders removed from the standard and deferred roots
  uint64_t raw_crashes = 0;        // raw crashes in them (with their dumps)
  uint64_t dump_crashes = 0;       // crashes whose dumps were removed (raw crash kept)
  uint64_t dumps = 0;              // dump files removed from them
  uint64_t processed_days = 0;     // day folders removed from the processed root
  uint64_t processed_crashes = 0;  // processed crashes in them

  // "removed 2 days of raw crashes (340 crashes), 812 dumps of 406 crashes, 1 day of processed
  // crashes (170 crashes)"; "removed nothing" when nothing was.
  std::string summary() const;
};

struct RetentionOptions {
  // Called with one human line per root and kind that removed something.
  std::function<void(std::string_view line)> progress;
  // Test-only pause point: see CrashRootOptions::save_step_hook ("expire ..." steps).
  std::function<void(std::string_view step)> step_hook;
};

// The first day an age keeps, "YYYYMMDD": the UTC day of `now - days`. nullopt for 0 (forever).
// std::invalid_argument for a negative age.
std::optional<std::string> first_kept_day(int64_t days, std::chrono::system_clock::time_point now);

// Applies `settings` to the standard, deferred and processed roots of `roots` (never to
// roots.collector): whole raw days first, then the dumps of the raw days left, then processed
// days. Roots that do not exist are skipped; nothing is created for an age of 0.
RetentionResult apply_retention(const StorageRoots& roots, const RetentionSettings& settings,
                                std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                                const RetentionOptions& options = {});

// The same with the roots and ages of `config` (what `breakwater admin expire` and the periodic
// job of `serve` run).
RetentionResult apply_retention(const Config& config,
                                std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                                const RetentionOptions& options = {});

}  // namespace bw::storage
