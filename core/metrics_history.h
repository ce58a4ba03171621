// What the metrics did over a recent window ("the last hour" of the status page), from registry
// snapshots kept at a fixed interval. Counters and histograms only ever grow within a process, so
// the increase over a window is the newest reading minus the oldest snapshot inside the window:
// the same arithmetic as Prometheus' increase(x[1h]) over the series /metrics exposes.
//
// A window is only as long as the history: a process that started ten minutes ago has ten
// minutes of it, and Baseline::at says so (callers show the real span, never "an hour").
//
// Thread safety: History may be used from several threads (one mutex). The free functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/metrics.h"

namespace bw::metrics {

class History {
 public:
  using Clock = std::chrono::steady_clock;

  explicit History(std::chrono::seconds window = std::chrono::hours(1));

  // Keeps `snapshot` as read at `at` (times must not go backwards; std::invalid_argument).
  // Snapshots that can no longer be a baseline (read more than a window before `at`) are dropped.
  void record(Clock::time_point at, std::shared_ptr<const Snapshot> snapshot);

  struct Baseline {
    Clock::time_point at;
    std::shared_ptr<const Snapshot> snapshot;
  };
  // The oldest snapshot read within the window before `now` (at >= now - window); nullopt when
  // there is none.
  std::optional<Baseline> baseline(Clock::time_point now) const;

  std::chrono::seconds window() const { return window_; }
  size_t size() const;

 private:
  std::chrono::seconds window_;
  mutable std::mutex mu_;
  std::deque<Baseline> kept_;
};

// How much a counter (or a gauge read as a counter) grew since `base`: `now.value - base->value`,
// or `now.value` when the series did not exist yet at the baseline (it starts at 0 when created).
double increase(const SeriesSample& now, const SeriesSample* base);

// How much a histogram grew since `base`, bucket by bucket (same bounds; a series that did not
// exist at the baseline counts from zero).
struct HistogramIncrease {
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;  // per bound, then +Inf
  double sum = 0;
  uint64_t count = 0;
};
HistogramIncrease histogram_increase(const SeriesSample& now, const SeriesSample* base);

// The smallest bucket bound under which at least the fraction `q` (0 < q <= 1) of the
// observations fall: an exact upper bound of the q-quantile ("95 % took at most 0.25 s"), not an
// interpolated estimate. +infinity when they are only reached in the +Inf bucket; nullopt when
// there is no observation.
std::optional<double> quantile_upper_bound(const HistogramIncrease& h, double q);

}  // namespace bw::metrics
