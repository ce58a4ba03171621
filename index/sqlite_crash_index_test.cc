// The embedded index: the shared behavioural suite plus what only SQLite shows (schema version,
// migrations, the file layout, query plans using the indexes).
#include "index/sqlite_crash_index.h"

#include <sqlite3.h>

#include <map>
#include <tuple>

#include "core/config.h"
#include "core/temp_dir.h"
#include "index/crash_index_contract.h"
#include "index/migrations.h"
#include "index/super_search_query.h"
#include "index/test_crashes.h"

namespace bw::index {
namespace {

using bw::test_support::TempDir;
using json = nlohmann::json;

class SqliteBackend : public contract::IndexBackend {
 public:
  std::unique_ptr<CrashIndex> open(std::shared_ptr<const FieldCatalogue> fields) override {
    IndexSettings s;
    s.sqlite_path = dir_.path() / "index" / "crashes.sqlite";
    s.readers = 3;
    s.fields = std::move(fields);
    return std::make_unique<SqliteCrashIndex>(s);
  }

 private:
  TempDir dir_;
};

std::unique_ptr<contract::IndexBackend> make_sqlite_backend() { return std::make_unique<SqliteBackend>(); }

using contract::CrashIndexContract;
using contract::CrashIndexDataContract;
BW_INSTANTIATE_CRASH_INDEX_CONTRACT(Sqlite, make_sqlite_backend);

TEST(SqliteCrashIndex, SchemaIsVersionedAndMigrationsEmbedded) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "x" / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  ASSERT_FALSE(sqlite_migrations().empty());
  int latest = sqlite_migrations().back().version;
  {
    SqliteCrashIndex index(s);
    EXPECT_EQ(index.schema_version(), latest);
  }
  {
    SqliteCrashIndex again(s);  // reopening applies nothing twice
    EXPECT_EQ(again.schema_version(), latest);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.sqlite_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM schema_version", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), static_cast<int>(sqlite_migrations().size()));
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// The list fields as they were kept before migration 7: in the JSON document, without columns.
void undo_list_columns(sqlite3* db) {
  for (const char* l : {"missing_symbols", "modules_in_stack", "topmost_filenames", "processor_notes"}) {
    const std::string name = l;
    for (const std::string& sql : {"UPDATE crashes SET doc = json_set(doc, '$.\"" + name + "\"', json(" + name +
                                       ")) WHERE " + name + " IS NOT NULL",
                                   "ALTER TABLE crashes DROP COLUMN " + name}) {
      char* error = nullptr;
      EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << sql << ": " << (error ? error : "");
      sqlite3_free(error);
    }
  }
  EXPECT_EQ(sqlite3_exec(db, "DELETE FROM schema_version WHERE version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
}

// Migration 6 fills the (product, version, day) rollup of an index that already holds crashes
// from topcrash_daily: the index as it was before it (table and version row gone) migrates to
// the same rows the writes keep.
TEST(SqliteCrashIndex, ProductVersionRollupIsFilledForCrashesIndexedBeforeIt) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  std::vector<ProductVersionDay> kept;
  {
    SqliteCrashIndex index(s);
    test_data::GeneratorOptions o;
    o.days = 20;
    auto crashes = test_data::CrashGenerator(o).make(500);
    std::vector<CrashInput> in;
    for (const auto& c : crashes) in.push_back(CrashInput{c.processed, c.raw});
    index.upsert_batch(in);
    kept = index.product_version_days(0);
    ASSERT_GT(kept.size(), 10u);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.sqlite_path.c_str(), &db), SQLITE_OK);
  undo_list_columns(db);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE product_version_daily; DELETE FROM schema_version WHERE version = 6",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteCrashIndex migrated(s);
  auto rows = migrated.product_version_days(0);
  ASSERT_EQ(rows.size(), kept.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(std::tie(rows[i].product, rows[i].version, rows[i].day, rows[i].count),
              std::tie(kept[i].product, kept[i].version, kept[i].day, kept[i].count));
  }
}

// Migration 7 moves the list fields of crashes indexed before it out of the JSON document into
// their own columns: rebuilt as it was (lists in `doc`, no columns, version row gone), the index
// migrates to documents without the lists and to the same hits, filters and facets as before.
TEST(SqliteCrashIndex, ListFieldsMoveFromTheDocumentToTheirColumns) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  const Permissions all{"view_pii"};
  const std::vector<std::string> lists = {"missing_symbols", "modules_in_stack", "topmost_filenames", "processor_notes"};
  const QueryPairs query = {{"modules_in_stack", "~libxul"},
                            {"_columns", "uuid,modules_in_stack,processor_notes,topmost_filenames,missing_symbols"},
                            {"_facets", "modules_in_stack,topmost_filenames,product"},
                            {"_facets", "_cardinality.processor_notes"},
                            {"_results_number", "1000"}};
  const auto now = std::chrono::system_clock::now();
  json before_search;
  std::vector<json> before_hits;
  std::vector<std::string> ids;
  {
    SqliteCrashIndex index(s);
    test_data::GeneratorOptions o;
    o.days = 10;
    auto crashes = test_data::CrashGenerator(o).make(300);
    std::vector<CrashInput> in;
    for (const auto& c : crashes) {
      in.push_back(CrashInput{c.processed, c.raw});
      ids.push_back(c.processed.at("uuid").get<std::string>());
    }
    index.upsert_batch(in);
    for (const auto& id : ids) before_hits.push_back(*index.get(id, all));
    before_search = index.search(query, all, now);
    ASSERT_GT(before_search["total"].get<int64_t>(), 0);
    ASSERT_FALSE(before_search["facets"]["modules_in_stack"].empty());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.sqlite_path.c_str(), &db), SQLITE_OK);
  auto count = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  };
  for (const auto& l : lists) {
    EXPECT_EQ(count("SELECT COUNT(*) FROM crashes WHERE json_type(doc, '$.\"" + l + "\"') IS NOT NULL"), 0) << l;
  }
  undo_list_columns(db);
  EXPECT_GT(count("SELECT COUNT(*) FROM crashes WHERE json_type(doc, '$.\"modules_in_stack\"') = 'array'"), 0);
  {
    SqliteCrashIndex migrated(s);
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(*migrated.get(ids[i], all), before_hits[i]) << ids[i];
    EXPECT_EQ(migrated.search(query, all, now), before_search);
  }
  for (const auto& l : lists) {
    EXPECT_EQ(count("SELECT COUNT(*) FROM crashes WHERE json_type(doc, '$.\"" + l + "\"') IS NOT NULL"), 0) << l;
  }
  EXPECT_GT(count("SELECT COUNT(*) FROM crashes WHERE json_type(modules_in_stack) = 'array'"), 0);
  sqlite3_close(db);
}

// A search bounded by dates on both sides counts the two halves of its range on two reader
// connections at once when one is idle. Crashes at the range's ends and on either side of its
// middle are each counted once, and the answer is the one an index with a single reader (which
// counts the halves one after the other on it) gives for the same file.
TEST(SqliteCrashIndex, RangeHalvesCountedOnTwoReadersGiveTheOneReaderAnswer) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  const int64_t to = 1'795'000'000'000'000 + 12'345;  // 2026-11-18, not on a day boundary
  const int64_t from = to - 3 * kMicrosPerDay;
  const int64_t middle = from + (to - from) / 2;
  test_data::GeneratorOptions o;
  o.end = std::chrono::system_clock::time_point(std::chrono::microseconds(to));
  o.days = 3;
  auto crashes = test_data::CrashGenerator(o).make(300);
  const int64_t edges[] = {from - 1, from, middle - 1, middle, middle + 1, to, to + 1};
  for (size_t i = 0; i < std::size(edges); ++i) crashes[i].processed["date_processed"] = format_date_us(edges[i]);
  std::map<std::string, int64_t> products;  // in [from, to], counted here
  int64_t in_range = 0;
  std::vector<CrashInput> in;
  for (const auto& c : crashes) {
    in.push_back(CrashInput{c.processed, c.raw});
    int64_t at = parse_date_us(c.processed["date_processed"].get<std::string>()).value();
    if (at >= from && at <= to) {
      ++in_range;
      ++products[c.processed["product"].get<std::string>()];
    }
  }
  const QueryPairs pairs = {{"date", ">=" + format_date_us(from)},
                            {"date", "<=" + format_date_us(to)},
                            {"_facets", "product,platform,modules_in_stack"},
                            {"_histogram.date", "version"},
                            {"_histogram_interval.date", "day"},
                            {"_results_number", "0"}};
  const auto now = o.end + std::chrono::hours(1);
  json split;
  {
    s.readers = 3;
    SqliteCrashIndex index(s);
    index.upsert_batch(in);
    split = index.search(pairs, Permissions{}, now);
  }
  EXPECT_EQ(split["total"], in_range);
  std::map<std::string, int64_t> counted;
  for (const auto& b : split["facets"]["product"]) counted[b["term"].get<std::string>()] = b["count"].get<int64_t>();
  EXPECT_EQ(counted, products);
  s.readers = 1;
  SqliteCrashIndex single(s);
  EXPECT_EQ(single.search(pairs, Permissions{}, now), split);
}

// Top Crashers reads its two periods on two readers at once when a second is idle: the answer is
// the one a one-reader index gives, and its totals are the crashes of each period counted here.
TEST(SqliteCrashIndex, TopCrashersPeriodsReadOnTwoReadersGiveTheOneReaderAnswer) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  test_data::GeneratorOptions o;
  o.end = std::chrono::system_clock::time_point(std::chrono::microseconds(1'795'000'000'000'000 + 12'345));
  o.days = 15;
  auto crashes = test_data::CrashGenerator(o).make(600);
  const std::string product = crashes[0].processed["product"].get<std::string>();
  const std::string version = crashes[0].processed["version"].get<std::string>();
  const std::string process_type = crashes[0].processed["process_type"].get<std::string>();
  const int64_t end_day = 1'795'000'000'000'000 / kMicrosPerDay;
  int64_t current = 0, previous = 0;  // the product's crashes in each 7-day period
  std::vector<CrashInput> in;
  for (const auto& c : crashes) {
    in.push_back(CrashInput{c.processed, c.raw});
    int64_t day = parse_date_us(c.processed["date_processed"].get<std::string>()).value() / kMicrosPerDay;
    if (c.processed["product"] != product) continue;
    if (day > end_day - 7 && day <= end_day) ++current;
    if (day > end_day - 14 && day <= end_day - 7) ++previous;
  }
  ASSERT_GT(current, 0);
  ASSERT_GT(previous, 0);
  std::vector<TopCrashersQuery> queries(3);
  for (auto& q : queries) {
    q.product = product;
    q.end = o.end;
  }
  queries[1].versions = {version};       // the wide rollup, by version
  queries[2].process_type = process_type;  // the wide rollup, by process type
  std::vector<json> split;
  {
    s.readers = 3;
    SqliteCrashIndex index(s);
    index.upsert_batch(in);
    for (const auto& q : queries) split.push_back(index.top_crashers(q).to_json());
  }
  EXPECT_EQ(split[0]["total"], current);
  EXPECT_EQ(split[0]["previous_total"], previous);
  s.readers = 1;
  SqliteCrashIndex single(s);
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_FALSE(split[i]["crashers"].empty()) << i;
    EXPECT_EQ(single.top_crashers(queries[i]).to_json(), split[i]) << i;
  }
}

TEST(SqliteCrashIndex, FactoryAndConfig) {
  TempDir dir;
  Config::Sources sources;
  sources.overrides = {{"server.data", dir.path().string()}, {"index.annotations", "Flavor:enum:public"}};
  auto index = open_crash_index(Config::load(sources));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "index" / "crashes.sqlite"));
  EXPECT_NE(index->fields().find("Flavor"), nullptr);
  // A postgresql:// URL never opens SQLite (it opens PostgreSQL or fails: nothing listens here).
  sources.overrides = {{"server.data", dir.path().string()}, {"index.url", "postgresql://127.0.0.1:1/x"}};
  try {
    auto pg = open_crash_index(Config::load(sources));
    EXPECT_EQ(dynamic_cast<SqliteCrashIndex*>(pg.get()), nullptr);
  } catch (const IndexUnavailable&) {
  }
  sources.overrides = {{"server.data", dir.path().string()}, {"index.url", "mysql://localhost/x"}};
  EXPECT_THROW(open_crash_index(Config::load(sources)), std::invalid_argument);
}

// The benchmark queries use an index, never a full scan of `crashes`.
TEST(SqliteCrashIndex, QueryPlansUseIndexes) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  { SqliteCrashIndex create(s); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.sqlite_path.c_str(), &db), SQLITE_OK);
  auto plan = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + "\n";
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_NE(plan("SELECT COUNT(*) FROM crashes AS c WHERE c.date >= 1 AND c.date <= 2 AND c.signature = 'x'").find("crashes_by_signature"),
            std::string::npos);
  EXPECT_NE(plan("SELECT c.uuid FROM crashes AS c WHERE c.product = 'a' AND c.version = 'b' AND c.date >= 1 AND c.date <= 2 "
                 "ORDER BY c.date DESC, c.uuid ASC LIMIT 100")
                .find("crashes_by_product"),
            std::string::npos);
  EXPECT_NE(plan("SELECT c.signature FROM crashes AS c WHERE c.date >= 1 AND c.date <= 2 AND c.signature IS NOT NULL").find("COVERING INDEX crashes_by_date"),
            std::string::npos);
  EXPECT_NE(plan("SELECT * FROM crashes AS c WHERE c.uuid = 'x'").find("INDEX"), std::string::npos);
  EXPECT_NE(plan("SELECT signature, platform, count FROM topcrash_daily_all WHERE product = 'a' AND day >= 1 AND day <= 9")
                .find("PRIMARY KEY"),
            std::string::npos);
  sqlite3_close(db);
}

}  // namespace
}  // namespace bw::index
