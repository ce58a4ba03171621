// Internal: loading one .sym file from disk through its compact cache file (shared by the local,
// store and HTTP suppliers).
#pragma once

#include <filesystem>

#include "symbols/symbol_supplier.h"

namespace bw::symbols {

// Maps `cache_file` when it is valid for `sym`; otherwise parses `sym` and (re)writes
// `cache_file`. An empty `cache_file` means no caching. kCorrupt when the .sym had bad lines.
// `gzipped`: `sym` is a gzip'd .sym (the site's own store keeps them so).
SymbolResult load_sym_file(const std::filesystem::path& sym, const std::filesystem::path& cache_file,
                           bool gzipped = false);

// "<cache_dir>/compact/<rel>.bwsymc": where the compact cache of a store-relative .sym lives.
std::filesystem::path compact_cache_path(const std::filesystem::path& cache_dir, const std::string& rel);

}  // namespace bw::symbols
