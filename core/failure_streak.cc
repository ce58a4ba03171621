#include "core/failure_streak.h"

namespace bw {

void FailureStreak::fail(std::string reason, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!since_) since_ = now;
  reason_ = std::move(reason);
}

void FailureStreak::succeed() {
  std::lock_guard lock(mu_);
  since_.reset();
  reason_.clear();
}

std::optional<std::string> FailureStreak::problem(std::string_view who, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (!since_) return std::nullopt;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - *since_).count();
  return std::string(who) + ": failing for " + std::to_string(seconds) + " s (retrying): " + reason_;
}

}  // namespace bw
