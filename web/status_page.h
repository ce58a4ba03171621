// The status page `/status/` (docs/design.md §12, §14; docs/web.md "Status"): queue depths,
// processing rate and time over the last hour, failures and collection, as numbers an operator
// reads at a glance. They are the numbers of /metrics: every figure is one series of the metrics
// registry, read through metrics::Registry::snapshot() (the exposition is rendered from the same
// snapshot type), and the page names the series beside each figure.
//
// Route: GET /status/ (HEAD too); /status → 301 /status/.
//   ?format=json   the same figures as JSON (/metrics stays the machine form; this is the page's
//                  own view of them, "last hour" included). Any other format: a 400 naming it.
//
// "Last hour": increases of counters and histograms since the oldest registry snapshot of the
// last `window` (metrics::History, a snapshot every `history_interval`, the first when the page
// is made). A process younger than the window shows the span it has ("last 12 min"), never more.
// Processing rate is that increase of bw_processor_crashes_total per minute; processing time its
// mean (sum / count of bw_processor_processing_seconds) and the bucket bound under which 95 % fall.
//
// Queue depths: a background thread reads `queue.stats()` every `queue_interval` into the
// bw_queue_messages gauges (queue/queue_metrics.h), so /metrics has them too; the page says when
// they were read. Storage use: the bw_storage_* gauges web/storage_usage.h keeps (bytes and files
// of each storage area, when the last round finished and how long it took); without a reading the
// page says the process does not measure it (no bw_storage_measure_interval_seconds:
// web.storage_usage_interval = 0) or not yet.
//
// Scope: this process's registry. `breakwater serve` runs every role in one process, so its page
// has them all; a `breakwater web` apart has only the web's own numbers and the queue depths
// (read from the shared queue), and says that the other roles' numbers are on their /metrics.
//
// Ownership and threads: borrows `queue` (may be null: no queue depths) and `registry`, which
// must outlive the page; the http::Server must be stopped before the page is destroyed. The
// destructor stops the thread (after a queue reading in progress: during a RabbitMQ outage that
// may take up to queue.publish_timeout). answer() may run on any thread, concurrently.
// Every value (series labels included) goes through html::Writer: escaped and cut.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "core/metrics_history.h"
#include "http/server.h"
#include "queue/crash_queue.h"
#include "web/html.h"

namespace bw::web {

// One figure: one series of the registry (a histogram's figure is its _count and _sum).
struct StatusFigure {
  enum class Kind { kCounter, kGauge, kHistogram };
  std::string title;      // "Crashes processed — result: success"
  std::string series;     // as in /metrics: bw_processor_crashes_total{result="success"}
  Kind kind = Kind::kCounter;
  std::string unit;       // "", "s" or "bytes"
  bool present = false;   // false: /metrics has no such series in this process (yet)
  double value = 0;       // counter total since start, gauge now, histogram count
  double sum = 0;         // histograms: sum of the observations
  std::optional<double> window_increase;     // counters and histograms (count): over the window
  std::optional<double> window_mean;         // histograms: mean over the window
  std::optional<double> window_p95_bound;    // histograms: 95 % at most this (may be +inf)
};

struct StatusSection {
  std::string id;     // html id, [a-z-]+
  std::string title;
  std::string note;   // one sentence under the title, may be empty
  std::vector<StatusFigure> figures;
};

// What the page shows (exposed for tests; built from snapshots by build_status).
struct StatusData {
  std::chrono::system_clock::time_point generated;
  std::optional<std::chrono::seconds> window;  // the real span of "last hour"; nullopt: no history
  std::optional<int64_t> queues_read_at;       // Unix seconds of the last queue reading
  bool queue_configured = false;               // the page reads a queue
  // Queue depth per queue kind (standard, priority, reprocessing) × state (ready, in flight,
  // dead letter); kind gauges.
  std::vector<std::vector<StatusFigure>> queues;
  // The processing summary: crashes processed over the window (every result), per minute, and
  // the processing time over the window.
  std::optional<double> processed_in_window;
  std::optional<double> processed_per_minute;
  StatusFigure processing_time;
  std::vector<StatusSection> sections;          // processing, failures, collection, web
  struct StorageRow {
    std::string area;            // the area label
    double bytes = 0;            // bw_storage_bytes{area}
    std::optional<double> files; // bw_storage_files{area} (folder areas)
  };
  std::vector<StorageRow> storage;                // in the registry's order of series
  std::optional<int64_t> storage_measured_at;     // bw_storage_measured_timestamp_seconds
  std::optional<double> storage_round_seconds;    // bw_storage_measure_seconds
  std::chrono::milliseconds storage_usage_interval{0};  // bw_storage_measure_interval_seconds; 0: not measured here
  bool processor_seen = false;                  // bw_processor_* series exist in this process
};

// The page's figures from the registry now and its baseline (the oldest snapshot of the window).
StatusData build_status(const metrics::Snapshot& now, const std::optional<metrics::History::Baseline>& baseline,
                        metrics::History::Clock::time_point now_at, std::chrono::system_clock::time_point generated,
                        bool queue_configured);
// The <main> content and the JSON form of the same figures (pure).
html::Html render_status(const StatusData& data);
nlohmann::json status_json(const StatusData& data);

class StatusPage {
 public:
  struct Options {
    std::chrono::milliseconds queue_interval{std::chrono::seconds(10)};
    std::chrono::milliseconds history_interval{std::chrono::seconds(60)};
    std::chrono::seconds window{std::chrono::hours(1)};
  };

  StatusPage(queue::CrashQueue* queue, Options options, metrics::Registry& registry = metrics::Registry::global());
  explicit StatusPage(queue::CrashQueue* queue) : StatusPage(queue, Options{}) {}
  ~StatusPage();
  StatusPage(const StatusPage&) = delete;
  StatusPage& operator=(const StatusPage&) = delete;

  // Adds GET /status/ and /status to `server` (before server.start()).
  void add_routes(http::Server& server);
  // The answer to GET /status/?<query>.
  http::Response answer(const http::Request& request);
  // Reads the queue depths and keeps a snapshot for the history now (what the thread does on
  // its schedule; for tests).
  void sample_now();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
