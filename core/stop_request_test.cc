#include "core/stop_request.h"

#include <gtest/gtest.h>

#include <thread>

namespace bw {
namespace {

using namespace std::chrono_literals;

TEST(StopRequest, AWaitLastsItsDurationWithoutARequest) {
  StopRequest stop;
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(stop.wait_for(30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 30ms);
  EXPECT_FALSE(stop.requested());
}

TEST(StopRequest, ARequestWakesASleeperAtOnce) {
  StopRequest stop;
  bool woken_by_request = false;
  std::chrono::steady_clock::duration slept{};
  std::thread sleeper([&] {
    auto started = std::chrono::steady_clock::now();
    woken_by_request = stop.wait_for(std::chrono::minutes(10));
    slept = std::chrono::steady_clock::now() - started;
  });
  std::this_thread::sleep_for(20ms);
  stop.request();
  sleeper.join();
  EXPECT_TRUE(woken_by_request);
  EXPECT_LT(slept, std::chrono::minutes(1));
  EXPECT_TRUE(stop.requested());
}

TEST(StopRequest, WaitsAfterARequestReturnAtOnceUntilReset) {
  StopRequest stop;
  stop.request();
  stop.request();  // idempotent
  EXPECT_TRUE(stop.wait_for(std::chrono::minutes(10)));
  stop.reset();
  EXPECT_FALSE(stop.requested());
  EXPECT_FALSE(stop.wait_for(1ms));
}

}  // namespace
}  // namespace bw
