// Whether a retrying loop (the crash mover's batches, a processor's queue) is failing right now,
// since when and why: what /__heartbeat__ reports for roles without a check of their own.
//
// fail(reason) starts a streak (or updates its reason), succeed() ends it. problem(who) is empty
// while not failing, else one sentence: "<who>: failing for 12 s (retrying): <reason>".
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace bw {

class FailureStreak {
 public:
  using Clock = std::chrono::steady_clock;

  void fail(std::string reason, Clock::time_point now = Clock::now());
  void succeed();
  std::optional<std::string> problem(std::string_view who, Clock::time_point now = Clock::now()) const;

 private:
  mutable std::mutex mu_;
  std::optional<Clock::time_point> since_;
  std::string reason_;
};

}  // namespace bw
