// A small Prometheus metrics registry: counters, gauges and histograms with labels, and the text
// exposition format (version 0.0.4) served at /metrics.
//
// Ownership: the registry owns every metric; the references it hands out stay valid for the
// registry's lifetime, so parts look a metric up once and keep the reference.
// Thread safety: lookups take a mutex; updating a metric is lock-free (atomics) except histogram
// observations, which are lock-free per bucket.
// Errors: registering one name with two types, or a name/label that is not a valid Prometheus
// identifier, throws std::invalid_argument.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bw::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

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

  std::string exposition() const;

  // The process-wide registry every role uses.
  static Registry& global();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, Series> series;  // keyed by rendered label set
  };
  Family& family_locked(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace bw::metrics
