// Serving the site's own symbol store over HTTP (docs/design.md §13), so that a Breakwater site is a
// symbol server for processors on other machines, other Breakwater sites, rust-minidump,
// Breakpad's http_symbol_supplier and Tecken-style clients.
//
// Routes (GET and HEAD; HEAD answers the same headers with no body):
//   /symbols/<debug_file>/<debug_id>/<name>.sym    200 with the .sym; 404 when not stored.
//       <name> is sym_file_name(<debug_file>) ("xul.pdb" -> "xul.sym"); the debug id in either
//       case. With `Accept-Encoding: gzip` (or x-gzip, or *, with a non-zero q) the stored gzip
//       bytes are sent as they are (`Content-Encoding: gzip`), otherwise inflated.
//       Headers: `Content-Type: text/plain`, `Content-Length`, `ETag` ("<sha256 of the .sym>" for
//       the plain body, "<sha256>-gzip" for the gzip'd one), `Vary: Accept-Encoding`,
//       `Cache-Control: public, max-age=<max_age>`. `If-None-Match` with the answer's ETag (or *)
//       → 304 with the same headers and no body.
//   /symbols/<code_file>/<code_id>/<code_file>     Tecken's code-file lookup: 302 to the debug-file
//       URL above when the store's code-id index knows that code id; 404 otherwise.
//   Anything else under /symbols/ with three path parts: 404. A path that is not three parts, a
//   part that is empty, ".", "..", holds a separator or control character (after percent-
//   decoding), an id that is not alphanumeric or longer than 64, or a path longer than 2 KiB:
//   400. 404 and 400 answers are short plain text; 404s may be cached for `not_found_max_age`.
// The query string is ignored (Tecken's ?try=1 and friends).
//
// Ownership and threads: borrows `store`, which must outlive the server. Paths are checked on the
// I/O thread; file reads run on the server's worker pool. A body is held in memory while it is
// sent (the stored gzip bytes, or the whole inflated .sym for a client without gzip).
// Errors: a stored file that cannot be read or inflated answers 500 (logged).
#pragma once

#include <chrono>

#include "http/server.h"
#include "symbols/symbol_store.h"

namespace bw::symbols {

struct SymbolRouteOptions {
  std::chrono::seconds max_age{3600};
  std::chrono::seconds not_found_max_age{60};
};

// Adds the routes above to `server` (before server.start()).
void add_symbol_routes(http::Server& server, const SymbolStore& store, SymbolRouteOptions options = {});

}  // namespace bw::symbols
