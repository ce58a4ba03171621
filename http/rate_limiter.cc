#include "http/rate_limiter.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <mutex>

namespace bw::http {

namespace {

using namespace std::chrono_literals;

// Bounds that keep every time point arithmetic far from overflow, whatever the options say.
constexpr double kMaxIntervalSeconds = 365.0 * 24 * 3600;        // one token a year at the slowest
constexpr double kMaxToleranceSeconds = 10 * 365.0 * 24 * 3600;  // a burst worth ten years at most
// Below this many buckets there is one shard (small limits stay exact and easy to reason about);
// above, 16 shards of max_keys/16 each, so threads rarely wait on each other.
constexpr size_t kShards = 16;
constexpr size_t kMinKeysToShard = kShards * 1024;

RateLimiter::Clock::duration seconds_to_duration(double s) {
  return std::chrono::duration_cast<RateLimiter::Clock::duration>(std::chrono::duration<double>(s));
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

struct RateLimiter::Shard {
  struct Bucket {
    Clock::time_point full_at;                   // the bucket holds `burst` tokens again from then on
    std::list<const std::string*>::iterator lru;  // its place in `lru`
  };

  std::mutex mutex;
  std::map<std::string, Bucket, std::less<>> buckets;
  std::list<const std::string*> lru;  // keys of `buckets`, least recently used first
  size_t capacity = 1;
  size_t sweep_every = 1;      // new keys between two sweeps for idle buckets
  size_t new_since_sweep = 0;  // starts at sweep_every: the first time full, sweep

  // Called with the mutex held, before adding a key.
  void make_room(Clock::time_point now) {
    if (buckets.size() < capacity) return;
    if (new_since_sweep >= sweep_every) {
      new_since_sweep = 0;
      for (auto it = buckets.begin(); it != buckets.end();) {
        if (it->second.full_at <= now) {
          lru.erase(it->second.lru);
          it = buckets.erase(it);
        } else {
          ++it;
        }
      }
    }
    while (buckets.size() >= capacity) {
      auto it = buckets.find(*lru.front());
      lru.pop_front();
      buckets.erase(it);
    }
  }
};

RateLimiter::RateLimiter(Options options) {
  enabled_ = options.per_minute > 0;  // false for NaN too
  if (!enabled_) return;
  double interval = std::min(60.0 / options.per_minute, kMaxIntervalSeconds);
  double burst = options.burst >= 1 ? options.burst : 1.0;  // NaN → 1
  double tolerance = std::min(interval * (burst - 1), kMaxToleranceSeconds);
  interval_ = seconds_to_duration(interval);
  tolerance_ = seconds_to_duration(tolerance);

  size_t max_keys = std::max<size_t>(options.max_keys, 1);
  shard_count_ = max_keys >= kMinKeysToShard ? kShards : 1;
  shards_ = std::make_unique<Shard[]>(shard_count_);
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    s.capacity = max_keys / shard_count_;
    s.sweep_every = std::max<size_t>(s.capacity / 8, 1);
    s.new_since_sweep = s.sweep_every;
  }
}

RateLimiter::~RateLimiter() = default;

RateLimiter::Decision RateLimiter::take(std::string_view key, Clock::time_point now) {
  if (!enabled_) return {};
  key = key.substr(0, kMaxKeyBytes);
  Shard& s = shards_[shard_count_ == 1 ? 0 : std::hash<std::string_view>{}(key) % shard_count_];
  std::lock_guard lock(s.mutex);

  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) {
    s.make_room(now);
    ++s.new_since_sweep;
    it = s.buckets.emplace(std::string(key), Shard::Bucket{now, {}}).first;
    s.lru.push_back(&it->first);
    it->second.lru = std::prev(s.lru.end());
  } else {
    s.lru.splice(s.lru.end(), s.lru, it->second.lru);  // now the most recently used
  }

  // GCRA: the bucket may run at most `tolerance_` ahead of now; each token moves it one interval.
  Clock::time_point start = std::max(it->second.full_at, now);
  if (start - now > tolerance_) {
    auto wait = std::chrono::ceil<std::chrono::seconds>(start - tolerance_ - now);
    return {false, std::max<std::chrono::seconds>(wait, 1s)};
  }
  it->second.full_at = start + interval_;
  return {true, 0s};
}

size_t RateLimiter::keys() const {
  size_t n = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    n += shards_[i].buckets.size();
  }
  return n;
}

std::string client_address(std::string_view peer) {
  const std::string unchanged(peer);
  if (peer.size() > 128) return unchanged;
  if (!peer.empty() && peer.front() == '[') {
    // "[v6]:port" or "[v6]"
    size_t close = peer.find(']');
    if (close == std::string_view::npos || close == 1) return unchanged;
    std::string_view rest = peer.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return unchanged;
    std::string_view host = peer.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos || host.find('[') != std::string_view::npos) {
      return unchanged;
    }
    constexpr std::string_view kMapped = "::ffff:";
    if (starts_with_nocase(host, kMapped)) {
      std::string_view v4 = host.substr(kMapped.size());
      if (v4.find('.') != std::string_view::npos && v4.find(':') == std::string_view::npos) {
        return std::string(v4);
      }
    }
    return std::string(host);
  }
  // "v4:port" (or a host name): exactly one colon, digits after it.
  size_t colon = peer.find(':');
  if (colon == std::string_view::npos || colon == 0 || peer.find(':', colon + 1) != std::string_view::npos ||
      !all_digits(peer.substr(colon + 1))) {
    return unchanged;
  }
  return std::string(peer.substr(0, colon));
}

Response too_many_requests(std::chrono::seconds retry_after, std::string body_json) {
  Response r = Response::json(429, std::move(body_json));
  r.headers.emplace_back("Retry-After", std::to_string(std::max<std::chrono::seconds::rep>(retry_after.count(), 1)));
  return r;
}

}  // namespace bw::http
