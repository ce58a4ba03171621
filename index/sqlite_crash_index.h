// The embedded crash index: one SQLite file (default <data>/index/crashes.sqlite) in WAL mode.
//
// Layout (index/migrations/sqlite/): table `crashes` with one column per indexed catalogue field
// plus `doc`, a compact JSON object of the other fields; indexes on (date, signature),
// (signature, date), (product, version, date, signature) and uuid; rollups `topcrash_daily`
// (day × product × version × platform × process_type × signature), `topcrash_daily_all` (the
// same without version) and `signature_first_seen`. The schema is versioned (`schema_version`); migrations are
// compiled into the binary and applied at open.
//
// Connections: one writer (writes are serialized by a mutex, a batch is one IMMEDIATE
// transaction) and a pool of `readers` read connections, so searches run in parallel with each
// other and with writes (WAL readers see the last committed state). A search that counts several
// aggregations over a date range of a day or more also takes a second reader if one is idle (it
// never waits for one) and counts the range's two halves at once; Top Crashers reads its two
// periods so too. Every statement is prepared
// and every value bound; `@` regexes run through RE2 in a registered SQL function. synchronous is
// NORMAL: a power cut may lose the last transactions, which re-indexing from crash storage
// restores; the file itself is never corrupted.
//
// Several processes may open the same file (SQLite locking); the busy timeout is 10 s, after which
// IndexUnavailable is thrown.
#pragma once

#include <memory>

#include "index/crash_index.h"

namespace bw::index {

class SqliteCrashIndex final : public CrashIndex {
 public:
  // Opens (creating the file, its folder and the schema when missing) and migrates.
  // settings.fields must be set. Throws IndexUnavailable.
  explicit SqliteCrashIndex(const IndexSettings& settings);
  ~SqliteCrashIndex() override;

  const FieldCatalogue& fields() const override;
  void upsert_batch(std::span<const CrashInput> crashes) override;
  std::optional<nlohmann::json> get(std::string_view crash_id, const Permissions& permissions) override;
  bool remove(std::string_view crash_id) override;
  nlohmann::json execute(const SuperSearchQuery& query) override;
  TopCrashersResult top_crashers(const TopCrashersQuery& query) override;
  uint64_t drop_older_than(std::chrono::system_clock::time_point cutoff) override;
  uint64_t count() override;
  uint64_t stored_bytes() override;
  std::vector<ProductVersionDay> product_version_days(int64_t first_day) override;
  std::vector<MissingSymbol> missing_symbols(const MissingSymbolsQuery& query) override;
  std::vector<std::string> crashes_missing_symbols(std::string_view debug_file, std::string_view debug_id,
                                                   size_t limit) override;

  // The schema version in the file (the highest embedded migration once opened).
  int schema_version();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::index
