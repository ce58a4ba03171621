// The crash index in PostgreSQL (index.url = "postgresql://user:password@host:port/database"), for
// sites that outgrow one SQLite file or want the index on its own server. Same contract, same
// answers as the SQLite backend (crash_index.h; both pass crash_index_contract.h).
//
// Layout (index/migrations/postgres/, applied at open under an advisory lock, so several
// processes may open a fresh database at once; versions in `schema_version`):
// - `crashes`: one column per indexed catalogue field plus `doc` (jsonb, the other fields),
//   declaratively partitioned by RANGE on `date` into weekly partitions `crashes_wYYYYMMDD`
//   (Monday 00:00 UTC to the next Monday). A partition is created the first time a crash of its
//   week is upserted. Text is COLLATE "C": byte order, like SQLite. Partition indexes:
//   (date, signature), (signature, date), (product, date, version, signature); none on uuid,
//   which is looked up in crash_keys for its date first, also by a search filtering uuid.
// - `crash_keys(uuid PRIMARY KEY, date)`: a partitioned table cannot hold a unique uuid, so this
//   one does; it also says which partition a crash's row is in.
// - rollups `topcrash_daily` (by version) and `topcrash_signature_daily` (every version), both
//   keyed by signature ids from `signature_ids`, and `signature_first_seen`, kept in step inside
//   every write transaction with
//   INSERT ... ON CONFLICT DO UPDATE deltas (reprocessing subtracts the old row's contribution
//   and adds the new one's).
//
// Writes: upsert_batch is one transaction of a few array-bound statements (unnest), whatever the
// batch size. Writers are serialized by a transaction-scoped advisory lock, so several processes
// may write to one index. Retention (drop_older_than) drops the partitions wholly before the
// cutoff (after subtracting their rollup contributions) and deletes, in chunks, the older rows of
// the partition the cutoff falls in; nothing younger is touched.
//
// Search: the same filters as SQLite, in SQL; every value is a bound parameter (text format,
// arrays as PostgreSQL array literals), identifiers come only from the catalogue. `@` (RE2
// syntax, whole value) runs RE2 itself, on the distinct values of the field among the crashes
// the other filters select, and the query then matches those values: PostgreSQL's own regular
// expressions differ from RE2 (`\b`, `.` and newlines, `(?i)` placement, repetition bounds), so
// letting the server interpret the pattern would give different answers. A regex filter over
// more than 1,000,000 distinct values is refused (QueryError naming the field).
// `~`, `^` and `$` on signature first take the matching signatures from signature_first_seen
// (every signature ever indexed, in the same snapshot); up to 2,000 of them, the crashes are found
// through the (signature, date) index. The first facet's scan also counts the total.
//
// Top Crashers without a version (the default view, any process type or platform) is summed in
// memory from each product × day's rows of `topcrash_signature_daily`, held per index object with
// the day's version from `topcrash_day_versions` (index/topcrash_day_cache.h: at most 2,000,000
// rows, ~48 MB); only the days whose version in the query's snapshot is not the one held are
// read again, so answers are exact whatever process wrote. Views of given versions are summed in
// SQL from `topcrash_daily`.
//
// Connections: a pool of up to `readers` + 1 connections, opened on demand, each with its own
// prepared statements (PQprepare; search shapes are cached too, 256 per connection). Any number
// of threads may call any method at once.
//
// Failures: a connection that breaks (server restart, network) is discarded with every idle one
// (they share its fate), and the operation is retried once on a new connection; when that fails
// too, IndexUnavailable. Writes are idempotent (upsert by crash id, rollups recomputed from the
// rows present), so retrying a batch whose commit was in doubt is safe: after the server comes
// back, every crash is indexed exactly once. Searches running longer than 30 s are cancelled
// (IndexUnavailable).
#pragma once

#include <memory>

#include "index/crash_index.h"

namespace bw::index {

class PostgresCrashIndex final : public CrashIndex {
 public:
  // Connects, creates or migrates the schema. settings.url must be a postgresql:// (or
  // postgres://) URL libpq understands; settings.fields may be null (built-ins). Throws
  // IndexUnavailable when the server cannot be reached or the schema cannot be brought up to date.
  explicit PostgresCrashIndex(const IndexSettings& settings);
  ~PostgresCrashIndex() override;

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

  // The schema version in the database (the highest embedded migration once opened).
  int schema_version();
  // The weekly partitions of `crashes`, as the first day (days since the epoch, a Monday) of each,
  // ascending. For operators and tests.
  std::vector<int64_t> partitions();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The week partition a date falls in: the first day (days since the epoch, UTC) of its Monday-
// based week.
int64_t postgres_partition_start_day(int64_t date_us);

}  // namespace bw::index
