// The home page (web/home_page.h) over a real SQLite index in a temporary folder filled with
// generated crashes: the numbers in the rendered SVG charts equal counts computed here from the
// same crashes; a product with many versions groups the rest as "other"; a hostile product name
// is text; an empty index shows the first-run page with the right submit URL; a bad `days` is a
// 400 naming it; over HTTP, "/" is the home page and every other unknown path still a 404.
#include "web/home_page.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "core/temp_dir.h"
#include "http/client.h"
#include "index/fields.h"
#include "index/test_crashes.h"
#include "storage/factory.h"
#include "tests/test_server_options.h"
#include "web/web_app.h"
#include "web/web_test_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using index::kMicrosPerDay;

using test::contains;

const std::string kHostile = "<script>alert(1)</script>";

int64_t day_of(int64_t us) { return us / kMicrosPerDay - (us % kMicrosPerDay < 0 ? 1 : 0); }

http::Request request(std::string query, std::string host = "crashes.example:8000") {
  http::Request r;
  r.method = "GET";
  r.path = "/";
  r.query = std::move(query);
  r.target = r.query.empty() ? "/" : "/?" + r.query;
  r.headers = {{"Host", std::move(host)}};
  return r;
}

// What the charts of a page say: product (as escaped in the page) → day → {"" total, version → n}.
using Charts = std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>>;

Charts parse_charts(const std::string& body) {
  Charts out;
  static const std::regex svg_re(R"re(<svg class="home-chart"[^>]*data-product="([^"]*)">)re");
  static const std::regex bar_re(R"re(<g class="bar" data-day="([0-9-]+)" data-count="([0-9]+)">)re");
  static const std::regex rect_re(
      R"re(<rect class="s[0-9]"[^>]*data-count="([0-9]+)"><title>([0-9-]+), (version (.*?)|other versions): ([0-9]+) crash)re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), svg_re); it != std::sregex_iterator(); ++it) {
    size_t start = static_cast<size_t>(it->position(0));
    size_t end = body.find("</svg>", start);
    std::string svg = body.substr(start, end - start);
    auto& product = out[(*it)[1].str()];
    for (auto b = std::sregex_iterator(svg.begin(), svg.end(), bar_re); b != std::sregex_iterator(); ++b) {
      product[(*b)[1].str()][""] = std::stoll((*b)[2].str());
    }
    for (auto r = std::sregex_iterator(svg.begin(), svg.end(), rect_re); r != std::sregex_iterator(); ++r) {
      EXPECT_EQ((*r)[1].str(), (*r)[5].str());  // the attribute and the title agree
      std::string version = (*r)[4].matched ? (*r)[4].str() : "(other)";
      product[(*r)[2].str()][version] += std::stoll((*r)[1].str());
    }
  }
  return out;
}

class HomePageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::system_clock::now();
    index_ = test::open_sqlite_index(dir_);
  }

  void fill() {
    index::test_data::GeneratorOptions gen;
    gen.seed = 7;
    gen.end = now_;
    gen.days = 12;
    gen.signatures = 30;
    crashes_ = index::test_data::CrashGenerator(gen).make(600);
    // One product with 12 versions of 3..14 crashes each (8 named, the 4 smallest "other") and
    // one with a hostile name.
    size_t i = 0;
    for (int v = 0; v < 12; ++v) {
      for (int k = 0; k < v + 3; ++k, ++i) {
        auto& c = crashes_[i];
        c.processed["product"] = "Manyver";
        c.raw["ProductName"] = "Manyver";
        c.processed["version"] = "9." + std::to_string(v);
      }
    }
    for (size_t j = 120; j < 130; ++j) {
      crashes_[j].processed["product"] = kHostile;
      crashes_[j].raw["ProductName"] = kHostile;
    }
    test::upsert_all(*index_, crashes_);
  }

  // Expected counts: product → day → version → n, over the 14-day period ending today.
  std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>> expected(int days) {
    std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>> out;
    int64_t today = day_of(std::chrono::duration_cast<std::chrono::microseconds>(now_.time_since_epoch()).count());
    for (const auto& c : crashes_) {
      int64_t d = day_of(*index::parse_date_us(c.processed["date_processed"].get<std::string>()));
      if (d < today - (days - 1) || d > today) continue;
      out[c.processed["product"].get<std::string>()][index::format_day(d)][c.processed["version"].get<std::string>()]++;
    }
    return out;
  }

  test_support::TempDir dir_;
  std::chrono::system_clock::time_point now_;
  std::unique_ptr<index::CrashIndex> index_;
  std::vector<index::test_data::TestCrash> crashes_;
};

TEST_F(HomePageTest, ChartNumbersEqualTheCrashesPerDayAndVersion) {
  fill();
  HomePage page(*index_);
  auto r = page.answer(request(""), "127.0.0.1:8000", now_);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 2000);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  Charts charts = parse_charts(r.body);
  auto want = expected(14);
  ASSERT_EQ(want.size(), 5u);  // Firefox, Fenix, Thunderbird, Manyver, the hostile one: all charted
  ASSERT_EQ(charts.size(), 5u);
  for (const auto& [product, days] : want) {
    std::string shown = html::escape(product);
    ASSERT_TRUE(charts.contains(shown)) << shown;
    auto& chart = charts[shown];
    EXPECT_EQ(chart.size(), 14u) << product;  // every day has a bar, empty ones too
    int64_t sum = 0;
    for (const auto& [day, versions] : days) {
      int64_t total = 0;
      for (const auto& [version, n] : versions) total += n;
      sum += total;
      EXPECT_EQ(chart[day][""], total) << product << " " << day;
      if (product == "Manyver") continue;  // checked below: it has "other"
      for (const auto& [version, n] : versions) EXPECT_EQ(chart[day][version], n) << product << " " << day << " " << version;
    }
    int64_t bars = 0;
    for (const auto& [day, v] : chart) bars += v.at("");
    EXPECT_EQ(bars, sum) << product;  // and no bar counts a crash of another day
  }

  // Manyver: the 8 versions with most crashes are named, the other 4 are one "other" segment.
  std::map<std::string, int64_t> version_totals;
  for (const auto& [day, versions] : want["Manyver"]) {
    for (const auto& [version, n] : versions) version_totals[version] += n;
  }
  std::vector<std::pair<int64_t, std::string>> ranked;
  for (const auto& [v, n] : version_totals) ranked.emplace_back(n, v);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  ASSERT_EQ(ranked.size(), 12u);
  ASSERT_GT(ranked[7].first, ranked[8].first);  // no tie decides which version is named
  {
    std::set<std::string> named;
    for (size_t i = 0; i < 8; ++i) named.insert(ranked[i].second);
    for (const auto& [day, versions] : want["Manyver"]) {
      int64_t other = 0;
      for (const auto& [version, n] : versions) {
        if (named.contains(version)) {
          EXPECT_EQ(charts["Manyver"][day][version], n) << day << " " << version;
        } else {
          other += n;
          EXPECT_FALSE(charts["Manyver"][day].contains(version)) << version << " should be in other";
        }
      }
      EXPECT_EQ(charts["Manyver"][day]["(other)"], other) << day;
    }
  }
  HomeData data = page.load(14, now_);
  for (const auto& p : data.products) {
    if (p.name == "Manyver") {
      EXPECT_EQ(p.versions.size(), 8u);
    }
  }

  // The newest crash is the first row of the table, linked to its report.
  std::string newest_id;
  std::string newest_date;
  for (const auto& c : crashes_) {
    std::string d = c.processed["date_processed"].get<std::string>();
    if (d > newest_date) {
      newest_date = d;
      newest_id = c.processed["uuid"].get<std::string>();
    }
  }
  size_t table = r.body.find("<table class=\"newest\">");
  ASSERT_NE(table, std::string::npos);
  EXPECT_NE(r.body.find("href=\"/report/index/" + newest_id + "\"", table), std::string::npos);
  EXPECT_LT(r.body.find("/report/index/" + newest_id, table), r.body.find("/report/index/", r.body.find("</tr>", r.body.find("<tbody>", table))));
  EXPECT_TRUE(contains(r.body, "href=\"/topcrashers/?product=Firefox&amp;days=14\""));
  EXPECT_TRUE(contains(r.body, "/signature/?signature="));
}

TEST_F(HomePageTest, TwentyEightDaysCountsTheLongerPeriod) {
  fill();
  HomePage page(*index_);
  HomeData data = page.load(28, now_);
  EXPECT_EQ(data.days, 28);
  int64_t n = 0;
  for (const auto& [product, days] : expected(28)) {
    for (const auto& [day, versions] : days) {
      for (const auto& [v, c] : versions) n += c;
    }
  }
  EXPECT_EQ(data.total, n);
  EXPECT_EQ(data.total, static_cast<int64_t>(crashes_.size()));
  auto r = page.answer(request("days=28"), "x", now_);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "Crashes in the last 28 days"));
  for (const auto& [product, chart] : parse_charts(r.body)) EXPECT_EQ(chart.size(), 28u) << product;
}

TEST_F(HomePageTest, HostileProductNameIsText) {
  fill();
  HomePage page(*index_);
  auto r = page.answer(request(""), "x", now_);
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(contains(r.body, kHostile));
  EXPECT_TRUE(contains(r.body, html::escape(kHostile)));
  // Its top crashers link carries the name percent-encoded.
  EXPECT_TRUE(contains(r.body, "/topcrashers/?product=" + html::encode_component(kHostile)));
}

TEST_F(HomePageTest, EmptyIndexShowsTheFirstRunPage) {
  HomePage page(*index_);
  auto r = page.answer(request("", "crashes.example:8000"), "127.0.0.1:9", now_);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "No crashes yet"));
  EXPECT_TRUE(contains(r.body, "curl -F upload_file_minidump=@crash.dmp -F ProductName=MyApp -F Version=1.0 "
                               "http://crashes.example:8000/submit"));
  EXPECT_TRUE(contains(r.body, "breakwater submit http://crashes.example:8000/submit crash.dmp --annotation ProductName=MyApp"));
  EXPECT_TRUE(contains(r.body, "home."));  // the polling script
  EXPECT_TRUE(contains(r.body, "data-poll-url=\"/api/SuperSearch/?_results_number=0&amp;_facets=\""));

  // A Host header with anything but host characters falls back to the listen address.
  for (std::string bad : {std::string("evil.example/\"><script>"), std::string("a b"), std::string(300, 'a'), std::string()}) {
    auto f = page.answer(request("", bad), "127.0.0.1:9", now_);
    ASSERT_EQ(f.status, 200);
    EXPECT_TRUE(contains(f.body, "http://127.0.0.1:9/submit")) << bad;
    EXPECT_FALSE(contains(f.body, "<script>"));
  }
  EXPECT_EQ(submit_host(nullptr, "h:1"), "h:1");
  std::string v6 = "[::1]:8000";
  EXPECT_EQ(submit_host(&v6, "h:1"), v6);

  // A crash older than the period: not the first-run page, but an empty period.
  index::test_data::GeneratorOptions gen;
  gen.end = now_ - std::chrono::hours(24 * 40);
  gen.days = 2;
  auto old = index::test_data::CrashGenerator(gen).make(3);
  for (const auto& c : old) index_->upsert(c.processed, c.raw);
  auto e = page.answer(request(""), "x", now_);
  ASSERT_EQ(e.status, 200);
  EXPECT_FALSE(contains(e.body, "No crashes yet"));
  EXPECT_TRUE(contains(e.body, "No crash was processed in this period"));
}

TEST_F(HomePageTest, BadDaysIsA400NamingIt) {
  HomePage page(*index_);
  for (std::string q : {"days=7", "days=abc", "days=-14", "days=%3Cscript%3E"}) {
    auto r = page.answer(request(q), "x", now_);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_TRUE(contains(r.body, "days")) << q;
    EXPECT_FALSE(contains(r.body, "<script>")) << q;
  }
  EXPECT_EQ(page.answer(request("days=14&utm_source=x"), "x", now_).status, 200);
  EXPECT_THROW(page.load(7, now_), index::QueryError);
}

// Nothing is cached: a crash of a listed product and one of a new product both show at once,
// in the total, the product table and the charts.
TEST_F(HomePageTest, ProductsAndChartsAreAlwaysCurrent) {
  fill();
  HomePage page(*index_);
  auto first = page.answer(request(""), "x", now_);
  ASSERT_EQ(first.status, 200);
  EXPECT_TRUE(contains(first.body, "Product counts and charts as of"));
  EXPECT_FALSE(contains(first.body, "Newcomer"));
  const std::string total_text = std::to_string(crashes_.size()) + " crashes from ";
  EXPECT_TRUE(contains(first.body, total_text));
  auto firefox_total = [&] {
    for (const auto& p : page.load(14, now_).products) {
      if (p.name == "Firefox") return p.total;
    }
    return int64_t{-1};
  };
  const int64_t firefox_before = firefox_total();

  index::test_data::GeneratorOptions gen;
  gen.seed = 99;
  gen.end = now_;
  gen.days = 1;
  auto more = index::test_data::CrashGenerator(gen).make(2);
  more[0].processed["product"] = "Firefox";
  index_->upsert(more[0].processed, more[0].raw);
  auto second = page.answer(request(""), "x", now_);
  EXPECT_TRUE(contains(second.body, std::to_string(crashes_.size() + 1) + " crashes from "));
  EXPECT_EQ(firefox_total(), firefox_before + 1);
  auto table = [](const std::string& body) {
    size_t a = body.find("<table class=\"products\">");
    return body.substr(a, body.find("</table>", a) - a);
  };
  EXPECT_NE(table(second.body), table(first.body)) << "Firefox's count moved";

  more[1].processed["product"] = "Newcomer";
  more[1].processed["version"] = "0.1";
  more[1].raw["ProductName"] = "Newcomer";
  index_->upsert(more[1].processed, more[1].raw);
  auto third = page.answer(request(""), "x", now_);
  EXPECT_TRUE(contains(third.body, std::to_string(crashes_.size() + 2) + " crashes from "));
  EXPECT_TRUE(contains(third.body, "data-product=\"Newcomer\""));
}

// Through WebApp on a real server: "/" is the home page, unknown paths still the 404 page.
TEST_F(HomePageTest, ServedAtTheRootOnly) {
  fill();
  test::SiteParts site(dir_);
  WebApp app(site.config, *site.storage, *site.queue, index_.get());
  http::ServerOptions opts = test_support::small_server_options();
  http::Server server(opts);
  app.add_routes(server);
  server.start();
  auto get = [&](const std::string& target) { return test::request_to(server.port(), target); };
  auto home = get("/");
  EXPECT_EQ(home.status, 200);
  EXPECT_TRUE(contains(home.body, "Crashes in the last 14 days"));
  EXPECT_TRUE(contains(home.header("Content-Security-Policy"), "script-src 'self'"));
  EXPECT_EQ(get("/?days=28").status, 200);
  EXPECT_EQ(get("/?days=3").status, 400);
  auto nowhere = get("/no/such/page");
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_TRUE(contains(nowhere.body, "Page not found"));
  server.stop();
}

}  // namespace
}  // namespace bw::web
