#include "web/priority_requests.h"

#include "core/log.h"
#include "core/metrics.h"

namespace bw::web {
namespace {

metrics::Counter& request_counter(const char* result) {
  return metrics::Registry::global().counter("bw_web_priority_requests_total",
                                             "Report views asking for a crash to be processed first, by outcome",
                                             {{"result", result}});
}

metrics::Counter& publish_counter(const char* result) {
  return metrics::Registry::global().counter("bw_web_priority_publishes_total",
                                             "Crash ids the web app published to the priority queue, by outcome",
                                             {{"result", result}});
}

}  // namespace

PriorityRequests::PriorityRequests(queue::CrashQueue& queue, Options options)
    : queue_(queue), options_(options), thread_([this] { run(); }) {}

PriorityRequests::~PriorityRequests() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

PriorityRequests::Result PriorityRequests::request(const CrashId& id, Clock::time_point now) {
  static auto& scheduled = request_counter("scheduled");
  static auto& recent = request_counter("recent");
  static auto& refused = request_counter("refused");
  {
    std::lock_guard lock(mu_);
    auto it = asked_.find(id);
    if (it != asked_.end() && now - it->second < options_.interval) {
      recent.inc();
      return Result::kRecent;
    }
    if (it == asked_.end() && asked_.size() >= options_.max_tracked) {
      // Forget the crashes whose interval is over; only they may be asked for again anyway.
      std::erase_if(asked_, [&](const auto& entry) { return now - entry.second >= options_.interval; });
      if (asked_.size() >= options_.max_tracked) {
        refused.inc();
        return Result::kRefused;
      }
    }
    asked_[id] = now;
    to_publish_.push_back(id);
  }
  scheduled.inc();
  wake_.notify_one();
  return Result::kScheduled;
}

uint64_t PriorityRequests::publishes_done() const {
  std::lock_guard lock(mu_);
  return publishes_done_;
}

size_t PriorityRequests::tracked() const {
  std::lock_guard lock(mu_);
  return asked_.size();
}

std::optional<std::string> PriorityRequests::health_problem() const { return failures_.problem("web: priority queue"); }

void PriorityRequests::run() {
  static auto& ok = publish_counter("ok");
  static auto& failed = publish_counter("failed");
  auto log = logger("web");
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !to_publish_.empty(); });
    if (stopping_) return;
    CrashId id = to_publish_.front();
    to_publish_.pop_front();
    lock.unlock();
    try {
      queue_.publish(queue::CrashMessage{id, queue::Ruleset::kDefault}, queue::QueueKind::kPriority);
      ok.inc();
      failures_.succeed();
      log_fields(*log, spdlog::level::info, "crash queued for priority processing", {{"crash_id", id.str()}});
    } catch (const std::exception& e) {
      failed.inc();
      failures_.fail(e.what());
      log_fields(*log, spdlog::level::warn, "could not queue crash for priority processing",
                 {{"crash_id", id.str()}, {"error", e.what()}});
    }
    lock.lock();
    ++publishes_done_;
  }
}

}  // namespace bw::web
