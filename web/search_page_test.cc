// The search page (web/search_page.h) over a real SQLite index in a temporary folder filled with
// generated crashes: the rows it shows are the hits CrashIndex::search gives for the page's own
// query string; form rows redirect to the canonical query; sort, paging and facet links say
// what they should; bad queries are a 400 page with the form; hostile values stay text.
#include "web/search_page.h"

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "core/temp_dir.h"
#include "http/client.h"
#include "index/fields.h"
#include "index/test_crashes.h"
#include "storage/factory.h"
#include "tests/test_server_options.h"
#include "web/html.h"
#include "web/web_app.h"
#include "web/web_test_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using test::contains;

std::string header_of(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

std::string unescape(std::string s) {
  for (size_t p; (p = s.find("&amp;")) != std::string::npos;) s.replace(p, 5, "&");
  return s;
}

// Every match of group 1 of `pattern`, in order.
std::vector<std::string> all_of(const std::string& body, const std::string& pattern) {
  std::vector<std::string> out;
  std::regex re(pattern);
  for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back(unescape((*it)[1].str()));
  }
  return out;
}

std::vector<std::string> row_ids(const std::string& body) { return all_of(body, "<tr data-crash-id=\"([^\"]+)\""); }

// The query string of a /search/?... link (what respond() takes).
std::string query_of(const std::string& href) {
  EXPECT_TRUE(href.starts_with("/search/")) << href;
  auto q = href.find('?');
  return q == std::string::npos ? "" : href.substr(q + 1);
}

class SearchPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::system_clock::now();
    index_ = test::open_sqlite_index(dir_);
    index::test_data::GeneratorOptions gen;
    gen.seed = 7;
    gen.end = now_;
    gen.days = 5;
    gen.signatures = 30;
    crashes_ = index::test_data::CrashGenerator(gen).make(300);
    // Hostile values from a crash: markup in the signature, a long version.
    crashes_[3].processed["signature"] = "\"><img src=x onerror=alert(1)> <script>alert(2)</script>";
    crashes_[3].processed["product"] = "HostileProduct";
    crashes_[3].processed["version"] = std::string(5000, 'v');
    test::upsert_all(*index_, crashes_);
    page_ = std::make_unique<SearchPage>(*index_);
  }

  http::Response respond(const std::string& query) { return page_->respond(query, now_); }

  json search(const std::string& query) { return index_->search(http::parse_query_pairs(query), index::Permissions{}, now_); }

  static std::vector<std::string> hit_ids(const json& answer) {
    std::vector<std::string> out;
    for (const auto& h : answer["hits"]) out.push_back(h["uuid"].get<std::string>());
    return out;
  }

  // The page for `query` is a 200 whose rows and total are the search's.
  void expect_page_matches_search(const std::string& query) {
    auto r = respond(query);
    ASSERT_EQ(r.status, 200) << query << "\n" << r.body.substr(0, 3000);
    json answer = search(query);
    EXPECT_EQ(row_ids(r.body), hit_ids(answer)) << query;
    EXPECT_TRUE(contains(r.body, "data-total=\"" + std::to_string(answer["total"].get<int64_t>()) + "\"")) << query;
  }

  test_support::TempDir dir_;
  std::chrono::system_clock::time_point now_;
  std::unique_ptr<index::CrashIndex> index_;
  std::vector<index::test_data::TestCrash> crashes_;
  std::unique_ptr<SearchPage> page_;
};

TEST_F(SearchPageTest, FormRowsRedirectToTheCanonicalQuery) {
  auto r = respond(
      "f0=product&o0=%3D&v0=Firefox&f10=signature&o10=__null__&v10=ignored&f2=version&o2=%21~&v2=b3&f3=&o3=%3D&v3="
      "&f4=platform&o4=%3D&v4=&_columns=uuid&_columns=signature&_facets=&_facets=product&_histogram.date="
      "&_results_number=50&_sort=-date");
  EXPECT_EQ(r.status, 303);
  // Rows by number (2 before 10); rows without a field or value dropped; the value of __null__
  // ignored; `_facets=` dropped beside a real facet, `_histogram.date=` kept.
  EXPECT_EQ(header_of(r, "Location"),
            "/search/?product=%3DFirefox&version=%21~b3&signature=__null__&_columns=uuid&_columns=signature"
            "&_facets=product&_histogram.date=&_results_number=50&_sort=-date");

  // No facet box checked: `_facets=` alone stays (it means no facets).
  r = respond("f0=product&o0=%3D&v0=Fenix&_facets=");
  EXPECT_EQ(header_of(r, "Location"), "/search/?product=%3DFenix&_facets=");

  // The redirect target is a page whose rows are the search's.
  expect_page_matches_search(query_of("/search/?product=%3DFirefox&version=%21~b3&_columns=uuid&_sort=-date"));

  // An operator the form does not offer is a 400 naming its row parameter.
  r = respond("f0=product&o0=%25&v0=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(contains(r.body, "<code>o0</code>")) << r.body;
}

TEST_F(SearchPageTest, RowsAndTotalAreTheSearchHits) {
  expect_page_matches_search("product=%3DFirefox&_columns=uuid&_columns=signature&_sort=signature&_results_number=7");
  expect_page_matches_search("version=140.0&version=141.0b3&_columns=uuid&_columns=date&_sort=-uuid");
  expect_page_matches_search("platform=Linux&_results_offset=3&_results_number=5&_columns=uuid&_columns=platform");
  expect_page_matches_search("signature=~js&product=%21Firefox&_columns=uuid&_columns=product");
  // Without uuid among the columns there are no crash ids to show, and none are invented.
  auto r = respond("_columns=signature&_results_number=5");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(row_ids(r.body).empty());
  // Five result rows (facet tables have rows too: count the result table's signature cells).
  EXPECT_EQ(all_of(r.body, "(<tr><td class=\"signature\">)").size(), 5u);
}

TEST_F(SearchPageTest, EmptyQueryIsTheDefaultSearchAndLinksItsJson) {
  auto r = respond("");
  ASSERT_EQ(r.status, 200);
  json answer = search(std::string(SearchPage::kDefaultQuery));
  EXPECT_EQ(row_ids(r.body), hit_ids(answer));
  EXPECT_EQ(answer["total"], crashes_.size());
  // Columns and facets of the default, in order.
  EXPECT_EQ(all_of(r.body, "<th scope=\"col\" data-field=\"([a-z_]+)\""),
            (std::vector<std::string>{"uuid", "date", "signature", "product", "version", "platform"}));
  EXPECT_EQ(all_of(r.body, "<section class=\"facet\" data-facet=\"([a-z_]+)\""),
            (std::vector<std::string>{"signature", "product", "version", "platform"}));
  auto json_link = all_of(r.body, "<a href=\"([^\"]+)\" id=\"search-json\"");
  ASSERT_EQ(json_link.size(), 1u);
  EXPECT_EQ(json_link[0], "/api/SuperSearch/?" + std::string(SearchPage::kDefaultQuery));
  // Any other query links its own JSON.
  r = respond("product=Fenix&_columns=uuid");
  EXPECT_EQ(all_of(r.body, "<a href=\"([^\"]+)\" id=\"search-json\""),
            (std::vector<std::string>{"/api/SuperSearch/?product=Fenix&_columns=uuid"}));
  // Links and cells: crash id → report, signature → signature page.
  std::string first = hit_ids(answer)[0];
  EXPECT_TRUE(contains(r.body, "<a href=\"/report/index/" + row_ids(r.body)[0] + "\">"));
  EXPECT_TRUE(contains(respond("").body, "href=\"/signature/?signature=")) << first;
}

TEST_F(SearchPageTest, SortLinksToggleAndDropTheOffset) {
  std::string q = "_columns=uuid&_columns=signature&_columns=date&_columns=modules_in_stack&_sort=signature"
                  "&_results_offset=10&_results_number=5";
  auto r = respond(q);
  ASSERT_EQ(r.status, 200);
  auto sort_href = [&](const std::string& field) {
    auto v = all_of(r.body, "data-field=\"" + field + "\"[^>]*><a href=\"([^\"]+)\" class=\"sort-link\"");
    return v.empty() ? std::string() : v[0];
  };
  EXPECT_EQ(sort_href("signature"), "/search/?_columns=uuid&_columns=signature&_columns=date&_columns=modules_in_stack"
                                    "&_results_number=5&_sort=-signature");
  EXPECT_TRUE(sort_href("date").ends_with("&_sort=date"));
  EXPECT_EQ(sort_href("modules_in_stack"), "");  // a list: not sortable
  EXPECT_TRUE(contains(r.body, "data-field=\"signature\" aria-sort=\"ascending\""));
  // Following the link sorts descending, and the next click goes back to ascending.
  auto desc = respond(query_of(sort_href("signature")));
  EXPECT_TRUE(contains(desc.body, "data-field=\"signature\" aria-sort=\"descending\""));
  expect_page_matches_search(query_of(sort_href("signature")));
  EXPECT_TRUE(all_of(desc.body, "data-field=\"signature\"[^>]*><a href=\"([^\"]+)\"")[0].ends_with("&_sort=signature"));
}

TEST_F(SearchPageTest, PagerLinksStayInsideTheResults) {
  // 300 crashes, 7 per page, on the 3rd page.
  auto r = respond("_columns=uuid&_results_number=7&_results_offset=14");
  ASSERT_EQ(r.status, 200);
  auto prev = all_of(r.body, "<a href=\"([^\"]+)\" rel=\"prev\"");
  auto next = all_of(r.body, "<a href=\"([^\"]+)\" rel=\"next\"");
  ASSERT_EQ(prev.size(), 1u);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(prev[0], "/search/?_columns=uuid&_results_number=7&_results_offset=7");
  EXPECT_EQ(next[0], "/search/?_columns=uuid&_results_number=7&_results_offset=21");
  EXPECT_TRUE(contains(r.body, "<span aria-current=\"page\" class=\"current\">3</span>"));
  // First page: no offset parameter at all; last page (300 = 42 × 7 + 6): page 43, offset 294.
  auto pages = all_of(r.body, "<a href=\"([^\"]+)\" aria-label=\"Page [0-9]+\"");
  ASSERT_FALSE(pages.empty());
  EXPECT_EQ(pages.front(), "/search/?_columns=uuid&_results_number=7");
  EXPECT_EQ(pages.back(), "/search/?_columns=uuid&_results_number=7&_results_offset=294");
  auto last = respond(query_of(pages.back()));
  EXPECT_EQ(row_ids(last.body).size(), 6u);
  EXPECT_TRUE(all_of(last.body, "<a href=\"([^\"]+)\" rel=\"next\"").empty());
  expect_page_matches_search(query_of(next[0]));
  // Everything on one page: no pager.
  EXPECT_FALSE(contains(respond("_columns=uuid&_results_number=1000").body, "class=\"pager\""));
}

TEST_F(SearchPageTest, PagerRespectsTheTenThousandWindow) {
  // More crashes than the window: the page after offset 9,500 (+500) would end past 10,000.
  index::test_data::GeneratorOptions gen;
  gen.seed = 9;
  gen.end = now_;
  gen.days = 5;
  gen.signatures = 30;
  auto many = index::test_data::CrashGenerator(gen).make(10'000);
  test::upsert_all(*index_, many);
  auto r = respond("_columns=uuid&_results_number=500&_results_offset=9000");
  ASSERT_EQ(r.status, 200);
  auto next = all_of(r.body, "<a href=\"([^\"]+)\" rel=\"next\"");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_TRUE(next[0].ends_with("_results_offset=9500"));
  r = respond(query_of(next[0]));
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(all_of(r.body, "<a href=\"([^\"]+)\" rel=\"next\"").empty());
  auto pages = all_of(r.body, "<a href=\"([^\"]+)\" aria-label=\"Page [0-9]+\"");
  EXPECT_TRUE(pages.back().ends_with("_results_offset=9000")) << pages.back();  // page 20 is the current one
  EXPECT_TRUE(contains(r.body, "<span aria-current=\"page\" class=\"current\">20</span>"));
  EXPECT_TRUE(contains(r.body, "Only the first 10,000 crashes"));
}

TEST_F(SearchPageTest, FacetTermsAddAnExactFilter) {
  auto r = respond("_columns=uuid&_facets=product&_facets=platform&_results_offset=5");
  ASSERT_EQ(r.status, 200);
  json answer = search("_columns=uuid&_facets=product&_facets=platform");
  auto links = all_of(r.body, "<a href=\"([^\"]+)\" class=\"facet-term\"");
  ASSERT_EQ(links.size(), answer["facets"]["product"].size() + answer["facets"]["platform"].size());
  std::string term = answer["facets"]["product"][0]["term"];
  EXPECT_EQ(links[0], "/search/?_columns=uuid&_facets=product&_facets=platform&product=%3D" + html::encode_component(term));
  auto filtered = respond(query_of(links[0]));
  EXPECT_EQ(row_ids(filtered.body).size(), std::min<size_t>(100, answer["facets"]["product"][0]["count"].get<size_t>()));
  EXPECT_TRUE(contains(filtered.body, "data-total=\"" + std::to_string(answer["facets"]["product"][0]["count"].get<int64_t>()) + "\""));
  expect_page_matches_search(query_of(links[0]));
  // A term with a space and a prefix character stays exact.
  auto windows = all_of(r.body, "<a href=\"([^\"]+)\" class=\"facet-term\">Windows NT</a>");
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_TRUE(windows[0].ends_with("&platform=%3DWindows%20NT"));
}

TEST_F(SearchPageTest, HistogramBarsCountEveryMatchingCrash) {
  for (std::string q : {"product=Firefox&_columns=uuid", "_columns=uuid&_results_number=0"}) {
    auto r = respond(q);
    ASSERT_EQ(r.status, 200) << q;
    int64_t sum = 0;
    for (const auto& c : all_of(r.body, "data-count=\"([0-9]+)\"")) sum += std::stoll(c);
    EXPECT_EQ(sum, search(q)["total"].get<int64_t>()) << q;
    // Five days of crashes in a 7-day range, by day: 8 bars (the range touches 8 days).
    EXPECT_EQ(all_of(r.body, "(<rect )").size(), 8u) << q;
    EXPECT_EQ(all_of(r.body, "<title>([0-9]{4}-[0-9]{2}-[0-9]{2}: [0-9,]+ crash(es)?)</title>").size(), 8u) << q;
  }
  // A one-day range is shown by hour.
  auto r = respond("date=%3E%3D" + index::format_date_us(std::chrono::duration_cast<std::chrono::microseconds>(
                                                            (now_ - 24h).time_since_epoch()).count()).substr(0, 19) +
                   "&_columns=uuid");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "Crashes per hour"));
  EXPECT_GE(all_of(r.body, "(<rect )").size(), 24u);
}

TEST_F(SearchPageTest, BadQueriesAreA400PageWithTheFormNamingTheParameter) {
  struct Case {
    std::string query, parameter;
  };
  for (const auto& c : std::vector<Case>{{"nosuchfield=x", "nosuchfield"},
                                         {"url=%21__null__", "url"},  // protected: unknown to anonymous callers
                                         {"uptime=abc", "uptime"},
                                         {"_results_number=5000", "_results_number"},
                                         {"_results_offset=9950&_results_number=100", "_results_offset"},
                                         {"product=%7Efoo", "product"},  // enum: no "contains"
                                         {"f0=nosuchfield&o0=%3D&v0=1", ""}}) {
    auto r = respond(c.query);
    if (c.parameter.empty()) {
      // Form rows redirect first; the canonical page is the 400.
      ASSERT_EQ(r.status, 303);
      r = respond(query_of(header_of(r, "Location")));
      EXPECT_EQ(r.status, 400);
      EXPECT_TRUE(contains(r.body, "<code>nosuchfield</code>"));
      EXPECT_TRUE(contains(r.body, "<option value=\"nosuchfield\" selected=\"selected\">nosuchfield</option>"));
      continue;
    }
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_TRUE(contains(r.body, "<code>" + c.parameter + "</code>")) << c.query << "\n" << r.body;
    EXPECT_TRUE(contains(r.body, "id=\"search-form\"")) << c.query;
    EXPECT_TRUE(contains(r.body, "role=\"alert\"")) << c.query;
    EXPECT_FALSE(contains(r.body, "data-crash-id")) << c.query;
    EXPECT_EQ(header_of(r, "Content-Security-Policy").empty(), false);
  }
}

TEST_F(SearchPageTest, HostileValuesAreText) {
  // In the query: shown back in the form and the error, escaped.
  auto r = respond("signature=~%3Cscript%3Ealert(1)%3C%2Fscript%3E&_columns=uuid");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
  EXPECT_FALSE(contains(r.body, "<script>alert"));
  r = respond("%3Cimg%20src%3Dx%3E=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(contains(r.body, "<img"));
  EXPECT_TRUE(contains(r.body, "&lt;img src=x&gt;"));
  // In a crash: signature and a 5,000-byte version, shown as text, the version cut.
  r = respond("product=HostileProduct&_columns=uuid&_columns=signature&_columns=version&_facets=signature");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(row_ids(r.body).size(), 1u);
  EXPECT_FALSE(contains(r.body, "<img src=x"));
  EXPECT_FALSE(contains(r.body, "<script>alert"));
  EXPECT_TRUE(contains(r.body, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(2)&lt;/script&gt;"));
  EXPECT_TRUE(contains(r.body, "[cut: 5000 bytes in all]"));
  EXPECT_FALSE(contains(r.body, std::string(301, 'v')));
}

// The routes through WebApp and a real server: registered with an index, HTML with the CSP.
TEST(SearchPageRoutes, ServedByTheWebApp) {
  test_support::TempDir dir;
  test::SiteParts site(dir);
  auto index = test::open_sqlite_index(dir);
  WebApp app(site.config, *site.storage, *site.queue, index.get());
  http::ServerOptions opts = test_support::small_server_options();
  http::Server server(opts);
  app.add_routes(server);
  server.start();
  auto get = [&](const std::string& target) { return test::request_to(server.port(), target); };
  auto r = get("/search/?product=Firefox");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(contains(r.header("Content-Security-Policy"), "script-src 'self'"));
  EXPECT_TRUE(contains(r.body, "data-total=\"0\""));
  r = get("/search?product=Firefox");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), "/search/?product=Firefox");
  r = get("/search/?f0=product&o0=%3D&v0=Firefox");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.header("Location"), "/search/?product=%3DFirefox");
  EXPECT_EQ(get("/search/?nosuchfield=1").status, 400);
  server.stop();
}

}  // namespace
}  // namespace bw::web
