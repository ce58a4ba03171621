// `breakwater admin index rebuild`: the crash index re-created from processed crash storage. The
// index is derived data and storage is the truth, so this is how an index that was lost, moved to
// another backend, or given new fields (index.annotations) is filled again.
//
// Promises:
// - Streams: reads one day of processed crash ids at a time (ascending YYYYMMDD of the crash id,
//   the submission day), and upserts in batches of `batch` crashes (one transaction each), so
//   memory is bounded by one day's ids and one batch, whatever the store holds.
// - Idempotent and resumable: upserting replaces rows, so running again (or with `since` set to
//   the day a stopped run had reached, which every progress line names) finishes the job without
//   counting anything twice.
// - A processed crash that cannot be read (corrupt file) or indexed (no uuid or date) is skipped,
//   counted and named in the progress, never fatal. The raw crash is read for the annotation
//   fallbacks when it is still stored.
// - It only adds and replaces rows: index rows of crashes no longer in storage are left to the
//   index's own retention (index.retention_days).
//
// Errors: index::IndexUnavailable and storage::TransientStorageError stop the run (the last
// progress line says from which day to resume); storage::UnsupportedOperation when the storage
// keeps no processed crashes.
// Thread safety: one run per call; the storage and index may be used by others meanwhile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "index/crash_index.h"
#include "storage/crash_storage.h"

namespace bw::maintenance {

struct RebuildOptions {
  std::optional<std::string> since_day;  // "YYYYMMDD": days before it are skipped
  size_t batch = 500;                    // crashes per upsert transaction
  // One human line per finished day, per skipped crash, and at the end.
  std::function<void(std::string_view line)> progress;
};

struct RebuildResult {
  uint64_t days = 0;
  uint64_t indexed = 0;
  uint64_t skipped = 0;  // unreadable or unindexable processed crashes
};

// Throws std::invalid_argument for a since_day that is not YYYYMMDD or a batch of 0.
RebuildResult rebuild_index(storage::CrashStorage& storage, index::CrashIndex& index, const RebuildOptions& options);

// "2026-11-01" or "20261101" → "20261101"; nullopt for anything else.
std::optional<std::string> parse_day(std::string_view text);

}  // namespace bw::maintenance
