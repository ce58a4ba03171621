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

// Adds `extra` (already rendered as k="v") to a rendered label set.
std::string with_label(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

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

Registry::Family& Registry::family_locked(const std::string& name, const std::string& help, Type type) {
  if (!valid_name(name, true)) throw std::invalid_argument("metrics: bad metric name '" + name + "'");
  auto [it, inserted] = families_.try_emplace(name, Family{type, help, {}});
  if (!inserted && it->second.type != type) {
    throw std::invalid_argument("metrics: '" + name + "' registered with two types");
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = family_locked(name, help, Type::kCounter).series[render_labels(labels)];
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = family_locked(name, help, Type::kGauge).series[render_labels(labels)];
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                               const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = family_locked(name, help, Type::kHistogram).series[render_labels(labels)];
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

void Registry::gauge_callback(const std::string& name, const std::string& help, std::function<double()> read,
                              const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = family_locked(name, help, Type::kGauge).series[render_labels(labels)];
  s.callback = std::move(read);
}

std::string Registry::exposition() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    const char* type = fam.type == Type::kCounter ? "counter" : fam.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + fam.help + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, s] : fam.series) {
      if (s.counter) out += name + labels + " " + format_value(s.counter->value()) + "\n";
      if (s.gauge && !s.callback) out += name + labels + " " + format_value(s.gauge->value()) + "\n";
      if (s.callback) out += name + labels + " " + format_value(s.callback()) + "\n";
      if (s.histogram) {
        auto counts = s.histogram->cumulative_counts();
        const auto& bounds = s.histogram->upper_bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
          out += name + "_bucket" + with_label(labels, "le=\"" + le + "\"") + " " + std::to_string(counts[i]) + "\n";
        }
        out += name + "_sum" + labels + " " + format_value(s.histogram->sum()) + "\n";
        out += name + "_count" + labels + " " + std::to_string(s.histogram->count()) + "\n";
      }
    }
  }
  return out;
}

Registry& Registry::global() {
  static Registry* registry = new Registry();  // never destroyed: metrics outlive every thread
  return *registry;
}

}  // namespace bw::metrics
