// The Signature page (web/signature_page.h) over a real SQLite index filled with generated
// crashes: the total, the summary counts and percentages, the uptime ranges, the reports list
// (sorted and paged), first and last seen and the correlations equal what this test counts from
// the same crashes; a planted correlation is found; bad parameters are 400 pages naming them; an
// unknown signature is an honest empty page; hostile values are text.
#include "web/signature_page.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "web/html.h"
#include "web/web_test_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test::field_of;
using test::grouped;
using test::table_rows;

using test::contains;

std::string pct(int64_t n, int64_t total) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %%", 100.0 * static_cast<double>(n) / static_cast<double>(total));
  return buf;
}

// The planted signature's crashes all run on Linux with a module nobody else has and a public
// site annotation value nobody else has: three correlations the page must find.
const char* const kPlantedModule = "zz-planted.so/ABCDEF";
const char* const kPlantedFlavor = "planted-flavor";

class SignaturePageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::system_clock::now();
    // Flavor is public here (so it is correlated); Secret is protected (so it never is).
    index_ = test::open_sqlite_index(dir_, index::FieldCatalogue::with_annotations({"Flavor:string:public", "Secret:string"}));

    index::test_data::GeneratorOptions gen;
    gen.seed = 11;
    gen.end = now_;
    gen.days = 5;
    gen.signatures = 20;
    crashes_ = index::test_data::CrashGenerator(gen).make(500);
    planted_ = index::test_data::CrashGenerator::signature_name(2);
    for (auto& c : crashes_) {
      if (field_of(c.processed, "signature") != planted_) continue;
      c.processed["os_name"] = "Linux";
      c.processed["json_dump"]["system_info"]["os"] = "Linux";
      c.processed["modules_in_stack"].push_back(kPlantedModule);
      c.raw["Flavor"] = kPlantedFlavor;
      c.raw["Secret"] = "zq-secret-marker";
    }
    test::upsert_all(*index_, crashes_);
    page_ = std::make_unique<SignaturePage>(*index_);
  }

  std::vector<const json*> with_signature(const std::string& sig) const {
    std::vector<const json*> out;
    for (const auto& c : crashes_) {
      if (field_of(c.processed, "signature") == sig) out.push_back(&c.processed);
    }
    return out;
  }
  std::string query_for(const std::string& sig) const { return "signature=" + html::encode_component(sig); }

  test_support::TempDir dir_;
  std::chrono::system_clock::time_point now_;
  std::unique_ptr<index::CrashIndex> index_;
  std::vector<index::test_data::TestCrash> crashes_;
  std::string planted_;
  std::unique_ptr<SignaturePage> page_;
};

TEST_F(SignaturePageTest, SummaryMatchesCountsComputedHere) {
  const std::string sig = index::test_data::CrashGenerator::signature_name(0);
  auto mine = with_signature(sig);
  const auto total = static_cast<int64_t>(mine.size());
  ASSERT_GT(total, 60);  // more than one page of reports
  auto r = page_->render(query_for(sig), now_);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 2000);
  EXPECT_TRUE(contains(r.body, "<dd id=\"signature-total\">" + grouped(total) + "</dd>"));

  // Each summary field: every value's count and percentage (top 10 shown, the rest summed).
  struct Source {
    const char* field;
    const char* processed_key;
  };
  for (const auto& s : {Source{"product", "product"}, Source{"version", "version"}, Source{"platform", "os_name"},
                        Source{"platform_version", "os_version"}, Source{"cpu_arch", "cpu_arch"}, Source{"reason", "reason"},
                        Source{"process_type", "process_type"}, Source{"release_channel", "release_channel"}}) {
    std::map<std::string, int64_t> want;
    for (const json* p : mine) {
      std::string v = field_of(*p, s.processed_key);
      if (!v.empty()) ++want[v];
    }
    auto rows = table_rows(r.body, std::string("<table class=\"facet-table\" data-field=\"") + s.field + "\"");
    ASSERT_EQ(rows.size(), std::min<size_t>(want.size(), 10)) << s.field;
    for (const auto& row : rows) {
      ASSERT_EQ(row.size(), 3u);
      EXPECT_EQ(row[1], grouped(want[row[0]])) << s.field << " " << row[0];
      EXPECT_EQ(row[2], pct(want[row[0]], total)) << s.field << " " << row[0];
    }
    // Highest counts first.
    for (size_t i = 1; i < rows.size(); ++i) EXPECT_GE(want[rows[i - 1][0]], want[rows[i][0]]) << s.field;
  }
  // Build ids are integers.
  std::map<std::string, int64_t> builds;
  for (const json* p : mine) ++builds[field_of(*p, "build_id")];
  for (const auto& row : table_rows(r.body, "<table class=\"facet-table\" data-field=\"build_id\"")) {
    EXPECT_EQ(row[1], grouped(builds[row[0]])) << row[0];
  }

  // Uptime ranges.
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 60}, {60, 300}, {300, 3600}, {3600, 86400}, {86400, INT64_MAX}};
  std::vector<int64_t> up(ranges.size(), 0);
  int64_t unknown = 0;
  for (const json* p : mine) {
    if (!p->contains("uptime")) {
      ++unknown;
      continue;
    }
    int64_t u = (*p)["uptime"].get<int64_t>();
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (u >= ranges[i].first && u < ranges[i].second) ++up[i];
    }
  }
  auto uptime = table_rows(r.body, "<table class=\"facet-table\" data-field=\"uptime\"");
  ASSERT_EQ(uptime.size(), ranges.size() + (unknown > 0 ? 1 : 0));
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_EQ(uptime[i][1], grouped(up[i])) << uptime[i][0];
    EXPECT_EQ(uptime[i][2], pct(up[i], total)) << uptime[i][0];
  }
  if (unknown > 0) {
    EXPECT_EQ(uptime.back()[1], grouped(unknown));
  }

  // First and last seen: the oldest and newest crash.
  std::vector<std::string> dates;
  for (const json* p : mine) dates.push_back(field_of(*p, "date_processed"));
  std::sort(dates.begin(), dates.end());
  auto shown = [](const std::string& iso) {
    std::string s = iso.substr(0, 19);
    s[10] = ' ';
    return s + " UTC";
  };
  EXPECT_TRUE(contains(r.body, "<dd id=\"first-seen\">" + shown(dates.front()) + "</dd>")) << dates.front();
  EXPECT_TRUE(contains(r.body, "<dd id=\"last-seen\">" + shown(dates.back()) + "</dd>")) << dates.back();

  // Crashes per day: the table under the chart sums to the total, day by day as counted here.
  std::map<std::string, int64_t> per_day;
  for (const auto& d : dates) ++per_day[d.substr(0, 10)];
  auto days = table_rows(r.body, "<table class=\"per-day\"");
  ASSERT_GE(days.size(), 7u);
  for (const auto& row : days) EXPECT_EQ(row.back(), grouped(per_day[row[0]])) << row[0];
  EXPECT_TRUE(contains(r.body, "<svg viewbox=\"0 0 720 220\""));
  // Inside <svg> nothing is void for the HTML parser: an unclosed element would swallow the rest.
  auto occurrences = [&](std::string_view needle) {
    size_t n = 0;
    for (size_t at = r.body.find(needle); at != std::string::npos; at = r.body.find(needle, at + 1)) ++n;
    return n;
  };
  for (const char* tag : {"rect", "line", "text", "svg"}) {
    EXPECT_EQ(occurrences(std::string("<") + tag + " "), occurrences(std::string("</") + tag + ">")) << tag;
  }
  EXPECT_GT(occurrences("<rect "), 7u);
}

TEST_F(SignaturePageTest, ReportsAreSortedAndPagedLikeTheSearch) {
  const std::string sig = index::test_data::CrashGenerator::signature_name(0);
  auto mine = with_signature(sig);
  auto uuids = [&](const std::string& html) {
    std::vector<std::string> out;
    for (const auto& row : table_rows(html, "<table class=\"reports\"")) out.push_back(row.at(4));
    return out;
  };
  // Default: newest first, 50 a page.
  std::vector<const json*> newest = mine;
  std::sort(newest.begin(), newest.end(), [](const json* a, const json* b) {
    return field_of(*a, "date_processed") > field_of(*b, "date_processed");
  });
  auto first = uuids(page_->render(query_for(sig), now_).body);
  ASSERT_EQ(first.size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(first[i], field_of(*newest[i], "uuid")) << i;

  // By crash id, ascending, second page.
  std::vector<std::string> ids;
  for (const json* p : mine) ids.push_back(field_of(*p, "uuid"));
  std::sort(ids.begin(), ids.end());
  auto second = uuids(page_->render(query_for(sig) + "&_sort=uuid&page=2", now_).body);
  ASSERT_EQ(second.size(), std::min<size_t>(50, ids.size() - 50));
  for (size_t i = 0; i < second.size(); ++i) EXPECT_EQ(second[i], ids[50 + i]) << i;
  auto r = page_->render(query_for(sig) + "&_sort=uuid&page=2", now_);
  // The header of the sorted column says so and links to the other direction.
  EXPECT_TRUE(contains(r.body, "aria-sort=\"ascending\""));
  EXPECT_TRUE(contains(r.body, "&amp;_sort=-uuid\" data-sort=\"-uuid\""));
  EXPECT_TRUE(contains(r.body, "rel=\"prev\""));
  EXPECT_TRUE(contains(r.body, "href=\"/report/index/" + ids[50] + "\""));
  // Descending by crash id.
  auto desc = uuids(page_->render(query_for(sig) + "&_sort=-uuid", now_).body);
  ASSERT_FALSE(desc.empty());
  EXPECT_EQ(desc[0], ids.back());
}

TEST_F(SignaturePageTest, PlantedCorrelationsAreFoundWithTheirCounts) {
  auto mine = with_signature(planted_);
  const auto total = static_cast<int64_t>(mine.size());
  ASSERT_GE(total, 10);
  auto r = page_->render(query_for(planted_), now_);
  ASSERT_EQ(r.status, 200);
  auto rows = table_rows(r.body, "<table class=\"correlations\"");
  ASSERT_FALSE(rows.empty()) << r.body.substr(0, 3000);
  ASSERT_LE(rows.size(), 10u);

  // The overall set: every crash of the signature's products in the period.
  std::set<std::string> products;
  for (const json* p : mine) products.insert(field_of(*p, "product"));
  std::vector<const index::test_data::TestCrash*> overall;
  for (const auto& c : crashes_) {
    if (products.count(field_of(c.processed, "product"))) overall.push_back(&c);
  }
  // How many crashes of a set have `value` in `field` (as the index reads the field).
  auto count = [](const std::vector<const index::test_data::TestCrash*>& set, const std::string& field,
                  const std::string& value) {
    int64_t n = 0;
    for (const auto* c : set) {
      const json& p = c->processed;
      if (field == "modules_in_stack") {
        if (!p.contains("modules_in_stack")) continue;
        for (const auto& m : p["modules_in_stack"]) n += m == value;
      } else if (field == "Flavor") {
        n += c->raw.contains("Flavor") && c->raw["Flavor"] == value;
      } else {
        static const std::map<std::string, std::string> keys = {{"platform", "os_name"}, {"platform_version", "os_version"}};
        std::string key = keys.count(field) ? keys.at(field) : field;
        n += field_of(p, key.c_str()) == value;
      }
    }
    return n;
  };
  std::vector<const index::test_data::TestCrash*> sig_set;
  for (const auto* c : overall) {
    if (field_of(c->processed, "signature") == planted_) sig_set.push_back(c);
  }
  std::set<std::pair<std::string, std::string>> found;
  double previous_ratio = 1e300;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 7u);
    const std::string& field = row[0];
    const std::string& value = row[1];
    EXPECT_NE(field, "Secret");  // protected: never correlated
    found.insert({field, value});
    int64_t in_sig = count(sig_set, field, value);
    int64_t in_all = count(overall, field, value);
    EXPECT_EQ(row[2], grouped(in_sig)) << field << "=" << value;
    EXPECT_EQ(row[3], pct(in_sig, total)) << field << "=" << value;
    EXPECT_EQ(row[4], grouped(in_all)) << field << "=" << value;
    EXPECT_EQ(row[5], pct(in_all, static_cast<int64_t>(overall.size()))) << field << "=" << value;
    double ratio = (static_cast<double>(in_sig) / static_cast<double>(total)) /
                   (static_cast<double>(in_all) / static_cast<double>(overall.size()));
    char want[32];
    std::snprintf(want, sizeof want, "%.2f\xC3\x97", ratio);
    EXPECT_EQ(row[6], want) << field << "=" << value;
    EXPECT_GT(ratio, 1.0);
    EXPECT_GE(static_cast<double>(in_sig), 0.05 * static_cast<double>(total));
    EXPECT_LE(ratio, previous_ratio + 1e-9);
    previous_ratio = ratio;
  }
  // Only this signature has the module and the flavour: the strongest possible ratio, first.
  EXPECT_TRUE(found.count({"modules_in_stack", kPlantedModule}));
  EXPECT_TRUE(found.count({"Flavor", kPlantedFlavor}));
  EXPECT_TRUE(found.count({"platform", "Linux"}));
  EXPECT_FALSE(contains(r.body, "zq-secret-marker"));
}

TEST_F(SignaturePageTest, ProductAndDaysNarrowThePage) {
  const std::string sig = index::test_data::CrashGenerator::signature_name(0);
  int64_t fenix = 0, last_day = 0;
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(now_.time_since_epoch()).count();
  for (const json* p : with_signature(sig)) {
    if (field_of(*p, "product") == "Fenix") ++fenix;
    if (*index::parse_date_us(field_of(*p, "date_processed")) >= now_us - index::kMicrosPerDay) ++last_day;
  }
  auto r = page_->render(query_for(sig) + "&product=Fenix", now_);
  EXPECT_TRUE(contains(r.body, "<dd id=\"signature-total\">" + grouped(fenix) + "</dd>")) << fenix;
  auto one = page_->render(query_for(sig) + "&days=1", now_);
  EXPECT_TRUE(contains(one.body, "<dd id=\"signature-total\">" + grouped(last_day) + "</dd>")) << last_day;
  EXPECT_EQ(page_->render(query_for(sig) + "&days=365", now_).status, 200);
}

TEST_F(SignaturePageTest, UnknownSignatureIsAnHonestEmptyPage) {
  auto r = page_->render("signature=no+such+signature", now_);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "No crashes"));
  EXPECT_TRUE(contains(r.body, "no such signature"));
  EXPECT_FALSE(contains(r.body, "<table class=\"reports\""));
}

TEST_F(SignaturePageTest, BadParametersAre400PagesNamingThem) {
  struct Case {
    const char* query;
    const char* parameter;
  };
  for (const auto& c : {Case{"", "signature"}, Case{"signature=", "signature"}, Case{"product=Firefox", "signature"},
                        Case{"signature=a&days=0", "days"}, Case{"signature=a&days=366", "days"},
                        Case{"signature=a&days=x", "days"}, Case{"signature=a&page=201", "page"},
                        Case{"signature=a&page=0", "page"}, Case{"signature=a&_sort=url", "_sort"},
                        Case{"signature=a&_sort=-signature", "_sort"}, Case{"signature=a&bogus=1", "bogus"},
                        Case{"signature=a&signature=b", "signature"}}) {
    auto r = page_->render(c.query, now_);
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_TRUE(contains(r.body, std::string("Bad parameter: ") + c.parameter)) << c.query;
  }
  EXPECT_EQ(page_->render("signature=" + std::string(10001, 'a'), now_).status, 400);
}

TEST_F(SignaturePageTest, HostileSignatureIsText) {
  auto r = page_->render("signature=%3Cscript%3Ealert(1)%3C%2Fscript%3E&product=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E", now_);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(contains(r.body, "<script>alert"));
  EXPECT_FALSE(contains(r.body, "<img src=x"));
  EXPECT_TRUE(contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
}

}  // namespace
}  // namespace bw::web
