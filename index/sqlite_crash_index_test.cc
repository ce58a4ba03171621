// The embedded index: the shared behavioural suite plus what only SQLite shows (schema version,
// migrations, the file layout, query plans using the indexes).
#include "index/sqlite_crash_index.h"

#include <sqlite3.h>

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

// Lists whose elements look like the list column's own encoding, or are empty, long or not ASCII.
std::vector<test_data::TestCrash> crashes_with_awkward_lists() {
  test_data::GeneratorOptions options;
  options.seed = 7;
  options.days = 3;
  test_data::CrashGenerator gen(options);
  std::vector<test_data::TestCrash> crashes = gen.make(12);
  const std::vector<json> lists = {
      json::array({"a:b", "3:abc", "", "a:b", std::string(300, 'x')}),
      json::array({"\xC3\xA9t\xC3\xA9", "12:", "0:", ":"}),
      json::array(),
      json::array({"x\x1fy", "a:b"})};
  for (size_t i = 0; i < lists.size(); ++i) {
    crashes[i].processed["modules_in_stack"] = lists[i];
    crashes[i].processed["topmost_filenames"] = lists[lists.size() - 1 - i];
  }
  crashes[5].processed.erase("modules_in_stack");
  return crashes;
}

// The facets of list fields counted alone (json_each over the document) and with another facet
// (the shared scan, which reads the list columns) must agree.
void expect_list_facets_agree(CrashIndex& index) {
  for (const char* field : {"modules_in_stack", "topmost_filenames", "processor_notes", "missing_symbols"}) {
    SCOPED_TRACE(field);
    std::string f = field;
    json alone = index.search({{"_facets", f}, {"_facets_size", "100"}}, Permissions{});
    json shared = index.search({{"_facets", f + ",product"}, {"_facets_size", "100"}}, Permissions{});
    ASSERT_TRUE(alone["facets"][f].is_array());
    EXPECT_EQ(shared["facets"][f], alone["facets"][f]);
    EXPECT_EQ(shared["total"], alone["total"]);
    json card_alone = index.search({{"_facets", "_cardinality." + f}}, Permissions{});
    json card_shared = index.search({{"_facets", "_cardinality." + f + ",product"}}, Permissions{});
    EXPECT_EQ(card_shared["facets"]["cardinality_" + f], card_alone["facets"]["cardinality_" + f]);
  }
  json modules = index.search({{"_facets", "modules_in_stack,product"}, {"_facets_size", "100"}}, Permissions{});
  auto count_of = [&](const std::string& term) {
    for (const auto& b : modules["facets"]["modules_in_stack"]) {
      if (b["term"] == term) return b["count"].get<int64_t>();
    }
    return int64_t{0};
  };
  EXPECT_EQ(count_of("a:b"), 3);
  EXPECT_EQ(count_of("3:abc"), 1);
  EXPECT_EQ(count_of(""), 1);
  EXPECT_EQ(count_of(std::string(300, 'x')), 1);
  EXPECT_EQ(count_of("\xC3\xA9t\xC3\xA9"), 1);
  EXPECT_EQ(count_of("x\x1fy"), 1);
}

std::vector<std::string> column_texts(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* p = sqlite3_column_text(st, 0);
    out.push_back(p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st, 0)))
                    : "<null>");
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// A list facet asked with others is counted in the shared scan from the list columns; alone it is
// counted by json_each over the document. Both give the same buckets.
TEST(SqliteCrashIndex, ListFacetsInTheSharedScanCountAsJsonEach) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  SqliteCrashIndex index(s);
  for (const auto& c : crashes_with_awkward_lists()) index.upsert(c.processed, c.raw);
  expect_list_facets_agree(index);
  auto cells = column_texts(s.sqlite_path, "SELECT list_modules_in_stack FROM crashes ORDER BY rid LIMIT 6");
  ASSERT_EQ(cells.size(), 6u);
  EXPECT_EQ(cells[0], "3:a:b5:3:abc0:3:a:b300:" + std::string(300, 'x'));
  EXPECT_EQ(cells[2], "");
  EXPECT_EQ(cells[5], "<null>");
}

// Migration 0006 fills the list columns of crashes indexed before it as upsert writes them.
TEST(SqliteCrashIndex, ListColumnsMigrationFillsExistingCrashes) {
  TempDir dir;
  IndexSettings s;
  s.sqlite_path = dir.path() / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  const std::string all = "SELECT coalesce(list_missing_symbols, '<null>') || '|' || coalesce(list_modules_in_stack, '<null>') || '|' || "
                          "coalesce(list_topmost_filenames, '<null>') || '|' || coalesce(list_processor_notes, '<null>') "
                          "FROM crashes ORDER BY rid";
  std::vector<std::string> written;
  {
    SqliteCrashIndex index(s);
    for (const auto& c : crashes_with_awkward_lists()) index.upsert(c.processed, c.raw);
    written = column_texts(s.sqlite_path, all);
  }
  // Back to the schema before 0006: columns gone, version 5.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.sqlite_path.c_str(), &db), SQLITE_OK);
  for (const char* col : {"list_missing_symbols", "list_modules_in_stack", "list_topmost_filenames", "list_processor_notes"}) {
    ASSERT_EQ(sqlite3_exec(db, ("ALTER TABLE crashes DROP COLUMN " + std::string(col)).c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM schema_version WHERE version >= 6", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  SqliteCrashIndex reopened(s);
  EXPECT_EQ(reopened.schema_version(), sqlite_migrations().back().version);
  auto filled = column_texts(s.sqlite_path, all);
  ASSERT_EQ(filled.size(), 12u);
  EXPECT_EQ(filled, written);
  expect_list_facets_agree(reopened);
}

}  // namespace
}  // namespace bw::index
