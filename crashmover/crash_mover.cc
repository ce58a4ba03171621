#include "crashmover/crash_mover.h"

#include <ctime>
#include <stdexcept>
#include <string>

#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timestamp.h"

namespace bw::crashmover {
namespace {

struct MoverMetrics {
  metrics::Counter& moved_accepted;
  metrics::Counter& moved_deferred;
  metrics::Counter& queued;
  metrics::Counter& retries;
  metrics::Counter& failed;
  metrics::Gauge& backlog;
  metrics::Gauge& oldest_age;

  static MoverMetrics& get() {
    auto& r = metrics::Registry::global();
    static MoverMetrics m{
        r.counter("bw_crashmover_moved_total", "crashes moved from a collector buffer to primary storage",
                  {{"throttle", "accept"}}),
        r.counter("bw_crashmover_moved_total", "crashes moved from a collector buffer to primary storage",
                  {{"throttle", "defer"}}),
        r.counter("bw_crashmover_queued_total", "crash ids published to the standard queue"),
        r.counter("bw_crashmover_retries_total", "batches that failed (storage or queue down) and were retried"),
        r.counter("bw_crashmover_failed_total", "crashes left in the buffer for an operator (unreadable)"),
        r.gauge("bw_crashmover_backlog", "new crashes waiting in the collector buffers"),
        r.gauge("bw_crashmover_oldest_crash_age_seconds", "age of the oldest crash waiting in the buffers"),
    };
    return m;
  }
};


}  // namespace

MoverSettings MoverSettings::from_config(const Config& config) {
  MoverSettings s;
  s.backoff_initial = config.get_duration("crashmover", "backoff_initial");
  s.backoff_max = config.get_duration("crashmover", "backoff_max");
  s.idle_wait = config.get_duration("crashmover", "idle_wait");
  s.claim_lease = std::chrono::duration_cast<std::chrono::seconds>(config.get_duration("crashmover", "claim_lease"));
  if (s.backoff_initial.count() <= 0 || s.backoff_max < s.backoff_initial) {
    throw ConfigError("crashmover.backoff_initial must be positive and at most crashmover.backoff_max");
  }
  if (s.claim_lease.count() < 1) throw ConfigError("crashmover.claim_lease must be at least 1s");
  return s;
}

CrashMover::CrashMover(std::vector<storage::CrashStorage*> buffers, storage::CrashStorage& primary,
                       queue::CrashQueue& queue, MoverSettings settings)
    : buffers_(std::move(buffers)), primary_(primary), queue_(queue), settings_(settings),
      backoff_(settings.backoff_initial) {
  if (buffers_.empty()) throw std::invalid_argument("the crash mover needs at least one collector buffer");
  if (settings_.batch_size == 0) throw std::invalid_argument("batch size must be positive");
}

CrashMover::BatchResult CrashMover::move_batch() {
  BatchResult result = move_one_batch();
  if (result != BatchResult::kFailed) failures_.succeed();
  return result;
}

CrashMover::BatchResult CrashMover::move_one_batch() {
  for (size_t tried = 0; tried < buffers_.size(); ++tried) {
    storage::CrashStorage& buffer = *buffers_[next_buffer_];
    next_buffer_ = (next_buffer_ + 1) % buffers_.size();
    std::vector<CrashId> claimed;
    // Claims expire after claim_lease: stop moving well before that (slow storage) and give the
    // rest back, so no other mover takes a crash this one still holds.
    const auto claim_deadline = std::chrono::steady_clock::now() + settings_.claim_lease / 2;
    try {
      // One call claims the batch (one listing of the date folder, not one per crash).
      claimed = buffer.claim_new_crashes(settings_.batch_size, settings_.claim_lease);
    } catch (const std::exception& e) {
      logger("crashmover")->warn("claiming from a collector buffer failed: {}", e.what());
      failures_.fail(std::string("collector buffer: ") + e.what());
      retries_++;
      MoverMetrics::get().retries.inc();
      return BatchResult::kFailed;
    }
    if (!claimed.empty()) return move_claimed(buffer, claimed, claim_deadline);
  }
  return BatchResult::kIdle;
}

CrashMover::BatchResult CrashMover::move_claimed(storage::CrashStorage& buffer, const std::vector<CrashId>& claimed,
                                                 std::chrono::steady_clock::time_point claim_deadline) {
  auto log = logger("crashmover");
  auto& m = MoverMetrics::get();
  std::vector<CrashId> stored;       // in primary storage, to confirm once queued
  std::vector<CrashId> forget;       // confirm without storing (vanished or unreadable)
  std::vector<queue::CrashMessage> to_queue;
  std::string failure;
  size_t next = 0;
  for (; next < claimed.size(); ++next) {
    if (next > 0 && std::chrono::steady_clock::now() > claim_deadline) {
      log->warn("batch is slow: releasing {} crashes before their claims expire", claimed.size() - next);
      break;
    }
    const CrashId& id = claimed[next];
    try {
      nlohmann::json raw = buffer.get_raw_crash(id);
      storage::DumpFiles files = buffer.get_dumps_as_files(id);
      std::vector<storage::DumpInput> dumps;
      for (const auto& [name, path] : files.paths()) dumps.push_back(storage::DumpInput{name, path});
      primary_.save_raw_crash(id, raw, dumps);
      stored.push_back(id);
      if (id.throttle() == ThrottleResult::kAccept) to_queue.push_back(queue::CrashMessage{id});
    } catch (const storage::CrashNotFound& e) {
      log->warn("crash {} vanished from the buffer before it was moved: {}", id.str(), e.what());
      forget.push_back(id);
    } catch (const storage::CorruptCrashData& e) {
      log->error("crash {} is unreadable and stays in the collector buffer for an operator: {}", id.str(), e.what());
      forget.push_back(id);
      failed_++;
      m.failed.inc();
    } catch (const std::invalid_argument& e) {
      log->error("crash {} cannot be stored and stays in the collector buffer for an operator: {}", id.str(),
                 e.what());
      forget.push_back(id);
      failed_++;
      m.failed.inc();
    } catch (const std::exception& e) {
      // Storage is down: keep what was stored so far, give the rest back.
      failure = std::string("primary storage: ") + e.what();
      break;
    }
  }
  auto release = [&buffer, &log](const CrashId& id) {
    try {
      buffer.release_new_crash(id);
    } catch (const std::exception& e) {
      log->warn("releasing crash {} failed (its claim will expire): {}", id.str(), e.what());
    }
  };
  for (size_t i = next; i < claimed.size(); ++i) release(claimed[i]);

  if (!to_queue.empty()) {
    try {
      queue_.publish_batch(to_queue, queue::QueueKind::kStandard);
    } catch (const std::exception& e) {
      // Not queued: nothing of this batch may be confirmed. Stored copies are rewritten next time.
      for (const auto& id : stored) release(id);
      for (const auto& id : forget) release(id);
      failure = std::string("queue: ") + e.what();
      stored.clear();
      forget.clear();
      to_queue.clear();
    }
  }
  queued_ += to_queue.size();
  m.queued.inc(static_cast<double>(to_queue.size()));
  for (const auto& id : stored) {
    bool accepted = id.throttle() == ThrottleResult::kAccept;
    (accepted ? m.moved_accepted : m.moved_deferred).inc();
    moved_++;
    if (!accepted) deferred_++;
  }
  for (const auto& id : stored) {
    try {
      buffer.confirm_new_crash(id);
      // Once stored and queued, the crash leaves the collector's buffer for good (docs/design.md §6).
      buffer.remove(id);
    } catch (const storage::CrashNotFound&) {
      // Another mover whose claim had expired finished it first: already gone.
    } catch (const std::exception& e) {
      // Moved but still listed: its claim expires and it is moved again, harmlessly.
      log->warn("confirming crash {} failed: {}", id.str(), e.what());
      if (failure.empty()) failure = std::string("collector buffer: ") + e.what();
    }
  }
  for (const auto& id : forget) {
    try {
      buffer.confirm_new_crash(id);
    } catch (const std::exception& e) {
      log->warn("dropping crash {} from the date tree failed: {}", id.str(), e.what());
    }
  }
  if (!failure.empty()) {
    failures_.fail(failure);
    retries_++;
    m.retries.inc();
    log_fields(*log, spdlog::level::warn, "crash mover batch failed, backing off",
               {{"reason", failure}, {"moved", std::to_string(stored.size())},
                {"backoff_ms", std::to_string(backoff_.load().count())}});
    return BatchResult::kFailed;
  }
  return BatchResult::kMoved;
}

void CrashMover::after(BatchResult result, bool stop_when_idle, bool& finished) {
  switch (result) {
    case BatchResult::kMoved:
      backoff_ = settings_.backoff_initial;
      break;
    case BatchResult::kIdle:
      backoff_ = settings_.backoff_initial;
      if (stop_when_idle) {
        finished = true;
        return;
      }
      stop_.wait_for(settings_.idle_wait);
      break;
    case BatchResult::kFailed:
      stop_.wait_for(backoff_.load());
      backoff_ = std::min(backoff_.load() * 2, settings_.backoff_max);
      break;
  }
}

void CrashMover::run() {
  bool finished = false;
  while (!stop_.requested()) {
    refresh_backlog_gauges(false);
    after(move_batch(), false, finished);
  }
}

void CrashMover::drain() {
  bool finished = false;
  while (!finished) {
    if (stop_.requested()) return;
    after(move_batch(), true, finished);
  }
  refresh_backlog_gauges(true);
}

void CrashMover::stop() { stop_.request(); }

std::vector<std::string> CrashMover::health_problems() const {
  if (auto p = failures_.problem("crash mover")) return {*p};
  return {};
}

MoverCounts CrashMover::counts() const {
  return MoverCounts{moved_.load(), queued_.load(), deferred_.load(), retries_.load(), failed_.load()};
}

Backlog CrashMover::backlog() {
  Backlog b;
  std::optional<std::time_t> oldest;
  for (auto* buffer : buffers_) {
    auto ids = buffer->new_crashes(settings_.backlog_limit);
    b.crashes += ids.size();
    if (ids.empty()) continue;
    try {
      auto raw = buffer->get_raw_crash(ids.front());
      if (raw.contains("submitted_timestamp") && raw["submitted_timestamp"].is_string()) {
        auto t = parse_iso_seconds(raw["submitted_timestamp"].get<std::string>());
        if (t && (!oldest || *t < *oldest)) oldest = t;
      }
    } catch (const std::exception&) {
      // Moved or unreadable meanwhile: the age is a best effort.
    }
  }
  if (oldest) {
    auto age = std::time(nullptr) - *oldest;
    b.oldest_age = std::chrono::seconds(age > 0 ? age : 0);
  }
  return b;
}

void CrashMover::refresh_backlog_gauges(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now < next_backlog_refresh_) return;
  next_backlog_refresh_ = now + settings_.backlog_interval;
  try {
    Backlog b = backlog();
    auto& m = MoverMetrics::get();
    m.backlog.set(static_cast<double>(b.crashes));
    m.oldest_age.set(b.oldest_age ? static_cast<double>(b.oldest_age->count()) : 0.0);
  } catch (const std::exception& e) {
    logger("crashmover")->warn("measuring the backlog failed: {}", e.what());
  }
}

}  // namespace bw::crashmover
