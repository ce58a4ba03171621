// One MODULE record, read as the .sym parser reads it (sym_parser.cc), for code that needs only a
// file's identity without parsing the file (`breakwater symbols upload` packing a folder).
#pragma once

#include <optional>
#include <string_view>

#include "symbols/module_symbols.h"

namespace bw::symbols {

// The fields after the word MODULE: "<os> <cpu> <debug id> <debug file>", split on spaces and
// tabs, the debug file being the rest of the line (it may hold spaces; trailing separators
// dropped). Fills os, cpu, debug_id and debug_file; nullopt when one is missing.
std::optional<ModuleInfo> parse_module_record(std::string_view rest);

}  // namespace bw::symbols
