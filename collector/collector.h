// The collector (docs/design.md §3): `POST /submit` receives crash reports as real Breakpad and
// Crashpad clients send them and stores each durably in the collector buffer before answering.
//
// What it promises:
// - Every status/body of the docs/design.md §3 table (docs/collector.md lists them with examples).
// - Bodies are parsed as a stream: gzip inflated on the fly, multipart parts split on the fly,
//   dumps written to staging files (with their SHA-256) as they arrive. Memory per request is a
//   few buffers of 64 KiB plus the annotations (bounded by max_annotations_size).
// - `CrashID=bp-<id>` is answered only after `CrashStorage::save_raw_crash` returned, i.e. the
//   raw crash and its dumps are durably stored. A storage failure is a 500 with an empty body.
// - The raw crash is the annotations plus `uuid`, `submitted_timestamp`, `version` and
//   `metadata` {payload, payload_compressed, payload_size, user_agent, dump_checksums,
//   throttle_rule, collector_notes}; configured fields are removed first (and noted).
//
// Ownership: the Collector borrows the storage (which must outlive it) and owns its staging
// folder's files: each request removes its own staging files however it ends.
// Thread safety: requests are handled concurrently; the storage must be thread-safe (every
// CrashStorage is).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collector/throttler.h"
#include "core/config.h"
#include "http/server.h"
#include "storage/crash_storage.h"

namespace bw::collector {

struct CollectorOptions {
  uint64_t max_body_size = 25ull << 20;
  uint64_t max_decompressed_size = 250ull << 20;
  uint64_t max_annotations_size = 4ull << 20;
  size_t max_parts = 1000;
  std::filesystem::path staging_dir;   // on the same file system as the storage root
  std::filesystem::path storage_root;  // for the heartbeat's free-space check
  uint64_t heartbeat_min_free = 512ull << 20;
  std::vector<std::string> removed_fields = {"Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId"};
  std::vector<ThrottleRule> throttle_rules = Throttler::user_submitted_rules();
  ThrottleAction throttle_default = ThrottleAction::kAccept;
  // Per-product submission keys (docs/collector.md "Submission keys"): a crash whose ProductName
  // has a key here must carry it as `?key=` on the submit URL (403 Discarded=bad_product_key
  // otherwise, compared in constant time, never logged or stored). With require_product_key, a
  // product without a key is refused too. Empty: /submit is open to every product.
  std::map<std::string, std::string, std::less<>> product_keys{};
  bool require_product_key = false;

  // From the [collector] and [storage] sections. Throws ConfigError for bad throttle rules.
  static CollectorOptions from_config(const Config& config);
};

class Collector {
 public:
  Collector(CollectorOptions options, storage::CrashStorage& storage);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Registers POST /submit.
  void add_routes(http::Server& server);
  // Problems that make /__heartbeat__ fail (storage root not writable, low disk...); empty = ok.
  std::vector<std::string> health_problems() const;
  // Replaces the throttler's random source (tests).
  void set_random(Throttler::Random random);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::collector
