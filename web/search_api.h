// The JSON API over the crash index (docs/web.md "Search API"): crash-stats' Super Search, its
// field catalogue and Top Crashers, on the web port.
//
// Routes (GET; HEAD too). Every answer is JSON (web/json_api.h: nosniff, Cache-Control no-cache).
// Every route takes an Auth-Token header (web/caller_auth.h): checked first, on the worker pool; a
// token that is not valid is 403; the answer to a request with a token is Cache-Control:
// private, no-store; every answer has Vary: Auth-Token.
//   /api/SuperSearch/?<Super Search query>   200 {"hits", "total", "facets", "errors"} from
//        CrashIndex::search with the caller's permissions (index/super_search_query.h,
//        docs/search.md). A field the caller may not see (its permissions_needed not held; every
//        protected field for an anonymous caller) is never returned: a filter on one is a 400
//        like an unknown field, and it is stripped from _columns, _sort, _facets, _aggs and
//        _histogram. A token holding view_pii filters, returns and aggregates protected fields.
//   /api/SuperSearchUnredacted/              the same search for a caller holding every
//        permission any field needs (PublicData::missing_for_unredacted; in practice view_pii);
//        otherwise 403 {"error": ...} naming the missing permission, without asking the index.
//   /api/SuperSearchFields/                  200 the whole field catalogue (FieldCatalogue::to_json),
//        protected fields included with their permissions_needed, as crash-stats lists it: field
//        names and types are public, values are not.
//   /api/TopCrashers/?product=...            200 TopCrashersResult::to_json(). Parameters:
//        product (required), version (repeatable), process_type ("any" or empty: any), platform,
//        days (1, 3, 7, 14, 28; default 7), _facets_size or limit (signatures, 1..10000; default
//        50), end_date (YYYY-MM-DD, the last day of the period; default today, UTC),
//        _range_type=report and _tcbs_mode=byday (the only modes there are). Any other
//        parameter, or one of these given twice with different values, is a 400.
// Errors: a QueryError is 400 {"errors": {"<parameter>": ["<message>"]}} (crash-stats' form-error
// shape); IndexUnavailable is 503 {"error": ...} with Retry-After: 5; anything else is 500
// {"error": ...} without any detail (the detail is logged).
//
// Ownership and threads: borrows the index, which must outlive the SearchApi; the http::Server
// the routes are added to must be stopped before the SearchApi is destroyed. Every index call
// runs on the server's worker pool, never on its I/O threads; handlers may run concurrently (the
// index is thread-safe, the SearchApi holds nothing mutable).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "http/server.h"
#include "index/crash_index.h"
#include "web/caller_auth.h"

namespace bw::web {

// The Top Crashers request of a /api/TopCrashers/ query string (the parameters above). `now`
// bounds end_date (at most one day ahead). Throws index::QueryError naming the parameter.
index::TopCrashersQuery parse_top_crashers_query(const index::QueryPairs& pairs,
                                                 std::chrono::system_clock::time_point now);

// A /api/MissingSymbols/ request: days (1..365, default 7), limit (1..10000, default 500) and
// format ("json", the default, or "csv"). Throws index::QueryError naming the parameter.
struct MissingSymbolsRequest {
  index::MissingSymbolsQuery query;
  bool csv = false;
};
MissingSymbolsRequest parse_missing_symbols_query(const index::QueryPairs& pairs);

// The modules as JSON ({"days": D, "total": N, "hits": [{debug_file, debug_id, code_file, code_id,
// crashes, last_seen}]}) or CSV (a header line, then one line per module; RFC 4180 quoting, and a
// cell a spreadsheet would read as a formula (=, +, -, @ first) starts with a ').
nlohmann::json missing_symbols_json(const index::MissingSymbolsQuery& query,
                                    const std::vector<index::MissingSymbol>& modules);
std::string missing_symbols_csv(const std::vector<index::MissingSymbol>& modules);

class SearchApi {
 public:
  // `auth`: where Auth-Tokens are checked (borrowed); null: no account store, every token refused.
  explicit SearchApi(index::CrashIndex& index, const CallerAuth* auth = nullptr);
  ~SearchApi();
  SearchApi(const SearchApi&) = delete;
  SearchApi& operator=(const SearchApi&) = delete;

  // Adds the routes above to `server` (before server.start()).
  void add_routes(http::Server& server);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
