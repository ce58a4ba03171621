#include "http/rate_limiter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

namespace bw::http {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

const Clock::time_point t0 = Clock::time_point{} + 1000h;

RateLimiter::Options opts(double per_minute, double burst, size_t max_keys = 100000) {
  RateLimiter::Options o;
  o.per_minute = per_minute;
  o.burst = burst;
  o.max_keys = max_keys;
  return o;
}

int allowed_count(RateLimiter& limiter, const std::string& key, int tries, Clock::time_point now) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += limiter.take(key, now).allowed ? 1 : 0;
  return n;
}

TEST(RateLimiter, BurstThenRefusal) {
  RateLimiter limiter(opts(60, 3));
  for (int i = 0; i < 3; ++i) {
    auto d = limiter.take("10.0.0.1", t0);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.retry_after, 0s);
  }
  auto refused = limiter.take("10.0.0.1", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 1s);
  // A refusal costs nothing: still refused, still one second.
  EXPECT_EQ(limiter.take("10.0.0.1", t0).retry_after, 1s);
  // Other keys have their own buckets.
  EXPECT_EQ(allowed_count(limiter, "10.0.0.2", 5, t0), 3);
  EXPECT_EQ(allowed_count(limiter, "token:alice", 5, t0), 3);
}

TEST(RateLimiter, RefillsOverTimeUpToTheBurst) {
  RateLimiter limiter(opts(60, 3));  // one token a second
  EXPECT_EQ(allowed_count(limiter, "k", 3, t0), 3);
  EXPECT_FALSE(limiter.take("k", t0 + 999ms).allowed);
  EXPECT_TRUE(limiter.take("k", t0 + 1s).allowed);
  EXPECT_FALSE(limiter.take("k", t0 + 1s).allowed);
  // 2.5 s later two and a half tokens have come back: two takes.
  EXPECT_EQ(allowed_count(limiter, "k", 5, t0 + 3500ms), 2);
  // Ten minutes idle refill the bucket to its size, never more.
  EXPECT_EQ(allowed_count(limiter, "k", 10, t0 + 10min), 3);
}

TEST(RateLimiter, RetryAfterIsWholeSecondsRoundedUp) {
  RateLimiter slow(opts(1, 1));  // one a minute
  EXPECT_TRUE(slow.take("k", t0).allowed);
  EXPECT_EQ(slow.take("k", t0).retry_after, 60s);
  EXPECT_EQ(slow.take("k", t0 + 1ms).retry_after, 60s);  // 59.999 s → 60
  EXPECT_EQ(slow.take("k", t0 + 30s).retry_after, 30s);
  EXPECT_EQ(slow.take("k", t0 + 59500ms).retry_after, 1s);  // 0.5 s → 1
  EXPECT_TRUE(slow.take("k", t0 + 60s).allowed);

  RateLimiter fast(opts(120, 1));  // a token every half second: the wait is still at least 1 s
  EXPECT_TRUE(fast.take("k", t0).allowed);
  auto d = fast.take("k", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1s);
  EXPECT_TRUE(fast.take("k", t0 + 500ms).allowed);

  RateLimiter sign_in(opts(5, 5));  // 5 sign-in attempts, then one every 12 s
  EXPECT_EQ(allowed_count(sign_in, "token:bob", 5, t0), 5);
  EXPECT_EQ(sign_in.take("token:bob", t0).retry_after, 12s);
  EXPECT_EQ(sign_in.take("token:bob", t0 + 11s).retry_after, 1s);
}

TEST(RateLimiter, FractionalAndSmallBursts) {
  RateLimiter fractional(opts(60, 2.5));
  EXPECT_EQ(allowed_count(fractional, "k", 5, t0), 2);
  EXPECT_EQ(fractional.take("k", t0).retry_after, 1s);  // half a token missing: 0.5 s → 1
  EXPECT_TRUE(fractional.take("k", t0 + 500ms).allowed);

  for (double burst : {0.0, -3.0, 0.5, std::nan("")}) {
    RateLimiter one(opts(60, burst));  // counts as a burst of 1
    EXPECT_EQ(allowed_count(one, "k", 3, t0), 1) << burst;
  }
}

TEST(RateLimiter, DisabledAllowsEverythingAndKeepsNothing) {
  for (double per_minute : {0.0, -5.0, std::nan("")}) {
    RateLimiter limiter(opts(per_minute, 1));
    EXPECT_FALSE(limiter.enabled());
    for (int i = 0; i < 1000; ++i) {
      auto d = limiter.take("k" + std::to_string(i % 7), t0);
      ASSERT_TRUE(d.allowed);
      ASSERT_EQ(d.retry_after, 0s);
    }
    EXPECT_EQ(limiter.keys(), 0u);
  }
  EXPECT_TRUE(RateLimiter(opts(1, 1)).enabled());
}

TEST(RateLimiter, AnEarlierNowNeverRefills) {
  RateLimiter limiter(opts(60, 2));
  EXPECT_EQ(allowed_count(limiter, "k", 2, t0 + 10s), 2);
  EXPECT_FALSE(limiter.take("k", t0).allowed);
  EXPECT_FALSE(limiter.take("k", t0 + 10s).allowed);
  EXPECT_TRUE(limiter.take("k", t0 + 11s).allowed);
}

TEST(RateLimiter, ExtremeRatesStayWithinBounds) {
  RateLimiter tiny(opts(1e-300, 1e300));  // clamped: no overflow, burst still spent
  EXPECT_TRUE(tiny.take("k", t0).allowed);
  RateLimiter huge(opts(1e300, 1));  // a token every 0 ns: always allowed
  EXPECT_EQ(allowed_count(huge, "k", 100, t0), 100);
  RateLimiter yearly(opts(1e-9, 1));  // one a year at the slowest
  EXPECT_TRUE(yearly.take("k", t0).allowed);
  auto d = yearly.take("k", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, std::chrono::seconds(365 * 24 * 3600));
}

TEST(RateLimiter, LongKeysAreCutAndShareABucket) {
  RateLimiter limiter(opts(60, 1));
  std::string base(RateLimiter::kMaxKeyBytes, 'a');
  EXPECT_TRUE(limiter.take(base + "x", t0).allowed);
  EXPECT_FALSE(limiter.take(base + "y", t0).allowed);
  EXPECT_FALSE(limiter.take(base, t0).allowed);
  EXPECT_TRUE(limiter.take(base.substr(1), t0).allowed);
  EXPECT_EQ(limiter.keys(), 2u);
}

TEST(RateLimiter, WhenFullDropsTheLeastRecentlyUsed) {
  RateLimiter limiter(opts(60, 1, 4));
  for (const char* k : {"a", "b", "c", "d"}) EXPECT_TRUE(limiter.take(k, t0).allowed);
  EXPECT_EQ(limiter.keys(), 4u);
  // None is idle: the least recently used ("a") makes room for "e".
  EXPECT_TRUE(limiter.take("e", t0).allowed);
  EXPECT_EQ(limiter.keys(), 4u);
  EXPECT_TRUE(limiter.take("a", t0).allowed);  // forgotten: a fresh bucket (and "b" goes)
  EXPECT_FALSE(limiter.take("c", t0).allowed);  // still remembered, and now recently used
  EXPECT_TRUE(limiter.take("f", t0).allowed);   // "d" goes, not "c"
  EXPECT_FALSE(limiter.take("c", t0).allowed);
  EXPECT_TRUE(limiter.take("d", t0).allowed);
  EXPECT_EQ(limiter.keys(), 4u);
}

TEST(RateLimiter, WhenFullDropsIdleBucketsFirst) {
  RateLimiter limiter(opts(60, 10, 2));
  EXPECT_EQ(allowed_count(limiter, "heavy", 10, t0), 10);  // full again only at t0 + 10 s
  EXPECT_TRUE(limiter.take("light", t0 + 1s).allowed);     // full again at t0 + 2 s
  // At t0 + 3 s "heavy" is the least recently used but "light" is idle: "light" makes room.
  EXPECT_TRUE(limiter.take("new", t0 + 3s).allowed);
  EXPECT_EQ(limiter.keys(), 2u);
  // "heavy" kept its state: 3 tokens back, not 10.
  EXPECT_EQ(allowed_count(limiter, "heavy", 10, t0 + 3s), 3);

  // Everything idle: one sweep empties the limiter.
  RateLimiter idle(opts(60, 1, 8));
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(idle.take("k" + std::to_string(i), t0).allowed);
  EXPECT_TRUE(idle.take("other", t0 + 1min).allowed);
  EXPECT_EQ(idle.keys(), 1u);
}

TEST(RateLimiter, RotatingKeysNeverGrowMemory) {
  for (size_t max_keys : {size_t{1}, size_t{50}, size_t{16 * 1024}}) {
    RateLimiter limiter(opts(60, 5, max_keys));
    for (int i = 0; i < 40000; ++i) {
      // Every key busy (no idle bucket to drop), time moving slowly.
      limiter.take("attacker-" + std::to_string(i), t0 + std::chrono::milliseconds(i / 100));
      if (i % 997 == 0) {
        ASSERT_LE(limiter.keys(), max_keys) << i;
      }
    }
    EXPECT_LE(limiter.keys(), max_keys);
    EXPECT_GE(limiter.keys(), max_keys * 9 / 10);  // and the room is actually used
  }
  RateLimiter zero(opts(60, 1, 0));  // counts as one
  EXPECT_TRUE(zero.take("a", t0).allowed);
  EXPECT_TRUE(zero.take("b", t0).allowed);
  EXPECT_EQ(zero.keys(), 1u);
}

TEST(RateLimiter, ConcurrentTakesAddUp) {
  constexpr int kThreads = 4;
  constexpr int kTries = 2000;
  RateLimiter limiter(opts(60, 100));  // default max_keys: sharded
  std::vector<int> shared_allowed(kThreads, 0), own_allowed(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&limiter, &shared_allowed, &own_allowed, t] {
      std::string own = "token:user" + std::to_string(t);
      for (int i = 0; i < kTries; ++i) {
        if (limiter.take("shared", t0).allowed) ++shared_allowed[t];
        if (limiter.take(own, t0).allowed) ++own_allowed[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  int shared_total = 0;
  for (int t = 0; t < kThreads; ++t) {
    shared_total += shared_allowed[t];
    EXPECT_EQ(own_allowed[t], 100) << t;
  }
  EXPECT_EQ(shared_total, 100);
  EXPECT_EQ(limiter.keys(), static_cast<size_t>(kThreads + 1));
  // One second later exactly one more token, whoever asks first.
  EXPECT_TRUE(limiter.take("shared", t0 + 1s).allowed);
  EXPECT_FALSE(limiter.take("shared", t0 + 1s).allowed);
}

TEST(ClientAddress, StripsThePort) {
  EXPECT_EQ(client_address("127.0.0.1:40312"), "127.0.0.1");
  EXPECT_EQ(client_address("[::1]:5000"), "::1");
  EXPECT_EQ(client_address("[::1]"), "::1");
  EXPECT_EQ(client_address("[2001:db8::7]:443"), "2001:db8::7");
  EXPECT_EQ(client_address("[fe80::1%eth0]:80"), "fe80::1%eth0");
  EXPECT_EQ(client_address("[::ffff:10.0.0.1]:80"), "10.0.0.1");
  EXPECT_EQ(client_address("[::FFFF:10.0.0.1]:80"), "10.0.0.1");
  EXPECT_EQ(client_address("[::ffff:a00:1]:80"), "::ffff:a00:1");
  EXPECT_EQ(client_address("localhost:8080"), "localhost");
}

TEST(ClientAddress, ReturnsWhatItCannotParseUnchanged) {
  for (std::string_view peer : {"", "-", "127.0.0.1", "::1", "::1:5000", "127.0.0.1:", ":80", "127.0.0.1:123456",
                                "127.0.0.1:80x", "[::1", "[]:80", "[::1]5000", "[::1]:", "[::1]:x", "[1.2.3.4]:80",
                                "[[::1]:80", "a:b:c"}) {
    EXPECT_EQ(client_address(peer), peer) << peer;
  }
  std::string long_peer = std::string(200, '1') + ":80";
  EXPECT_EQ(client_address(long_peer), long_peer);
}

TEST(TooManyRequests, AnswersWithRetryAfter) {
  Response r = too_many_requests(7s, R"({"error":"slow down"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"slow down"})");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(r.headers[0].second, "7");
  EXPECT_EQ(too_many_requests(0s, "{}").headers.at(0).second, "1");
  EXPECT_EQ(too_many_requests(-5s, "{}").headers.at(0).second, "1");
  EXPECT_EQ(too_many_requests(3600s, "{}").headers.at(0).second, "3600");
}

}  // namespace
}  // namespace bw::http
