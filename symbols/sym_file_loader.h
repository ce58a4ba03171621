// Internal: loading one .sym file from disk through its compact cache file (shared by the local
// and HTTP suppliers).
#pragma once

#include <filesystem>

#include "symbols/symbol_supplier.h"

namespace bw::symbols {

// Maps `cache_file` when it is valid for `sym`; otherwise parses `sym` and (re)writes
// `cache_file`. An empty `cache_file` means no caching. kCorrupt when the .sym had bad lines.
SymbolResult load_sym_file(const std::filesystem::path& sym, const std::filesystem::path& cache_file);

// "<cache_dir>/compact/<rel>.bwsymc": where the compact cache of a store-relative .sym lives.
std::filesystem::path compact_cache_path(const std::filesystem::path& cache_dir, const std::string& rel);

}  // namespace bw::symbols
