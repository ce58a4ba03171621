// Symbol suppliers: given a module's identity, find its .sym and hand back a parsed ModuleSymbols.
//
// - LocalSymbolSupplier: symbol store folders laid out <debug_file>/<DEBUG_ID>/<name>.sym, where
//   <name> is the debug file's base name without a trailing ".pdb" (any case). With a cache_dir,
//   each parsed module is also written there as a compact cache file and memory-mapped on later
//   runs (rebuilt when the .sym changed or the cache file is damaged).
// - HttpSymbolSupplier: symbol servers with the Tecken URL convention
//   <url>/<debug_file>/<debug_id>/<name>.sym, fetched with libcurl (gzip content encoding and
//   gzip'd bodies, redirects, connect and total timeouts). Downloads land in cache_dir with the same
//   layout, written atomically; 404s are remembered on disk for negative_ttl; however many threads
//   ask for one module at once, it is downloaded once.
// - StoreSymbolSupplier: the site's own symbol store (symbols/symbol_store.h), laid out
//   <debug_file>/<DEBUG_ID>/<name>.sym.gz (gzip'd, id upper-case); compact caches as above.
// - CachingSymbolSupplier: tries a list of suppliers in order and keeps parsed modules in an LRU
//   bounded by memory (ModuleSymbols::memory_bytes); concurrent requests for one module share one
//   load.
//
// Identity inputs come from minidumps (outside data): debug_file and debug_id are validated before
// they touch a path or URL; a module that fails validation is kNotFound with a reason.
// Thread safety: every supplier here may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "symbols/module_symbols.h"

namespace bw::symbols {

// What a minidump's module list says about a module.
struct ModuleKey {
  std::string debug_file;  // may be a full Windows or POSIX path; its base name is used
  std::string debug_id;
  std::string code_file;
  std::string code_id;
};

enum class SymbolStatus {
  kFound,       // symbols parsed cleanly
  kNotFound,    // no supplier has them
  kCorrupt,     // found, but some lines were bad: `symbols` holds what could be parsed
  kFetchError,  // a supplier failed (I/O, network, timeout): may work on a later try
};
const char* to_string(SymbolStatus status);

struct SymbolResult {
  SymbolStatus status = SymbolStatus::kNotFound;
  std::shared_ptr<const ModuleSymbols> symbols;  // set for kFound and kCorrupt
  std::string detail;                             // why, for logs and processor notes
};

class SymbolSupplier {
 public:
  virtual ~SymbolSupplier() = default;
  virtual SymbolResult get(const ModuleKey& module) = 0;
};

// "<debug_file base name>/<debug_id>/<name>.sym", or "" (with *why) when the identity is not
// safe to use as path components (empty, ".", "..", separators, control characters, id not
// alphanumeric).
std::string symbol_relative_path(const ModuleKey& module, std::string* why = nullptr);
// "xul.pdb" -> "xul.sym", "libxul.so" -> "libxul.so.sym".
std::string sym_file_name(std::string_view debug_file_base);
// Percent-encodes every byte of a store-relative path but unreserved characters and '/', for
// URLs ("Google Chrome/..." -> "Google%20Chrome/...").
std::string percent_encode_path(std::string_view rel);
// Where the site's own store keeps a module: "<debug_file base name>/<DEBUG_ID>/<name>.sym.gz",
// the debug id upper-cased (ids are hex; dumps and clients write either case); "" (with *why) for
// the identities symbol_relative_path refuses.
std::string store_relative_path(const ModuleKey& module, std::string* why = nullptr);

class LocalSymbolSupplier final : public SymbolSupplier {
 public:
  // `roots` are searched in order. `cache_dir` empty: no compact cache files.
  LocalSymbolSupplier(std::vector<std::filesystem::path> roots, std::filesystem::path cache_dir);
  SymbolResult get(const ModuleKey& module) override;

 private:
  std::vector<std::filesystem::path> roots_;
  std::filesystem::path cache_dir_;
};

// Reads the site's own symbol store (written by SymbolStore, symbols/symbol_store.h). A module
// missing from the store costs one stat. `cache_dir` empty: no compact cache files.
class StoreSymbolSupplier final : public SymbolSupplier {
 public:
  StoreSymbolSupplier(std::filesystem::path store_dir, std::filesystem::path cache_dir);
  SymbolResult get(const ModuleKey& module) override;

 private:
  std::filesystem::path store_dir_;
  std::filesystem::path cache_dir_;
};

struct HttpSymbolOptions {
  std::vector<std::string> urls;        // base URLs, tried in order
  std::filesystem::path cache_dir;      // required: downloads and negative-cache markers
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{120000};
  std::chrono::seconds negative_ttl{3600};
  std::string user_agent = "breakwater-symbols";
};

class HttpSymbolSupplier final : public SymbolSupplier {
 public:
  explicit HttpSymbolSupplier(HttpSymbolOptions options);
  ~HttpSymbolSupplier() override;
  SymbolResult get(const ModuleKey& module) override;

  // Requests sent so far (for tests and metrics).
  uint64_t requests_sent() const;

  struct State;  // in-flight downloads; defined in the .cc

 private:
  SymbolResult get_locked(const std::string& rel);  // the one thread fetching `rel`

  HttpSymbolOptions options_;
  std::unique_ptr<State> state_;
};

class CachingSymbolSupplier final : public SymbolSupplier {
 public:
  CachingSymbolSupplier(std::vector<std::unique_ptr<SymbolSupplier>> suppliers,
                        size_t max_memory_bytes);
  ~CachingSymbolSupplier() override;
  SymbolResult get(const ModuleKey& module) override;

  size_t cached_bytes() const;
  size_t cached_modules() const;
  uint64_t hits() const;
  uint64_t misses() const;

  struct State;  // LRU and in-flight loads; defined in the .cc

 private:
  std::vector<std::unique_ptr<SymbolSupplier>> suppliers_;
  std::unique_ptr<State> state_;
};

// The [symbols] configuration, resolved.
struct SymbolOptions {
  std::filesystem::path store_dir;           // the site's own store (symbols add, uploads); empty: none
  std::vector<std::filesystem::path> paths;  // local stores
  std::vector<std::string> urls;             // HTTP servers
  std::filesystem::path cache_dir;           // downloads + compact caches; empty: none
  size_t lru_bytes = size_t{1} << 30;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{120000};
  std::chrono::seconds negative_ttl{3600};
};

// The [symbols] section of a loaded configuration (store_dir defaulting to <data>/symbols, paths,
// urls, cache_dir defaulting to <data>/symbols-cache, lru_size, connect_timeout, timeout,
// negative_ttl).
SymbolOptions symbol_options_from_config(const bw::Config& config);

// The [symbols] options of a one-off walk (`breakwater stackwalk`): symbols.paths then
// `extra_paths`, symbols.urls and the limits as configured; no site store. Downloads are cached
// in `cache_dir` when given, else symbols.cache_dir when set, else, when there are URLs, in a
// per-user cache ($XDG_CACHE_HOME/breakwater-symbols, ~/.cache/breakwater-symbols, or the temp
// folder).
SymbolOptions symbol_options_for_walk(const bw::Config& config, const std::vector<std::filesystem::path>& extra_paths,
                                      const std::filesystem::path& cache_dir);

// The site's own store first, then local stores, then HTTP servers, under one LRU. Throws std::invalid_argument when URLs
// are given without a cache_dir.
std::unique_ptr<CachingSymbolSupplier> make_symbol_supplier(const SymbolOptions& options);

}  // namespace bw::symbols
