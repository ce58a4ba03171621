// Healing (docs/symbols.md "Healing"): when a module's .sym arrives (added or replaced by an
// upload), every indexed crash whose last processing missed that module's symbols is queued on
// the reprocessing queue with the default ruleset: a whole processing run (the regenerate_signature
// ruleset only re-runs the signature over the stored stack walk, which the new symbols would not
// reach). The processors walk the dump again with the new symbols, the signature is generated
// anew from the named frames, and the index follows (upsert), which also takes the crash off the
// missing-symbols list. No person has to notice and reprocess by hand.
//
// - The reprocessing queue, never standard or priority: healed crashes never starve new ones
//   (queue/crash_queue.h: one reprocessing delivery in `reprocessing_share`).
// - At most `max_crashes` per module per arrival (newest first); published in batches of
//   `batch_size` (each durable before the next).
// - Never fails an upload: an index or queue failure is logged and counted
//   (bw_symbols_healing_failures_total); the crashes stay on the missing-symbols list, and the
//   next upload of the module, or `admin queue publish`, queues them again.
// Metrics: bw_symbols_healed_crashes_total (crashes queued).
//
// Ownership and threads: borrows the index and queue, which must outlive the healer; heal() may be
// called from any thread (the queue serializes its publishes).
#pragma once

#include <cstddef>
#include <memory>

#include "index/crash_index.h"
#include "queue/crash_queue.h"
#include "symbols/symbol_store.h"
#include "symbols/symbol_upload.h"

namespace bw::web {

class SymbolHealer {
 public:
  struct Options {
    size_t max_crashes = 100'000;
    size_t batch_size = 500;
  };

  SymbolHealer(index::CrashIndex& index, queue::CrashQueue& queue, Options options);
  SymbolHealer(index::CrashIndex& index, queue::CrashQueue& queue) : SymbolHealer(index, queue, Options{}) {}
  ~SymbolHealer();
  SymbolHealer(const SymbolHealer&) = delete;
  SymbolHealer& operator=(const SymbolHealer&) = delete;

  // Queues the crashes that missed `stored`'s module; returns how many were queued (0 on failure,
  // logged).
  size_t heal(const symbols::StoreResult& stored);
  // heal() as the upload routes' hook.
  symbols::StoredHook hook();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
