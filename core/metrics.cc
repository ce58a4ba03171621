#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace bw::metrics {
namespace {

bool valid_name(const std::string& s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// Adds `extra` (already rendered as k="v") to a rendered label set.
std::string with_label(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!valid_name(labels[i].first, false)) {
      throw std::invalid_argument("metrics: bad label name '" + labels[i].first + "'");
    }
    if (i) out += ',';
    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

std::string_view SeriesSample::label(std::string_view name) const {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

const FamilySample* Snapshot::family(std::string_view name) const {
  auto it = std::lower_bound(families.begin(), families.end(), name,
                             [](const FamilySample& f, std::string_view n) { return f.name < n; });
  return it != families.end() && it->name == name ? &*it : nullptr;
}

const SeriesSample* Snapshot::series(std::string_view name, std::string_view label_text) const {
  const FamilySample* f = family(name);
  if (!f) return nullptr;
  for (const auto& s : f->series) {
    if (s.label_text == label_text) return &s;
  }
  return nullptr;
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> default_latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

Registry::Family& Registry::family_locked(const std::string& name, const std::string& help, MetricType type) {
  if (!valid_name(name, true)) throw std::invalid_argument("metrics: bad metric name '" + name + "'");
  auto [it, inserted] = families_.try_emplace(name, Family{type, help, {}});
  if (!inserted && it->second.type != type) {
    throw std::invalid_argument("metrics: '" + name + "' registered with two types");
  }
  return it->second;
}

Registry::Series& Registry::series_locked(const std::string& name, const std::string& help, MetricType type,
                                          const Labels& labels) {
  auto [it, inserted] = family_locked(name, help, type).series.try_emplace(render_labels(labels));
  if (inserted) it->second.labels = labels;
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series_locked(name, help, MetricType::kCounter, labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series_locked(name, help, MetricType::kGauge, labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                               const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series_locked(name, help, MetricType::kHistogram, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

void Registry::gauge_callback(const std::string& name, const std::string& help, std::function<double()> read,
                              const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series_locked(name, help, MetricType::kGauge, labels);
  s.callback = std::move(read);
}

Snapshot Registry::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot out;
  out.families.reserve(families_.size());
  for (const auto& [name, fam] : families_) {
    FamilySample f{name, fam.help, fam.type, {}};
    f.series.reserve(fam.series.size());
    for (const auto& [label_text, s] : fam.series) {
      SeriesSample sample;
      sample.labels = s.labels;
      sample.label_text = label_text;
      if (s.counter) sample.value = s.counter->value();
      if (s.gauge) sample.value = s.gauge->value();
      if (s.callback) sample.value = s.callback();
      if (s.histogram) {
        sample.bounds = s.histogram->upper_bounds();
        sample.cumulative = s.histogram->cumulative_counts();
        sample.sum = s.histogram->sum();
        sample.count = s.histogram->count();
      }
      f.series.push_back(std::move(sample));
    }
    out.families.push_back(std::move(f));
  }
  return out;
}

std::string exposition(const Snapshot& snapshot) {
  std::string out;
  for (const auto& fam : snapshot.families) {
    const char* type = fam.type == MetricType::kCounter ? "counter" : fam.type == MetricType::kGauge ? "gauge" : "histogram";
    out += "# HELP " + fam.name + " " + fam.help + "\n";
    out += "# TYPE " + fam.name + " " + type + "\n";
    for (const auto& s : fam.series) {
      if (fam.type != MetricType::kHistogram) {
        out += fam.name + s.label_text + " " + format_value(s.value) + "\n";
        continue;
      }
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        std::string le = i < s.bounds.size() ? format_value(s.bounds[i]) : "+Inf";
        out += fam.name + "_bucket" + with_label(s.label_text, "le=\"" + le + "\"") + " " + std::to_string(s.cumulative[i]) + "\n";
      }
      out += fam.name + "_sum" + s.label_text + " " + format_value(s.sum) + "\n";
      out += fam.name + "_count" + s.label_text + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

std::string Registry::exposition() const { return metrics::exposition(snapshot()); }

Registry& Registry::global() {
  static Registry* registry = new Registry();  // never destroyed: metrics outlive every thread
  return *registry;
}

}  // namespace bw::metrics
