// The Signature page (docs/web.md "Signature"; crash-stats' /signature/): everything about the
// crashes of one signature in a period, with the fields over-represented among them.
//
// Route (GET; HEAD too):
//   /signature/?signature=<exact signature>[&product=<p>...][&days=N][&page=N][&_sort=<col>]
//     signature  required, matched exactly (Super Search `signature==`); at most 10,000 bytes.
//     product    optional, repeatable: only these products' crashes (any of them).
//     days       1..365, default 7: the period is the `days` × 24 hours before now.
//     page       1..200, default 1: 50 reports a page.
//     _sort      date, product, version, platform or uuid, `-` for descending; default -date.
//   Shows: the period's facts (crashes, first seen in the last 365 days, last seen); a summary of
//   products, versions, platforms, OS versions, CPU architectures, reasons, build ids, process
//   types, release channels and uptime ranges, each value as count and percentage; crashes per day
//   stacked by version (inline SVG, with its numbers in a table too); correlations
//   (web/correlations.h); the reports list (date, product, version, platform, crash id →
//   /report/index/<id>), sortable by its column headers and paged. Everything comes from Super
//   Search with anonymous permissions, as /api/SuperSearch/ answers it for the same query.
//   A signature without crashes in the period: 200 with an empty state.
//
// Index queries per page: one signature-filtered search (hits, facets and both histograms), one
// unfiltered facet search of the same products and period for the correlations (cached for five
// minutes per products and days: it is the same for every signature of a product), one for the
// first crash of the last 365 days, and one for the last crash unless the list already shows it.
//
// Errors: missing signature or a bad parameter → 400 page naming it (an unknown parameter too);
// index unavailable → 503 page with Retry-After: 5; anything else → 500 page without detail.
//
// Ownership and threads: borrows the index (it must outlive the page); the http::Server must be
// stopped before the page is destroyed. render() runs on the server's worker pool and may run on
// many threads at once; the correlation cache is guarded by a mutex.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/server.h"
#include "index/crash_index.h"

namespace bw::web {

class SignaturePage {
 public:
  explicit SignaturePage(index::CrashIndex& index);
  ~SignaturePage();
  SignaturePage(const SignaturePage&) = delete;
  SignaturePage& operator=(const SignaturePage&) = delete;

  // Adds /signature/ to `server` (before server.start()).
  void add_routes(http::Server& server);

  // The answer for a query string (still percent-encoded) at `now`: the page, or an error page.
  http::Response render(const std::string& query, std::chrono::system_clock::time_point now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
