// The Search page, /search/ (docs/web.md "Search"; crash-stats' Super Search page): a form that
// builds Super Search queries, the matching crashes as a table, facets and a date histogram.
//
// Routes (GET; HEAD too):
//   /search/?<Super Search query>   200 the page. The query string IS a /api/SuperSearch/ query
//        (index/super_search_query.h): the same parameters and values, parsed by the same parser
//        with anonymous permissions, so the table, total and facets are exactly what
//        /api/SuperSearch/?<same query> answers (the page links to it). The one exception is an
//        empty query string: it stands for kDefaultQuery (columns and facets like crash-stats),
//        and the JSON link says so by carrying kDefaultQuery.
//        The histogram above the table is a second search with the same filters
//        (`_histogram.date`, no hits, no facets), by hour, day or week depending on the range.
//   /search/?f0=<field>&o0=<op>&v0=<value>&...   (what the form sends without JavaScript) 303
//        to the canonical query: each row becomes `<field>=<op><value>` (rows in number order,
//        rows without a field or value dropped, value ignored for __null__/__true__), followed
//        by every other parameter in its order; see canonical_query(). search.js builds the same
//        URL in the browser.
//   /search                          301 to /search/ with the same query string.
// Answers: a query the parser refuses (index::QueryError: unknown or protected field, bad value,
// limit) is a 400 page with the form and the message naming the parameter; IndexUnavailable a 503
// page (Retry-After: 5); anything else a 500 page that tells nothing (the detail is logged).
// Every value from a crash or from the query is written through html::Writer: escaped, and cut
// (cells at 300 bytes, form values at 1,000).
//
// Ownership and threads: borrows the index, which must outlive the SearchPage; the http::Server
// must be stopped before the SearchPage is destroyed. Searches and rendering run on the server's
// worker pool; respond() may run on any number of threads at once (nothing mutable is held).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"
#include "index/crash_index.h"
#include "web/caller_auth.h"

namespace bw::web {

class SearchPage {
 public:
  // What /search/ with no query string searches for.
  static constexpr std::string_view kDefaultQuery =
      "_columns=uuid&_columns=date&_columns=signature&_columns=product&_columns=version&_columns=platform"
      "&_facets=signature&_facets=product&_facets=version&_facets=platform";

  // `auth` (borrowed; may be null in tests): searches count against the caller's rate limit.
  explicit SearchPage(index::CrashIndex& index, const CallerAuth* auth = nullptr);
  ~SearchPage();
  SearchPage(const SearchPage&) = delete;
  SearchPage& operator=(const SearchPage&) = delete;

  // Adds the routes above to `server` (before server.start() and before a catch-all "/").
  void add_routes(http::Server& server);

  // The answer to GET /search/?<query> (`query` still percent-encoded, without '?'). `now` anchors
  // the default date range as in CrashIndex::search.
  http::Response respond(std::string_view query,
                         std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const CallerAuth* auth_ = nullptr;
};

// Form-row parameters (f<n>, o<n>, v<n>) to the canonical Super Search query string (percent-
// encoded as encode_query does); nullopt when `pairs` has no row parameter. Empty values of
// field filters and repeats of an empty `_`-parameter are dropped; `_facets=` alone is kept (it
// means "no facets").
std::optional<std::string> canonical_query(const index::QueryPairs& pairs);

// `key=value&...` with every key and value percent-encoded (html::encode_component).
std::string encode_query(const index::QueryPairs& pairs);

}  // namespace bw::web
