// Storage use, measured on a schedule (docs/web.md "Status"): a background thread walks each
// storage area — the collector buffer, the standard, deferred and processed crash roots, the
// symbol store and symbol cache (core/disk_usage.h), and the index (CrashIndex::stored_bytes) —
// every `interval`, the first time when the monitor starts, and writes what it found to gauges
// that /metrics and /status/ show:
//
//   bw_storage_bytes{area}                  space allocated on disk (the index: its file or tables)
//   bw_storage_files{area}                  regular files (folder areas only)
//   bw_storage_measured_timestamp_seconds   Unix time the last round finished
//   bw_storage_measure_seconds              how long the last round took
//   bw_storage_measure_interval_seconds     the interval, set when the monitor starts
//   bw_storage_measure_failures_total{area} readings that failed (logged; the gauge keeps its
//                                           last value)
//
// A walk reads every folder entry of a root (one lstat per file): on a store of millions of
// crashes a round takes seconds to minutes, which is why it runs apart, on its own thread, at
// most once per interval (web.storage_usage_interval, default 10 min; 0 turns it off and the
// status page says so).
//
// Ownership and threads: areas' measure functions are called on the monitor's thread only and
// must stay valid (the index they read is borrowed) until the monitor is destroyed. The
// destructor stops the thread; a walk in progress stops at its next folder. measure_now() is for
// tests (the thread may run concurrently; rounds are serialised).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/disk_usage.h"
#include "core/metrics.h"
#include "index/crash_index.h"

namespace bw::web {

struct StorageArea {
  std::string name;  // the area label: [a-z_]+
  // The reading; `stop` says the monitor is being destroyed (a walk may give up early then).
  std::function<DiskUsage(const std::function<bool()>& stop)> measure;
  bool counts_files = true;  // false: bw_storage_files is not set (a database's tables)
};

// The folders of the configuration: collector, standard, deferred, processed (storage.*_root),
// symbols (symbols.store_dir) and symbols_cache (symbols.cache_dir), with their defaults under
// the data folder. Throws ConfigError as Config does.
std::vector<StorageArea> storage_folder_areas(const Config& config);
// A folder (or file) as an area.
StorageArea folder_area(std::string name, std::filesystem::path path);
// "index": CrashIndex::stored_bytes of `index` (borrowed).
StorageArea index_area(index::CrashIndex& index);

class StorageUsageMonitor {
 public:
  StorageUsageMonitor(std::vector<StorageArea> areas, std::chrono::milliseconds interval,
                      metrics::Registry& registry = metrics::Registry::global());
  ~StorageUsageMonitor();
  StorageUsageMonitor(const StorageUsageMonitor&) = delete;
  StorageUsageMonitor& operator=(const StorageUsageMonitor&) = delete;

  // One round now, on the caller's thread.
  void measure_now();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
