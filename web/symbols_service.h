// The symbols service as `serve` and `web` run it (docs/symbols.md): /symbols/ downloads
// (symbols/symbol_routes.h), uploads (symbols/upload_routes.h) checked by upload_authorizer
// below, healing of the crashes that missed an uploaded module (web/symbol_healing.h), and the
// symbols pages (web/symbols_pages.h).
//
// Who may upload symbols (docs/symbols.md, "Uploads"; docs/security.md): a token with the
// `upload_symbols` permission, found where each upload protocol can carry it:
//   1. the `Auth-Token` header (Tecken's upload, `breakwater symbols upload`, curl);
//   2. HTTP basic authentication, the token as the password (or as the user name when the password
//      is empty): symupload v1 with the token in the URL (`https://x:TOKEN@host/symbols/upload`);
//   3. the `token` query parameter (`.../symbols/upload?token=TOKEN`: symupload v1 sends no header);
//   4. the `key` query parameter (symupload v2's `-k TOKEN`).
// No token anywhere: 401 with `WWW-Authenticate: Basic`; a token refused (unknown, expired,
// revoked, owner disabled) or without `upload_symbols`: 403 saying which. Never logged or echoed.
//
// The check runs when the request head arrives, on the I/O thread (one indexed SQLite read and a
// BLAKE2b hash), so a refused upload is answered before any of its body is read or stored.
// Ownership and threads: the authorizer copies `accounts` (whose store must outlive it) and may be
// called from any thread.
#pragma once

#include <memory>

#include "index/crash_index.h"
#include "queue/crash_queue.h"
#include "symbols/upload_routes.h"
#include "web/caller_auth.h"
#include "web/symbol_healing.h"

namespace bw::web {

symbols::UploadAuthorizer upload_authorizer(Accounts accounts);

// Ownership and threads: borrows the store, index and queue (index and queue may be null: no
// healing, and the missing-symbols page says the index is needed), which must outlive the server.
class SymbolsService {
 public:
  SymbolsService(const Config& config, const symbols::SymbolStore& store, index::CrashIndex* index,
                 queue::CrashQueue* queue, Accounts accounts);
  ~SymbolsService();
  SymbolsService(const SymbolsService&) = delete;
  SymbolsService& operator=(const SymbolsService&) = delete;

  // Adds every route above to `server` (before server.start()).
  void add_routes(http::Server& server);

 private:
  const symbols::SymbolStore& store_;
  index::CrashIndex* index_;
  Accounts accounts_;
  symbols::UploadRouteOptions upload_options_;
  std::unique_ptr<SymbolHealer> healer_;
};

}  // namespace bw::web
