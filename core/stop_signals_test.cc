#include "core/stop_signals.h"

#include <gtest/gtest.h>
#include <pthread.h>

namespace bw {
namespace {

using namespace std::chrono_literals;

TEST(StopSignals, WaitForReturnsTheSignalThatArrivesOrNothingAtTheDeadline) {
  StopSignals signals;
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(signals.wait_for(50ms), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
  // Blocked in this thread, so it waits pending for wait_for instead of ending the process.
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(signals.wait_for(10s), SIGTERM);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(signals.wait(), SIGINT);
}

}  // namespace
}  // namespace bw
