#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace bw::metrics {
namespace {

TEST(MetricsTest, CounterExposition) {
  Registry r;
  auto& c = r.counter("bw_received_total", "Crashes received", {{"result", "accept"}});
  c.inc();
  c.inc(2);
  EXPECT_EQ(&c, &r.counter("bw_received_total", "Crashes received", {{"result", "accept"}}));
  auto text = r.exposition();
  EXPECT_NE(text.find("# TYPE bw_received_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("bw_received_total{result=\"accept\"} 3\n"), std::string::npos) << text;
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.histogram("bw_latency_seconds", "Latency", {0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = r.exposition();
  EXPECT_NE(text.find("bw_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bw_latency_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bw_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bw_latency_seconds_count 3\n"), std::string::npos) << text;
}

TEST(MetricsTest, GaugeAndCallback) {
  Registry r;
  r.gauge("bw_in_flight", "In flight").set(4);
  r.gauge_callback("bw_backlog", "Backlog", [] { return 17.0; });
  auto text = r.exposition();
  EXPECT_NE(text.find("bw_in_flight 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bw_backlog 17\n"), std::string::npos) << text;
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry r;
  r.counter("bw_x_total", "x", {{"reason", "a\"b\\c\nd"}}).inc();
  EXPECT_NE(r.exposition().find("reason=\"a\\\"b\\\\c\\nd\""), std::string::npos);
}

TEST(MetricsTest, RejectsBadNamesAndTypeClashes) {
  Registry r;
  EXPECT_THROW(r.counter("bad name", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok", "x", {{"bad-label", "v"}}), std::invalid_argument);
  r.counter("dual", "x");
  EXPECT_THROW(r.gauge("dual", "x"), std::invalid_argument);
}

TEST(MetricsTest, ConcurrentIncrementsAreCounted) {
  Registry r;
  auto& c = r.counter("bw_concurrent_total", "x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
}


// The snapshot holds what the exposition prints, and the exposition is rendered from it.
TEST(MetricsTest, SnapshotHoldsTheExposedValues) {
  Registry r;
  r.counter("bw_b_total", "b", {{"result", "ok"}}).inc(3);
  r.counter("bw_b_total", "b", {{"result", "failed"}}).inc();
  r.gauge("bw_a", "a").set(2.5);
  r.gauge_callback("bw_c", "c", [] { return 7.0; }, {{"queue", "standard"}});
  auto& h = r.histogram("bw_d_seconds", "d", {0.1, 1.0}, {{"rule", "x"}});
  h.observe(0.05);
  h.observe(2);
  Snapshot s = r.snapshot();
  ASSERT_EQ(s.families.size(), 4u);
  EXPECT_EQ(s.families[0].name, "bw_a");  // by name, as exposed
  EXPECT_EQ(s.families[0].type, MetricType::kGauge);
  EXPECT_EQ(s.series("bw_a", "")->value, 2.5);
  const SeriesSample* ok = s.series("bw_b_total", "{result=\"ok\"}");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->value, 3);
  EXPECT_EQ(ok->label("result"), "ok");
  EXPECT_EQ(ok->label("other"), "");
  EXPECT_EQ(s.family("bw_b_total")->series.size(), 2u);
  EXPECT_EQ(s.family("bw_b_total")->help, "b");
  EXPECT_EQ(s.series("bw_c", "{queue=\"standard\"}")->value, 7);
  const SeriesSample* d = s.series("bw_d_seconds", "{rule=\"x\"}");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->cumulative, (std::vector<uint64_t>{1, 1, 2}));
  EXPECT_EQ(d->count, 2u);
  EXPECT_DOUBLE_EQ(d->sum, 2.05);
  EXPECT_EQ(s.family("bw_nothing"), nullptr);
  EXPECT_EQ(s.series("bw_b_total", "{result=\"other\"}"), nullptr);
  EXPECT_EQ(exposition(s), r.exposition());
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(render_labels({{"a", "x\"y"}, {"b", "z"}}), "{a=\"x\\\"y\",b=\"z\"}");
}

}  // namespace
}  // namespace bw::metrics
