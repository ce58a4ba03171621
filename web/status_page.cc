#include "web/status_page.h"

#include <cmath>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <thread>

#include "core/log.h"
#include "core/stop_request.h"
#include "index/fields.h"
#include "queue/queue_metrics.h"
#include "web/index_page_support.h"
#include "web/json_api.h"
#include "web/layout.h"

namespace bw::web {

using nlohmann::json;
using Kind = StatusFigure::Kind;

namespace {

// Titles built from label values are cut to this many bytes.
constexpr size_t kMaxTitle = 200;

// Which series of a family a figure shows: all of them, or those a predicate keeps.
using Keep = bool (*)(const metrics::SeriesSample&);

struct FigureSpec {
  std::string_view family;
  std::string_view title;
  Kind kind = Kind::kCounter;  // the family's type (what the figure is when the series is absent)
  std::string_view unit = "";
  Keep keep = nullptr;
  std::string_view absent_as = "";  // with `keep`: the series named when none is kept
};

struct SectionSpec {
  std::string_view id;
  std::string_view title;
  std::string_view note;
  std::vector<FigureSpec> figures;
};

bool failure_result(const metrics::SeriesSample& s) { return s.label("result") == "failure"; }
bool failed_result(const metrics::SeriesSample& s) { return s.label("result") == "failed"; }
bool server_error(const metrics::SeriesSample& s) { return s.label("code").starts_with("5"); }

// The figures of the page besides the queue table, section by section. Every family named here
// is registered by the part that measures it (see its header's "Metrics:").
const std::vector<SectionSpec>& section_specs() {
  static const std::vector<SectionSpec> specs = {
      {"processing",
       "Processing",
       "",
       {
           {"bw_processor_crashes_total", "Crashes processed"},
           {"bw_processor_processing_seconds", "Time to process and save one crash", Kind::kHistogram, "s"},
           {"bw_processor_stackwalk_total", "Dumps walked"},
           {"bw_processor_stackwalk_seconds", "Time to walk one dump", Kind::kHistogram, "s"},
           {"bw_processor_symbol_cache_hits_total", "Symbol modules found in a worker's cache"},
           {"bw_processor_symbol_cache_misses_total", "Symbol modules loaded or looked up anew"},
       }},
      {"failures",
       "Failures",
       "Everything that went wrong, from submission to page.",
       {
           {"bw_collector_storage_failures_total", "Submissions whose save failed (answered 500)"},
           {"bw_collector_malformed_total", "Submissions refused as malformed or too large"},
           {"bw_crashmover_failed_total", "Crashes left in a collector buffer for an operator (unreadable)"},
           {"bw_crashmover_retries_total", "Crash mover batches retried (storage or queue down)"},
           {"bw_processor_crashes_total", "Processings recorded as failed", Kind::kCounter, "", failure_result,
            "bw_processor_crashes_total{result=\"failure\"}"},
           {"bw_processor_retries_total", "Deliveries handed back to the queue to try again"},
           {"bw_processor_dead_letters_total", "Messages dead-lettered"},
           {"bw_processor_rule_failures_total", "Processing rules that threw"},
           {"bw_processor_worker_restarts_total", "Stack-walking workers replaced"},
           {"bw_web_priority_publishes_total", "Priority requests that could not be queued", Kind::kCounter, "", failed_result,
            "bw_web_priority_publishes_total{result=\"failed\"}"},
           {"bw_queue_stats_failures_total", "Queue depth readings that failed"},
           {"bw_storage_measure_failures_total", "Storage use readings that failed"},
           {"bw_http_requests_total", "HTTP answers with a server error", Kind::kCounter, "", server_error,
            "bw_http_requests_total{code=\"5xx\"}"},
           {"bw_http_timeouts_total", "HTTP requests answered 408"},
       }},
      {"collection",
       "Collection",
       "",
       {
           {"bw_collector_received_total", "Submissions received (well-formed, before throttling)"},
           {"bw_collector_throttle_results_total", "Throttle results"},
           {"bw_collector_stored_total", "Crashes stored by the collector"},
           {"bw_collector_received_bytes_total", "Bytes received on /submit", Kind::kCounter, "bytes"},
           {"bw_collector_request_duration_seconds", "Time from a submission's head to its answer", Kind::kHistogram, "s"},
           {"bw_crashmover_moved_total", "Crashes moved to primary storage"},
           {"bw_crashmover_queued_total", "Crash ids queued for processing"},
           {"bw_crashmover_backlog", "New crashes waiting in the collector buffers", Kind::kGauge},
           {"bw_crashmover_oldest_crash_age_seconds", "Age of the oldest of them", Kind::kGauge, "s"},
       }},
      {"web",
       "Web",
       "",
       {
           {"bw_web_priority_requests_total", "Priority processing asked for by page views"},
           {"bw_http_requests_total", "HTTP answers"},
           {"bw_http_request_duration_seconds", "Time from request head to answer sent", Kind::kHistogram, "s"},
           {"bw_http_open_connections", "HTTP connections open", Kind::kGauge},
       }},
  };
  return specs;
}

std::string title_with_labels(std::string_view title, const metrics::SeriesSample& s) {
  std::string out(title);
  if (s.labels.empty()) return out;
  out += " \xE2\x80\x94 ";
  for (size_t i = 0; i < s.labels.size(); ++i) {
    if (i) out += ", ";
    out += s.labels[i].first + ": " + s.labels[i].second;
  }
  return out;
}

StatusFigure figure_of(const metrics::FamilySample& family, const metrics::SeriesSample& s, std::string_view title,
                       std::string_view unit, const metrics::Snapshot* base) {
  StatusFigure f;
  f.title = title_with_labels(title, s);
  f.unit = std::string(unit);
  f.present = true;
  const metrics::SeriesSample* before = base ? base->series(family.name, s.label_text) : nullptr;
  switch (family.type) {
    case metrics::MetricType::kCounter:
      f.kind = Kind::kCounter;
      f.series = family.name + s.label_text;
      f.value = s.value;
      if (base) f.window_increase = metrics::increase(s, before);
      break;
    case metrics::MetricType::kGauge:
      f.kind = Kind::kGauge;
      f.series = family.name + s.label_text;
      f.value = s.value;
      break;
    case metrics::MetricType::kHistogram: {
      f.kind = Kind::kHistogram;
      f.series = family.name + "_count" + s.label_text;
      f.value = static_cast<double>(s.count);
      f.sum = s.sum;
      if (base) {
        auto d = metrics::histogram_increase(s, before);
        f.window_increase = static_cast<double>(d.count);
        if (d.count > 0) f.window_mean = d.sum / static_cast<double>(d.count);
        f.window_p95_bound = metrics::quantile_upper_bound(d, 0.95);
      }
      break;
    }
  }
  return f;
}

// The figures of one spec: one per kept series, or one absent figure naming the family.
void add_figures(std::vector<StatusFigure>& out, const FigureSpec& spec, const metrics::Snapshot& now,
                 const metrics::Snapshot* base) {
  const metrics::FamilySample* family = now.family(spec.family);
  size_t added = 0;
  if (family) {
    for (const auto& s : family->series) {
      if (spec.keep && !spec.keep(s)) continue;
      out.push_back(figure_of(*family, s, spec.title, spec.unit, base));
      ++added;
    }
  }
  if (added == 0) {
    StatusFigure f;
    f.title = std::string(spec.title);
    f.series = std::string(spec.absent_as.empty() ? spec.family : spec.absent_as);
    f.unit = std::string(spec.unit);
    f.kind = spec.kind;
    out.push_back(std::move(f));
  }
}

// ----- formatting -----

std::string printf_string(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 12345 → "12,345"; other values with up to 3 decimals.
std::string count_text(double v) {
  if (!std::isfinite(v)) return metrics::format_value(v);
  if (v != std::floor(v) || std::fabs(v) >= 1e15) return printf_string("%.3g", v);
  return format_count(static_cast<int64_t>(v));  // whole and below 1e15: exact in int64_t
}

std::string seconds_text(double s) {
  if (!std::isfinite(s)) return s > 0 ? "more than the largest bucket" : metrics::format_value(s);
  if (s < 0.01) return printf_string("%.2f ms", s * 1000);
  if (s < 1) return printf_string("%.0f ms", s * 1000);
  if (s < 120) return printf_string("%.2f s", s);
  if (s < 7200) return printf_string("%.1f min", s / 60);
  return printf_string("%.1f h", s / 3600);
}

std::string bytes_text(double b) {
  if (b < 1024) return count_text(b) + " bytes";
  if (b < 1024.0 * 1024) return printf_string("%.1f KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) return printf_string("%.1f MiB", b / (1024.0 * 1024));
  return printf_string("%.2f GiB", b / (1024.0 * 1024 * 1024));
}

std::string value_text(double v, std::string_view unit) {
  if (unit == "s") return seconds_text(v);
  if (unit == "bytes") return bytes_text(v);
  return count_text(v);
}

std::string span_text(std::chrono::seconds span) {
  const auto s = span.count();
  if (s >= 59 * 60 + 30) return "last hour";
  if (s >= 60) return "last " + std::to_string((s + 30) / 60) + " min";
  return "last " + std::to_string(s) + " s";
}

std::string utc_time_text(int64_t unix_seconds) {
  std::string t = index::format_date_us(unix_seconds * 1'000'000);
  // "2026-11-03T10:20:30.000000+00:00" → "2026-11-03 10:20:30 UTC"
  if (t.size() >= 19) t = t.substr(0, 10) + " " + t.substr(11, 8);
  return t + " UTC";
}

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// ----- rendering -----

void data_cell(html::Writer& w, const StatusFigure& f) {
  // The total since start (a gauge: its value now), with the exact /metrics value in data-value
  // and the increase over the window in data-window (what tests and scripts read).
  html::Attributes attrs = {{"class", "num"}};
  if (f.present) {
    attrs.emplace_back("data-series", f.series);
    attrs.emplace_back("data-value", metrics::format_value(f.value));
    if (f.kind == Kind::kHistogram) attrs.emplace_back("data-sum", metrics::format_value(f.sum));
    if (f.window_increase) attrs.emplace_back("data-window", metrics::format_value(*f.window_increase));
  }
  w.open("td", attrs);
  if (!f.present) {
    w.text("\xE2\x80\x94");
  } else if (f.kind == Kind::kHistogram) {
    w.text(count_text(f.value));
    if (f.value > 0) w.text(", mean " + value_text(f.sum / f.value, f.unit));
  } else {
    w.text(value_text(f.value, f.unit));
    if (f.kind == Kind::kGauge) w.text(" now");
  }
  w.close("td");
}

void window_cell(html::Writer& w, const StatusFigure& f) {
  w.open("td", {{"class", "num"}});
  if (!f.present || !f.window_increase) {
    w.text("\xE2\x80\x94");
  } else if (f.kind == Kind::kHistogram) {
    w.text(count_text(*f.window_increase));
    if (f.window_mean) w.text(", mean " + value_text(*f.window_mean, f.unit));
    if (f.window_p95_bound) w.text(", 95 % \xE2\x89\xA4 " + value_text(*f.window_p95_bound, f.unit));
  } else {
    w.text(value_text(*f.window_increase, f.unit));
  }
  w.close("td");
}

void figures_table(html::Writer& w, const std::vector<StatusFigure>& figures, const std::string& window_label) {
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "status-figures"}});
  w.open("thead");
  w.open("tr");
  w.element("th", "What", {{"scope", "col"}});
  w.element("th", window_label, {{"scope", "col"}});
  w.element("th", "Since start (gauges: now)", {{"scope", "col"}});
  w.element("th", "Series in /metrics", {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& f : figures) {
    w.open("tr", f.present ? html::Attributes{} : html::Attributes{{"class", "absent"}});
    w.open("th", {{"scope", "row"}});
    w.text_limited(f.title, kMaxTitle);
    w.close("th");
    window_cell(w, f);
    data_cell(w, f);
    w.open("td", {{"class", "series mono"}});
    w.text_limited(f.series, kMaxTitle);
    if (!f.present) w.text(" (not reported)");
    w.close("td");
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
}

void render_queues(html::Writer& w, const StatusData& data) {
  w.element("h2", "Queues", {{"id", "queues"}});
  if (!data.queue_configured) {
    w.element("p", "This process reads no queue.", {{"class", "muted"}});
    return;
  }
  w.open("p", {{"class", "muted"}});
  if (data.queues_read_at) {
    w.text("Messages in each queue, read every few seconds; last read at " + utc_time_text(*data.queues_read_at) + ".");
  } else {
    w.text("The queues have not been read yet (they are read every few seconds).");
  }
  w.close("p");
  static const char* const kStates[] = {"Ready", "In flight", "Dead letters"};
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "status-queues"}});
  w.open("thead");
  w.open("tr");
  w.element("th", "Queue", {{"scope", "col"}});
  for (const char* s : kStates) w.element("th", s, {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (size_t k = 0; k < data.queues.size(); ++k) {
    w.open("tr");
    w.element("th", std::string(queue::to_string(queue::kAllQueueKinds[k])), {{"scope", "row"}});
    for (const auto& f : data.queues[k]) {
      html::Attributes attrs = {{"class", "num"}, {"title", f.series}};
      if (f.present) {
        attrs.emplace_back("data-series", f.series);
        attrs.emplace_back("data-value", metrics::format_value(f.value));
      }
      w.element("td", f.present ? count_text(f.value) : "\xE2\x80\x94", attrs);
    }
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
  w.open("p", {{"class", "muted"}});
  w.text("Series ");
  w.element("code", "bw_queue_messages{queue, state}");
  w.text(". \xE2\x80\x94 means not reported: RabbitMQ does not count messages in flight.");
  w.close("p");
}

void render_summary(html::Writer& w, const StatusData& data, const std::string& span) {
  w.open("dl", {{"class", "status-summary"}});
  w.open("div");
  w.element("dt", "Crashes processed, " + span);
  if (data.processed_in_window) {
    w.element("dd", count_text(*data.processed_in_window),
              {{"id", "processed-window"}, {"data-value", metrics::format_value(*data.processed_in_window)}});
  } else {
    w.element("dd", "\xE2\x80\x94", {{"id", "processed-window"}});
  }
  w.close("div");
  w.open("div");
  w.element("dt", "Processing rate, " + span);
  w.element("dd", data.processed_per_minute ? printf_string("%.2f", *data.processed_per_minute) + " per minute" : "\xE2\x80\x94",
            {{"id", "processing-rate"}});
  w.close("div");
  w.open("div");
  w.element("dt", "Processing time, " + span);
  std::string time = "\xE2\x80\x94";
  const StatusFigure& t = data.processing_time;
  if (t.window_mean) {
    time = "mean " + seconds_text(*t.window_mean);
    if (t.window_p95_bound) time += "; 95 % \xE2\x89\xA4 " + seconds_text(*t.window_p95_bound);
  }
  w.element("dd", time, {{"id", "processing-time"}});
  w.close("div");
  w.close("dl");
}

}  // namespace

StatusData build_status(const metrics::Snapshot& now, const std::optional<metrics::History::Baseline>& baseline,
                        metrics::History::Clock::time_point now_at, std::chrono::system_clock::time_point generated,
                        bool queue_configured) {
  StatusData d;
  d.generated = generated;
  d.queue_configured = queue_configured;
  const metrics::Snapshot* base = baseline ? baseline->snapshot.get() : nullptr;
  // Shown in whole seconds (rounded up); the rate uses the exact span.
  const double span_seconds = baseline ? std::chrono::duration<double>(now_at - baseline->at).count() : 0;
  if (baseline) d.window = std::chrono::ceil<std::chrono::seconds>(now_at - baseline->at);
  if (const auto* t = now.series("bw_queue_stats_timestamp_seconds", "")) d.queues_read_at = static_cast<int64_t>(t->value);
  if (const auto* bytes = now.family("bw_storage_bytes")) {
    for (const auto& s : bytes->series) {
      StatusData::StorageRow row{std::string(s.label("area")), s.value, std::nullopt};
      if (const auto* files = now.series("bw_storage_files", s.label_text)) row.files = files->value;
      d.storage.push_back(std::move(row));
    }
  }
  if (const auto* t = now.series("bw_storage_measured_timestamp_seconds", "")) d.storage_measured_at = static_cast<int64_t>(t->value);
  if (const auto* t = now.series("bw_storage_measure_seconds", "")) d.storage_round_seconds = t->value;
  if (const auto* t = now.series("bw_storage_measure_interval_seconds", "")) {
    d.storage_usage_interval = std::chrono::milliseconds(static_cast<int64_t>(t->value * 1000));
  }

  static const char* const kStates[] = {"ready", "in_flight", "dead_letter"};
  for (auto kind : queue::kAllQueueKinds) {
    std::vector<StatusFigure> row;
    for (const char* state : kStates) {
      StatusFigure f;
      f.kind = Kind::kGauge;
      f.title = std::string(queue::to_string(kind)) + " " + state;
      f.series = "bw_queue_messages" +
                 metrics::render_labels({{"queue", std::string(queue::to_string(kind))}, {"state", state}});
      if (const auto* s = now.series("bw_queue_messages", f.series.substr(std::string_view("bw_queue_messages").size()))) {
        f.present = true;
        f.value = s->value;
      }
      row.push_back(std::move(f));
    }
    d.queues.push_back(std::move(row));
  }

  for (const auto& family : now.families) {
    if (family.name.starts_with("bw_processor_")) d.processor_seen = true;
  }
  if (base) {
    if (const auto* crashes = now.family("bw_processor_crashes_total")) {
      double n = 0;
      for (const auto& s : crashes->series) n += metrics::increase(s, base->series(crashes->name, s.label_text));
      d.processed_in_window = n;
      if (span_seconds > 0) d.processed_per_minute = n * 60.0 / span_seconds;
    } else {
      d.processed_in_window = 0;
      if (span_seconds > 0) d.processed_per_minute = 0;
    }
  }
  std::vector<StatusFigure> time;
  add_figures(time, {"bw_processor_processing_seconds", "Time to process and save one crash", Kind::kHistogram, "s"}, now, base);
  d.processing_time = time.front();

  for (const auto& spec : section_specs()) {
    StatusSection section{std::string(spec.id), std::string(spec.title), std::string(spec.note), {}};
    for (const auto& fig : spec.figures) add_figures(section.figures, fig, now, base);
    d.sections.push_back(std::move(section));
  }
  return d;
}

// What each storage area is, by its label (web/storage_usage.h).
std::string storage_area_title(std::string_view area) {
  if (area == "collector") return "Collector buffer (storage.collector_root)";
  if (area == "standard") return "Crashes to process (storage.standard_root)";
  if (area == "deferred") return "Deferred crashes (storage.deferred_root)";
  if (area == "processed") return "Processed crashes (storage.processed_root)";
  if (area == "symbols") return "Symbol store (symbols.store_dir)";
  if (area == "symbols_cache") return "Downloaded symbols cache (symbols.cache_dir)";
  if (area == "index") return "Crash index (SQLite file, or the PostgreSQL tables)";
  return std::string(area);
}

std::string interval_text(std::chrono::milliseconds interval) {
  return seconds_text(std::chrono::duration<double>(interval).count());
}

void render_storage(html::Writer& w, const StatusData& data) {
  w.element("h2", "Storage use", {{"id", "storage"}});
  if (data.storage.empty()) {
    w.element("p",
              data.storage_usage_interval.count() == 0
                  ? "Not measured by this process: web.storage_usage_interval is 0 (or this process serves no web "
                    "app), so /metrics has no bw_storage_* series and this page shows no number for it."
                  : "Not measured yet: the first round (a walk of every file of each storage area) is still running; "
                    "it is repeated every " + interval_text(data.storage_usage_interval) + ".",
              {{"class", "notice"}, {"id", "storage-not-measured"}});
    return;
  }
  w.open("p", {{"class", "muted"}});
  w.text("Space allocated on disk for each storage area (what du counts), from a walk of all its files");
  if (data.storage_usage_interval.count() > 0) w.text(" every " + interval_text(data.storage_usage_interval));
  if (data.storage_measured_at) w.text("; the last round finished at " + utc_time_text(*data.storage_measured_at));
  if (data.storage_round_seconds) w.text(" and took " + seconds_text(*data.storage_round_seconds));
  w.text(".");
  w.close("p");
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "status-storage"}});
  w.open("thead");
  w.open("tr");
  w.element("th", "Area", {{"scope", "col"}});
  w.element("th", "On disk", {{"scope", "col"}});
  w.element("th", "Files", {{"scope", "col"}});
  w.element("th", "Series in /metrics", {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& row : data.storage) {
    const std::string series = "bw_storage_bytes" + metrics::render_labels({{"area", row.area}});
    w.open("tr", {{"data-area", std::string(html::utf8_prefix(row.area, kMaxTitle))}});
    w.open("th", {{"scope", "row"}});
    w.text_limited(storage_area_title(row.area), kMaxTitle);
    w.close("th");
    w.element("td", bytes_text(row.bytes), {{"class", "num"}, {"data-value", metrics::format_value(row.bytes)}});
    if (row.files) {
      w.element("td", count_text(*row.files), {{"class", "num"}, {"data-value", metrics::format_value(*row.files)}});
    } else {
      w.element("td", "\xE2\x80\x94", {{"class", "num"}});
    }
    w.open("td", {{"class", "series mono"}});
    w.text_limited(series, kMaxTitle);
    w.close("td");
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
}

html::Html render_status(const StatusData& data) {
  const std::string span = data.window ? span_text(*data.window) : "last hour";
  html::Writer w;
  w.open("div", {{"class", "status"}});
  w.element("h1", "Status");
  w.open("p");
  w.text("The numbers of ");
  w.link(html::Url::local("/metrics"), "/metrics");
  w.text(" for this process at " + utc_time_text(unix_seconds(data.generated)) +
         ", each with its series; the \xE2\x80\x9C" + span + "\xE2\x80\x9D figures are how much each series grew over that span. ");
  w.link(html::Url::local("/status/?format=json"), "The same figures as JSON");
  w.text(" \xC2\xB7 ");
  w.link(html::Url::local("/__heartbeat__"), "health checks");
  w.text(".");
  w.close("p");
  if (data.window && data.window->count() < 59 * 60 + 30) {
    w.element("p", "This process started recording " + span.substr(5) + " ago, so its \xE2\x80\x9Clast hour\xE2\x80\x9D is that long.",
              {{"class", "muted"}, {"id", "young-history"}});
  }

  render_summary(w, data, span);
  render_queues(w, data);

  for (const auto& section : data.sections) {
    w.element("h2", section.title, {{"id", section.id}});
    if (!section.note.empty()) w.element("p", section.note, {{"class", "muted"}});
    if (section.id == "processing" && !data.processor_seen) {
      w.element("p",
                "No processor has reported in this process since it started: either no crash was processed yet, or "
                "this process does not run the processor (breakwater web alone). A separate breakwater processor "
                "serves these numbers on its own /metrics.",
                {{"class", "notice"}});
    }
    figures_table(w, section.figures, "L" + span.substr(1));
  }

  render_storage(w, data);
  w.element("p",
            "A figure shown as \xE2\x80\x94 with \xE2\x80\x9Cnot reported\xE2\x80\x9D is not in /metrics: nothing of "
            "that kind happened since this process started, or the part that counts it runs in another process.",
            {{"class", "muted"}});
  w.close("div");
  return w.finish();
}

// {"measured_at": ..., "round_seconds": ..., "interval_seconds": ..., "areas": {area: {bytes, files}}};
// measured_at null and areas empty while nothing was measured.
json storage_json(const StatusData& data) {
  json areas = json::object();
  for (const auto& row : data.storage) {
    json a = {{"bytes", row.bytes}};
    if (row.files) a["files"] = *row.files;
    areas[row.area] = a;
  }
  return {{"measured_at", data.storage_measured_at ? json(index::format_date_us(*data.storage_measured_at * 1'000'000))
                                                   : json(nullptr)},
          {"round_seconds", data.storage_round_seconds ? json(*data.storage_round_seconds) : json(nullptr)},
          {"interval_seconds", std::chrono::duration_cast<std::chrono::seconds>(data.storage_usage_interval).count()},
          {"areas", areas}};
}

json status_json(const StatusData& data) {
  auto figure_json = [](const StatusFigure& f) {
    json j = {{"title", f.title},
              {"series", f.series},
              {"type", f.kind == Kind::kCounter ? "counter" : f.kind == Kind::kGauge ? "gauge" : "histogram"},
              {"reported", f.present}};
    if (!f.unit.empty()) j["unit"] = f.unit;
    if (!f.present) return j;
    j["value"] = f.value;
    if (f.kind == Kind::kHistogram) j["sum"] = f.sum;
    if (f.window_increase) j["window_increase"] = *f.window_increase;
    if (f.window_mean) j["window_mean"] = *f.window_mean;
    if (f.window_p95_bound) {
      j["window_p95_at_most"] = std::isfinite(*f.window_p95_bound) ? json(*f.window_p95_bound) : json("+Inf");
    }
    return j;
  };
  json out = {{"generated", index::format_date_us(unix_seconds(data.generated) * 1'000'000)},
              {"window_seconds", data.window ? json(data.window->count()) : json(nullptr)},
              {"processed_in_window", data.processed_in_window ? json(*data.processed_in_window) : json(nullptr)},
              {"processed_per_minute", data.processed_per_minute ? json(*data.processed_per_minute) : json(nullptr)},
              {"processing_time", figure_json(data.processing_time)},
              {"storage_use", storage_json(data)}};
  json queues = json::object();
  if (data.queue_configured) {
    for (size_t k = 0; k < data.queues.size(); ++k) {
      json q = json::object();
      for (const auto& f : data.queues[k]) q[f.title.substr(f.title.find(' ') + 1)] = f.present ? json(f.value) : json(nullptr);
      queues[std::string(queue::to_string(queue::kAllQueueKinds[k]))] = q;
    }
  }
  out["queues"] = queues;
  out["queues_read_at"] = data.queues_read_at ? json(index::format_date_us(*data.queues_read_at * 1'000'000)) : json(nullptr);
  json sections = json::object();
  for (const auto& s : data.sections) {
    json figures = json::array();
    for (const auto& f : s.figures) figures.push_back(figure_json(f));
    sections[s.id] = figures;
  }
  out["sections"] = sections;
  return out;
}

struct StatusPage::Impl {
  Impl(queue::CrashQueue* q, Options o, metrics::Registry& r)
      : queue(q), options(o), registry(r), history(o.window), log(logger("web")) {}

  queue::CrashQueue* queue;
  Options options;
  metrics::Registry& registry;
  metrics::History history;
  std::shared_ptr<spdlog::logger> log;

  std::mutex sample_mu;  // one sample at a time (history times never go backwards)
  metrics::History::Clock::time_point last_history{};

  StopRequest stop;
  std::thread thread;

  void keep_snapshot() {
    auto at = metrics::History::Clock::now();
    history.record(at, std::make_shared<metrics::Snapshot>(registry.snapshot()));
    last_history = at;
  }

  void sample(bool force_history) {
    std::lock_guard lock(sample_mu);
    if (queue) {
      try {
        queue::record_queue_depths(*queue, registry);
      } catch (const std::exception& e) {
        log_fields(*log, spdlog::level::err, "queue depths not read", {{"error", e.what()}});
      }
    }
    if (force_history || metrics::History::Clock::now() - last_history >= options.history_interval) keep_snapshot();
  }

  void run() {
    while (!stop.wait_for(options.queue_interval)) sample(false);
  }

  http::Response respond(const http::Request& request) {
    std::string format = "html";
    for (const auto& [key, value] : http::parse_query_pairs(request.query)) {
      if (key == "format") format = value;
    }
    if (format != "html" && format != "json") {
      return error_page(400, "Bad request",
                        {"The parameter \xE2\x80\x9C" "format\xE2\x80\x9D must be html or json, not \xE2\x80\x9C" +
                             std::string(html::utf8_prefix(format, 100)) + "\xE2\x80\x9D."});
    }
    const auto now_at = metrics::History::Clock::now();
    metrics::Snapshot now = registry.snapshot();
    StatusData data = build_status(now, history.baseline(now_at), now_at, std::chrono::system_clock::now(), queue != nullptr);
    if (format == "json") return json_answer(200, status_json(data));
    return html_response(200, render_page({"Status", NavItem::kStatus, {}}, render_status(data)));
  }
};

StatusPage::StatusPage(queue::CrashQueue* queue, Options options, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(queue, options, registry)) {
  // The baseline of "last hour" is now; the queue is read on the thread (it may be slow to answer).
  {
    std::lock_guard lock(impl_->sample_mu);
    impl_->keep_snapshot();
  }
  Impl* im = impl_.get();
  impl_->thread = std::thread([im] {
    if (im->queue) {
      std::lock_guard lock(im->sample_mu);
      try {
        queue::record_queue_depths(*im->queue, im->registry);
      } catch (const std::exception& e) {
        log_fields(*im->log, spdlog::level::err, "queue depths not read", {{"error", e.what()}});
      }
    }
    im->run();
  });
}

StatusPage::~StatusPage() {
  impl_->stop.request();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void StatusPage::sample_now() { impl_->sample(true); }

http::Response StatusPage::answer(const http::Request& request) {
  try {
    return impl_->respond(request);
  } catch (const std::exception& e) {
    log_fields(*impl_->log, spdlog::level::err, "status page failed", {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return error_page(500, "Server error", {"This page could not be shown. The error has been logged."});
  }
}

void StatusPage::add_routes(http::Server& server) {
  StatusPage* self = this;
  server.route(http::Access::open(), {"GET", "/status/", http::kNoBodyLimit, [self](const http::Request& req) -> http::Reply {
                  return deferred([self, req] { return self->answer(req); });
                }});
  server.route(http::Access::open(), {"GET", "/status", http::kNoBodyLimit, [](const http::Request& req) -> http::Reply {
                  // Only the format survives the redirect (nothing else is read), re-encoded.
                  std::string location = "/status/";
                  for (const auto& [key, value] : http::parse_query_pairs(req.query)) {
                    if (key == "format") location = "/status/?format=" + html::encode_component(value);
                  }
                  return moved_page("The status page", location, NavItem::kStatus);
                }});
}

}  // namespace bw::web
