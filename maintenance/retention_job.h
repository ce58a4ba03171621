// Retention for a whole site: crash storage (storage/retention.h: raw crashes, raw dumps,
// processed crashes, each with its storage.*_retention_days) and the crash index
// (index.retention_days, CrashIndex::drop_older_than). `breakwater admin expire` runs it once;
// `serve` runs it every `interval` on a thread of its own.
//
// Index age: a row is dropped when its date (date_processed: the submission time) is before
// `now - index.retention_days` days, to the microsecond; nothing younger is touched.
//
// Errors: run_once throws what storage and index throw (TransientStorageError,
// IndexUnavailable); the periodic thread logs them, reports them through health_problems() and
// tries again at the next interval. ConfigError from the constructor for a bad age.
// Thread safety: start/stop from one thread; run_once and health_problems from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/failure_streak.h"
#include "index/crash_index.h"
#include "storage/retention.h"

namespace bw::maintenance {

struct RetentionRun {
  storage::RetentionResult storage;
  uint64_t index_rows = 0;  // crashes dropped from the index

  // The storage summary and the index rows, in one line.
  std::string summary() const;
};

class RetentionJob {
 public:
  // `index` may be null (no index in this process: only storage is expired). Borrowed.
  RetentionJob(const Config& config, index::CrashIndex* index);
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // True when some age is set (otherwise the job has nothing to do and start() does nothing).
  bool enabled() const;
  int64_t index_retention_days() const { return index_days_; }

  RetentionRun run_once(std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                        const std::function<void(std::string_view)>& progress = {});

  // Runs run_once after `first_delay`, then every `interval`, until stop().
  void start(std::chrono::milliseconds first_delay, std::chrono::milliseconds interval);
  void stop();
  std::vector<std::string> health_problems() const;

 private:
  Config config_;
  index::CrashIndex* index_;
  storage::RetentionSettings storage_settings_;
  int64_t index_days_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  FailureStreak failures_;
};

}  // namespace bw::maintenance
