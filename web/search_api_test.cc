// The JSON API over the crash index (web/search_api.h) over real HTTP on loopback: a real SQLite
// index in a temporary folder filled with generated crashes, served through WebApp::add_routes.
// Answers are checked against counts computed here from the same crashes; planted markers in
// protected fields never come out; hostile queries are 400s, served fast; an index that is down
// is a 503, one that fails a 500 that tells nothing.
#include "web/search_api.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/temp_dir.h"
#include "http/client.h"
#include "index/fields.h"
#include "index/super_search_query.h"
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

// Markers planted in protected places of a few crashes: none may ever come out of the API.
const std::vector<std::string> kMarkers = {"zq-marker-url", "zq-marker-email", "zq-marker-comment", "zq-marker-flavor",
                                           "zq-marker-raw-url"};

void expect_json_headers(const http::ClientResponse& r, const std::string& what) {
  EXPECT_EQ(r.header("Content-Type"), "application/json") << what;
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(r.header("Cache-Control"), "no-cache") << what;
}

std::string field_of(const json& processed, const char* name) {
  return processed.contains(name) && processed[name].is_string() ? processed[name].get<std::string>() : "";
}

int64_t date_us(const json& processed) { return *index::parse_date_us(processed["date_processed"].get<std::string>()); }

class SearchApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::system_clock::now();

    // The built-ins plus a protected site annotation (Flavor) and a public one (Temperature).
    index_ = test::open_sqlite_index(dir_, index::FieldCatalogue::with_annotations({"Flavor:string", "Temperature:float:public"}));

    // Crashes over the last 5 days: all inside the default 7-day range of a search.
    index::test_data::GeneratorOptions gen;
    gen.seed = 42;
    gen.end = now_;
    gen.days = 5;
    gen.signatures = 40;
    crashes_ = index::test_data::CrashGenerator(gen).make(400);
    // A few crashes carry markers in every protected place.
    for (size_t i = 0; i < 4; ++i) {
      auto& c = crashes_[i * 7];
      c.processed["product"] = "MarkerProduct";
      c.processed["url"] = "https://x.example/" + kMarkers[0];
      c.processed["email"] = kMarkers[1] + "@example.com";
      c.processed["user_comments"] = "it broke " + kMarkers[2];
      c.raw["ProductName"] = "MarkerProduct";
      c.raw["Flavor"] = kMarkers[3];
      c.raw["URL"] = kMarkers[4];
      c.raw["Email"] = kMarkers[1];
      c.raw["Comments"] = kMarkers[2];
      marker_ids_.push_back(c.processed["uuid"].get<std::string>());
    }
    test::upsert_all(*index_, crashes_);

    app_ = std::make_unique<WebApp>(site_.config, *site_.storage, *site_.queue, index_.get());
    http::ServerOptions opts = test_support::small_server_options();
    // Big enough for a query string of 10,000 filters, so the API (not the head limit) answers it.
    opts.max_header_size = 1 << 20;
    server_ = std::make_unique<http::Server>(opts);
    app_->add_routes(*server_);
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    app_.reset();
  }

  http::ClientResponse get(const std::string& target, const std::string& method = "GET") {
    return test::request_to(server_->port(), target, method);
  }
  json get_json(const std::string& target, int status = 200) {
    auto r = get(target);
    EXPECT_EQ(r.status, status) << target << ": " << r.body.substr(0, 500);
    expect_json_headers(r, target);
    return json::parse(r.body);
  }

  // Crashes matching a predicate.
  template <typename P>
  std::vector<const json*> where(P pred) const {
    std::vector<const json*> out;
    for (const auto& c : crashes_) {
      if (pred(c.processed)) out.push_back(&c.processed);
    }
    return out;
  }
  // Counts of a string field's values among crashes (missing values not counted).
  static std::map<std::string, int64_t> count_by(const std::vector<const json*>& crashes, const char* name) {
    std::map<std::string, int64_t> out;
    for (const json* p : crashes) {
      std::string v = field_of(*p, name);
      if (!v.empty()) ++out[v];
    }
    return out;
  }
  static std::map<std::string, int64_t> buckets(const json& facet) {
    std::map<std::string, int64_t> out;
    for (const auto& b : facet) out[b["term"].get<std::string>()] = b["count"].get<int64_t>();
    return out;
  }

  std::string today() const {
    int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(now_.time_since_epoch()).count();
    return index::format_day(index::floor_div(us, index::kMicrosPerDay));
  }

  void expect_no_marker(const http::ClientResponse& r, const std::string& what) {
    for (const auto& m : kMarkers) {
      EXPECT_FALSE(contains(r.body, m)) << what << " leaks " << m;
      for (const auto& [name, value] : r.headers) EXPECT_FALSE(contains(value, m)) << what << " header " << name;
    }
  }

  test_support::TempDir dir_;
  std::chrono::system_clock::time_point now_;
  test::SiteParts site_{dir_};
  std::unique_ptr<index::CrashIndex> index_;
  std::vector<index::test_data::TestCrash> crashes_;
  std::vector<std::string> marker_ids_;
  std::unique_ptr<WebApp> app_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(SearchApiTest, SuperSearchTotalsAndHitsMatchCountsComputedHere) {
  json all = get_json("/api/SuperSearch/");
  EXPECT_EQ(all["total"], crashes_.size());
  EXPECT_EQ(all["hits"].size(), 100u);  // the default page
  EXPECT_EQ(all["errors"], json::array());
  EXPECT_TRUE(all["facets"].contains("signature"));

  auto firefox = where([](const json& p) { return field_of(p, "product") == "Firefox"; });
  ASSERT_GT(firefox.size(), 50u);
  EXPECT_EQ(get_json("/api/SuperSearch/?product=Firefox")["total"], firefox.size());
  auto either = where([](const json& p) { return field_of(p, "product") == "Firefox" || field_of(p, "product") == "Fenix"; });
  EXPECT_EQ(get_json("/api/SuperSearch/?product=Firefox&product=Fenix")["total"], either.size());
  EXPECT_EQ(get_json("/api/SuperSearch/?product=!Firefox")["total"], crashes_.size() - firefox.size());
  auto linux_content = where([](const json& p) {
    return field_of(p, "product") == "Firefox" && field_of(p, "os_name") == "Linux" && field_of(p, "process_type") == "content";
  });
  EXPECT_EQ(get_json("/api/SuperSearch/?product=Firefox&platform=Linux&process_type=content")["total"],
            linux_content.size());
  std::string top_signature = index::test_data::CrashGenerator::signature_name(0);
  auto with_top = where([&](const json& p) { return field_of(p, "signature") == top_signature; });
  EXPECT_EQ(get_json("/api/SuperSearch/?signature=%3Djs%3A%3Agc%3A%3AArena%3A%3Afinalize")["total"], with_top.size());
  auto startup = where([](const json& p) { return p.contains("uptime") && p["uptime"].get<int64_t>() < 60; });
  EXPECT_EQ(get_json("/api/SuperSearch/?uptime=%3C60")["total"], startup.size());

  // The newest ten Firefox crashes, newest first, with the columns asked for.
  json page = get_json("/api/SuperSearch/?product=Firefox&_sort=-date&_results_number=10&_columns=uuid&_columns=signature");
  std::vector<const json*> newest = firefox;
  std::sort(newest.begin(), newest.end(), [](const json* a, const json* b) { return date_us(*a) > date_us(*b); });
  ASSERT_EQ(page["hits"].size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(page["hits"][i]["uuid"], (*newest[i])["uuid"]) << i;
    EXPECT_EQ(page["hits"][i]["signature"], (*newest[i])["signature"]) << i;
    EXPECT_EQ(page["hits"][i].size(), 2u);
  }
  // The next page follows on.
  json next = get_json("/api/SuperSearch/?product=Firefox&_sort=-date&_results_number=10&_results_offset=10&_columns=uuid");
  EXPECT_EQ(next["hits"][0]["uuid"], (*newest[10])["uuid"]);

  auto head = get("/api/SuperSearch/?product=Firefox", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(SearchApiTest, SuperSearchFacetsMatchCountsComputedHere) {
  json r = get_json("/api/SuperSearch/?_facets=product&_facets=platform&_facets=signature&_results_number=0&_facets_size=100");
  EXPECT_EQ(r["hits"], json::array());
  EXPECT_EQ(r["total"], crashes_.size());
  auto everything = where([](const json&) { return true; });
  EXPECT_EQ(buckets(r["facets"]["product"]), count_by(everything, "product"));
  EXPECT_EQ(buckets(r["facets"]["platform"]), count_by(everything, "os_name"));
  EXPECT_EQ(buckets(r["facets"]["signature"]), count_by(everything, "signature"));
  // Highest count first.
  const json& sigs = r["facets"]["signature"];
  for (size_t i = 1; i < sigs.size(); ++i) EXPECT_GE(sigs[i - 1]["count"], sigs[i]["count"]);

  // Versions per product (two levels).
  json aggs = get_json("/api/SuperSearch/?_aggs.product=version&_facets=&_results_number=0");
  ASSERT_TRUE(aggs["facets"].contains("product")) << aggs.dump();
  for (const auto& bucket : aggs["facets"]["product"]) {
    std::string product = bucket["term"];
    auto of_product = where([&](const json& p) { return field_of(p, "product") == product; });
    EXPECT_EQ(bucket["count"], of_product.size()) << product;
    EXPECT_EQ(buckets(bucket["facets"]["version"]), count_by(of_product, "version")) << product;
  }
}

TEST_F(SearchApiTest, ProtectedFieldsAreUnknownToAnonymousCallers) {
  // The markers are really in the index (a caller with view_pii would see them)...
  json pii = index_->search({{"uuid", marker_ids_[0]}, {"_columns", "url,email,user_comments,Flavor"}}, {"view_pii"});
  ASSERT_EQ(pii["hits"].size(), 1u) << pii.dump();
  EXPECT_TRUE(contains(pii["hits"][0]["url"].get<std::string>(), kMarkers[0]));
  EXPECT_EQ(pii["hits"][0]["Flavor"], kMarkers[3]);

  // ...but a filter on a protected field is refused exactly like an unknown one.
  for (const char* field : {"url", "email", "user_comments", "Flavor"}) {
    auto r = get(std::string("/api/SuperSearch/?") + field + "=" + kMarkers[0]);
    EXPECT_EQ(r.status, 400) << field;
    expect_json_headers(r, field);
    json errors = json::parse(r.body)["errors"];
    ASSERT_TRUE(errors.contains(field)) << r.body;
    EXPECT_EQ(errors[field], json::array({std::string("unknown field \"") + field + "\""})) << r.body;
    expect_no_marker(r, field);
  }
  json unknown = get_json("/api/SuperSearch/?no_such_field=1", 400);
  EXPECT_EQ(unknown["errors"]["no_such_field"], json::array({"unknown field \"no_such_field\""}));

  // In _columns, _sort and aggregations they are stripped.
  json hits = get_json("/api/SuperSearch/?product=MarkerProduct&_columns=url&_columns=uuid&_columns=email,Flavor&_sort=url");
  ASSERT_EQ(hits["total"], marker_ids_.size());
  for (const auto& hit : hits["hits"]) {
    EXPECT_EQ(hit.size(), 1u) << hit.dump();
    EXPECT_TRUE(hit.contains("uuid"));
  }
  json facets = get_json("/api/SuperSearch/?product=MarkerProduct&_facets=url&_facets=product&_aggs.product=email");
  EXPECT_FALSE(facets["facets"].contains("url"));
  EXPECT_EQ(facets["facets"]["product"][0]["term"], "MarkerProduct");
  EXPECT_FALSE(facets["facets"]["product"][0].contains("facets") &&
               facets["facets"]["product"][0]["facets"].contains("email"));
}

TEST_F(SearchApiTest, NoMarkerComesOutOfAnyEndpoint) {
  std::string every_field;
  for (const auto& f : index_->fields().all()) every_field += (every_field.empty() ? "" : ",") + f.name;
  std::vector<std::string> targets = {
      "/api/SuperSearch/",
      "/api/SuperSearch/?_columns=" + every_field + "&_results_number=1000",
      "/api/SuperSearch/?product=MarkerProduct&_columns=" + every_field,
      "/api/SuperSearch/?uuid=" + marker_ids_[0] + "&_columns=" + every_field,
      "/api/SuperSearch/?_facets=" + every_field + "&_facets_size=1000&_results_number=0",
      "/api/SuperSearch/?_aggs.product=url&_aggs.signature=user_comments&_histogram.date=email&_results_number=0",
      "/api/SuperSearch/?_aggs.product.url=email&_facets=_cardinality.user_comments",
      "/api/SuperSearch/?url=" + kMarkers[0],
      "/api/SuperSearch/?user_comments=~" + kMarkers[2],
      "/api/SuperSearch/?Flavor=" + kMarkers[3],
      "/api/SuperSearch/?signature=~" + kMarkers[2],
      "/api/SuperSearchUnredacted/",
      "/api/SuperSearchUnredacted/?_columns=url&product=MarkerProduct",
      "/api/SuperSearchFields/",
      "/api/TopCrashers/?product=MarkerProduct",
      "/api/TopCrashers/?product=MarkerProduct&days=28&_facets_size=100",
      "/api/TopCrashers/?product=" + kMarkers[0],
  };
  for (const auto& target : targets) {
    auto r = get(target);
    EXPECT_TRUE(r.status == 200 || r.status == 400 || r.status == 403) << target << ": " << r.status;
    expect_no_marker(r, target);
  }
}

TEST_F(SearchApiTest, SuperSearchUnredactedNeedsViewPii) {
  auto r = get("/api/SuperSearchUnredacted/?product=MarkerProduct&_columns=url");
  EXPECT_EQ(r.status, 403);
  expect_json_headers(r, "unredacted");
  EXPECT_TRUE(contains(json::parse(r.body)["error"].get<std::string>(), "view_pii"));
  EXPECT_EQ(get("/api/SuperSearchUnredacted/", "HEAD").status, 403);
}

TEST_F(SearchApiTest, SuperSearchFieldsListsTheWholeCatalogueWithPermissions) {
  auto r = get("/api/SuperSearchFields/");
  ASSERT_EQ(r.status, 200);
  expect_json_headers(r, "fields");
  json fields = json::parse(r.body);
  EXPECT_EQ(fields, index_->fields().to_json());
  EXPECT_EQ(fields.size(), index_->fields().all().size());
  EXPECT_EQ(fields["signature"]["permissions_needed"], json::array());
  EXPECT_EQ(fields["signature"]["query_type"], "string");
  EXPECT_EQ(fields["url"]["permissions_needed"], json::array({"view_pii"}));
  EXPECT_EQ(fields["Flavor"]["permissions_needed"], json::array({"view_pii"}));
  EXPECT_EQ(fields["Temperature"]["permissions_needed"], json::array());
  EXPECT_EQ(get("/api/SuperSearchFields/", "HEAD").status, 200);
}

TEST_F(SearchApiTest, TopCrashersMatchCountsComputedHere) {
  std::string end = today();
  int64_t today_days = index::days_from_civil(std::stoi(end.substr(0, 4)), static_cast<unsigned>(std::stoi(end.substr(5, 2))),
                                              static_cast<unsigned>(std::stoi(end.substr(8, 2))));
  struct Case {
    std::string query;
    std::function<bool(const json&)> match;
    int days;
  };
  auto product_is = [](const char* product) { return [product](const json& p) { return field_of(p, "product") == product; }; };
  std::vector<Case> cases = {
      {"product=Firefox", product_is("Firefox"), 7},
      {"product=Firefox&days=1", product_is("Firefox"), 1},
      {"product=Firefox&process_type=any&days=14", product_is("Firefox"), 14},
      {"product=Firefox&version=140.0&version=141.0b3",
       [](const json& p) {
         return field_of(p, "product") == "Firefox" && (field_of(p, "version") == "140.0" || field_of(p, "version") == "141.0b3");
       },
       7},
      {"product=Firefox&platform=Linux&process_type=content",
       [](const json& p) {
         return field_of(p, "product") == "Firefox" && field_of(p, "os_name") == "Linux" && field_of(p, "process_type") == "content";
       },
       7},
  };
  for (const auto& c : cases) {
    std::string target = "/api/TopCrashers/?" + c.query + "&end_date=" + end + "&_facets_size=10000";
    json r = get_json(target);
    auto matching = where([&](const json& p) {
      return c.match(p) && index::floor_div(date_us(p), index::kMicrosPerDay) > today_days - c.days;
    });
    EXPECT_EQ(r["total"], matching.size()) << target;
    EXPECT_EQ(r["days"], c.days);
    EXPECT_EQ(r["end_date"], end);
    // Ranked by count, then signature.
    std::map<std::string, int64_t> counts = count_by(matching, "signature");
    std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    ASSERT_EQ(r["crashers"].size(), ranked.size()) << target;
    for (size_t i = 0; i < ranked.size(); ++i) {
      const json& crasher = r["crashers"][i];
      EXPECT_EQ(crasher["rank"], i + 1);
      EXPECT_EQ(crasher["signature"], ranked[i].first) << target << " rank " << i + 1;
      EXPECT_EQ(crasher["count"], ranked[i].second) << target << " rank " << i + 1;
      EXPECT_NEAR(crasher["percentage"].get<double>(), 100.0 * static_cast<double>(ranked[i].second) / static_cast<double>(matching.size()), 1e-9);
    }
    // The top signature's platforms.
    if (!ranked.empty()) {
      std::map<std::string, int64_t> platforms;
      for (const json* p : matching) {
        if (field_of(*p, "signature") == ranked[0].first) ++platforms[field_of(*p, "os_name")];
      }
      using Counts = std::map<std::string, int64_t>;
      EXPECT_EQ(r["crashers"][0]["platforms"].get<Counts>(), platforms) << target;
    }
  }
  // The number of signatures: _facets_size or limit.
  EXPECT_EQ(get_json("/api/TopCrashers/?product=Firefox&_facets_size=3")["crashers"].size(), 3u);
  EXPECT_EQ(get_json("/api/TopCrashers/?product=Firefox&limit=3&_facets_size=3")["crashers"].size(), 3u);
  EXPECT_EQ(get_json("/api/TopCrashers/?product=Firefox&limit=2")["crashers"].size(), 2u);
  // Defaults: 7 days ending today, 50 signatures at most.
  json defaults = get_json("/api/TopCrashers/?product=Firefox&_range_type=report&_tcbs_mode=byday");
  EXPECT_EQ(defaults["days"], 7);
  EXPECT_LE(defaults["crashers"].size(), 50u);
  // Long ago: nothing.
  json old = get_json("/api/TopCrashers/?product=Firefox&end_date=2020-01-01");
  EXPECT_EQ(old["total"], 0);
  EXPECT_EQ(old["crashers"], json::array());
  EXPECT_EQ(get("/api/TopCrashers/?product=Firefox", "HEAD").status, 200);
}

TEST_F(SearchApiTest, TopCrashersErrorsNameTheParameter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "product"},
      {"product=", "product"},
      {"version=140.0", "product"},
      {"product=Firefox&days=5", "days"},
      {"product=Firefox&days=abc", "days"},
      {"product=Firefox&days=99999999999999999999", "days"},
      {"product=Firefox&_facets_size=0", "_facets_size"},
      {"product=Firefox&_facets_size=10001", "_facets_size"},
      {"product=Firefox&limit=-1", "limit"},
      {"product=Firefox&limit=3&_facets_size=4", "_facets_size"},
      {"product=Firefox&product=Fenix", "product"},
      {"product=Firefox&end_date=yesterday", "end_date"},
      {"product=Firefox&end_date=2026-02-30", "end_date"},
      {"product=Firefox&end_date=9999-12-31", "end_date"},
      {"product=Firefox&end_date=1900-01-01", "end_date"},
      {"product=Firefox&_range_type=build", "_range_type"},
      {"product=Firefox&_tcbs_mode=realtime", "_tcbs_mode"},
      {"product=Firefox&signature=x", "signature"},
      {"product=Firefox&p%27roduct=x", "p'roduct"},
  };
  for (const auto& [query, parameter] : cases) {
    json r = get_json("/api/TopCrashers/?" + query, 400);
    ASSERT_TRUE(r["errors"].contains(parameter)) << query << ": " << r.dump();
    EXPECT_TRUE(r["errors"][parameter].is_array() && r["errors"][parameter].size() == 1u) << r.dump();
  }
  std::string many = "product=Firefox";
  for (int i = 0; i < 300; ++i) many += "&version=" + std::to_string(i);
  EXPECT_EQ(get("/api/TopCrashers/?" + many).status, 400);
}

TEST_F(SearchApiTest, HostileQueriesAreAClear400ServedFast) {
  std::string long_regex(2000, 'a');
  std::string ten_thousand;
  for (int i = 0; i < 10000; ++i) ten_thousand += "product=F" + std::to_string(i) + "&";
  std::string two_thousand;
  for (int i = 0; i < 2000; ++i) two_thousand += "product=F" + std::to_string(i) + "&";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"_results_number=100000", "_results_number"},
      {"_results_number=-1", "_results_number"},
      {"_results_offset=20000", "_results_offset"},
      {"_results_offset=9950&_results_number=100", "_results_offset"},
      {"_results_offset=99999999999999999999999", "_results_offset"},
      {"_facets_size=100000", "_facets_size"},
      {"date=%3E%3D2026-13-45", "date"},
      {"date=yesterday", "date"},
      {"date=%3E%3D2000-01-01", "date"},
      {"sig%27nature=x", "sig'nature"},
      {"signature%3B+DROP+TABLE+crashes=1", "signature; DROP TABLE crashes"},
      {"_sort=signature%3BDROP", "_sort"},
      {"_columns=uuid,(SELECT+1)", "_columns"},
      {"signature=%40(a", "signature"},
      {"signature=%40" + long_regex, "signature"},
      {"uptime=1%27+OR+%271%27%3D%271", "uptime"},
      {two_thousand, "product"},
      {ten_thousand, "_"},
  };
  for (const auto& [query, parameter] : cases) {
    auto start = std::chrono::steady_clock::now();
    auto r = get("/api/SuperSearch/?" + query);
    auto took = std::chrono::steady_clock::now() - start;
    std::string shown = query.substr(0, 80);
    EXPECT_EQ(r.status, 400) << shown << ": " << r.body.substr(0, 300);
    expect_json_headers(r, shown);
    json errors = json::parse(r.body)["errors"];
    EXPECT_TRUE(errors.contains(parameter)) << shown << ": " << r.body.substr(0, 300);
    EXPECT_LT(took, 2s) << shown;
    EXPECT_LT(r.body.size(), 1000u) << shown;
  }
  // SQL in values is just text: nothing matches, nothing is dropped.
  for (const std::string value : {"%27+OR+1%3D1+--", "x%27)%3B+DROP+TABLE+crashes%3B+--", "%22%3B+DELETE+FROM+crashes",
                                  "~%25", "~_", "^%25"}) {
    json r = get_json("/api/SuperSearch/?signature=" + value);
    EXPECT_EQ(r["total"], 0) << value;
  }
  EXPECT_EQ(get_json("/api/SuperSearch/")["total"], crashes_.size());
  // A pathological pattern for backtracking engines runs in linear time (RE2).
  for (const std::string pattern : {"(a%2B)%2B%24", "(.*)*x(.*)*y(.*)*z", "(a%7Caa)%2B%24"}) {
    auto start = std::chrono::steady_clock::now();
    json r = get_json("/api/SuperSearch/?signature=%40" + pattern);
    EXPECT_EQ(r["total"], 0) << pattern;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << pattern;
  }
  std::string top = index::test_data::CrashGenerator::signature_name(0);
  auto with_top = where([&](const json& p) { return field_of(p, "signature") == top; });
  EXPECT_EQ(get_json("/api/SuperSearch/?signature=%40js%3A%3Agc%3A%3AArena%3A%3A%5Ba-z%5D%2B")["total"], with_top.size());
}

TEST(SearchApi, ParsesTopCrashersQueries) {
  auto now = std::chrono::system_clock::now();
  auto q = parse_top_crashers_query({{"product", "Firefox"}, {"version", "1.0"}, {"version", ""}, {"version", "2.0"},
                                     {"version", "1.0"}, {"process_type", "any"}, {"platform", "Linux"}, {"days", "28"},
                                     {"_facets_size", "20"}, {"end_date", "2026-01-15"}},
                                    now);
  EXPECT_EQ(q.product, "Firefox");
  EXPECT_EQ(q.versions, (std::vector<std::string>{"1.0", "2.0"}));
  EXPECT_EQ(q.process_type, "");
  EXPECT_EQ(q.platform, "Linux");
  EXPECT_EQ(q.days, 28);
  EXPECT_EQ(q.limit, 20);
  ASSERT_TRUE(q.end);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(q.end->time_since_epoch()).count(),
            *index::parse_date_us("2026-01-15"));
  auto defaults = parse_top_crashers_query({{"product", "Firefox"}, {"product", "Firefox"}}, now);
  EXPECT_EQ(defaults.days, 7);
  EXPECT_EQ(defaults.limit, 50);
  EXPECT_FALSE(defaults.end);
  EXPECT_TRUE(defaults.versions.empty());
  try {
    parse_top_crashers_query({{"product", "Firefox"}, {"bogus", "1"}}, now);
    ADD_FAILURE() << "no error";
  } catch (const index::QueryError& e) {
    EXPECT_EQ(e.parameter(), "bogus");
  }
}

// An index whose searches and top crashers fail as told, or block until released.
class FailingIndex final : public index::CrashIndex {
 public:
  enum class Mode { kDown, kBroken, kBlocked };
  explicit FailingIndex(Mode mode) : mode_(mode), catalogue_(index::FieldCatalogue::builtin()) {}

  const index::FieldCatalogue& fields() const override { return *catalogue_; }
  void upsert_batch(std::span<const index::CrashInput>) override { throw std::logic_error("not used"); }
  std::optional<json> get(std::string_view, const index::Permissions&) override { throw std::logic_error("not used"); }
  bool remove(std::string_view) override { throw std::logic_error("not used"); }
  uint64_t drop_older_than(std::chrono::system_clock::time_point) override { throw std::logic_error("not used"); }
  uint64_t count() override { throw std::logic_error("not used"); }
  uint64_t stored_bytes() override { throw std::logic_error("not used"); }
  std::vector<index::ProductVersionDay> product_version_days(int64_t) override { throw std::logic_error("not used"); }
  std::vector<index::MissingSymbol> missing_symbols(const index::MissingSymbolsQuery&) override {
    throw std::logic_error("not used");
  }
  std::vector<std::string> crashes_missing_symbols(std::string_view, std::string_view, size_t) override {
    throw std::logic_error("not used");
  }

  json execute(const index::SuperSearchQuery&) override {
    fail();
    return {{"hits", json::array()}, {"total", 0}, {"facets", json::object()}, {"errors", json::array()}};
  }
  index::TopCrashersResult top_crashers(const index::TopCrashersQuery& query) override {
    query.validate();
    fail();
    return {};
  }

  std::promise<void> entered;
  std::promise<void> release;

 private:
  void fail() {
    switch (mode_) {
      case Mode::kDown: throw index::IndexUnavailable("database is locked");
      case Mode::kBroken: throw std::runtime_error("secret detail " + kMarkers[0]);
      case Mode::kBlocked:
        entered.set_value();
        release.get_future().wait();
        return;
    }
  }

  Mode mode_;
  std::shared_ptr<const index::FieldCatalogue> catalogue_;
};

// A SearchApi alone on a server with one I/O thread.
struct SearchApiServer {
  explicit SearchApiServer(index::CrashIndex& index) : api(index) {
    http::ServerOptions opts = test_support::small_server_options();
    server = std::make_unique<http::Server>(opts);
    api.add_routes(*server);
    server->start();
  }
  ~SearchApiServer() { server->stop(); }
  http::ClientResponse get(const std::string& target) { return test::request_to(server->port(), target); }

  SearchApi api;
  std::unique_ptr<http::Server> server;
};

TEST(SearchApi, IndexDownIsA503WithRetryAfter) {
  FailingIndex index(FailingIndex::Mode::kDown);
  SearchApiServer s(index);
  for (const char* target : {"/api/SuperSearch/?product=Firefox", "/api/TopCrashers/?product=Firefox"}) {
    auto r = s.get(target);
    EXPECT_EQ(r.status, 503) << target;
    expect_json_headers(r, target);
    EXPECT_EQ(r.header("Retry-After"), "5");
    EXPECT_TRUE(json::parse(r.body)["error"].is_string()) << r.body;
    EXPECT_FALSE(contains(r.body, "database is locked"));
  }
  // The caller's mistakes are still theirs, and the catalogue needs no backend.
  EXPECT_EQ(s.get("/api/SuperSearch/?nope=1").status, 400);
  EXPECT_EQ(s.get("/api/TopCrashers/?days=5").status, 400);
  EXPECT_EQ(s.get("/api/SuperSearchFields/").status, 200);
}

TEST(SearchApi, AFailingIndexIsA500ThatTellsNothing) {
  FailingIndex index(FailingIndex::Mode::kBroken);
  SearchApiServer s(index);
  for (const char* target : {"/api/SuperSearch/", "/api/TopCrashers/?product=Firefox"}) {
    auto r = s.get(target);
    EXPECT_EQ(r.status, 500) << target;
    expect_json_headers(r, target);
    EXPECT_TRUE(json::parse(r.body)["error"].is_string()) << r.body;
    EXPECT_FALSE(contains(r.body, "secret")) << r.body;
    EXPECT_FALSE(contains(r.body, kMarkers[0])) << r.body;
  }
}

TEST(SearchApi, IndexCallsRunOnTheWorkerPool) {
  FailingIndex index(FailingIndex::Mode::kBlocked);
  SearchApiServer s(index);
  auto search = std::async(std::launch::async, [&] { return s.get("/api/SuperSearch/"); });
  ASSERT_EQ(index.entered.get_future().wait_for(10s), std::future_status::ready);
  // The one I/O thread is free while the index call is blocked.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(s.get("/api/SuperSearchFields/").status, 200);
  EXPECT_EQ(s.get("/api/SuperSearchUnredacted/").status, 403);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  index.release.set_value();
  auto r = search.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["total"], 0);
}

TEST(SearchApi, WithoutAnIndexTheWebAppHasNoSearchRoutes) {
  test_support::TempDir dir;
  test::SiteParts site(dir);
  WebApp app(site.config, *site.storage, *site.queue);
  http::Server server(test_support::small_server_options());
  app.add_routes(server);
  server.start();
  auto r = test::request_to(server.port(), "/api/SuperSearch/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  server.stop();
}

TEST(MissingSymbolsApi, ParametersAreCheckedAndCsvIsSafe) {
  auto r = parse_missing_symbols_query({{"days", "28"}, {"limit", "10"}, {"format", "csv"}});
  EXPECT_EQ(r.query.days, 28);
  EXPECT_EQ(r.query.limit, 10);
  EXPECT_TRUE(r.csv);
  EXPECT_FALSE(parse_missing_symbols_query({}).csv);
  EXPECT_EQ(parse_missing_symbols_query({}).query.days, 7);
  for (const auto& [pairs, parameter] : std::vector<std::pair<index::QueryPairs, std::string>>{
           {{{"days", "0"}}, "days"},
           {{{"days", "366"}}, "days"},
           {{{"days", "x"}}, "days"},
           {{{"limit", "10001"}}, "limit"},
           {{{"format", "xml"}}, "format"},
           {{{"days", "1"}, {"days", "2"}}, "days"},
           {{{"product", "Firefox"}}, "product"}}) {
    try {
      parse_missing_symbols_query(pairs);
      ADD_FAILURE() << "accepted " << parameter;
    } catch (const index::QueryError& e) {
      EXPECT_EQ(e.parameter(), parameter) << e.what();
    }
  }
  std::vector<index::MissingSymbol> modules = {
      {"xul.pdb", "ABC1", "xul.dll", "C0DE", 12, "2026-11-01T12:00:00+00:00"},
      {"=HYPERLINK(\"http://evil\")", "DEF2", "a,b.dll", "", 3, "2026-11-01T13:00:00+00:00"}};
  EXPECT_EQ(missing_symbols_csv(modules),
            "debug_file,debug_id,code_file,code_id,crashes,last_seen\r\n"
            "xul.pdb,ABC1,xul.dll,C0DE,12,2026-11-01T12:00:00+00:00\r\n"
            "\"'=HYPERLINK(\"\"http://evil\"\")\",DEF2,\"a,b.dll\",,3,2026-11-01T13:00:00+00:00\r\n");
  auto j = missing_symbols_json(parse_missing_symbols_query({}).query, modules);
  EXPECT_EQ(j["days"], 7);
  EXPECT_EQ(j["total"], 2);
  EXPECT_EQ(j["hits"][0]["crashes"], 12);
  EXPECT_EQ(j["hits"][1]["code_file"], "a,b.dll");
}

}  // namespace
}  // namespace bw::web
