// The Top crashers page (docs/web.md "Top crashers"; crash-stats' /topcrashers/): the signatures
// with the most crashes of a product in the last 1, 3, 7, 14 or 28 days, with their rank change
// against the period before.
//
// Route (GET; HEAD too):
//   /topcrashers/?product=&version=&days=&process_type=&platform=
//        The parameters are read by web::parse_top_crashers_query, the same function as
//        /api/TopCrashers/ (web/search_api.h), and the table shows CrashIndex::top_crashers'
//        answer for them: the page and the API cannot disagree. A form (GET, no JavaScript
//        needed) changes them. Without a product (or with an empty one): a page listing the
//        products that have crashes in the period (a `_facets=product` search), each linking to
//        its top crashers; the other parameters are still checked.
//        Table: rank, rank change (new / ▲ n up / ▼ n down / same, in words, not only colour),
//        signature (→ /signature/?signature=…&product=…&days=…), count, percentage, crashes
//        per platform, first seen. No crash in the period: an empty state saying so.
//
// Errors: a bad parameter is a 400 page naming it (index::QueryError); the index unavailable a
// 503 page with Retry-After: 5; anything else a 500 page without detail (logged).
//
// Ownership and threads: borrows the index, which must outlive the page; the http::Server must be
// stopped before the page is destroyed. The index is asked on the server's worker pool; render()
// may run on many threads at once (the page holds nothing mutable).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/server.h"
#include "index/crash_index.h"

namespace bw::web {

class TopCrashersPage {
 public:
  explicit TopCrashersPage(index::CrashIndex& index);
  ~TopCrashersPage();
  TopCrashersPage(const TopCrashersPage&) = delete;
  TopCrashersPage& operator=(const TopCrashersPage&) = delete;

  // Adds /topcrashers/ to `server` (before server.start()).
  void add_routes(http::Server& server);

  // The answer for a query string (still percent-encoded) at `now`: the page, or an error page.
  http::Response render(const std::string& query, std::chrono::system_clock::time_point now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
