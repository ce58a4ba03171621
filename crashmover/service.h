// The crash mover role assembled from the configuration, as `breakwater crashmover` runs it alone
// and `breakwater serve` runs it beside the other roles: a CrashMover (crash_mover.h) over the
// given collector buffers into `primary`, publishing on a queue of its own opened from [queue],
// with [crashmover]'s settings, on a thread of its own between start() and stop().
//
// Ownership: borrows the buffers and the primary storage (they must outlive the service); owns
// its queue, the mover and the thread. The destructor stops the thread.
// Thread safety: start/stop/drain from one controlling thread; stop() also from any other
// thread (a signal loop) while drain() runs; counts() and health_problems() from any thread.
// Errors: the constructor throws what opening the queue throws (QueueUnavailable, ConfigError).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "crashmover/crash_mover.h"
#include "queue/crash_queue.h"
#include "storage/crash_storage.h"

namespace bw::crashmover {

class CrashMoverService {
 public:
  // `batch_size` overrides crashmover.batch_size when given (the command's --batch-size).
  CrashMoverService(const Config& config, std::vector<storage::CrashStorage*> buffers, storage::CrashStorage& primary,
                    std::optional<size_t> batch_size = std::nullopt);
  ~CrashMoverService();
  CrashMoverService(const CrashMoverService&) = delete;
  CrashMoverService& operator=(const CrashMoverService&) = delete;

  // Moves batches on the service's thread until stop().
  void start();
  // Stops for good between batches (or in a wait); the batch in hand finishes or is released, so
  // nothing is left half-moved. Joins the thread. Idempotent.
  void stop();
  // Moves what the buffers hold, on the calling thread, and returns when they are empty or
  // stop() was called (`breakwater crashmover --once`).
  void drain();

  const MoverSettings& settings() const { return settings_; }
  MoverCounts counts() const { return mover_->counts(); }
  // For /__heartbeat__ (the same check alone and in serve).
  std::vector<std::string> health_problems() const { return mover_->health_problems(); }

 private:
  MoverSettings settings_;
  std::unique_ptr<queue::CrashQueue> queue_;
  std::unique_ptr<CrashMover> mover_;
  std::thread thread_;
};

}  // namespace bw::crashmover
