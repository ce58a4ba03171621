// metrics::History: the baseline is the oldest snapshot inside the window, old snapshots are
// dropped, increases of counters and histograms are differences of two readings, and quantile
// bounds are exact bucket bounds.
#include "core/metrics_history.h"

#include <cmath>

#include <gtest/gtest.h>

namespace bw::metrics {
namespace {

using namespace std::chrono_literals;
using Clock = History::Clock;

TEST(MetricsHistoryTest, BaselineIsTheOldestSnapshotInsideTheWindow) {
  History h(60min);
  Registry r;
  auto& c = r.counter("bw_done_total", "done");
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(h.baseline(t0).has_value());
  for (int minute = 0; minute <= 90; ++minute) {
    h.record(t0 + minute * 1min, std::make_shared<Snapshot>(r.snapshot()));
    c.inc(10);
  }
  // 90 minutes in: the snapshot of minute 30 is the oldest inside the hour.
  auto base = h.baseline(t0 + 90min);
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->at, t0 + 30min);
  EXPECT_EQ(base->snapshot->series("bw_done_total", "")->value, 300);
  // Readings from before minute 30 are gone; the 61 inside the hour are kept.
  EXPECT_EQ(h.size(), 61u);
  // Young history: the window is as long as the history is.
  History young(60min);
  young.record(t0, std::make_shared<Snapshot>(r.snapshot()));
  EXPECT_EQ(young.baseline(t0 + 10min)->at, t0);
  EXPECT_FALSE(young.baseline(t0 + 61min).has_value());
  EXPECT_THROW(young.record(t0 - 1s, std::make_shared<Snapshot>()), std::invalid_argument);
  EXPECT_THROW(History(0s), std::invalid_argument);
}

TEST(MetricsHistoryTest, IncreasesAreDifferencesOfReadings) {
  Registry r;
  auto& ok = r.counter("bw_x_total", "x", {{"result", "ok"}});
  auto& lat = r.histogram("bw_x_seconds", "x", {0.1, 1, 10});
  ok.inc(4);
  lat.observe(0.05);
  Snapshot before = r.snapshot();
  ok.inc(3);
  r.counter("bw_x_total", "x", {{"result", "failed"}}).inc(2);  // a series born after the baseline
  for (double v : {0.05, 0.5, 0.5, 5.0, 50.0}) lat.observe(v);
  Snapshot after = r.snapshot();

  EXPECT_EQ(increase(*after.series("bw_x_total", "{result=\"ok\"}"), before.series("bw_x_total", "{result=\"ok\"}")), 3);
  EXPECT_EQ(increase(*after.series("bw_x_total", "{result=\"failed\"}"), before.series("bw_x_total", "{result=\"failed\"}")), 2);

  HistogramIncrease d = histogram_increase(*after.series("bw_x_seconds", ""), before.series("bw_x_seconds", ""));
  EXPECT_EQ(d.count, 5u);
  EXPECT_EQ(d.cumulative, (std::vector<uint64_t>{1, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(d.sum, 56.05);
  // 1 of 5 under 0.1 s, 3 under 1 s, 4 under 10 s, the last only in +Inf.
  EXPECT_EQ(quantile_upper_bound(d, 0.2), 0.1);
  EXPECT_EQ(quantile_upper_bound(d, 0.5), 1);
  EXPECT_EQ(quantile_upper_bound(d, 0.6), 1);
  EXPECT_EQ(quantile_upper_bound(d, 0.8), 10);
  EXPECT_TRUE(std::isinf(*quantile_upper_bound(d, 0.95)));
  HistogramIncrease none = histogram_increase(*after.series("bw_x_seconds", ""), after.series("bw_x_seconds", ""));
  EXPECT_EQ(none.count, 0u);
  EXPECT_FALSE(quantile_upper_bound(none, 0.5).has_value());
  EXPECT_THROW(quantile_upper_bound(d, 0), std::invalid_argument);
  // Without a baseline the whole reading is the increase.
  EXPECT_EQ(histogram_increase(*after.series("bw_x_seconds", ""), nullptr).count, 6u);
}

}  // namespace
}  // namespace bw::metrics
