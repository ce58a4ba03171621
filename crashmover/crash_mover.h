// The crash mover (docs/design.md §6): moves crashes from collector buffers into primary storage
// and queues the accepted ones for processing.
//
// One batch: claim up to `batch_size` new crashes from a buffer (claims are atomic, so several
// movers may share a buffer, across processes), copy each into the primary storage (which puts
// accepted crashes in the standard root and deferred ones in the deferred root), publish the
// accepted ids to the standard queue in one durable batch, then confirm each crash so the
// buffer forgets it. A crash is confirmed only after it is stored and (if accepted) queued, so a
// mover that dies at any point loses nothing: its claims expire and the crashes are moved again
// (at worst stored again over themselves and queued twice; processing is idempotent).
//
// Failures: when the primary storage or the queue is down (TransientStorageError,
// QueueUnavailable, I/O errors) unfinished claims are released and the mover waits with backoff
// (1 s doubling to 60 s by default) before trying again; collectors keep filling the buffer and
// the backlog drains by itself when the service returns. A crash whose stored data cannot be
// read (CorruptCrashData, invalid dump names) is logged and left in the buffer's name tree for
// an operator, and dropped from the date tree so it does not block the others. A crash that
// vanished from the buffer meanwhile is skipped.
//
// Metrics (global registry): bw_crashmover_moved_total{throttle}, bw_crashmover_queued_total,
// bw_crashmover_retries_total, bw_crashmover_failed_total, bw_crashmover_backlog,
// bw_crashmover_oldest_crash_age_seconds.
//
// Thread safety: run() on one thread; stop() from any thread (or a signal-handling thread).
// Storages and queue must outlive the mover.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/failure_streak.h"
#include "core/stop_request.h"
#include "queue/crash_queue.h"
#include "storage/crash_storage.h"

namespace bw {
class Config;
}

namespace bw::crashmover {

struct MoverSettings {
  std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(60)};
  std::chrono::milliseconds idle_wait{100};
  std::chrono::seconds claim_lease{std::chrono::minutes(5)};
  size_t batch_size = 100;
  std::chrono::milliseconds backlog_interval{std::chrono::seconds(5)};  // how often the gauges are refreshed
  size_t backlog_limit = 1000000;                                       // new crashes counted at most

  static MoverSettings from_config(const Config& config);
};

struct MoverCounts {
  uint64_t moved = 0;     // stored in primary storage and confirmed
  uint64_t queued = 0;    // published to the standard queue
  uint64_t deferred = 0;  // moved, not queued (throttle digit 1)
  uint64_t retries = 0;   // batches that failed and will be tried again
  uint64_t failed = 0;    // crashes left for an operator (unreadable)
};

struct Backlog {
  uint64_t crashes = 0;
  std::optional<std::chrono::seconds> oldest_age;  // from the oldest crash's submitted_timestamp
};

class CrashMover {
 public:
  CrashMover(std::vector<storage::CrashStorage*> buffers, storage::CrashStorage& primary, queue::CrashQueue& queue,
             MoverSettings settings);

  enum class BatchResult { kMoved, kIdle, kFailed };
  // One batch from the next buffer that has work. kFailed after releasing the unfinished claims.
  BatchResult move_batch();
  // Batches until stop(), waiting idle_wait when idle and the backoff after a failure.
  void run();
  // Batches until every buffer is empty (or stop()); failures back off as in run().
  void drain();
  void stop();

  MoverCounts counts() const;
  // New crashes waiting in all buffers (walks their date trees).
  Backlog backlog();
  // For /__heartbeat__: one sentence while batches are failing (since when, the last reason).
  std::vector<std::string> health_problems() const;
  // The wait the next failure will cause (for tests and logs).
  std::chrono::milliseconds current_backoff() const { return backoff_.load(); }

 private:
  BatchResult move_one_batch();
  BatchResult move_claimed(storage::CrashStorage& buffer, const std::vector<CrashId>& claimed,
                           std::chrono::steady_clock::time_point claim_deadline);
  void after(BatchResult result, bool stop_when_idle, bool& finished);
  void refresh_backlog_gauges(bool force);

  std::vector<storage::CrashStorage*> buffers_;
  storage::CrashStorage& primary_;
  queue::CrashQueue& queue_;
  MoverSettings settings_;
  size_t next_buffer_ = 0;
  std::atomic<std::chrono::milliseconds> backoff_;  // read by current_backoff() from other threads
  std::chrono::steady_clock::time_point next_backlog_refresh_{};

  FailureStreak failures_;
  std::atomic<uint64_t> moved_{0}, queued_{0}, deferred_{0}, retries_{0}, failed_{0};
  StopRequest stop_;
};

}  // namespace bw::crashmover
