#include "index/super_search_query.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <chrono>

namespace bw::index {
namespace {

using json = nlohmann::json;
using std::chrono::system_clock;

const system_clock::time_point kNow = system_clock::time_point(std::chrono::seconds(1793534400));  // 2026-11-01T12:00:00Z
const int64_t kNowUs = 1793534400LL * 1'000'000;

SuperSearchQuery parse(const QueryPairs& pairs, const Permissions& perms = {}) {
  return parse_super_search(FieldCatalogue::builtin(), pairs, perms, kNow);
}

// The QueryError's parameter for a query that must be refused.
std::string refused(const QueryPairs& pairs, const Permissions& perms = {}) {
  try {
    parse(pairs, perms);
  } catch (const QueryError& e) {
    EXPECT_NE(std::string(e.what()), "");
    return e.parameter();
  }
  ADD_FAILURE() << "query accepted";
  return "";
}

const Filter* find_filter(const SuperSearchQuery& q, const std::string& field, Op op, bool negated = false) {
  for (const auto& f : q.filters) {
    if (f.field->name == field && f.op == op && f.negated == negated) return &f;
  }
  return nullptr;
}

TEST(SuperSearchQuery, Defaults) {
  auto q = parse({});
  std::vector<std::string> cols;
  for (auto* c : q.columns) cols.push_back(c->name);
  EXPECT_EQ(cols, (std::vector<std::string>{"uuid", "date", "signature", "product", "version"}));
  ASSERT_EQ(q.sort.size(), 1u);
  EXPECT_EQ(q.sort[0].field->name, "date");
  EXPECT_TRUE(q.sort[0].descending);
  EXPECT_EQ(q.results_number, 100);
  EXPECT_EQ(q.results_offset, 0);
  EXPECT_EQ(q.facets_size, 50);
  ASSERT_EQ(q.aggregations.size(), 1u);
  EXPECT_EQ(q.aggregations[0].name(), "signature");
  // The last 7 days up to now.
  EXPECT_EQ(q.date_to_us, kNowUs);
  EXPECT_EQ(q.date_from_us, kNowUs - 7 * kMicrosPerDay);
  ASSERT_NE(find_filter(q, "date", Op::kGreaterEq), nullptr);
  ASSERT_NE(find_filter(q, "date", Op::kLessEq), nullptr);
}

TEST(SuperSearchQuery, OperatorsAndGrouping) {
  auto q = parse({{"signature", "~js::"}, {"signature", "~GC"}, {"signature", "!^mozilla"}, {"product", "Firefox"},
                  {"product", "Thunderbird"}, {"uptime", ">=60"}, {"uptime", "<3600"}, {"reason", "__null__"},
                  {"success", "!__true__"}, {"address", "$0000"}, {"version", "=140.0"}, {"signature", "@js::.*"}});
  const Filter* contains = find_filter(q, "signature", Op::kContains);
  ASSERT_NE(contains, nullptr);
  EXPECT_EQ(contains->values, (std::vector<json>{"js::", "GC"}));  // repeated key: OR'ed in one group
  const Filter* neg = find_filter(q, "signature", Op::kStartsWith, true);
  ASSERT_NE(neg, nullptr);
  EXPECT_EQ(neg->values, std::vector<json>{"mozilla"});
  EXPECT_EQ(find_filter(q, "product", Op::kDefault)->values, (std::vector<json>{"Firefox", "Thunderbird"}));
  EXPECT_EQ(find_filter(q, "uptime", Op::kGreaterEq)->values, std::vector<json>{60});
  EXPECT_EQ(find_filter(q, "uptime", Op::kLess)->values, std::vector<json>{3600});
  EXPECT_TRUE(find_filter(q, "reason", Op::kNull)->values.empty());
  EXPECT_NE(find_filter(q, "success", Op::kTrue, true), nullptr);
  EXPECT_EQ(find_filter(q, "address", Op::kEndsWith)->values, std::vector<json>{"0000"});
  EXPECT_EQ(find_filter(q, "version", Op::kEquals)->values, std::vector<json>{"140.0"});
  const Filter* re = find_filter(q, "signature", Op::kRegex);
  ASSERT_EQ(re->regexes.size(), 1u);
  EXPECT_TRUE(regex_matches(*re->regexes[0], "js::GC"));
  EXPECT_FALSE(regex_matches(*re->regexes[0], "xjs::GC"));  // whole-value match
}

TEST(SuperSearchQuery, TypedValues) {
  auto q = parse({{"cpu_count", "4"}, {"build_id", ">20261001000000"}, {"success", "false"}});
  EXPECT_EQ(find_filter(q, "cpu_count", Op::kDefault)->values, std::vector<json>{4});
  EXPECT_EQ(find_filter(q, "build_id", Op::kGreater)->values, std::vector<json>{20261001000000});
  EXPECT_EQ(find_filter(q, "success", Op::kDefault)->values, std::vector<json>{false});
  EXPECT_EQ(refused({{"cpu_count", "four"}}), "cpu_count");
  EXPECT_EQ(refused({{"cpu_count", "4.5"}}), "cpu_count");
  EXPECT_EQ(refused({{"uptime", ">"}}), "uptime");
  EXPECT_EQ(refused({{"success", "perhaps"}}), "success");
  EXPECT_EQ(refused({{"uptime", "~12"}}), "uptime");           // contains is for strings
  EXPECT_EQ(refused({{"product", "^Fire"}}), "product");       // enums take terms and null only
  EXPECT_EQ(refused({{"signature", ">a"}}), "signature");      // comparisons are for numbers and dates
  EXPECT_EQ(refused({{"date", "@2026"}}), "date");
  EXPECT_EQ(refused({{"signature", "!"}}), "signature");       // operator without a value
  // Empty values are ignored, as HTML forms send them.
  auto empty = parse({{"signature", ""}});
  EXPECT_EQ(find_filter(empty, "signature", Op::kDefault), nullptr);
}

TEST(SuperSearchQuery, DateRanges) {
  auto q = parse({{"date", ">=2026-10-01"}, {"date", "<2026-10-08"}});
  EXPECT_EQ(q.date_from_us, days_from_civil(2026, 10, 1) * kMicrosPerDay);
  EXPECT_EQ(q.date_to_us, days_from_civil(2026, 10, 8) * kMicrosPerDay - 1);
  // Only a lower bound: up to now.
  q = parse({{"date", ">=2026-10-01T00:00:00Z"}});
  EXPECT_EQ(q.date_to_us, kNowUs);
  // Only an upper bound: the 7 days before it.
  q = parse({{"date", "<=2026-10-08T00:00:00+00:00"}});
  EXPECT_EQ(q.date_from_us, days_from_civil(2026, 10, 1) * kMicrosPerDay);
  // A day without operator is that whole day.
  q = parse({{"date", "2026-10-03"}});
  EXPECT_EQ(q.date_from_us, days_from_civil(2026, 10, 3) * kMicrosPerDay);
  EXPECT_EQ(q.date_to_us, days_from_civil(2026, 10, 4) * kMicrosPerDay - 1);
  EXPECT_EQ(find_filter(q, "date", Op::kDefault)->values[0],
            json::array({days_from_civil(2026, 10, 3) * kMicrosPerDay, days_from_civil(2026, 10, 4) * kMicrosPerDay}));
  EXPECT_EQ(refused({{"date", ">=2020-01-01"}}), "date");  // more than 365 days
  EXPECT_EQ(refused({{"date", ">=yesterday"}}), "date");
  EXPECT_EQ(refused({{"date", "2026-02-30"}}), "date");
  EXPECT_EQ(refused({{"date", "<2026-10-08T25:00"}}), "date");
}

TEST(SuperSearchQuery, ControlParameters) {
  auto q = parse({{"_columns", "signature"}, {"_columns", "uptime,platform"}, {"_sort", "-uptime,signature"},
                  {"_results_number", "1000"}, {"_results_offset", "9000"}, {"_facets", "platform,product"},
                  {"_facets_size", "10000"}});
  ASSERT_EQ(q.columns.size(), 3u);
  EXPECT_EQ(q.columns[1]->name, "uptime");
  ASSERT_EQ(q.sort.size(), 2u);
  EXPECT_EQ(q.sort[0].field->name, "uptime");
  EXPECT_TRUE(q.sort[0].descending);
  EXPECT_FALSE(q.sort[1].descending);
  EXPECT_EQ(q.results_number, 1000);
  EXPECT_EQ(q.results_offset, 9000);
  EXPECT_EQ(q.facets_size, 10000);
  ASSERT_EQ(q.aggregations.size(), 2u);
  EXPECT_EQ(q.aggregations[0].name(), "platform");

  EXPECT_EQ(refused({{"_results_number", "1001"}}), "_results_number");
  EXPECT_EQ(refused({{"_results_number", "-1"}}), "_results_number");
  EXPECT_EQ(refused({{"_results_number", "99999999999999999999"}}), "_results_number");
  EXPECT_EQ(refused({{"_results_offset", "9950"}, {"_results_number", "100"}}), "_results_offset");
  EXPECT_EQ(refused({{"_facets_size", "10001"}}), "_facets_size");
  EXPECT_EQ(refused({{"_facets_size", "0"}}), "_facets_size");
  EXPECT_EQ(refused({{"_columns", "nope"}}), "_columns");
  EXPECT_EQ(refused({{"_sort", "-nope"}}), "_sort");
  EXPECT_EQ(refused({{"_sort", "modules_in_stack"}}), "_sort");
  EXPECT_EQ(refused({{"_facets", "nope"}}), "_facets");
  EXPECT_EQ(refused({{"_whatever", "1"}}), "_whatever");
  EXPECT_EQ(refused({{"nope", "1"}}), "nope");
}

TEST(SuperSearchQuery, Aggregations) {
  auto q = parse({{"_facets", "signature"}, {"_aggs.signature", "product,_cardinality.platform"},
                  {"_aggs.product.version", "platform"}, {"_histogram.date", "product"},
                  {"_histogram_interval.date", "hour"}, {"_histogram.uptime", ""}, {"_histogram_interval.uptime", "60"}});
  ASSERT_EQ(q.aggregations.size(), 4u);
  const auto& sig = q.aggregations[0];
  EXPECT_EQ(sig.name(), "signature");
  ASSERT_EQ(sig.children.size(), 2u);  // merged with _aggs.signature
  EXPECT_EQ(sig.children[0].name(), "product");
  EXPECT_EQ(sig.children[1].name(), "cardinality_platform");
  const auto& product = q.aggregations[1];
  EXPECT_EQ(product.name(), "product");
  ASSERT_EQ(product.children.size(), 1u);
  EXPECT_EQ(product.children[0].name(), "version");
  ASSERT_EQ(product.children[0].children.size(), 1u);
  EXPECT_EQ(product.children[0].children[0].name(), "platform");
  EXPECT_EQ(q.aggregations[2].name(), "histogram_date");
  EXPECT_EQ(q.aggregations[2].interval, 3'600'000'000.0);
  EXPECT_EQ(q.aggregations[3].interval, 60.0);

  EXPECT_EQ(refused({{"_histogram.signature", ""}}), "_histogram.signature");
  EXPECT_EQ(refused({{"_histogram.date", ""}, {"_histogram_interval.date", "fortnight"}}), "_histogram_interval.date");
  EXPECT_EQ(refused({{"_histogram.uptime", ""}, {"_histogram_interval.uptime", "1.5"}}), "_histogram_interval.uptime");
  EXPECT_EQ(refused({{"_histogram.uptime", ""}, {"_histogram_interval.uptime", "-1"}}), "_histogram_interval.uptime");
  EXPECT_EQ(refused({{"_histogram_interval.date", "day"}}), "_histogram_interval.date");
  EXPECT_EQ(refused({{"_aggs.a.b.c", "x"}}), "_aggs.a.b.c");
  EXPECT_EQ(refused({{"_aggs.product", "nope"}}), "_aggs.product");
  EXPECT_EQ(refused({{"_aggs.nope", "product"}}), "_aggs.nope");
  EXPECT_EQ(refused({{"_facets", "_cardinality.nope"}}), "_facets");
}

TEST(SuperSearchQuery, ProtectedFields) {
  // Filters on fields the caller may not see read as unknown fields.
  EXPECT_EQ(refused({{"url", "~example"}}), "url");
  EXPECT_EQ(refused({{"email", "__null__"}}), "email");
  // Elsewhere they are stripped.
  auto q = parse({{"_columns", "uuid,url,user_comments"}, {"_sort", "email,-date"}, {"_facets", "url,signature"},
                  {"_aggs.signature", "email"}, {"_aggs.url", "product"}});
  ASSERT_EQ(q.columns.size(), 1u);
  ASSERT_EQ(q.sort.size(), 1u);
  EXPECT_EQ(q.sort[0].field->name, "date");
  ASSERT_EQ(q.aggregations.size(), 1u);
  EXPECT_EQ(q.aggregations[0].name(), "signature");
  EXPECT_TRUE(q.aggregations[0].children.empty());
  // With view_pii everything is allowed.
  Permissions pii{"view_pii"};
  q = parse({{"url", "~example"}, {"_columns", "uuid,url"}, {"_facets", "email"}}, pii);
  EXPECT_NE(find_filter(q, "url", Op::kContains), nullptr);
  EXPECT_EQ(q.columns.size(), 2u);
  EXPECT_EQ(q.aggregations[0].name(), "email");
}

TEST(SuperSearchQuery, HostileInput) {
  QueryPairs many;
  for (int i = 0; i < 10000; ++i) many.emplace_back("signature", "sig" + std::to_string(i));
  EXPECT_EQ(refused(many), "_");  // more pairs than allowed
  QueryPairs values;
  for (int i = 0; i < 1001; ++i) values.emplace_back("signature", "sig" + std::to_string(i));
  EXPECT_EQ(refused(values), "signature");
  values.pop_back();
  EXPECT_EQ(find_filter(parse(values), "signature", Op::kDefault)->values.size(), 1000u);

  EXPECT_EQ(refused({{"signature", "@(unclosed"}}), "signature");
  EXPECT_EQ(refused({{"signature", "@" + std::string(2000, 'a')}}), "signature");
  // Backtracking-prone patterns compile and run in linear time under RE2.
  auto q = parse({{"signature", "@(a+)+$"}});
  std::string hostile(100000, 'a');
  hostile += 'b';
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(regex_matches(*find_filter(q, "signature", Op::kRegex)->regexes[0], hostile));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // SQL metacharacters are plain values.
  q = parse({{"signature", "'; DROP TABLE crashes; --"}});
  EXPECT_EQ(find_filter(q, "signature", Op::kDefault)->values[0], "'; DROP TABLE crashes; --");
  // Binary junk in names and values gives an error naming it, never a crash.
  EXPECT_EQ(refused({{std::string("\x01\xff", 2), "x"}}), std::string("\x01\xff", 2));
}

TEST(SuperSearchQuery, SiteAnnotations) {
  auto cat = FieldCatalogue::with_annotations({"Flavor:enum:public", "Secret:string"});
  auto q = parse_super_search(cat, {{"Flavor", "vanilla"}, {"_facets", "Flavor,Secret"}}, {}, kNow);
  EXPECT_EQ(q.filters[0].field->name, "Flavor");
  ASSERT_EQ(q.aggregations.size(), 1u);  // Secret needs view_pii
  EXPECT_THROW(parse_super_search(cat, {{"Secret", "x"}}, {}, kNow), QueryError);
  EXPECT_NO_THROW(parse_super_search(cat, {{"Secret", "x"}}, {"view_pii"}, kNow));
}

}  // namespace
}  // namespace bw::index
