// Super Search answers as text for the terminal (`breakwater search`): the hits as a table with
// the query's columns in order, then the total, then each facet as count/term rows (nested
// aggregations indented under their term). Cells are shortened to `max_cell` bytes at a UTF-8
// boundary ("…" marks the cut); control characters are shown as spaces, so a crash annotation
// cannot move the terminal's cursor.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "index/super_search_query.h"

namespace bw::index {

// `result`: what CrashIndex::execute answered for `query`.
std::string format_search_table(const SuperSearchQuery& query, const nlohmann::json& result, size_t max_cell = 60);

// "key=value" terminal arguments as query pairs (split at the first '='; the value may hold '='
// and '&'). Throws QueryError naming the argument when it has no '=' or an empty key.
QueryPairs query_pairs_from_arguments(const std::vector<std::string>& arguments);

}  // namespace bw::index
