// The Top crashers page (web/topcrashers_page.h) over a real SQLite index filled with generated
// crashes: ranks, counts, percentages, platforms and rank changes on the page equal what this
// test counts from the same crashes; no product lists the products; bad parameters are 400
// pages naming them; hostile values are text; the route is served by WebApp.
#include "web/topcrashers_page.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <gtest/gtest.h>

#include "core/config.h"
#include "http/client.h"
#include "queue/crash_queue.h"
#include "storage/factory.h"
#include "tests/test_server_options.h"
#include "web/html.h"
#include "web/web_app.h"
#include "web/web_test_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test::field_of;
using test::grouped;
using test::table_rows;

using test::contains;

class TopCrashersPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::system_clock::now();
    index_ = test::open_sqlite_index(dir_);

    // This period (the last 5 days, inside the 7 whole days ending today) and the previous one
    // (12 to 7 days ago: inside the 7 days before the period), so ranks move.
    index::test_data::GeneratorOptions gen;
    gen.seed = 7;
    gen.end = now_;
    gen.days = 5;
    gen.signatures = 30;
    current_ = index::test_data::CrashGenerator(gen).make(400);
    gen.seed = 8;
    gen.end = now_ - 7 * 24h;
    previous_ = index::test_data::CrashGenerator(gen).make(300);
    test::upsert_all(*index_, current_);
    test::upsert_all(*index_, previous_);
    page_ = std::make_unique<TopCrashersPage>(*index_);
  }

  // Signature → count of `product`'s crashes, and the ranks as Top Crashers defines them (most
  // crashes first, ties by signature).
  static std::map<std::string, int64_t> counts(const std::vector<index::test_data::TestCrash>& crashes,
                                               const std::string& product) {
    std::map<std::string, int64_t> out;
    for (const auto& c : crashes) {
      if (field_of(c.processed, "product") == product) ++out[field_of(c.processed, "signature")];
    }
    return out;
  }
  static std::vector<std::string> ranked(const std::map<std::string, int64_t>& counts) {
    std::vector<std::string> out;
    for (const auto& [s, n] : counts) out.push_back(s);
    std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return counts.at(a) > counts.at(b); });
    return out;
  }

  test_support::TempDir dir_;
  std::chrono::system_clock::time_point now_;
  std::unique_ptr<index::CrashIndex> index_;
  std::vector<index::test_data::TestCrash> current_, previous_;
  std::unique_ptr<TopCrashersPage> page_;
};

TEST_F(TopCrashersPageTest, TableMatchesCountsComputedHere) {
  auto r = page_->render("product=Firefox&days=7", now_);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 2000);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");

  auto now_counts = counts(current_, "Firefox");
  auto before_counts = counts(previous_, "Firefox");
  auto order = ranked(now_counts);
  auto before_order = ranked(before_counts);
  int64_t total = 0;
  for (const auto& [s, n] : now_counts) total += n;
  ASSERT_GT(total, 100);
  EXPECT_TRUE(contains(r.body, grouped(total) + " crashes of <strong>Firefox</strong>")) << r.body.substr(0, 3000);

  auto rows = table_rows(r.body, "<table class=\"topcrashers\"");
  ASSERT_EQ(rows.size(), order.size());  // fewer than the 50 shown by default
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), 7u);
    const std::string& sig = order[i];
    EXPECT_EQ(row[0], std::to_string(i + 1));
    EXPECT_EQ(row[2], sig);
    EXPECT_EQ(row[3], grouped(now_counts[sig])) << sig;
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.2f %%", 100.0 * static_cast<double>(now_counts[sig]) / static_cast<double>(total));
    EXPECT_EQ(row[4], pct) << sig;
    // Rank change against the previous period, in words.
    auto was = std::find(before_order.begin(), before_order.end(), sig);
    if (was == before_order.end()) {
      EXPECT_EQ(row[1], "new") << sig;
    } else {
      int change = static_cast<int>(was - before_order.begin()) - static_cast<int>(i);
      std::string want = change > 0   ? "\xE2\x96\xB2 " + std::to_string(change) + " up"
                         : change < 0 ? "\xE2\x96\xBC " + std::to_string(-change) + " down"
                                      : "same";
      EXPECT_EQ(row[1], want) << sig;
    }
    // Platforms: each platform's count for this signature.
    std::map<std::string, int64_t> platforms;
    for (const auto& c : current_) {
      if (field_of(c.processed, "product") == "Firefox" && field_of(c.processed, "signature") == sig) {
        ++platforms[field_of(c.processed, "os_name")];
      }
    }
    for (const auto& [name, n] : platforms) {
      EXPECT_TRUE(contains(row[5], name + " " + grouped(n))) << sig << ": " << row[5];
    }
    // First seen: the day of its first crash in either period.
    std::string first = "9999";
    for (const auto* set : {&current_, &previous_}) {
      for (const auto& c : *set) {
        if (field_of(c.processed, "signature") == sig) first = std::min(first, field_of(c.processed, "date_processed").substr(0, 10));
      }
    }
    EXPECT_EQ(row[6], first) << sig;
  }
  // Each signature links to its page for the same product and days.
  std::string link = "/signature/?signature=" + html::encode_component(order[0]) + "&amp;product=Firefox&amp;days=7";
  EXPECT_TRUE(contains(r.body, "href=\"" + link + "\"")) << link;
  // The form says what is shown.
  EXPECT_TRUE(contains(r.body, "name=\"product\" value=\"Firefox\""));
  EXPECT_TRUE(contains(r.body, "<option value=\"7\" selected=\"selected\">7</option>"));
}

TEST_F(TopCrashersPageTest, FiltersAreTheApisFilters) {
  // A version, a platform and a process type narrow the counts exactly as the API's parameters.
  auto r = page_->render("product=Firefox&version=140.0&platform=Windows+NT&process_type=content&days=7", now_);
  ASSERT_EQ(r.status, 200);
  std::map<std::string, int64_t> want;
  for (const auto& c : current_) {
    const auto& p = c.processed;
    if (field_of(p, "product") == "Firefox" && field_of(p, "version") == "140.0" && field_of(p, "os_name") == "Windows NT" &&
        field_of(p, "process_type") == "content") {
      ++want[field_of(p, "signature")];
    }
  }
  ASSERT_FALSE(want.empty());
  auto rows = table_rows(r.body, "<table class=\"topcrashers\"");
  ASSERT_EQ(rows.size(), want.size());
  for (const auto& row : rows) EXPECT_EQ(row[3], grouped(want[row[2]])) << row[2];
  // "any" is any process type, as in the API.
  auto any = page_->render("product=Fenix&process_type=any", now_);
  EXPECT_EQ(table_rows(any.body, "<table class=\"topcrashers\"").size(), counts(current_, "Fenix").size());
}

TEST_F(TopCrashersPageTest, WithoutAProductListsTheProducts) {
  for (const char* query : {"", "product=", "days=7"}) {
    auto r = page_->render(query, now_);
    ASSERT_EQ(r.status, 200) << query;
    EXPECT_TRUE(contains(r.body, "Choose a product")) << query;
    for (const char* product : {"Firefox", "Fenix", "Thunderbird"}) {
      std::string line = std::string(product) + "</a> \xE2\x80\x94 " + grouped(static_cast<int64_t>([&] {
                           size_t n = 0;
                           for (const auto& c : current_) n += field_of(c.processed, "product") == product;
                           return n;
                         }())) + " crashes";
      EXPECT_TRUE(contains(r.body, line)) << query << ": " << line;
      EXPECT_TRUE(contains(r.body, std::string("href=\"/topcrashers/?product=") + product + "&amp;days=7\""));
    }
  }
}

TEST_F(TopCrashersPageTest, EmptyStatesAreHonest) {
  auto r = page_->render("product=NoSuchProduct", now_);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "No crashes"));
  EXPECT_FALSE(contains(r.body, "<table class=\"topcrashers\""));

  test_support::TempDir empty_dir;
  index::IndexSettings settings;
  settings.sqlite_path = empty_dir.path() / "crashes.sqlite";
  settings.fields = index::FieldCatalogue::builtin();
  auto empty = index::open_crash_index(settings);
  TopCrashersPage empty_page(*empty);
  auto none = empty_page.render("", now_);
  EXPECT_EQ(none.status, 200);
  EXPECT_TRUE(contains(none.body, "No crashes yet"));
}

TEST_F(TopCrashersPageTest, BadParametersAre400PagesNamingThem) {
  struct Case {
    const char* query;
    const char* parameter;
  };
  for (const auto& c : {Case{"product=Firefox&days=5", "days"}, Case{"product=Firefox&days=abc", "days"},
                        Case{"days=2", "days"}, Case{"product=Firefox&color=red", "color"},
                        Case{"product=Firefox&_range_type=build", "_range_type"},
                        Case{"product=Firefox&product=Fenix", "product"}, Case{"product=Firefox&limit=0", "limit"},
                        Case{"product=Firefox&end_date=3000-01-01", "end_date"}}) {
    auto r = page_->render(c.query, now_);
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_TRUE(contains(r.body, std::string("Bad parameter: ") + c.parameter)) << c.query << r.body.substr(0, 3000);
  }
}

TEST_F(TopCrashersPageTest, HostileValuesAreText) {
  auto r = page_->render("product=%3Cscript%3Ealert(1)%3C%2Fscript%3E&platform=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E", now_);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(contains(r.body, "<script>alert"));
  EXPECT_FALSE(contains(r.body, "<img src=x"));
  EXPECT_TRUE(contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST_F(TopCrashersPageTest, ServedByTheWebApp) {
  test::SiteParts site(dir_);
  WebApp app(site.config, *site.storage, *site.queue, index_.get());
  http::ServerOptions opts = test_support::small_server_options();
  http::Server server(opts);
  app.add_routes(server);
  server.start();
  auto get = [&](const std::string& target, const std::string& method = "GET") { return test::request_to(server.port(), target, method); };
  auto r = get("/topcrashers/?product=Firefox");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "<table class=\"topcrashers\""));
  EXPECT_FALSE(r.header("Content-Security-Policy").empty());
  EXPECT_EQ(get("/topcrashers?product=Firefox").status, 200);
  EXPECT_EQ(get("/topcrashers/?days=9").status, 400);
  auto head = get("/topcrashers/?product=Firefox", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  server.stop();
}

}  // namespace
}  // namespace bw::web
