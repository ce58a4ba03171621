#include "web/storage_usage.h"

#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/stop_request.h"
#include "storage/factory.h"
#include "symbols/symbol_supplier.h"

namespace bw::web {

StorageArea folder_area(std::string name, std::filesystem::path path) {
  return StorageArea{std::move(name),
                     [path = std::move(path)](const std::function<bool()>& stop) { return measure_disk_usage(path, stop); },
                     true};
}

StorageArea index_area(index::CrashIndex& index) {
  return StorageArea{"index", [&index](const std::function<bool()>&) { return DiskUsage{index.stored_bytes(), 0}; }, false};
}

std::vector<StorageArea> storage_folder_areas(const Config& config) {
  auto roots = storage::storage_roots(config);
  auto symbols = symbols::symbol_options_from_config(config);
  std::vector<StorageArea> areas;
  areas.push_back(folder_area("collector", roots.collector));
  areas.push_back(folder_area("standard", roots.standard));
  areas.push_back(folder_area("deferred", roots.deferred));
  areas.push_back(folder_area("processed", roots.processed));
  areas.push_back(folder_area("symbols", symbols.store_dir));
  areas.push_back(folder_area("symbols_cache", symbols.cache_dir));
  return areas;
}

struct StorageUsageMonitor::Impl {
  Impl(std::vector<StorageArea> a, std::chrono::milliseconds i, metrics::Registry& r)
      : areas(std::move(a)), interval(i), registry(r), log(logger("web")) {}

  std::vector<StorageArea> areas;
  std::chrono::milliseconds interval;
  metrics::Registry& registry;
  std::shared_ptr<spdlog::logger> log;

  std::mutex round_mu;  // one round at a time
  StopRequest stop;
  std::thread thread;

  void round() {
    std::lock_guard lock(round_mu);
    const auto started = std::chrono::steady_clock::now();
    for (const auto& area : areas) {
      const metrics::Labels labels = {{"area", area.name}};
      try {
        DiskUsage u = area.measure([this] { return stop.requested(); });
        if (stop.requested()) return;  // a partial walk is not a reading
        registry.gauge("bw_storage_bytes", "space on disk of each storage area (bytes allocated)", labels)
            .set(static_cast<double>(u.bytes));
        if (area.counts_files) {
          registry.gauge("bw_storage_files", "regular files in each storage area", labels).set(static_cast<double>(u.files));
        }
      } catch (const std::exception& e) {
        registry.counter("bw_storage_measure_failures_total", "storage use readings that failed", labels).inc();
        log_fields(*log, spdlog::level::err, "storage use not measured", {{"area", area.name}, {"error", e.what()}});
      }
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    registry.gauge("bw_storage_measure_seconds", "how long the last storage use round took").set(took.count());
    registry.gauge("bw_storage_measured_timestamp_seconds", "Unix time the last storage use round finished")
        .set(static_cast<double>(
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()));
  }

  void run() {
    for (;;) {
      round();
      if (stop.wait_for(interval)) return;
    }
  }
};

StorageUsageMonitor::StorageUsageMonitor(std::vector<StorageArea> areas, std::chrono::milliseconds interval,
                                         metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(areas), interval, registry)) {
  if (interval.count() <= 0) throw std::invalid_argument("the storage use interval must be positive");
  // Before the first round: the status page tells "not measured yet" from "not measured here".
  registry.gauge("bw_storage_measure_interval_seconds", "how often storage use is measured (web.storage_usage_interval)")
      .set(std::chrono::duration<double>(interval).count());
  Impl* im = impl_.get();
  impl_->thread = std::thread([im] { im->run(); });
}

StorageUsageMonitor::~StorageUsageMonitor() {
  impl_->stop.request();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void StorageUsageMonitor::measure_now() { impl_->round(); }

}  // namespace bw::web
