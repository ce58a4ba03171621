// pg::Connection, Transaction and migrate against a real PostgreSQL (a private cluster started for
// this binary, tests/postgres/postgres_server.h).
#include "pg/connection.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/postgres/shared_postgres_server.h"

namespace bw::pg {
namespace {

using namespace std::chrono_literals;

class PgConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!bw::testing::shared_postgres_server()) GTEST_SKIP() << "PostgreSQL is not installed";
    url_ = bw::testing::fresh_postgres_database("pg");
  }
  ConnectOptions options(std::chrono::milliseconds timeout = 30s) const { return {url_, "bw-pg-test", "test db", timeout}; }
  std::string url_;
};

TEST_F(PgConnection, NoServerIsALostConnection) {
  try {
    Connection c(ConnectOptions{"postgresql://nobody:x@127.0.0.1:1/none", "bw-pg-test", "test db", 30s});
    FAIL() << "connected to nothing";
  } catch (const Error& e) {
    EXPECT_TRUE(e.lost());
    EXPECT_EQ(e.sqlstate(), "08001");
    EXPECT_EQ(std::string(e.what()).rfind("test db: cannot connect: ", 0), 0u) << e.what();
  }
}

TEST_F(PgConnection, ParametersAreBoundAndResultsRead) {
  Connection c(options());
  const std::string hostile = "x'); DROP TABLE t; --";
  Result r = c.run("SELECT $1::text, $2::bigint, $3::text IS NULL, $4::boolean, NULL::text",
                   {hostile, "-42", std::nullopt, "true"});
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(r.text(0, 0), hostile);
  EXPECT_EQ(r.int_at(0, 1), -42);
  EXPECT_TRUE(r.boolean(0, 2));
  EXPECT_TRUE(r.boolean(0, 3));
  EXPECT_TRUE(r.null_at(0, 4));
  EXPECT_EQ(r.text(0, 4), "");
  c.exec("CREATE TABLE t(k text PRIMARY KEY, v integer)");
  EXPECT_EQ(c.run("INSERT INTO t VALUES($1::text, 1), ($2::text, 2)", {"a", "b"}).affected(), 2u);
  EXPECT_EQ(c.run("UPDATE t SET v = v + 1 WHERE k = $1::text", {"z"}).affected(), 0u);
}

TEST_F(PgConnection, AFailedStatementCarriesItsSqlstateAndKeepsTheConnection) {
  Connection c(options());
  c.exec("CREATE TABLE t(k text PRIMARY KEY)");
  c.run("INSERT INTO t VALUES($1::text)", {"a"});
  try {
    c.run("INSERT INTO t VALUES($1::text)", {"a"});
    FAIL() << "a duplicate key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_FALSE(e.lost());
    EXPECT_EQ(std::string(e.what()).rfind("test db: INSERT: ", 0), 0u) << e.what();
  }
  EXPECT_FALSE(c.broken());
  EXPECT_EQ(c.run("SELECT count(*) FROM t", {}).int_at(0, 0), 1);
}

TEST_F(PgConnection, ATransactionLeftByAnExceptionIsRolledBack) {
  Connection c(options());
  c.exec("CREATE TABLE t(k text)");
  try {
    Transaction tx(c);
    c.run("INSERT INTO t VALUES($1::text)", {"gone"});
    throw std::runtime_error("the caller failed");
  } catch (const std::runtime_error&) {
  }
  {
    Transaction tx(c);
    c.run("INSERT INTO t VALUES($1::text)", {"kept"});
    tx.commit();
  }
  Result r = c.run("SELECT k FROM t", {});
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(r.text(0, 0), "kept");
}

TEST_F(PgConnection, PreparedStatementsStayBoundedAndRight) {
  Connection c(options());
  for (int i = 0; i < 600; ++i) {
    // 600 texts: the cache is emptied twice on the way; every answer is still its own.
    Result r = c.run("SELECT $1::integer + " + std::to_string(i), {std::to_string(i)});
    ASSERT_EQ(r.int_at(0, 0), 2 * i);
  }
  EXPECT_LE(c.run("SELECT count(*) FROM pg_prepared_statements", {}).int_at(0, 0), 256);
}

TEST_F(PgConnection, TheStatementTimeoutCancelsALongStatement) {
  Connection c(options(200ms));
  try {
    c.exec("SELECT pg_sleep(5)");
    FAIL() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), "57014");
    EXPECT_FALSE(e.lost());
    EXPECT_NE(std::string(e.what()).find("ran longer than the limit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(c.run("SELECT 1", {}).int_at(0, 0), 1);
}

TEST_F(PgConnection, AConnectionTheServerEndsIsLost) {
  Connection victim(options());
  const std::string pid = victim.exec("SELECT pg_backend_pid()").text(0, 0);
  Connection admin(options());
  admin.run("SELECT pg_terminate_backend($1::integer)", {pid});
  try {
    victim.exec("SELECT 1");
    FAIL() << "the ended connection answered";
  } catch (const Error& e) {
    EXPECT_TRUE(e.lost()) << e.sqlstate() << " " << e.what();
  }
  EXPECT_TRUE(victim.broken());
}

TEST_F(PgConnection, MigrationsApplyOnceInOrderUnderConcurrentStarts) {
  const std::vector<index::Migration> two = {
      {1, "0001_a.sql", "CREATE TABLE a(x integer); INSERT INTO a VALUES (1);"},
      {2, "0002_b.sql", "INSERT INTO a VALUES (2);"},
  };
  std::atomic<int> applied{0};
  std::vector<std::thread> starts;
  for (int i = 0; i < 4; ++i) {
    starts.emplace_back([&] {
      Connection c(options());
      migrate(c, 424242, "test_schema_version", two, [&](const index::Migration&) { ++applied; });
    });
  }
  for (auto& t : starts) t.join();
  EXPECT_EQ(applied.load(), 2) << "each migration once, whichever start ran it";
  Connection c(options());
  EXPECT_EQ(c.run("SELECT string_agg(x::text, ',' ORDER BY x) FROM a", {}).text(0, 0), "1,2");

  // A failing migration leaves nothing of itself, keeps the versions before it, and releases the
  // lock (the next start is not blocked).
  auto three = two;
  three.push_back({3, "0003_bad.sql", "INSERT INTO a VALUES (3); SELECT no_such_function();"});
  EXPECT_THROW(migrate(c, 424242, "test_schema_version", three, [](const index::Migration&) {}), Error);
  EXPECT_EQ(c.run("SELECT max(version) FROM test_schema_version", {}).int_at(0, 0), 2);
  EXPECT_EQ(c.run("SELECT count(*) FROM a", {}).int_at(0, 0), 2);
  three.back().sql = "INSERT INTO a VALUES (3);";
  Connection other(options());
  std::vector<int> seen;
  migrate(other, 424242, "test_schema_version", three, [&](const index::Migration& m) { seen.push_back(m.version); });
  EXPECT_EQ(seen, std::vector<int>{3});
  EXPECT_EQ(c.run("SELECT count(*) FROM a", {}).int_at(0, 0), 3);
}

}  // namespace
}  // namespace bw::pg
