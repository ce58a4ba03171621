#include "collector/service.h"

#include "storage/factory.h"

namespace bw::collector {

CollectorService::CollectorService(const Config& config)
    : buffer_(storage::make_collector_buffer(config)),
      collector_(std::make_unique<Collector>(CollectorOptions::from_config(config), *buffer_)) {}

}  // namespace bw::collector
