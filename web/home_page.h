// The home page `/` (docs/design.md §12, crash-stats' front page; docs/web.md "Home"): every
// product with its crashes per day over the last 14 (or 28) UTC days as a bar chart stacked by
// version, the newest crashes, and links to each product's top crashers. On a site that has no
// crash at all it is the first-run page instead: how to send this server its first crash.
//
// Route: GET / (exact path; HEAD too). Every other path below "/" stays with the web app's 404.
//   ?days=14 (default) or ?days=28: the period, whole UTC days ending today. Any other value is a
//   400 page naming `days`; other parameters are ignored (links from elsewhere may carry some).
//
// What it shows is what /api/SuperSearch/ answers for the same questions, with anonymous
// permissions (protected fields never appear). Reads, on every request:
//   1. CrashIndex::execute of date=>=<first day>&_facets=&_sort=-date&_results_number=20
//      &_columns=uuid,date,product,version,signature   (the total and the newest crashes)
//      and, only when it finds nothing, CrashIndex::count() to choose between "no crash in this
//      period" and the first-run page;
//   2. CrashIndex::product_version_days(<first day>): the (product, version, day) rollup the index
//      keeps with every write, a few thousand rows whatever the number of crashes. Products are
//      what date=>=<first day>&_facets=product&_facets_size=50 would list (most crashes first, a
//      tie in name order); each charted product's bars are what
//      product==<p>&date=>=<first day>&_histogram.date=version gives (that query is the chart's
//      "as JSON" link). Nothing is cached: the page is always current.
// A chart names the 8 versions with most crashes over the period; the rest of each day's bar is
// "other" (the day's total minus the named versions, so bars always add up to the day's count).
//
// First-run page: the submit URL is http://<Host header>/submit when the Host header holds only
// [A-Za-z0-9.:-[]] (at most 255 bytes), else http://<listen address>/submit, shown as a curl
// command, a `breakwater submit` command and the URL for Crashpad/Breakpad clients. home.js polls
// /api/SuperSearch/ every 2 s and reloads the page once a crash is searchable; without
// JavaScript the page says to reload.
//
// Errors: a QueryError is a 400 page naming the parameter, IndexUnavailable a 503 page with
// Retry-After, anything else a 500 page without detail (the detail is logged).
//
// Ownership and threads: borrows the index, which must outlive the HomePage; the http::Server the
// route is added to must be stopped before the HomePage is destroyed. Index queries and rendering
// run on the server's worker pool; answer() may run concurrently (nothing mutable is held).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"
#include "index/crash_index.h"
#include "web/html.h"

namespace bw::web {

// The host for the first-run page's submit URL: `host_header` when it is 1..255 bytes of
// [A-Za-z0-9.:-[]], else `fallback` (the listen address).
std::string submit_host(const std::string* host_header, std::string_view fallback);

// What the home page shows, as read from the index (exposed for tests).
struct HomeData {
  struct Product {
    std::string name;
    int64_t total = 0;                       // crashes in the period
    bool charted = false;
    std::vector<std::string> versions;       // named in the chart, most crashes first (≤ 8)
    // Per day of the period (index 0 = first day): count per named version, then "other".
    std::vector<std::vector<int64_t>> by_day;  // [day][version index; versions.size() = other]
    std::vector<int64_t> day_totals;           // the histogram's count per day
  };
  int days = 14;
  int64_t first_day_us = 0;                  // midnight UTC of the first day
  int64_t charts_as_of_us = 0;               // when products and charts were read (now)
  int64_t total = 0;                         // crashes in the period
  int64_t other_products = 0;                // crashes of products beyond the facet's 50
  std::vector<Product> products;             // most crashes first
  nlohmann::json newest = nlohmann::json::array();  // hits: uuid, date, product, version, signature
};

class HomePage {
 public:
  static constexpr int kMaxChartedProducts = 6;
  static constexpr int kMaxNamedVersions = 8;
  static constexpr int kNewestCrashes = 20;

  explicit HomePage(index::CrashIndex& index);
  ~HomePage();
  HomePage(const HomePage&) = delete;
  HomePage& operator=(const HomePage&) = delete;

  // Adds GET / (exact) to `server` (before server.start()).
  void add_routes(http::Server& server);

  // The answer to GET /?<query>: home, first-run or an error page. `listen_address` is the
  // fallback host of the submit URL.
  http::Response answer(const http::Request& request, std::string_view listen_address,
                        std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  // The index reads behind the home page for a period of `days` (14 or 28) ending with now's
  // UTC day. Throws QueryError, IndexUnavailable.
  HomeData load(int days, std::chrono::system_clock::time_point now);

  struct Impl;  // defined in home_page.cc

 private:
  std::unique_ptr<Impl> impl_;
};

// The <main> content of the home page and of the first-run page (pure; for tests).
html::Html render_home(const HomeData& data);
html::Html render_first_run(std::string_view host);

}  // namespace bw::web
