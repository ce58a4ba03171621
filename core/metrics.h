// A small Prometheus metrics registry: counters, gauges and histograms with labels, and the text
// exposition format (version 0.0.4) served at /metrics.
//
// `snapshot()` reads every series at once as values; the exposition is rendered from a snapshot,
// so anything else built on snapshots (the status page, web/status_page.h) shows exactly the
// numbers /metrics shows.
//
// Ownership: the registry owns every metric; the references it hands out stay valid for the
// registry's lifetime, so parts look a metric up once and keep the reference.
// Thread safety: lookups take a mutex; updating a metric is lock-free (atomics) except histogram
// observations, which are lock-free per bucket.
// Errors: registering one name with two types, or a name/label that is not a valid Prometheus
// identifier, throws std::invalid_argument.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bw::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

class Counter {
 public:
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1.0) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Cumulative counts per bound (last entry is +Inf), sum and count.
  std::vector<uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (for +Inf)
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

// Latency buckets in seconds, 1 ms .. 60 s.
std::vector<double> default_latency_buckets();

// One series as read by Registry::snapshot().
struct SeriesSample {
  Labels labels;           // as registered
  std::string label_text;  // as in the exposition: `{result="success"}`, or "" without labels
  double value = 0;        // counter, gauge (or its callback's reading)
  // Histograms only: upper bounds, cumulative counts per bound then +Inf, sum and count.
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  double sum = 0;
  uint64_t count = 0;

  // The value of label `name`, or "" when the series has no such label.
  std::string_view label(std::string_view name) const;
};

struct FamilySample {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<SeriesSample> series;  // ordered by label_text, as exposed
};

// Every series of a registry at one moment, families ordered by name (as exposed).
struct Snapshot {
  std::vector<FamilySample> families;

  const FamilySample* family(std::string_view name) const;
  // The series of `name` whose label text is `label_text` (`{result="success"}`, or "").
  const SeriesSample* series(std::string_view name, std::string_view label_text) const;
};

// A sample value as the exposition writes it ("3", "0.25", "+Inf", "NaN").
std::string format_value(double v);
// Label pairs as the exposition writes them: `{k="v",...}` (values escaped), "" when empty.
// Throws std::invalid_argument for a bad label name.
std::string render_labels(const Labels& labels);
// The Prometheus text exposition (version 0.0.4) of a snapshot.
std::string exposition(const Snapshot& snapshot);

class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                       const Labels& labels = {});
  // A gauge read when metrics are exposed (queue depth, backlog size...). Replaces an earlier
  // callback with the same name and labels.
  void gauge_callback(const std::string& name, const std::string& help, std::function<double()> read,
                      const Labels& labels = {});

  // Every series now. Callbacks are called (under the registry's lock, as for the exposition).
  Snapshot snapshot() const;
  // metrics::exposition(snapshot()).
  std::string exposition() const;

  // The process-wide registry every role uses.
  static Registry& global();

 private:
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  struct Family {
    MetricType type;
    std::string help;
    std::map<std::string, Series> series;  // keyed by rendered label set
  };
  Family& family_locked(const std::string& name, const std::string& help, MetricType type);
  Series& series_locked(const std::string& name, const std::string& help, MetricType type, const Labels& labels);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace bw::metrics
