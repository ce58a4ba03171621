// Request rate limits: token buckets keyed by a string (a client address from `client_address`,
// or "token:<user>"), for per-address and per-token limits on search/API calls and on sign-in
// attempts, and the 429 answer that goes with a refusal.
//
// What it promises:
// - Each key has a bucket of `burst` tokens (at least 1) that refills at `per_minute` tokens per
//   minute; a new key starts full. `take` spends one token, or refuses and says in `retry_after`
//   how many whole seconds (rounded up, at least 1) until one token is available.
//   `per_minute <= 0` (or NaN) disables the limiter: every take is allowed and nothing is kept.
// - Time comes only from the caller (`now`): tests inject it; a `now` earlier than one already
//   seen for a key never refills that bucket, and never lets more through than the burst.
// - Memory is bounded: at most `max_keys` buckets (at least 1) and at most kMaxKeyBytes of each
//   key (longer keys are cut, so keys sharing that prefix share a bucket: the stricter side). When
//   a new key arrives and the limiter is full, buckets that are full again (idle: forgetting them
//   changes nothing) are dropped first; if none is, the least recently used bucket is dropped.
//   So an attacker rotating keys can at worst reset someone's bucket early (letting that client
//   in again sooner), never grow memory. The sweep for idle buckets runs at most once per
//   max_keys/8 new keys, so each `take` costs O(log max_keys) amortised.
//   (A bucket is stored as the time it is full again, the GCRA form of a token bucket: one
//   time point per key and integer arithmetic, no rounding drift.)
//
// Ownership and threads: a RateLimiter owns its buckets. `take` and `keys` may be called from any
// thread at once (buckets are spread over shards, each behind its own mutex).
// Errors: none; `take` only allocates (std::bad_alloc).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "http/server.h"

namespace bw::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxKeyBytes = 256;

  struct Options {
    double per_minute = 0;  // tokens added per minute; <= 0 disables the limiter
    double burst = 0;       // bucket size: requests allowed at once (below 1 counts as 1)
    size_t max_keys = 100000;
  };

  struct Decision {
    bool allowed = true;
    std::chrono::seconds retry_after{0};  // when refused: >= 1; when allowed: 0
  };

  explicit RateLimiter(Options options);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  Decision take(std::string_view key, Clock::time_point now);
  // Buckets currently held (never more than max_keys).
  size_t keys() const;
  bool enabled() const { return enabled_; }

 private:
  struct Shard;
  bool enabled_ = false;
  Clock::duration interval_{};   // time to add one token
  Clock::duration tolerance_{};  // interval_ * (burst - 1): how far ahead a bucket may run
  std::unique_ptr<Shard[]> shards_;
  size_t shard_count_ = 0;
};

// The address of an http::Request::peer without its port: "127.0.0.1:40312" → "127.0.0.1",
// "[::1]:5000" → "::1", "[::1]" → "::1"; an IPv4-mapped IPv6 address is given as IPv4
// ("[::ffff:10.0.0.1]:80" → "10.0.0.1"), so one client has one key whichever way it came in.
// Anything else (no port, an unbracketed IPv6 address, "-", text longer than 128 bytes) is
// returned unchanged. Never throws except std::bad_alloc.
std::string client_address(std::string_view peer);

// A 429 answer: `body_json` as application/json and `Retry-After: N` (N = retry_after in whole
// seconds, at least 1).
Response too_many_requests(std::chrono::seconds retry_after, std::string body_json);

}  // namespace bw::http
