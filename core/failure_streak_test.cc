#include "core/failure_streak.h"

#include <gtest/gtest.h>

namespace bw {
namespace {

TEST(FailureStreakTest, ReportsFromTheFirstFailureUntilASuccess) {
  FailureStreak s;
  auto t0 = FailureStreak::Clock::now();
  EXPECT_FALSE(s.problem("crash mover", t0));
  s.fail("queue: connection refused", t0);
  s.fail("queue: timed out", t0 + std::chrono::seconds(5));  // the streak keeps its start
  EXPECT_EQ(s.problem("crash mover", t0 + std::chrono::seconds(12)),
            "crash mover: failing for 12 s (retrying): queue: timed out");
  s.succeed();
  EXPECT_FALSE(s.problem("crash mover", t0 + std::chrono::seconds(13)));
  s.fail("disk full", t0 + std::chrono::seconds(20));  // a new streak starts afresh
  EXPECT_EQ(s.problem("processor", t0 + std::chrono::seconds(21)), "processor: failing for 1 s (retrying): disk full");
}

}  // namespace
}  // namespace bw
