#include "maintenance/retention_job.h"

#include "core/log.h"

namespace bw::maintenance {

std::string RetentionRun::summary() const {
  return storage.summary() + "; " + std::to_string(index_rows) + (index_rows == 1 ? " crash" : " crashes") +
         " dropped from the index";
}

RetentionJob::RetentionJob(const Config& config, index::CrashIndex* index)
    : config_(config), index_(index), storage_settings_(storage::RetentionSettings::from_config(config)) {
  index_days_ = config.get_int("index", "retention_days");
  if (index_days_ < 0 || index_days_ > storage::kMaxRetentionDays) {
    throw ConfigError("index.retention_days must be between 0 and " + std::to_string(storage::kMaxRetentionDays));
  }
}

RetentionJob::~RetentionJob() { stop(); }

bool RetentionJob::enabled() const { return storage_settings_.any() || (index_ && index_days_ > 0); }

RetentionRun RetentionJob::run_once(std::chrono::system_clock::time_point now,
                                    const std::function<void(std::string_view)>& progress) {
  RetentionRun run;
  storage::RetentionOptions options;
  options.progress = progress;
  run.storage = storage::apply_retention(config_, now, options);
  if (index_ && index_days_ > 0) {
    run.index_rows = index_->drop_older_than(now - std::chrono::days(index_days_));
    if (progress && run.index_rows > 0) {
      progress("dropped " + std::to_string(run.index_rows) + " crashes older than " + std::to_string(index_days_) +
               " days from the index");
    }
  }
  return run;
}

void RetentionJob::start(std::chrono::milliseconds first_delay, std::chrono::milliseconds interval) {
  if (!enabled() || thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, first_delay, interval] {
    auto log = logger("retention");
    auto wait = first_delay;
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, wait, [this] { return stopping_; })) return;
      }
      wait = interval;
      try {
        RetentionRun run = run_once();
        failures_.succeed();
        log_fields(*log, spdlog::level::info, "retention run", {{"result", run.summary()}});
      } catch (const std::exception& e) {
        failures_.fail(e.what());
        log_fields(*log, spdlog::level::warn, "retention run failed; trying again later", {{"error", e.what()}});
      }
    }
  });
}

void RetentionJob::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> RetentionJob::health_problems() const {
  if (auto p = failures_.problem("retention")) return {*p};
  return {};
}

}  // namespace bw::maintenance
