// The crash index (docs/design.md §11): one row per processed crash with the fields people filter
// and group on, Super Search over it, and Top Crashers from rollups. Two implementations behind
// this one contract: SQLite, embedded in the data folder (sqlite_crash_index.h, the default), and
// PostgreSQL (postgres_crash_index.h, selected by a `postgresql://` index.url). Both pass the same
// behavioural suite (crash_index_contract.h) and give the same answers for the same data.
//
// What is indexed: the fields of the Super Search catalogue (fields.h), read from the processed
// crash, falling back to raw-crash annotations where the catalogue says so. Nothing else of the
// crash is kept: the full processed crash stays in crash storage.
//
// Promises, every implementation:
// - upsert is idempotent by crash id. Upserting a crash again (reprocessing) replaces its row and
//   moves its Top Crashers contribution from its old (day, product, version, platform,
//   process_type, signature) to its new one: nothing is ever counted twice. `remove` takes the
//   contribution away. `upsert_batch` applies a whole batch in one transaction, all or nothing.
// - search takes the decoded query-string pairs of /api/SuperSearch/ (keys may repeat) and the
//   caller's permissions, validates them against the catalogue (super_search_query.h) and
//   answers in crash-stats' shape:
//     {"hits": [{<column>: <value>, ...}, ...], "total": N, "facets": {...}, "errors": []}
//   Fields the caller may not see are never returned, filterable or aggregated on.
// - Every value a caller gives reaches the database as a bound parameter; SQL identifiers only
//   ever come from the catalogue.
// - top_crashers is served from rollups kept current by upsert/remove/drop_older_than, so it
//   costs the same at ten million crashes as at ten thousand.
// - drop_older_than deletes exactly the crashes whose `date` (date_processed) is before the
//   cutoff, and their rollup contributions; nothing younger is touched.
//
// Ownership: a CrashIndex owns its connections; the caller owns the CrashIndex (unique_ptr).
// JSON passed in is only read during the call.
//
// Thread safety: every method may be called from any number of threads at once. Writes
// (upsert, remove, drop_older_than) are serialized inside; reads run in parallel with each other
// and with writes (SQLite: WAL and a pool of reader connections; PostgreSQL: a connection pool).
//
// Errors:
// - QueryError: the caller's mistake in a search or top-crashers request (unknown field, bad
//   value, bad date, too many values...). `parameter()` names the offending parameter and
//   what() says why, in words fit for an HTTP 400 body. Never thrown for backend trouble.
// - InvalidCrash: upsert got a processed crash it cannot index (no valid `uuid`, no parseable
//   `date_processed`). Nothing of the batch is written.
// - IndexUnavailable: the backend is down, locked past its timeout or failed (disk full, lost
//   connection). Transient: retry later (HTTP 503). Nothing partial is left behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw {
class Config;
}

namespace bw::index {

class FieldCatalogue;      // fields.h
struct SuperSearchQuery;   // super_search_query.h

// A caller mistake in a query; HTTP 400. parameter(): the query parameter at fault, e.g.
// "signature", "_results_number", "_aggs.product".
class QueryError : public std::invalid_argument {
 public:
  QueryError(std::string parameter, const std::string& message)
      : std::invalid_argument(message), parameter_(std::move(parameter)) {}
  const std::string& parameter() const { return parameter_; }

 private:
  std::string parameter_;
};

// The backend cannot be reached or failed; HTTP 503, retry later.
class IndexUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A processed crash that cannot be indexed (no valid uuid, no parseable date_processed).
class InvalidCrash : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Permissions the caller holds, e.g. {"view_pii"}. Empty = anonymous (public fields only).
using Permissions = std::set<std::string, std::less<>>;
// Decoded query-string pairs in the order given; a key may repeat.
using QueryPairs = std::vector<std::pair<std::string, std::string>>;

// One crash to index. `raw` may be null (or an empty object) when the raw crash is not at hand;
// the raw-annotation fallbacks of the catalogue are then simply not used.
struct CrashInput {
  const nlohmann::json& processed;
  const nlohmann::json& raw;
};

// Top Crashers request (crash-stats /topcrashers/).
struct TopCrashersQuery {
  std::string product;                 // required
  std::vector<std::string> versions;   // empty: every version; several: any of them
  std::string process_type;            // empty: any
  std::string platform;                // empty: any (a platform is the processed `os_name`)
  int days = 7;                        // one of 1, 3, 7, 14, 28
  int limit = 50;                      // signatures returned, 1..10000
  // The period is the `days` whole UTC days ending with the day of `end` (inclusive); the
  // previous period is the `days` days before it. Default: now.
  std::optional<std::chrono::system_clock::time_point> end;

  // Throws QueryError naming the field ("product", "days", "limit", "version").
  void validate() const;
};

struct TopCrasher {
  int rank = 0;                        // 1 = most crashes; ties broken by signature, ascending
  std::string signature;
  int64_t count = 0;                   // crashes in the period
  double percentage = 0;               // count / total of the period × 100
  std::map<std::string, int64_t> platforms;  // count per platform ("" = unknown)
  std::optional<int> previous_rank;    // rank in the previous period; nullopt: absent then (new)
  std::optional<int> rank_change;      // previous_rank − rank (positive: climbed)
  double previous_percentage = 0;      // 0 when absent in the previous period
  double percentage_change = 0;        // percentage − previous_percentage
  std::string first_seen;              // "YYYY-MM-DD": first day any crash had this signature
};

struct TopCrashersResult {
  std::string start_date;              // "YYYY-MM-DD", first day of the period
  std::string end_date;                // "YYYY-MM-DD", last day of the period (inclusive)
  int days = 0;
  int64_t total = 0;                   // crashes matching product/version/... in the period
  int64_t previous_total = 0;          // the same in the previous period
  std::vector<TopCrasher> crashers;    // at most `limit`, by rank

  // {"start_date","end_date","days","total","previous_total","crashers":[{...}]}: keys as the
  // member names above; absent previous_rank/rank_change are null.
  nlohmann::json to_json() const;
};

// A module whose symbols crashes needed and did not find (the processed crash's json_dump.modules[]
// with missing_symbols true), for /api/MissingSymbols/ and healing (docs/symbols.md).
struct MissingSymbol {
  std::string debug_file;
  std::string debug_id;   // upper-case
  std::string code_file;  // the module's file name ("" when the crashes did not say)
  std::string code_id;    // "" when unknown
  int64_t crashes = 0;    // crashes of the period whose last processing missed it
  std::string last_seen;  // date (index format) of the newest of them
};

struct MissingSymbolsQuery {
  int days = 7;     // the period: the `days` × 24 h before `end`, 1..365
  int limit = 500;  // modules returned (most crashes first), 1..10000
  std::optional<std::chrono::system_clock::time_point> end;  // default: now
  // Throws QueryError naming the field ("days", "limit").
  void validate() const;
};

// Where an index lives, read from the configuration ([index] section, server.data).
struct IndexSettings {
  std::string url;                         // index.url: "" (SQLite) or "postgresql://..."
  std::filesystem::path sqlite_path;       // index.sqlite_path, default <data>/index/crashes.sqlite
  int readers = 4;                         // index.readers: parallel read connections
  // index.sqlite_cache_size: the SQLite writer's page cache; each reader gets half. A bound on the
  // memory the index keeps (it fills as the index grows), at least 1 MiB.
  uint64_t sqlite_cache_bytes = uint64_t{64} << 20;
  std::shared_ptr<const FieldCatalogue> fields;  // built-ins + index.annotations

  // Throws ConfigError naming the key for a bad annotation declaration or reader count.
  static IndexSettings from_config(const Config& config);
};

// One row of CrashIndex::product_version_days.
struct ProductVersionDay {
  std::string product;
  std::string version;
  int64_t day = 0;    // days since 1970-01-01 (UTC)
  int64_t count = 0;
};

class CrashIndex {
 public:
  virtual ~CrashIndex() = default;
  CrashIndex() = default;
  CrashIndex(const CrashIndex&) = delete;
  CrashIndex& operator=(const CrashIndex&) = delete;

  // The Super Search field catalogue this index was opened with (/api/SuperSearchFields/).
  virtual const FieldCatalogue& fields() const = 0;

  // Indexes one crash (insert, or replace on reprocessing). Throws InvalidCrash, IndexUnavailable.
  void upsert(const nlohmann::json& processed, const nlohmann::json& raw);
  // Indexes many crashes in one transaction (the fast path: thousands per second). A crash id
  // present twice in the batch ends as its last version. Throws as upsert; on any throw nothing
  // of the batch is written.
  virtual void upsert_batch(std::span<const CrashInput> crashes) = 0;

  // The indexed fields of one crash the caller may see, as a hit with every column:
  // {"uuid": ..., "date": ..., "signature": ..., ...}; absent values are left out. nullopt when
  // the crash is not indexed. `crash_id` is validated (QueryError "uuid" when malformed).
  virtual std::optional<nlohmann::json> get(std::string_view crash_id, const Permissions& permissions) = 0;

  // Removes one crash and its rollup contribution. False when it was not indexed.
  virtual bool remove(std::string_view crash_id) = 0;

  // Super Search (see super_search_query.h for the grammar). `now` anchors the default date range
  // (the 7 days before it) and the 365-day limit. Throws QueryError, IndexUnavailable.
  nlohmann::json search(const QueryPairs& pairs, const Permissions& permissions,
                        std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  // Runs an already-parsed, validated query (what search does after parsing).
  virtual nlohmann::json execute(const SuperSearchQuery& query) = 0;

  // Top Crashers from the rollups. Throws QueryError (validate()), IndexUnavailable.
  virtual TopCrashersResult top_crashers(const TopCrashersQuery& query) = 0;

  // Retention: removes every crash whose date is before `cutoff`, and its rollup contribution.
  // Returns how many crashes were removed. Signature first-seen dates are kept (history).
  virtual uint64_t drop_older_than(std::chrono::system_clock::time_point cutoff) = 0;

  // Crashes indexed.
  virtual uint64_t count() = 0;

  // Crashes per product, version and UTC day (days since the Unix epoch) on `first_day` and
  // after, from a rollup kept by every write (upsert, reprocessing, remove, retention): the home
  // page's charts without reading the crashes. A crash without a product or version counts under
  // "" for it. Rows with a positive count, ordered by product, version, day. Throws
  // IndexUnavailable.
  virtual std::vector<ProductVersionDay> product_version_days(int64_t first_day) = 0;

  // Bytes the index takes where it is kept, for /status/ and bw_storage_bytes{area="index"}:
  // SQLite the allocated size of its file, write-ahead log and shared-memory file; PostgreSQL
  // the size of the index's tables (every partition, their indexes and TOAST), not of the whole
  // database. A reading, not a snapshot. Throws IndexUnavailable.
  virtual uint64_t stored_bytes() = 0;

  // Modules crashes of the period missed symbols for, most crashes first (ties: debug file, id).
  // Kept current by upsert (a reprocessed crash that found its symbols no longer counts), remove
  // and drop_older_than. Throws QueryError (validate()), IndexUnavailable.
  virtual std::vector<MissingSymbol> missing_symbols(const MissingSymbolsQuery& query) = 0;
  // Ids of the indexed crashes whose last processing missed this module's symbols, newest first,
  // at most `limit` (debug id compared without case): what healing reprocesses when the module's
  // symbols arrive. Throws IndexUnavailable.
  virtual std::vector<std::string> crashes_missing_symbols(std::string_view debug_file, std::string_view debug_id,
                                                           size_t limit) = 0;
};

// Opens the index the settings select: SQLite when url is empty (creating the file and its
// folder), PostgreSQL for "postgresql://" or "postgres://" URLs. Throws std::invalid_argument
// for any other URL scheme, IndexUnavailable when the backend cannot be opened.
std::unique_ptr<CrashIndex> open_crash_index(const IndexSettings& settings);
std::unique_ptr<CrashIndex> open_crash_index(const Config& config);

}  // namespace bw::index
