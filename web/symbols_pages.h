// The symbols pages (docs/web.md "Symbols"; docs/symbols.md): what crashes lack and what the site
// holds, so a team sees which .sym files to upload and that they arrived.
//
// Routes (GET; HEAD too), public like /symbols/ itself (module names and ids only):
//   /symbols/missing/?days=&limit=   modules crashes of the last `days` (1..365, default 7) missed
//        symbols for, most crashes first (index::CrashIndex::missing_symbols; the same request
//        parser as /api/MissingSymbols/, so page and API agree): debug file, debug id, code
//        file and id, crashes, last seen, each with the store path to upload it under; links to
//        the JSON and CSV answers; how to upload (breakwater symbols upload, curl, symupload).
//        With no index: the page says the index is needed (503).
//   /symbols/uploads/               the site's store, newest first (SymbolStore::list(), at most
//        500 rows): path (a download link), size stored, when it was written.
// Both also answer without the trailing slash. Errors: a bad parameter is a 400 page naming it;
// the index unavailable a 503 page; anything else a 500 page without detail (logged).
//
// Ownership and threads: borrows the index (may be null) and the store, which must outlive the
// server; the handlers run on the worker pool and hold nothing mutable.
#pragma once

#include "http/server.h"
#include "index/crash_index.h"
#include "symbols/symbol_store.h"

namespace bw::web {

void add_symbols_pages(http::Server& server, index::CrashIndex* index, const symbols::SymbolStore& store);

}  // namespace bw::web
