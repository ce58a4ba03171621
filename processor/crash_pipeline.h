// One crash from stored raw data to a saved processed crash (docs/design.md §8).
//
// `process` fetches the raw crash and its dumps (CrashStorage::get_dumps_as_files), runs the
// ruleset the queue message names, adds the bookkeeping fields and saves the processed crash:
//   default               the configured rules on the raw crash
//   regenerate_signature  the signature rule alone, on the stored processed crash (a crash never
//                         processed is processed in full instead, with a note)
// Bookkeeping (always, last): processor_notes (this run), processor_history (earlier runs'
// started/completed times, success, ruleset and notes, oldest first), started_datetime,
// completed_datetime, success (false when a rule failed or the main dump was not walked).
// `record_failure` saves a processed crash with success=false and the reason, for messages the
// queue dead-lettered; it keeps whatever processed fields were stored before.
//
// Indexing: with a crash index, every saved processed crash is then upserted into it (with its raw
// crash, for the annotation fallbacks of the field catalogue). Storage is the truth and the index
// is derived: the save comes first, and an index that is down (index::IndexUnavailable) makes
// `process` throw after the save, so the processor retries the delivery and the crash stays
// queued until it is findable. `record_failure` indexes on a best-effort basis (logged).
//
// Errors: storage errors propagate (CrashNotFound when the raw crash does not exist,
// TransientStorageError to retry later, CorruptCrashData), and index::IndexUnavailable; rule
// failures never do.
// Thread safety: `process` may be called from many threads at once.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "index/crash_index.h"
#include "processor/ruleset.h"
#include "queue/crash_queue.h"
#include "storage/crash_storage.h"

namespace bw::processor {

class CrashPipeline {
 public:
  // `test_hooks`: copy the BreakwaterTestHook annotation into the context (tests only).
  // `index` (borrowed; null: no indexing) receives every saved processed crash.
  CrashPipeline(storage::CrashStorage& storage, Ruleset default_rules, Ruleset regenerate_rules, bool test_hooks = false,
                index::CrashIndex* index = nullptr);

  // Processes and saves; returns the saved processed crash.
  nlohmann::json process(const CrashId& id, queue::Ruleset ruleset);
  // Saves a failed processing with `reason` (best effort for the dead-letter path: throws only
  // storage errors of the save itself).
  nlohmann::json record_failure(const CrashId& id, const std::string& reason);

 private:
  nlohmann::json run_default(const CrashId& id, std::optional<nlohmann::json> previous, std::vector<std::string> notes);
  std::optional<nlohmann::json> previous_processed(const CrashId& id, std::vector<std::string>& notes);
  void finish(ProcessingContext& context, const std::optional<nlohmann::json>& previous, queue::Ruleset ruleset);
  // Saves, then indexes (raw: the raw crash when at hand, else read from storage).
  void save_and_index(const CrashId& id, const nlohmann::json& processed, const nlohmann::json* raw);

  storage::CrashStorage& storage_;
  Ruleset default_rules_;
  Ruleset regenerate_rules_;
  bool test_hooks_;
  index::CrashIndex* index_;
};

}  // namespace bw::processor
