// The collector role assembled from the configuration: its buffer (FileSystemRawCrashStorage at
// storage.collector_root) and the Collector on top. `breakwater collector` serves it alone;
// `breakwater serve` puts it on the one shared listener next to the other roles.
// Ownership: owns the storage and the collector; must outlive the server it adds routes to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "core/config.h"
#include "http/server.h"
#include "storage/fs_crash_storage.h"

namespace bw::collector {

class CollectorService {
 public:
  // Throws ConfigError for bad settings.
  explicit CollectorService(const Config& config);
  void add_routes(http::Server& server) { collector_->add_routes(server); }
  std::vector<std::string> health_problems() const { return collector_->health_problems(); }
  storage::CrashStorage& buffer() { return *buffer_; }

 private:
  std::unique_ptr<storage::FileSystemRawCrashStorage> buffer_;
  std::unique_ptr<Collector> collector_;
};

}  // namespace bw::collector
