#include "core/metrics_history.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace bw::metrics {

History::History(std::chrono::seconds window) : window_(window) {
  if (window_.count() <= 0) throw std::invalid_argument("metrics history: the window must be positive");
}

void History::record(Clock::time_point at, std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard lock(mu_);
  if (!kept_.empty() && at < kept_.back().at) throw std::invalid_argument("metrics history: time went backwards");
  kept_.push_back({at, std::move(snapshot)});
  // Only the oldest snapshot inside the window is ever a baseline, and later calls may use a
  // later `now`: keep every snapshot inside the window, drop those before it.
  while (kept_.size() > 1 && kept_.front().at < at - window_) kept_.pop_front();
}

std::optional<History::Baseline> History::baseline(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  for (const auto& b : kept_) {
    if (b.at >= now - window_ && b.at <= now) return b;
  }
  return std::nullopt;
}

size_t History::size() const {
  std::lock_guard lock(mu_);
  return kept_.size();
}

double increase(const SeriesSample& now, const SeriesSample* base) { return base ? now.value - base->value : now.value; }

HistogramIncrease histogram_increase(const SeriesSample& now, const SeriesSample* base) {
  HistogramIncrease out{now.bounds, now.cumulative, now.sum, now.count};
  if (!base) return out;
  if (base->bounds != now.bounds || base->cumulative.size() != now.cumulative.size()) {
    throw std::invalid_argument("metrics history: a histogram changed its buckets");
  }
  for (size_t i = 0; i < out.cumulative.size(); ++i) {
    out.cumulative[i] = now.cumulative[i] >= base->cumulative[i] ? now.cumulative[i] - base->cumulative[i] : 0;
  }
  out.sum = now.sum - base->sum;
  out.count = now.count >= base->count ? now.count - base->count : 0;
  return out;
}

std::optional<double> quantile_upper_bound(const HistogramIncrease& h, double q) {
  if (!(q > 0 && q <= 1)) throw std::invalid_argument("metrics history: a quantile is in (0, 1]");
  if (h.cumulative.empty()) return std::nullopt;
  // The +Inf bucket's cumulative count is the number of observations.
  const uint64_t total = h.cumulative.back();
  if (total == 0) return std::nullopt;
  const double wanted = std::ceil(q * static_cast<double>(total));
  for (size_t i = 0; i < h.bounds.size() && i < h.cumulative.size(); ++i) {
    if (static_cast<double>(h.cumulative[i]) >= wanted) return h.bounds[i];
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace bw::metrics
