// Symbol uploads over HTTP (docs/symbols.md, "Uploads"), in the protocols build systems speak:
//
//   POST /symbols/upload          (also "/symbols/upload/")
//       Tecken's upload: a zip of "<debug_file>/<debug_id>/<name>.sym" entries, as the one file
//       of a multipart/form-data body (any field name) or as the whole body (application/zip,
//       application/octet-stream or no Content-Type). A single .sym sent the same way (it starts
//       with "MODULE ") is taken too. 201 with the JSON summary (symbol_upload.h) when anything
//       was taken, 400 with the summary when every file was refused; 400 for a body that is
//       neither a zip nor a .sym.
//       Breakpad's symupload v1 (`symupload file.sym URL`): a multipart form with the .sym in the
//       `symbol_file` field and the fields debug_file, debug_identifier, code_file, os, cpu
//       (version, product optional). debug_file + debug_identifier name the store path the file
//       must agree with. 200 with the summary when taken (symupload wants 200), 400 when refused.
//   Breakpad's sym-upload-v2 (`symupload -p sym-upload-v2 -k TOKEN file.sym URL/symbols/upload/v2`),
//   under /symbols/upload/v2/v1/:
//       GET  symbols/<debug_file>/<debug_id>:checkStatus   {"status": "FOUND"|"MISSING"}
//       POST uploads:create        {"uploadUrl": "<this site>/symbols/upload/v2/v1/uploads/<key>",
//                                   "uploadKey": "<key>"}: a pending upload for one hour
//       PUT  uploads/<key>         the .sym (the key, 128 random bits, is the credential, as a
//                                   signed URL is); 200
//       POST uploads/<key>:complete   {symbol_id: {debug_file, debug_id}, ...} (symupload's loose
//                                   JSON) → {"result": "OK"|"DUPLICATE_DATA"}, or 400 with the reason
//       Answers are written with ": " between key and value: symupload reads them with a regex.
//
// Authentication: every route but the v2 PUT calls `authorize` with the request head when it
// arrives, on the I/O thread, before any body is read: a refused upload costs no disk. It returns
// the uploader's name (the v2 key is bound to it) or the answer refusing the request.
// Bodies stream to scratch files in `scratch_dir` (bounded memory whatever their size); each
// route's body is limited by `max_upload_bytes` (413) and its time by `upload_timeout`.
// Ownership and threads: borrows the store; stores and parses on the worker pool.
// Errors: store failures answer 500 (logged); nothing half-written becomes visible.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/server.h"
#include "symbols/symbol_store.h"
#include "symbols/symbol_upload.h"
#include "symbols/symbol_zip.h"

namespace bw {
class Config;
}

namespace bw::symbols {

using UploadAuthorizer = std::function<std::variant<std::string, http::Response>(const http::Request&)>;

struct UploadRouteOptions {
  std::filesystem::path scratch_dir;               // empty: <store>/.incoming (created)
  uint64_t max_upload_bytes = uint64_t{4} << 30;  // one request's body
  std::chrono::seconds upload_timeout{4 * 3600};   // one request, start to end
  std::chrono::seconds pending_ttl{3600};          // a v2 upload key's life
  ZipLimits zip;
  StoredHook on_stored;  // every file added or replaced (healing)

  // [symbols] max_upload_size, upload_timeout, max_zip_entries, max_inflated_size.
  static UploadRouteOptions from_config(const Config& config);
};

// The first string value after `key` in symupload v2's completion body, which is loose JSON
// ({ symbol_id: {debug_file: "x", debug_id: "y" }, symbol_upload_type: "BREAKPAD" }: keys quoted
// or not); nullopt when absent or not a plain string (an escape in it refuses it).
std::optional<std::string> symupload_json_string(std::string_view body, std::string_view key);

// Adds the routes above to `server` (before server.start()).
void add_symbol_upload_routes(http::Server& server, const SymbolStore& store, UploadAuthorizer authorize,
                              UploadRouteOptions options = {});

}  // namespace bw::symbols
