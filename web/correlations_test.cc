// Correlations (web/correlations.h) on numbers worked out by hand in the comments.
#include "web/correlations.h"

#include <gtest/gtest.h>

namespace bw::web {
namespace {

using nlohmann::json;

FacetCounts facet(std::vector<std::pair<std::string, int64_t>> buckets, bool truncated = false) {
  return FacetCounts{std::move(buckets), truncated};
}

// 20 signature crashes among 1,000.
CorrelationInput example() {
  CorrelationInput in;
  in.signature_total = 20;
  in.overall_total = 1000;
  // Linux: 15/20 = 0.75 vs 200/1000 = 0.2 → 3.75. Windows: 0.25 vs 0.8 → 0.3125 (dropped).
  in.signature["platform"] = facet({{"Linux", 15}, {"Windows NT", 5}});
  in.overall["platform"] = facet({{"Windows NT", 800}, {"Linux", 200}});
  // SIGSEGV: 0.9 vs 0.9 → exactly 1 (dropped). SIGABRT: 1/20 = 0.05 (the least support) vs
  // 10/1000 = 0.01 → 5.
  in.signature["reason"] = facet({{"SIGSEGV", 18}, {"SIGABRT", 1}});
  in.overall["reason"] = facet({{"SIGSEGV", 900}, {"SIGABRT", 10}});
  // libfoo.so: 10/20 = 0.5; the overall facet was cut and lacks it, so its overall count is at
  // most the smallest listed, 30: 30/1000 = 0.03 → at least 16.67.
  in.signature["modules_in_stack"] = facet({{"libfoo.so", 10}});
  in.overall["modules_in_stack"] = facet({{"libxul.so", 990}, {"libc.so", 30}}, true);
  // 1.0: 20/20 = 1; no overall facet for version at all → its overall count is at least the
  // signature's 20: 20/1000 = 0.02 → 50.
  in.signature["version"] = facet({{"1.0", 20}});
  return in;
}

TEST(CorrelationsTest, RatiosSharesAndOrderMatchHandComputedNumbers) {
  auto rows = compute_correlations(example());
  ASSERT_EQ(rows.size(), 4u);

  EXPECT_EQ(rows[0].field, "version");
  EXPECT_EQ(rows[0].value, "1.0");
  EXPECT_EQ(rows[0].signature_count, 20);
  EXPECT_DOUBLE_EQ(rows[0].signature_share, 1.0);
  EXPECT_EQ(rows[0].overall_count, 20);
  EXPECT_DOUBLE_EQ(rows[0].overall_share, 0.02);
  EXPECT_DOUBLE_EQ(rows[0].ratio, 50.0);
  EXPECT_FALSE(rows[0].overall_is_upper_bound);

  EXPECT_EQ(rows[1].field, "modules_in_stack");
  EXPECT_EQ(rows[1].value, "libfoo.so");
  EXPECT_EQ(rows[1].overall_count, 30);
  EXPECT_TRUE(rows[1].overall_is_upper_bound);
  EXPECT_NEAR(rows[1].ratio, 0.5 / 0.03, 1e-12);

  EXPECT_EQ(rows[2].field, "reason");
  EXPECT_EQ(rows[2].value, "SIGABRT");
  EXPECT_DOUBLE_EQ(rows[2].signature_share, 0.05);
  EXPECT_DOUBLE_EQ(rows[2].overall_share, 0.01);
  EXPECT_DOUBLE_EQ(rows[2].ratio, 5.0);

  EXPECT_EQ(rows[3].field, "platform");
  EXPECT_EQ(rows[3].value, "Linux");
  EXPECT_EQ(rows[3].signature_count, 15);
  EXPECT_EQ(rows[3].overall_count, 200);
  EXPECT_DOUBLE_EQ(rows[3].ratio, 3.75);
}

TEST(CorrelationsTest, MinimumSupportAndLimit) {
  // 6 % support leaves SIGABRT (5 %) out.
  auto rows = compute_correlations(example(), {0.06, 10});
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) EXPECT_NE(r.value, "SIGABRT");
  // The two strongest only.
  rows = compute_correlations(example(), {0.05, 2});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].value, "1.0");
  EXPECT_EQ(rows[1].value, "libfoo.so");
}

TEST(CorrelationsTest, OverallCountsAreNeverBelowTheSignaturesOwn) {
  CorrelationInput in;
  in.signature_total = 20;
  in.overall_total = 10;  // counted before the newest crashes came in: at least 20
  in.signature["platform"] = facet({{"Linux", 15}});
  in.overall["platform"] = facet({{"Linux", 10}});
  auto rows = compute_correlations(in);
  // 15/20 = 0.75 vs 15/20 = 0.75: ratio 1, not shown.
  EXPECT_TRUE(rows.empty());

  in.overall_total = 1000;
  rows = compute_correlations(in);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].overall_count, 15);
  EXPECT_DOUBLE_EQ(rows[0].ratio, 0.75 / 0.015);

  // A cut overall facet whose smallest count is below the signature's own is no bound at all.
  in.overall["platform"] = facet({{"Windows NT", 900}, {"Mac OS X", 5}}, true);
  rows = compute_correlations(in);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].overall_count, 15);
  EXPECT_FALSE(rows[0].overall_is_upper_bound);
}

TEST(CorrelationsTest, NothingWithoutCrashesAndTiesOrderedByCountThenName) {
  EXPECT_TRUE(compute_correlations(CorrelationInput{}).empty());

  CorrelationInput in;
  in.signature_total = 10;
  in.overall_total = 100;
  // Both 0.5 vs 0.1 → 5; b has 5 crashes as a does: ordered by field, then value.
  in.signature["reason"] = facet({{"b", 5}, {"a", 5}});
  in.overall["reason"] = facet({{"a", 10}, {"b", 10}});
  in.signature["cpu_arch"] = facet({{"z", 5}});
  in.overall["cpu_arch"] = facet({{"z", 10}});
  auto rows = compute_correlations(in);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].field, "cpu_arch");
  EXPECT_EQ(rows[1].value, "a");
  EXPECT_EQ(rows[2].value, "b");
}

TEST(CorrelationsTest, FacetCountsReadsASearchAnswer) {
  json facets = {{"platform", {{{"term", "Linux"}, {"count", 3}}, {{"term", "Mac OS X"}, {"count", 1}}}},
                 {"build_id", {{{"term", 20261201000000}, {"count", 2}}}},
                 {"broken", "not a list"}};
  auto p = facet_counts(facets, "platform", 2);
  ASSERT_EQ(p.buckets.size(), 2u);
  EXPECT_EQ(p.buckets[0], (std::pair<std::string, int64_t>{"Linux", 3}));
  EXPECT_TRUE(p.truncated);
  EXPECT_FALSE(facet_counts(facets, "platform", 50).truncated);
  auto b = facet_counts(facets, "build_id", 50);
  ASSERT_EQ(b.buckets.size(), 1u);
  EXPECT_EQ(b.buckets[0].first, "20261201000000");
  EXPECT_TRUE(facet_counts(facets, "broken", 50).buckets.empty());
  EXPECT_TRUE(facet_counts(facets, "missing", 50).buckets.empty());
  EXPECT_TRUE(facet_counts(json::array(), "platform", 50).buckets.empty());
}

}  // namespace
}  // namespace bw::web
