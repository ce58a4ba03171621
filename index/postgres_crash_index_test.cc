// The PostgreSQL index against a real, private PostgreSQL server (tests/postgres): the shared
// behavioural suite, the same answers as the SQLite index for the same data, and what only
// PostgreSQL shows (weekly partitions and retention by partition, surviving a server restart in
// the middle of ingestion, bound parameters for every value).
#include "index/postgres_crash_index.h"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "core/temp_dir.h"
#include "index/crash_index_contract.h"
#include "index/fields.h"
#include "index/migrations.h"
#include "index/sqlite_crash_index.h"
#include "index/super_search_query.h"
#include "index/test_crashes.h"
#include "tests/postgres/shared_postgres_server.h"

namespace bw::index {
namespace {

using json = nlohmann::json;
using bw::testing::PostgresServer;
using test_data::CrashGenerator;
using test_data::GeneratorOptions;
using test_data::TestCrash;

// One server per run of the binary (initdb takes seconds); each test gets its own database.
PostgresServer* server() { return bw::testing::shared_postgres_server(); }

std::string fresh_database() { return bw::testing::fresh_postgres_database("idx"); }

IndexSettings settings_for(const std::string& url, std::shared_ptr<const FieldCatalogue> fields = nullptr) {
  IndexSettings s;
  s.url = url;
  s.readers = 3;
  s.fields = fields ? std::move(fields) : FieldCatalogue::builtin();
  return s;
}

class PostgresBackend : public contract::IndexBackend {
 public:
  PostgresBackend() : url_(fresh_database()) {}
  std::unique_ptr<CrashIndex> open(std::shared_ptr<const FieldCatalogue> fields) override {
    return std::make_unique<PostgresCrashIndex>(settings_for(url_, std::move(fields)));
  }

 private:
  std::string url_;
};

// As the RabbitMQ queue's contract run: without a server the shared suite fails (CI installs one).
std::unique_ptr<contract::IndexBackend> make_postgres_backend() {
  if (!server()) throw std::runtime_error("PostgreSQL 15 is not installed (scripts/install-deps.sh test)");
  return std::make_unique<PostgresBackend>();
}

using contract::CrashIndexContract;
using contract::CrashIndexDataContract;
BW_INSTANTIATE_CRASH_INDEX_CONTRACT(Postgres, make_postgres_backend);

// ----- helpers for the PostgreSQL-only tests -----

class PostgresIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    url_ = fresh_database();
  }
  std::unique_ptr<PostgresCrashIndex> open() { return std::make_unique<PostgresCrashIndex>(settings_for(url_)); }

  // A direct libpq session on the test's database, to look behind the index: `sql` run alone,
  // its result status checked against `expected`.
  std::unique_ptr<PGresult, decltype(&PQclear)> run(const std::string& sql, ExecStatusType expected) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url_.c_str()), &PQfinish);
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
    EXPECT_EQ(PQresultStatus(r.get()), expected) << sql << ": " << PQerrorMessage(conn.get());
    return r;
  }
  std::string scalar(const std::string& sql) {
    auto r = run(sql, PGRES_TUPLES_OK);
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) return "<no row>";
    return PQgetvalue(r.get(), 0, 0);
  }

  std::string url_;
};

std::vector<CrashInput> inputs(const std::vector<TestCrash>& crashes) {
  std::vector<CrashInput> out;
  for (const auto& c : crashes) out.push_back(CrashInput{c.processed, c.raw});
  return out;
}

// A crash with the given id and date and the fields given.
json crash(const std::string& uuid, const std::string& date, json fields = json::object()) {
  json p = {{"uuid", uuid}, {"date_processed", date}, {"product", "Firefox"}, {"version", "140.0"},
            {"os_name", "Linux"}, {"process_type", "parent"}, {"signature", "sig"}};
  for (auto& [k, v] : fields.items()) p[k] = v;
  return p;
}

// Crash ids whose date part is 2026-11-01, numbered.
std::string id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-00000%d261101", n, 0);
  return buf;
}

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1793534400)) + std::chrono::hours(1);

// ----- schema -----

TEST_F(PostgresIndexTest, SchemaIsVersionedMigratedOnceAndOpenableByManyAtOnce) {
  ASSERT_FALSE(postgres_migrations().empty());
  // Several processes (here threads, each with its own index) opening a fresh database at once.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        open();
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto index = open();
  EXPECT_EQ(index->schema_version(), postgres_migrations().back().version);
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_version"), std::to_string(postgres_migrations().size()));
  EXPECT_EQ(scalar("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'crashes'::regclass"), "r");
  // Every indexed catalogue column exists, with the type the backend binds.
  for (const auto& f : FieldCatalogue::builtin()->all()) {
    if (!f.indexed()) continue;
    EXPECT_EQ(scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'crashes'::regclass AND attname = '" +
                     f.column + "'"),
              "1")
        << f.column;
  }
}

TEST(PostgresCrashIndexUrl, UnreachableServerIsUnavailable) {
  IndexSettings s = settings_for("postgresql://breakwater:x@127.0.0.1:1/none?connect_timeout=2");
  EXPECT_THROW(PostgresCrashIndex index(s), IndexUnavailable);
  s.url = "mysql://x";
  EXPECT_THROW(PostgresCrashIndex index(s), IndexUnavailable);
  s.url = "mysql://x";
  EXPECT_THROW(open_crash_index(s), std::invalid_argument);
}

TEST_F(PostgresIndexTest, FactorySelectsPostgresForItsUrls) {
  IndexSettings s = settings_for(url_);
  auto index = open_crash_index(s);
  EXPECT_NE(dynamic_cast<PostgresCrashIndex*>(index.get()), nullptr);
  std::string alt = url_;
  alt.replace(0, std::string("postgresql").size(), "postgres");
  s.url = alt;
  index = open_crash_index(s);
  EXPECT_NE(dynamic_cast<PostgresCrashIndex*>(index.get()), nullptr);
}

// ----- partitions and retention -----

TEST_F(PostgresIndexTest, PartitionsAreWeeklyAndCreatedOnDemand) {
  auto index = open();
  EXPECT_TRUE(index->partitions().empty());
  // 2026-10-05 is a Monday; 2026-10-11 the Sunday of the same week.
  std::vector<json> crashes = {
      crash(id(1), "2026-10-05T00:00:00Z"), crash(id(2), "2026-10-11T23:59:59.999999Z"),
      crash(id(3), "2026-10-12T00:00:00Z"), crash(id(4), "2026-10-28T10:00:00Z"),
      crash(id(5), "1969-12-31T23:00:00Z"),
  };
  for (const auto& c : crashes) index->upsert(c, json::object());
  std::vector<int64_t> expected = {days_from_civil(1969, 12, 29), days_from_civil(2026, 10, 5),
                                   days_from_civil(2026, 10, 12), days_from_civil(2026, 10, 26)};
  EXPECT_EQ(index->partitions(), expected);
  EXPECT_EQ(scalar("SELECT count(*) FROM crashes_w20261005"), "2");
  EXPECT_EQ(scalar("SELECT count(*) FROM crashes_w20261012"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM crashes_w20261026"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM crashes_w19691229"), "1");
  EXPECT_EQ(postgres_partition_start_day(*parse_date_us("2026-10-11T23:59:59Z")), days_from_civil(2026, 10, 5));
  // A second index (another process) knows the partitions from the database.
  auto other = open();
  other->upsert(crash(id(6), "2026-10-06T00:00:00Z"), json::object());
  EXPECT_EQ(other->partitions(), expected);
  EXPECT_EQ(index->count(), 6u);
}

TEST_F(PostgresIndexTest, RetentionDropsWholeWeeksAndTrimsTheBoundaryWeekOnly) {
  auto index = open();
  // Four weeks of crashes, 10 per day.
  std::vector<json> crashes;
  int n = 0;
  for (int day = 0; day < 28; ++day) {
    for (int k = 0; k < 10; ++k) {
      char date[64];
      int64_t d = days_from_civil(2026, 10, 5) + day;
      std::snprintf(date, sizeof date, "%sT%02d:30:00Z", format_day(d).c_str(), k * 2);
      crashes.push_back(crash(id(++n), date, {{"signature", "sig" + std::to_string(k % 3)}}));
    }
  }
  std::vector<CrashInput> in;
  json empty = json::object();
  for (const auto& c : crashes) in.push_back(CrashInput{c, empty});
  index->upsert_batch(in);
  ASSERT_EQ(index->count(), 280u);
  ASSERT_EQ(index->partitions().size(), 4u);

  // The cutoff: Wednesday of the third week, 08:30:00 exactly (a crash is dated exactly then).
  auto cutoff_us = *parse_date_us("2026-10-21T08:30:00Z");
  auto cutoff = std::chrono::system_clock::time_point(std::chrono::microseconds(cutoff_us));
  uint64_t older = 0;
  for (const auto& c : crashes) older += *parse_date_us(c["date_processed"].get<std::string>()) < cutoff_us;
  ASSERT_EQ(older, 140u + 20u + 4u);
  EXPECT_EQ(index->drop_older_than(cutoff), older);
  EXPECT_EQ(index->count(), 280u - older);
  // The first two weeks are gone as tables; the boundary week and the last remain.
  std::vector<int64_t> left = {days_from_civil(2026, 10, 19), days_from_civil(2026, 10, 26)};
  EXPECT_EQ(index->partitions(), left);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_class WHERE relname IN ('crashes_w20261005', 'crashes_w20261012')"), "0");
  // Exactly the younger crashes are left, the one at the cutoff included.
  for (const auto& c : crashes) {
    bool young = *parse_date_us(c["date_processed"].get<std::string>()) >= cutoff_us;
    EXPECT_EQ(index->get(c["uuid"].get<std::string>(), {}).has_value(), young) << c.dump();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM crash_keys"), std::to_string(280 - older));
  // Rollups lost exactly the dropped crashes: day by day they equal the rows left.
  EXPECT_EQ(scalar("SELECT COALESCE(SUM(count), 0) FROM topcrash_daily"), std::to_string(280 - older));
  EXPECT_EQ(scalar("SELECT COALESCE(SUM(count), 0) FROM topcrash_signature_daily"), std::to_string(280 - older));
  EXPECT_EQ(scalar("SELECT count(*) FROM topcrash_daily WHERE count <= 0"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT day, SUM(count) AS n FROM topcrash_daily GROUP BY day) r "
                   "FULL JOIN (SELECT date / 86400000000 AS day, count(*) AS n FROM crashes GROUP BY 1) c "
                   "USING (day) WHERE r.n IS DISTINCT FROM c.n"),
            "0");
  // First-seen history is kept.
  EXPECT_EQ(scalar("SELECT first_day FROM signature_first_seen WHERE signature = 'sig0'"),
            std::to_string(days_from_civil(2026, 10, 5)));
  // Again with the same cutoff: nothing more.
  EXPECT_EQ(index->drop_older_than(cutoff), 0u);
  // A late crash for a dropped week creates its partition again.
  index->upsert(crash(id(9999), "2026-10-06T00:00:00Z"), json::object());
  EXPECT_EQ(index->count(), 280u - older + 1);
}

// ----- restarts -----

TEST_F(PostgresIndexTest, ServerRestartDuringIngestionLosesNothingAndCountsNothingTwice) {
  auto index = open();
  GeneratorOptions options;
  options.seed = 7;
  options.end = kNow;
  CrashGenerator generator(options);
  const int kBatches = 60, kBatchSize = 100;
  std::vector<std::vector<TestCrash>> batches;
  for (int b = 0; b < kBatches; ++b) batches.push_back(generator.make(kBatchSize));

  std::atomic<int> done{0};
  std::atomic<int> unavailable{0};
  std::thread writer([&] {
    for (auto& batch : batches) {
      auto in = inputs(batch);
      for (;;) {
        try {
          index->upsert_batch(in);
          break;
        } catch (const IndexUnavailable&) {
          ++unavailable;  // the caller's retry, as the processor does
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      ++done;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  while (done.load() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server()->stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server()->start();
  writer.join();
  EXPECT_GT(done.load(), 0);
  EXPECT_GT(unavailable.load(), 0) << "the restart was not noticed; the test proved nothing";

  const uint64_t total = kBatches * kBatchSize;
  EXPECT_EQ(index->count(), total);
  EXPECT_EQ(scalar("SELECT count(*) FROM crashes"), std::to_string(total));
  EXPECT_EQ(scalar("SELECT count(DISTINCT uuid) FROM crashes"), std::to_string(total));
  EXPECT_EQ(scalar("SELECT SUM(count) FROM topcrash_daily"), std::to_string(total));
  EXPECT_EQ(scalar("SELECT SUM(count) FROM topcrash_signature_daily"), std::to_string(total));
  for (const auto& batch : batches) {
    for (const auto& c : batch) {
      ASSERT_TRUE(index->get(c.processed["uuid"].get<std::string>(), {}).has_value());
    }
  }
  // Reads reconnect too: the pool's connections died with the server.
  json r = index->search({{"date", ">=2026-10-01"}, {"date", "<2026-11-02"}, {"_results_number", "0"}}, {}, kNow);
  EXPECT_EQ(r["total"], total);
}

TEST_F(PostgresIndexTest, ReadsRecoverAfterARestartWithoutReopening) {
  auto index = open();
  index->upsert(crash(id(1), "2026-11-01T10:00:00Z"), json::object());
  ASSERT_EQ(index->count(), 1u);
  server()->stop();
  EXPECT_THROW(index->count(), IndexUnavailable);
  server()->start();
  EXPECT_EQ(index->count(), 1u);  // the broken connections were dropped, a new one made
  server()->kill();               // no shutdown at all this time
  server()->start();
  EXPECT_EQ(index->count(), 1u);
  EXPECT_TRUE(index->get(id(1), {}).has_value());
}

// ----- values -----

TEST_F(PostgresIndexTest, SqlMetacharactersAreStoredAndFoundVerbatim) {
  auto index = open();
  const std::string nasty = "a'b\"c\\d%e_f;--g$1{h,i}j\tk(l)m[n]o*p?q|r.s^t😀";
  const std::string drop = "'); DROP TABLE crashes; --";
  json fields = {{"product", "P" + nasty}, {"version", nasty},      {"signature", drop + nasty},
                 {"reason", nasty},        {"address", "%_\\"},     {"os_name", nasty},
                 {"app_notes", nasty},     {"user_comments", drop}, {"url", "https://x/?a=1&b='2'"},
                 {"modules_in_stack", json::array({nasty, drop})}};
  index->upsert(crash(id(1), "2026-11-01T10:00:00Z", fields), json::object());
  // Decoys that an unescaped LIKE wildcard or an unanchored match would find.
  index->upsert(crash(id(2), "2026-11-01T10:00:00Z",
                      {{"product", "PaXb"}, {"version", "aXb"}, {"signature", "zzz"}, {"address", "XYZ\\"},
                       {"reason", "a'b\"c\\d%eXf"}}),
                json::object());
  Permissions pii = {std::string(kViewPii)};
  auto hit = index->get(id(1), pii);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ((*hit)["product"], "P" + nasty);
  EXPECT_EQ((*hit)["version"], nasty);
  EXPECT_EQ((*hit)["signature"], drop + nasty);
  EXPECT_EQ((*hit)["platform"], nasty);
  EXPECT_EQ((*hit)["address"], "%_\\");
  EXPECT_EQ((*hit)["app_notes"], nasty);
  EXPECT_EQ((*hit)["user_comments"], drop);
  EXPECT_EQ((*hit)["url"], "https://x/?a=1&b='2'");
  EXPECT_EQ((*hit)["modules_in_stack"], json::array({nasty, drop}));

  auto found = [&](QueryPairs pairs) {
    pairs.push_back({"date", ">=2026-10-30"});
    pairs.push_back({"date", "<2026-11-02"});
    pairs.push_back({"_columns", "uuid"});
    json r = index->search(pairs, pii, kNow);
    std::set<std::string> ids;
    for (const auto& h : r["hits"]) ids.insert(h["uuid"].get<std::string>());
    return ids;
  };
  const std::set<std::string> one = {id(1)};
  EXPECT_EQ(found({{"version", nasty}}), one);
  EXPECT_EQ(found({{"version", "=" + nasty}}), one);
  EXPECT_EQ(found({{"signature", "~" + drop}}), one);
  EXPECT_EQ(found({{"reason", "~d%e_f"}}), one);   // % and _ are literal
  EXPECT_EQ(found({{"reason", "^a'b\"c\\d%e_"}}), one);
  EXPECT_EQ(found({{"address", "$%_\\"}}), one);
  EXPECT_EQ(found({{"address", "^%"}}), one);
  EXPECT_EQ(found({{"address", "~_"}}), one);
  EXPECT_EQ(found({{"version", "@a'b\"c\\\\d%e_f;--g\\$1\\{h,i\\}j\\tk\\(l\\)m\\[n\\]o\\*p\\?q\\|r\\.s\\^t😀"}}), one);
  EXPECT_EQ(found({{"modules_in_stack", drop}}), one);
  EXPECT_EQ(found({{"modules_in_stack", "~%e_f"}}), one);
  EXPECT_EQ(found({{"user_comments", drop}}), one);
  EXPECT_EQ(found({{"product", "P" + nasty}, {"platform", nasty}}), one);
  EXPECT_EQ(found({{"version", "!" + nasty}}), std::set<std::string>{id(2)});
  // Facets give the values back verbatim.
  json r = index->search({{"date", ">=2026-10-30"}, {"date", "<2026-11-02"}, {"_facets", "version,modules_in_stack"}},
                         pii, kNow);
  std::set<std::string> terms;
  for (const auto& b : r["facets"]["version"]) terms.insert(b["term"].get<std::string>());
  EXPECT_EQ(terms, (std::set<std::string>{nasty, "aXb"}));
  std::set<std::string> modules;
  for (const auto& b : r["facets"]["modules_in_stack"]) modules.insert(b["term"].get<std::string>());
  EXPECT_EQ(modules, (std::set<std::string>{nasty, drop}));
  // Top crashers with such a product.
  TopCrashersQuery q;
  q.product = "P" + nasty;
  q.end = kNow;
  auto top = index->top_crashers(q);
  ASSERT_EQ(top.crashers.size(), 1u);
  EXPECT_EQ(top.crashers[0].signature, drop + nasty);
  EXPECT_EQ(scalar("SELECT count(*) FROM crashes"), "2");
}

TEST_F(PostgresIndexTest, NulAndInvalidUtf8BecomeReplacementCharacters) {
  // PostgreSQL text cannot hold NUL; a crash must not be refused (and its batch retried forever)
  // for one.
  auto index = open();
  json p = crash(id(1), "2026-11-01T10:00:00Z", {{"signature", std::string("a\0b", 3)}, {"app_notes", std::string("x\0", 2)}});
  std::vector<json> batch = {p, crash(id(2), "2026-11-01T10:00:00Z")};
  std::vector<CrashInput> in;
  json empty = json::object();
  for (const auto& c : batch) in.push_back(CrashInput{c, empty});
  index->upsert_batch(in);
  auto hit = index->get(id(1), {});
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ((*hit)["signature"], "a\xEF\xBF\xBD" "b");
  EXPECT_EQ((*hit)["app_notes"], "x\xEF\xBF\xBD");
  EXPECT_EQ(index->count(), 2u);
}

// ----- the same answers as SQLite -----

// PostgreSQL against an SQLite index given the same writes.
class SqliteParity : public PostgresIndexTest {
 protected:
  void SetUp() override {
    PostgresIndexTest::SetUp();
    if (IsSkipped()) return;
    IndexSettings ss = settings_for("");
    ss.sqlite_path = dir_.path() / "crashes.sqlite";
    sqlite_ = std::make_unique<SqliteCrashIndex>(ss);
  }
  // `n` generated crashes of the 20 days before kNow.
  static std::vector<TestCrash> generated(uint64_t seed, size_t n) {
    GeneratorOptions options;
    options.seed = seed;
    options.end = kNow - std::chrono::hours(1);
    options.days = 20;
    return CrashGenerator(options).make(n);
  }

  bw::test_support::TempDir dir_;
  std::unique_ptr<SqliteCrashIndex> sqlite_;
};

TEST_F(SqliteParity, SearchesFacetsAndTopCrashersAnswerAsSqlite) {
  SqliteCrashIndex& sqlite = *sqlite_;
  auto pg = open();
  auto crashes = generated(99, 600);
  // Odd values both must treat alike: newlines (RE2's `.` does not match them), word
  // boundaries (`\b` means backspace to PostgreSQL), case-insensitive groups.
  crashes[0].processed["signature"] = "multi\nline | frame";
  crashes[1].processed["signature"] = "Word Boundary | x";
  crashes[2].processed["signature"] = "WORDBOUNDARY | x";
  // Searches by uuid find the crash through its date (migration 9): two crashes at one instant.
  crashes[52].processed["date_processed"] = crashes[50].processed["date_processed"];
  auto in = inputs(crashes);
  sqlite.upsert_batch(in);
  pg->upsert_batch(in);
  // Reprocess some with other signatures, remove others.
  for (int i = 10; i < 30; ++i) {
    crashes[static_cast<size_t>(i)].processed["signature"] = "reprocessed " + std::to_string(i % 4);
    sqlite.upsert(crashes[static_cast<size_t>(i)].processed, crashes[static_cast<size_t>(i)].raw);
    pg->upsert(crashes[static_cast<size_t>(i)].processed, crashes[static_cast<size_t>(i)].raw);
  }
  for (int i = 30; i < 40; ++i) {
    std::string u = crashes[static_cast<size_t>(i)].processed["uuid"];
    EXPECT_TRUE(sqlite.remove(u));
    EXPECT_TRUE(pg->remove(u));
  }
  EXPECT_EQ(pg->count(), sqlite.count());

  const QueryPairs dates = {{"date", ">=2026-10-01"}, {"date", "<2026-11-02"}};
  std::vector<QueryPairs> queries = {
      {},
      {{"_facets", "signature,product,platform,process_type,success,modules_in_stack,build_id"}},
      {{"product", "Firefox"}, {"_sort", "-uptime"}, {"_columns", "uuid,uptime,signature,install_age"}},
      {{"_sort", "install_age"}, {"_columns", "uuid,install_age,url"}, {"_results_number", "50"}, {"_results_offset", "20"}},
      {{"signature", "@.*\\bBoundary.*"}},
      {{"signature", "@(?i)word.*"}},
      {{"signature", "@multi.line.*"}},
      {{"signature", "@multi(?s:.)line.*"}},
      {{"signature", "!@js::.*"}, {"_facets", "signature"}},
      {{"signature", "~frame1"}, {"signature", "$frame2"}},
      {{"signature", "^OOM"}},
      {{"reason", "__null__"}},
      {{"reason", "!__null__"}, {"_facets", "reason"}},
      {{"uptime", ">1000"}, {"uptime", "<=5000"}},
      {{"install_age", ">=86400"}, {"_histogram.date", "product"}},
      {{"_histogram.uptime", "platform"}, {"_histogram_interval.uptime", "600"}},
      {{"_histogram.date", "signature"}, {"_histogram_interval.date", "week"}},
      {{"_aggs.product.version", "platform"}, {"_facets_size", "3"}},
      {{"_aggs.signature", "_cardinality.uuid,process_type"}},
      {{"success", "__true__"}, {"_facets", "_cardinality.signature"}},
      {{"success", "false"}},
      {{"modules_in_stack", "~xul"}, {"_facets", "missing_symbols"}},
      {{"missing_symbols", "__null__"}},
      {{"process_type", "!content"}, {"platform", "Linux"}, {"platform", "Android"}},
      {{"date", ">=2026-10-20"}, {"date", "<2026-10-25T06:00:00"}, {"_sort", "date"}},
      {{"build_id", ">20260501000000"}, {"_sort", "-build_id"}, {"_columns", "uuid,build_id,cpu_count"}},
      {{"cpu_count", "4"}, {"cpu_count", "8"}},
      {{"proto_signature", "~caller"}, {"_sort", "proto_signature"}, {"_columns", "uuid,proto_signature"}},
      {{"mdsw_status_string", "OK"}, {"_facets", "mdsw_status_string"}},
      {{"url", "~example1"}},
  };
  const std::string u50 = crashes[50].processed["uuid"], u51 = crashes[51].processed["uuid"];
  queries.push_back({{"uuid", u50}});
  queries.push_back({{"uuid", u50}, {"uuid", u51}, {"_columns", "uuid,date,signature"}});
  queries.push_back({{"uuid", "^" + u50.substr(0, 5)}, {"_facets", "signature"}});
  queries.push_back({{"uuid", "!" + u50}, {"product", "Firefox"}});
  queries.push_back({{"uuid", "~" + u50.substr(9, 9)}});
  Permissions pii = {std::string(kViewPii)};
  for (auto q : queries) {
    q.insert(q.end(), dates.begin(), dates.end());
    json a = sqlite.search(q, pii, kNow);
    json b = pg->search(q, pii, kNow);
    std::string shown;
    for (const auto& [k, v] : q) shown += k + "=" + v + "&";
    EXPECT_EQ(b, a) << shown;
  }
  // A few must select something, or the comparisons above prove little.
  EXPECT_EQ(pg->search({{"signature", "@.*\\bBoundary.*"}, dates[0], dates[1]}, {}, kNow)["total"], 1);
  EXPECT_EQ(pg->search({{"signature", "@(?i)word.*"}, dates[0], dates[1]}, {}, kNow)["total"], 2);
  EXPECT_EQ(pg->search({{"signature", "@multi.line.*"}, dates[0], dates[1]}, {}, kNow)["total"], 0);
  EXPECT_EQ(pg->search({{"signature", "@multi(?s:.)line.*"}, dates[0], dates[1]}, {}, kNow)["total"], 1);
  EXPECT_EQ(pg->search({{"uuid", u50}, dates[0], dates[1]}, {}, kNow)["hits"][0]["uuid"], u50);
  EXPECT_EQ(pg->search({{"uuid", u50}, {"uuid", u51}, dates[0], dates[1]}, {}, kNow)["total"], 2);

  for (int days : {1, 3, 7, 14, 28}) {
    for (const auto& versions : std::vector<std::vector<std::string>>{{}, {"140.0"}, {"140.0", "141.0b3"}}) {
      TopCrashersQuery q;
      q.product = "Firefox";
      q.versions = versions;
      q.days = days;
      q.end = kNow;
      q.limit = 20;
      EXPECT_EQ(pg->top_crashers(q).to_json(), sqlite.top_crashers(q).to_json()) << days;
      q.platform = "Windows NT";
      q.process_type = "content";
      EXPECT_EQ(pg->top_crashers(q).to_json(), sqlite.top_crashers(q).to_json()) << days;
    }
  }
  auto cutoff = kNow - std::chrono::hours(24 * 9 + 7);
  EXPECT_EQ(pg->drop_older_than(cutoff), sqlite.drop_older_than(cutoff));
  TopCrashersQuery q;
  q.product = "Firefox";
  q.days = 14;
  q.end = kNow;
  EXPECT_EQ(pg->top_crashers(q).to_json(), sqlite.top_crashers(q).to_json());
  EXPECT_EQ(pg->search({dates[0], dates[1], {"_facets", "signature"}}, {}, kNow),
            sqlite.search({dates[0], dates[1], {"_facets", "signature"}}, {}, kNow));
}

// Top Crashers keeps each day's rollup rows in memory with the day's version
// (index/topcrash_day_cache.h). An index that answered once must see every later write, by
// itself or by another process (here another index on the same database), in its next answer.
TEST_F(SqliteParity, TopCrashersOfOneIndexSeeEveryWriteOfAnother) {
  SqliteCrashIndex& sqlite = *sqlite_;
  auto reader = open();
  auto writer = open();
  auto crashes = generated(7, 500);
  auto in = inputs(crashes);
  sqlite.upsert_batch(in);
  writer->upsert_batch(in);

  int step = 0;
  auto same_everywhere = [&](const std::string& after) {
    for (int days : {3, 7, 14}) {
      for (const std::string platform : {"", "Windows NT", "Linux", "BeOS"}) {
        for (const std::string process_type : {"", "content", "gpu"}) {
          TopCrashersQuery q;
          q.product = "Firefox";
          q.days = days;
          q.end = kNow;
          q.limit = 15;
          q.platform = platform;
          q.process_type = process_type;
          const json expected = sqlite.top_crashers(q).to_json();
          const std::string shown = after + ", " + std::to_string(days) + " days, " + platform + ", " + process_type;
          EXPECT_EQ(reader->top_crashers(q).to_json(), expected) << shown;
          EXPECT_EQ(open()->top_crashers(q).to_json(), expected) << shown;
        }
      }
    }
    ++step;
  };
  same_everywhere("the first load");
  TopCrashersQuery week;
  week.product = "Firefox";
  week.days = 7;
  week.end = kNow;
  const int64_t first_total = reader->top_crashers(week).total;

  // New crashes on days already held: three days ago, and ten days ago (the previous period).
  std::vector<TestCrash> late;
  for (int i = 0; i < 12; ++i) {
    TestCrash& c = late.emplace_back(crashes[static_cast<size_t>(i)]);
    char uuid[40];
    std::snprintf(uuid, sizeof uuid, "%08x-1111-4000-8000-000000261101", i);
    c.processed["uuid"] = uuid;
    c.processed["product"] = "Firefox";
    c.processed["os_name"] = i % 2 ? "Linux" : "Windows NT";
    c.processed["signature"] = "late arrival " + std::to_string(i % 3);
    const auto when = kNow - std::chrono::hours(i < 6 ? 24 * 3 : 24 * 10);
    c.processed["date_processed"] = format_date_us(
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count());
  }
  sqlite.upsert_batch(inputs(late));
  writer->upsert_batch(inputs(late));
  same_everywhere("crashes added to held days");
  EXPECT_EQ(reader->top_crashers(week).total, first_total + 6);

  // Reprocessing moves crashes to another signature and platform; removing takes them out.
  for (size_t i = 0; i < 60; ++i) {
    if (crashes[i].processed.value("product", "") != "Firefox") continue;
    crashes[i].processed["signature"] = "reprocessed";
    crashes[i].processed["os_name"] = "Linux";
    sqlite.upsert(crashes[i].processed, crashes[i].raw);
    writer->upsert(crashes[i].processed, crashes[i].raw);
  }
  same_everywhere("reprocessing");
  for (size_t i = 60; i < 120; ++i) {
    const std::string u = crashes[i].processed["uuid"];
    EXPECT_TRUE(sqlite.remove(u));
    EXPECT_TRUE(writer->remove(u));
  }
  same_everywhere("removals");
  // Retention empties whole days the reader holds.
  const auto cutoff = kNow - std::chrono::hours(24 * 8 + 5);
  EXPECT_EQ(writer->drop_older_than(cutoff), sqlite.drop_older_than(cutoff));
  same_everywhere("retention");
  EXPECT_EQ(step, 5);
}

// Migration 8 rewrites the Top Crashers rollups (signature ids, process type in the rollup of
// every version), migration 9 the partitions' indexes. An index filled at schema 7 answers, after
// them, as SQLite does, and takes writes.
TEST_F(SqliteParity, RollupsMigratedFromSchemaSevenAnswerAsBefore) {
  SqliteCrashIndex& sqlite = *sqlite_;
  auto crashes = generated(31, 400);
  sqlite.upsert_batch(inputs(crashes));
  open()->upsert_batch(inputs(crashes));
  // The rollups and indexes as schema 7 kept them, rebuilt from the migrated ones; ids are forgotten for
  // signatures only the rollups name, so the migration must give them again.
  auto downgraded = run(R"sql(
      BEGIN;
      CREATE TABLE v7_daily AS SELECT t.product, t.version, t.day, t.process_type, t.platform, s.signature, t.count
        FROM topcrash_daily AS t JOIN signature_ids AS s ON s.id = t.sig;
      CREATE TABLE topcrash_daily_all AS SELECT product, day, process_type, platform, signature, SUM(count) AS count
        FROM v7_daily GROUP BY 1, 2, 3, 4, 5;
      CREATE TABLE v7_signature_daily AS SELECT product, day, sig, platform, SUM(count) AS count
        FROM topcrash_signature_daily GROUP BY 1, 2, 3, 4;
      DROP TABLE topcrash_daily, topcrash_signature_daily;
      ALTER TABLE v7_daily RENAME TO topcrash_daily;
      ALTER TABLE v7_signature_daily RENAME TO topcrash_signature_daily;
      DELETE FROM topcrash_signature_daily WHERE sig IN (SELECT id FROM signature_ids WHERE signature LIKE 'OOM%');
      DELETE FROM signature_ids WHERE signature LIKE 'OOM%';
      DROP INDEX crashes_by_product_date_version;
      CREATE INDEX crashes_by_product_signature ON crashes(product, version, date, signature);
      CREATE INDEX crashes_by_product_date ON crashes(product, date, signature);
      CREATE INDEX crashes_by_uuid ON crashes(uuid);
      DELETE FROM schema_version WHERE version >= 8;
      COMMIT;)sql",
                        PGRES_COMMAND_OK);
  ASSERT_EQ(PQresultStatus(downgraded.get()), PGRES_COMMAND_OK);
  ASSERT_NE(scalar("SELECT count(*) FROM topcrash_daily WHERE signature LIKE 'OOM%'"), "0");
  auto pg = open();
  ASSERT_EQ(pg->schema_version(), postgres_migrations().back().version);
  auto same_as_sqlite = [&](const std::string& after) {
    for (int days : {7, 14}) {
      for (const auto& versions : std::vector<std::vector<std::string>>{{}, {"140.0"}}) {
        for (const std::string process_type : {"", "content"}) {
          TopCrashersQuery q;
          q.product = "Firefox";
          q.versions = versions;
          q.process_type = process_type;
          q.days = days;
          q.end = kNow;
          q.limit = 30;
          EXPECT_EQ(pg->top_crashers(q).to_json(), sqlite.top_crashers(q).to_json())
              << after << ", " << days << " days, " << versions.size() << " versions, " << process_type;
        }
      }
    }
  };
  same_as_sqlite("the migration");
  // Writes after it find the rollups' keys: reprocessing moves crashes, removing takes them out.
  for (size_t i = 0; i < 40; ++i) {
    crashes[i].processed["signature"] = i % 2 ? "OOM | small" : "after migration";
    sqlite.upsert(crashes[i].processed, crashes[i].raw);
    pg->upsert(crashes[i].processed, crashes[i].raw);
  }
  for (size_t i = 40; i < 60; ++i) {
    const std::string u = crashes[i].processed["uuid"];
    EXPECT_TRUE(sqlite.remove(u));
    EXPECT_TRUE(pg->remove(u));
  }
  same_as_sqlite("writes after the migration");
  EXPECT_EQ(scalar("SELECT count(*) FROM topcrash_daily WHERE count <= 0"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM topcrash_signature_daily WHERE count <= 0"), "0");
}

// ----- speed and concurrency -----

TEST_F(PostgresIndexTest, BatchUpsertRateAndConcurrentReaders) {
  auto index = open();
  GeneratorOptions options;
  options.seed = 3;
  options.end = kNow;
  options.days = 30;
  CrashGenerator generator(options);
  const size_t kTotal = 20000, kBatch = 1000;
  std::vector<std::vector<TestCrash>> batches;
  for (size_t i = 0; i < kTotal / kBatch; ++i) batches.push_back(generator.make(kBatch));
  std::atomic<bool> stop{false};
  std::atomic<int> searches{0};
  std::thread reader([&] {
    while (!stop.load()) {
      json r = index->search({{"date", ">=2026-10-01"}, {"date", "<2026-11-02"}, {"_facets", "signature"}}, {}, kNow);
      EXPECT_TRUE(r["total"].is_number());
      ++searches;
    }
  });
  auto start = std::chrono::steady_clock::now();
  for (const auto& b : batches) index->upsert_batch(inputs(b));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  reader.join();
  double rate = static_cast<double>(kTotal) / seconds;
  std::printf("postgres index: %zu crashes in batches of %zu: %.0f crashes/s (with a concurrent reader: %d searches)\n",
              kTotal, kBatch, rate, searches.load());
  RecordProperty("upserts_per_second", static_cast<int>(rate));
  EXPECT_EQ(index->count(), kTotal);
  EXPECT_GT(searches.load(), 0);
  // Reprocessing the whole lot again changes nothing in the totals.
  start = std::chrono::steady_clock::now();
  for (const auto& b : batches) index->upsert_batch(inputs(b));
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("postgres index: reprocessing %zu crashes: %.0f crashes/s\n", kTotal, static_cast<double>(kTotal) / seconds);
  EXPECT_EQ(index->count(), kTotal);
  EXPECT_EQ(scalar("SELECT SUM(count) FROM topcrash_daily"), std::to_string(kTotal));
}

}  // namespace
}  // namespace bw::index
