#include "crashmover/service.h"

#include <utility>

namespace bw::crashmover {

namespace {

MoverSettings settings_with(const Config& config, std::optional<size_t> batch_size) {
  MoverSettings s = MoverSettings::from_config(config);
  if (batch_size) s.batch_size = *batch_size;
  return s;
}

}  // namespace

CrashMoverService::CrashMoverService(const Config& config, std::vector<storage::CrashStorage*> buffers,
                                     storage::CrashStorage& primary, std::optional<size_t> batch_size)
    : settings_(settings_with(config, batch_size)),
      queue_(queue::open_crash_queue(queue::QueueSettings::from_config(config))),
      mover_(std::make_unique<CrashMover>(std::move(buffers), primary, *queue_, settings_)) {}

CrashMoverService::~CrashMoverService() { stop(); }

void CrashMoverService::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { mover_->run(); });
}

void CrashMoverService::stop() {
  mover_->stop();
  if (thread_.joinable()) thread_.join();
}

void CrashMoverService::drain() { mover_->drain(); }

}  // namespace bw::crashmover
