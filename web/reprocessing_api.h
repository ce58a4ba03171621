// The write endpoints of the API (docs/web.md "Reprocessing"; crash-stats' /api/Reprocessing/):
//
//   POST /api/Reprocessing/   crash_ids=<id>[:regenerate_signature] (repeated; a form body,
//        application/x-www-form-urlencoded, or the query string): every crash goes on the
//        reprocessing queue, with the regenerate_signature ruleset when the id carries it (re-runs
//        the signature over the stored stack walk; the default ruleset processes the dump again).
//   POST /api/PriorityJob/    crash_ids=<id> (repeated): every crash goes on the priority queue, to
//        be processed before anything else.
// Both need an Auth-Token holding `reprocess_crashes` (web/caller_auth.h): without one 403
// {"error": "... needs the reprocess_crashes permission"}. Ids take a "bp-" prefix. All or nothing:
// a malformed id, an id of a crash that is not stored, no id or more than 1,000 ids answer 400
// {"errors": {"crash_ids": [...]}} naming them, and nothing is published. Success: 200 `true`, as
// crash-stats answers. The queue unreachable: 503 with Retry-After. Every accepted request is
// logged with the token's owner and the number of crashes (never the token).
//
// Ownership and threads: borrows storage, queue and auth, which must outlive the server. The body
// (at most 64 KiB) is read on the I/O thread; the token check, the storage checks and the publish
// run on the worker pool.
#pragma once

#include "http/server.h"
#include "queue/crash_queue.h"
#include "storage/crash_storage.h"
#include "web/caller_auth.h"

namespace bw::web {

void add_reprocessing_routes(http::Server& server, storage::CrashStorage& storage, queue::CrashQueue& queue,
                             const CallerAuth& auth);

}  // namespace bw::web
