// Symbol uploads into the site's own store (docs/symbols.md, "Uploads"), whatever protocol
// carried them: a zip of "<debug_file>/<debug_id>/<name>.sym" entries (Tecken's upload, the
// `breakwater symbols upload` command) or one .sym (Breakpad's symupload v1 and v2).
//
// What it promises:
// - Every file of an upload gets one outcome: added, replaced, skipped (the same content was
//   already stored) or refused with a reason; one refused file never stops the others.
// - Only Breakpad .sym files are stored: a zip entry must be named "<debug_file>/<debug_id>/
//   <name>.sym" and agree with its MODULE record (SymbolStore::add checks); anything else in the
//   zip is refused and named in the summary. Unsafe entries (links, "..", absolute paths, zip
//   bombs) are refused by read_zip (symbol_zip.h) before they touch the store.
// - `on_stored` (when set) is called once for every file added or replaced, after it is visible
//   in the store: the hook healing uses to reprocess the crashes that waited for it.
//
// Ownership and threads: borrows the store; stateless otherwise; call from any thread. add_zip
// checks and stores entries on one thread per core while it inflates the next ones (at most that
// many inflated entries wait on disk), so `on_stored` may be called from several threads at once.
// Errors: a file that is not a zip: ZipError; store failures: std::system_error (see
// SymbolStore::add).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "symbols/symbol_store.h"
#include "symbols/symbol_zip.h"

namespace bw::symbols {

struct UploadedFile {
  std::string name;    // the zip entry's name, or the uploaded file's name
  StoreResult result;  // outcome, store path, reason, sizes
};

struct UploadSummary {
  std::vector<UploadedFile> files;

  size_t count(StoreOutcome outcome) const;
  // Something was taken: at least one file added, replaced or skipped.
  bool any_taken() const;
  // {"files": N, "added": [{"file","path","bytes"}], "replaced": [...], "skipped": [...],
  //  "refused": [{"file","reason"}]} ("bytes": the .sym's size).
  std::string to_json() const;
};

using StoredHook = std::function<void(const StoreResult&)>;

// Adds every .sym entry of the zip at `zip` (rules above). Scratch files go to `scratch_dir`.
UploadSummary add_zip(const SymbolStore& store, const std::filesystem::path& zip,
                      const std::filesystem::path& scratch_dir, const ZipLimits& limits,
                      const StoredHook& on_stored = {});

// Adds one uploaded .sym (`name`: the name it was sent under, for the summary). `claimed`: the
// store path the sender said it is ("<debug_file>/<debug_id>/<name>.sym"), checked against its
// MODULE record; empty: its MODULE record decides.
UploadedFile add_uploaded_sym(const SymbolStore& store, const std::filesystem::path& sym, std::string_view name,
                              std::string_view claimed, const StoredHook& on_stored = {});

}  // namespace bw::symbols
