// The site's own symbol store (docs/design.md §13): the .sym files a site's builds put in (today with
// `breakwater symbols add`; HTTP uploads later), read directly by the site's processors
// (StoreSymbolSupplier, symbols/symbol_supplier.h) and served to everyone else at /symbols/
// (symbols/symbol_routes.h).
//
// Layout under `dir` (by default <data>/symbols, key symbols.store_dir):
//   <debug_file>/<DEBUG_ID>/<name>.sym.gz        one module's .sym, gzip'd (<name> as sym_file_name:
//                                                 "xul.pdb" -> "xul.sym"), DEBUG_ID upper-cased.
//                                                 The gzip header's comment is "sha256:<hex>", the
//                                                 SHA-256 of the .sym (the ETag; duplicate check).
//   <code_file>/<CODE_ID>/<code_file>.codeid      the code-id index: one line, the store path
//                                                 "<debug_file>/<DEBUG_ID>/<name>.sym" of the module
//                                                 whose INFO CODE_ID record named that code id
//                                                 (code file: the record's, else the debug file).
//   .<name>.tmp-<hex>                             files being written (never read; a crash may
//                                                 leave one behind).
// The two kinds of entries cannot collide (".sym.gz" vs ".codeid"). Since the files are gzip'd,
// other tools read the store through the HTTP route, not as a Breakpad symbol folder.
//
// What add() promises:
// - Before a file becomes visible it is checked: it passes the project's .sym parser with no bad
//   line (check_sym_file, module_symbols.h: a full parse's verdict without building the module,
//   about 1 MiB of memory for a file of any size with ordinary lines), it has a MODULE record,
//   and that record's debug file and debug id make a usable
//   identity (validated by symbol_relative_path, the suppliers' own check) which, when the file
//   arrived under a path ("<debug_file>/<debug_id>/<name>.sym": a folder laid out as a symbol
//   store, later a zip entry), is the identity of that path (debug id compared without case).
//   Anything else is kRefused with a reason and leaves nothing in the store.
// - Writes are atomic and durable: compressed to a temporary file beside the final name, fsync'd,
//   renamed over it, the folder fsync'd. A reader (supplier, HTTP) sees the old file or the new,
//   never a part.
// - The same content again is kSkipped (nothing written); other content under a stored key
//   replaces it (kReplaced). Adds of one key are serialized by an flock on its folder, across
//   threads and processes, so of two identical concurrent adds one is kAdded, the other kSkipped.
// - The input is read three times (hash, check, compress) and must not change meanwhile: a file
//   whose hash differs at the end is refused.
//
// Thread safety: every method may be called from any number of threads and processes at once.
// Errors: problems with the input file (unreadable, not a .sym, wrong identity) are kRefused
// results; failures of the store itself (cannot create folders or write: disk full, permissions)
// throw std::system_error naming the path.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbols/module_symbols.h"

namespace bw::symbols {

enum class StoreOutcome { kAdded, kReplaced, kSkipped, kRefused };
const char* to_string(StoreOutcome outcome);  // "added", "replaced", "skipped", "refused"

struct StoreResult {
  StoreOutcome outcome = StoreOutcome::kRefused;
  std::string path;    // "<debug_file>/<DEBUG_ID>/<name>.sym" (its URL under /symbols/), once known
  std::string reason;  // kRefused: why, in a sentence
  ModuleInfo module;   // the MODULE and INFO CODE_ID records, once parsed
  uint64_t sym_bytes = 0;     // the .sym's size
  uint64_t stored_bytes = 0;  // the .sym.gz's size (added, replaced, skipped)
  std::string sha256;         // of the .sym, lower-case hex (once read)
};

struct StoredSymbol {
  std::string path;            // "<debug_file>/<DEBUG_ID>/<name>.sym"
  std::filesystem::path file;  // the .sym.gz
  std::string debug_file;
  std::string debug_id;
  uint64_t stored_bytes = 0;
  std::filesystem::file_time_type stored_at;  // when it was written (mtime)
  std::string sha256;  // from the gzip header; find() only ("" if the header has none)
};

struct SymbolStoreOptions {
  int compression_level = 3;  // zlib level for the .sym.gz (3: ~2.5x faster than 6, ~15% larger)
};

class SymbolStore {
 public:
  explicit SymbolStore(std::filesystem::path dir, SymbolStoreOptions options = {});

  const std::filesystem::path& dir() const { return dir_; }

  // Checks and stores one .sym file (see above). `claimed`: the path it arrived under,
  // "<debug_file>/<debug_id>/<name>.sym", which must be safe and agree with its MODULE record;
  // empty: its identity is its MODULE record's.
  StoreResult add(const std::filesystem::path& sym_file, std::string_view claimed = {}) const;

  // Adds every "*.sym" file under `folder` (recursively, in path order; links to folders are not
  // followed). A file at "<debug_file>/<debug_id>/<name>.sym" relative to `folder` (a folder laid
  // out as a symbol store) claims that path; any other file's identity is its MODULE record's.
  // `each` is called with every file and its result as it is done.
  void add_folder(const std::filesystem::path& folder,
                  const std::function<void(const std::filesystem::path&, const StoreResult&)>& each) const;

  // The stored .sym.gz of a module, with its SHA-256 from the header; nullopt when it is not
  // stored or the identity is not usable (then *invalid says why, else it is left empty).
  std::optional<StoredSymbol> find(std::string_view debug_file, std::string_view debug_id,
                                   std::string* invalid = nullptr) const;

  // The store path ("<debug_file>/<DEBUG_ID>/<name>.sym") of the stored module whose INFO CODE_ID
  // named this code file and code id (id compared without case); nullopt when none is stored (or
  // the index entry points at a module no longer there), or the identity is not usable (*invalid).
  std::optional<std::string> find_code(std::string_view code_file, std::string_view code_id,
                                       std::string* invalid = nullptr) const;

  // Every stored module, sorted by path (sha256 left empty: reading it opens each file). Costs
  // one directory read per debug file and per debug id.
  std::vector<StoredSymbol> list() const;

 private:
  std::filesystem::path dir_;
  SymbolStoreOptions options_;
};

// The store path "<debug_file>/<DEBUG_ID>/<name>.sym" of a module, when `debug_file` is a file
// name (no folder part) and the identity passes the suppliers' check (symbol_relative_path);
// else "" with *why.
std::string store_path(std::string_view debug_file, std::string_view debug_id, std::string* why = nullptr);

// The "sha256:<hex>" comment of a gzip header (bounded parse of the file's first 4 KiB): the hex,
// or "" when the file is not gzip or has no such comment.
std::string stored_sha256(const std::filesystem::path& gz_file);

}  // namespace bw::symbols
