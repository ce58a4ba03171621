// The API documentation page (web/api_docs_page.h) over real HTTP on a WebApp with real
// file-system storage and a real SQLite index: every endpoint of the table is a route that
// answers (never the site's 404 page), every example link on the page answers the status the page
// documents, examples about one crash use the newest crash (patterns when there is none), and a
// hostile product name is text in the page and percent-encoded in the links.
#include "web/api_docs_page.h"

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "core/temp_dir.h"
#include "http/client.h"
#include "http/health.h"
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

using test::contains;

std::string unescape(std::string s) {
  for (size_t at = s.find("&amp;"); at != std::string::npos; at = s.find("&amp;", at + 1)) s.replace(at, 5, "&");
  return s;
}

// Every example link of a page: href → the status it documents.
std::map<std::string, int> example_links(const std::string& body) {
  std::map<std::string, int> out;
  static const std::regex link(R"re(<a href="([^"]*)" class="example[^"]*" data-status="([0-9]+)">)re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), link); it != std::sregex_iterator(); ++it) {
    out[unescape((*it)[1].str())] = std::stoi((*it)[2].str());
  }
  return out;
}

class ApiDocsPageTest : public ::testing::Test {
 protected:
  ApiDocsPageTest() {
    index_ = test::open_sqlite_index(dir_);
  }

  // Stores and indexes `n` crashes processed over the last days; returns them.
  std::vector<index::test_data::TestCrash> add_crashes(size_t n, uint64_t seed, const std::string& product = "") {
    index::test_data::GeneratorOptions gen;
    gen.seed = seed;
    gen.days = 3;
    auto crashes = index::test_data::CrashGenerator(gen).make(n);
    for (auto& c : crashes) {
      if (!product.empty()) {
        c.processed["product"] = product;
        c.raw["ProductName"] = product;
      }
      auto id = CrashId::parse(c.processed["uuid"].get<std::string>());
      EXPECT_TRUE(id.has_value());
      site_.storage->save_raw_crash(*id, c.raw, {{"upload_file_minidump", std::string("MDMP fake dump")}});
      site_.storage->save_processed(*id, c.processed);
      index_->upsert(c.processed, c.raw);
    }
    return crashes;
  }

  void start() {
    app_ = std::make_unique<WebApp>(site_.config, *site_.storage, *site_.queue, index_.get());
    http::ServerOptions opts = test_support::small_server_options();
    server_ = std::make_unique<http::Server>(opts);
    app_->add_routes(*server_);
    http::add_health_routes(*server_, {R"({"version":"test"})", {}});
    server_->start();
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  http::ClientResponse get(const std::string& target) {
    return test::request_to(server_->port(), target);
  }

  test_support::TempDir dir_;
  test::SiteParts site_{dir_};
  std::unique_ptr<index::CrashIndex> index_;
  std::unique_ptr<WebApp> app_;
  std::unique_ptr<http::Server> server_;
};

TEST(ApiEndpointsTable, IsWellFormed) {
  std::set<std::string_view> ids;
  for (const auto& e : api_endpoints()) {
    EXPECT_TRUE(ids.insert(e.id).second) << e.id;
    EXPECT_NO_THROW(html::Url::fragment(e.id)) << e.id;
    EXPECT_TRUE(e.method == "GET" || e.method == "POST") << e.id;
    EXPECT_TRUE(e.path.starts_with("/")) << e.id;
    EXPECT_FALSE(e.summary.empty()) << e.id;
    EXPECT_FALSE(e.answer.empty()) << e.id;
    // Every GET has a runnable example; one needing a permission is a 403 for anonymous callers.
    // A .sym download has none: a new site's store is empty (the matrix test and
    // symbols_serve_test fetch it).
    if (e.method == "GET" && e.served_by != ApiServedBy::kSymbols) {
      EXPECT_TRUE(e.example.starts_with(e.path)) << e.id;
      EXPECT_EQ(e.example_status, e.permission.empty() ? 200 : 403) << e.id;
    }
  }
  // The endpoints the site serves, by id.
  for (std::string_view id : {"SuperSearch", "SuperSearchUnredacted", "SuperSearchFields", "TopCrashers", "ProcessedCrash",
                              "RawCrash", "RawCrash-dump", "ReportStatus", "Submit", "Heartbeat", "LbHeartbeat", "Version",
                              "Metrics", "Status"}) {
    EXPECT_TRUE(ids.contains(id)) << id;
  }
  auto find = [](std::string_view id) {
    for (const auto& e : api_endpoints()) {
      if (e.id == id) return e;
    }
    return ApiEndpoint{};
  };
  EXPECT_EQ(find("SuperSearchUnredacted").permission, "view_pii");
  EXPECT_EQ(find("RawCrash-dump").permission, "view_rawdump");
  EXPECT_EQ(find("SuperSearch").permission, "");
}

// Every endpoint of the table is a route of the server (none answers the site's 404 page). The
// collector's POST /submit and the symbols service are not in the web app: the browser tests and
// the route matrix (web/route_matrix_test.cc) reach them on a whole site.
TEST_F(ApiDocsPageTest, EveryEndpointIsARouteThatAnswers) {
  start();
  size_t asked = 0, elsewhere = 0;
  for (const auto& e : api_endpoints()) {
    if (e.served_by == ApiServedBy::kCollector || e.served_by == ApiServedBy::kSymbols) {
      ++elsewhere;
      continue;
    }
    auto r = get(std::string(e.path));
    EXPECT_NE(r.status, 404) << e.path;
    EXPECT_FALSE(contains(r.body, "Page not found")) << e.path;
    ++asked;
  }
  EXPECT_EQ(elsewhere, 3u);
  EXPECT_EQ(asked, api_endpoints().size() - elsewhere);
}

TEST_F(ApiDocsPageTest, EveryExampleLinkAnswersTheDocumentedStatus) {
  auto crashes = add_crashes(5, 11);
  start();
  auto page = get("/api/");
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(contains(page.header("Content-Type"), "text/html"));
  // The newest crash is the examples' crash.
  const json* newest = nullptr;
  for (const auto& c : crashes) {
    if (!newest || c.processed["date_processed"].get<std::string>() > (*newest)["date_processed"].get<std::string>()) {
      newest = &c.processed;
    }
  }
  const std::string id = (*newest)["uuid"];
  const std::string product = (*newest)["product"];
  EXPECT_TRUE(contains(page.body, "href=\"/report/index/" + id + "\""));

  auto links = example_links(page.body);
  // One link per GET endpoint, each as the table says.
  std::set<std::string> want;
  for (const auto& e : api_endpoints()) {
    if (auto url = api_example_url(e, ApiExampleCrash{id, product})) want.insert(*url);
  }
  std::set<std::string> got;
  for (const auto& [href, status] : links) got.insert(href);
  EXPECT_EQ(got, want);
  EXPECT_EQ(links.size(), 14u);
  EXPECT_TRUE(links.contains("/api/ProcessedCrash/?crash_id=" + id));
  EXPECT_TRUE(links.contains("/api/SuperSearch/?product=" + html::encode_component(product) + "&_facets=signature"));
  for (const auto& [href, status] : links) {
    auto r = get(href);
    EXPECT_EQ(r.status, status) << href << ": " << r.body.substr(0, 300);
  }
  // The examples really are about that crash.
  EXPECT_EQ(json::parse(get("/api/ProcessedCrash/?crash_id=" + id).body)["uuid"], id);
  EXPECT_EQ(json::parse(get("/report/status/" + id).body)["state"], "processed");
  EXPECT_GE(json::parse(get("/api/SuperSearch/?product=" + html::encode_component(product) + "&_facets=signature").body)["total"].get<int>(), 1);
  // Permissions and the Auth-Token header are named.
  EXPECT_TRUE(contains(page.body, "<code>view_pii</code>"));
  EXPECT_TRUE(contains(page.body, "<code>view_rawdump</code>"));
  EXPECT_TRUE(contains(page.body, "Auth-Token header, docs/security.md"));
  EXPECT_TRUE(contains(page.body, "curl -F upload_file_minidump=@crash.dmp"));
}

TEST_F(ApiDocsPageTest, WithoutACrashExamplesAboutOneCrashArePatterns) {
  start();
  auto page = get("/api/");
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(contains(page.body, "No crash is indexed yet"));
  EXPECT_TRUE(contains(page.body, "<code class=\"pattern\">/api/ProcessedCrash/?crash_id=&lt;crash id&gt;</code>"));
  EXPECT_TRUE(contains(page.body, "<code class=\"pattern\">/report/status/&lt;crash id&gt;</code>"));
  auto links = example_links(page.body);
  for (const auto& [href, status] : links) {
    EXPECT_FALSE(contains(href, "crash_id")) << href;
    EXPECT_EQ(get(href).status, status) << href;
  }
  EXPECT_TRUE(links.contains("/api/SuperSearch/?product=Firefox&_facets=signature"));
  EXPECT_EQ(links.size(), 10u);  // 14 GET examples, 4 of them about one crash
}

TEST_F(ApiDocsPageTest, HostileProductNameIsTextAndEncoded) {
  const std::string hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>&x=" + std::string(3000, 'p');
  add_crashes(1, 5, hostile);
  start();
  auto page = get("/api/");
  ASSERT_EQ(page.status, 200);
  EXPECT_FALSE(contains(page.body, "<script>alert(1)"));
  EXPECT_FALSE(contains(page.body, "<img src=x"));
  EXPECT_TRUE(contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(page.body, "[cut:"));  // shown cut; the link has it whole, encoded
  auto links = example_links(page.body);
  // It starts with "<": as a Super Search value it is written "=<..." (is exactly), not "less than".
  const std::string search = "/api/SuperSearch/?product=" + html::encode_component("=" + hostile) + "&_facets=signature";
  ASSERT_TRUE(links.contains(search));
  auto r = get(search);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["total"], 1);
}

}  // namespace
}  // namespace bw::web
