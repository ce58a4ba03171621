// Operator requests to the processors (`breakwater admin reprocess|priority`, and the web app's
// Reprocessing / PriorityJob APIs): validate crash ids, check the crashes are stored, publish.
//
//   request_reprocessing  → the reprocessing queue, `<id>` or `<id>:regenerate_signature`
//   request_priority      → the priority queue (a deferred crash is processed this way too)
//   request_processing    → any queue with any ruleset (`breakwater admin queue publish`)
//
// Errors: ids that do not parse or are not stored come back in AdminRequestResult::refused with
// the reason and are not published; QueueUnavailable propagates (nothing after the failing batch
// is published; publishing is idempotent, so the operator simply runs it again).
// Thread safety: stateless functions; the queue and storage are the caller's.
#pragma once

#include <string>
#include <vector>

#include "queue/crash_queue.h"
#include "storage/crash_storage.h"

namespace bw::processor {

struct AdminRequestResult {
  std::vector<CrashId> published;
  std::vector<std::string> refused;  // "<text>: <reason>"
};

// `storage` may be null to skip the "is it stored" check.
AdminRequestResult request_reprocessing(queue::CrashQueue& queue, storage::CrashStorage* storage,
                                        const std::vector<std::string>& ids, queue::Ruleset ruleset);
AdminRequestResult request_priority(queue::CrashQueue& queue, storage::CrashStorage* storage,
                                    const std::vector<std::string>& ids);
AdminRequestResult request_processing(queue::CrashQueue& queue, storage::CrashStorage* storage,
                                      const std::vector<std::string>& ids, queue::Ruleset ruleset, queue::QueueKind kind);

}  // namespace bw::processor
