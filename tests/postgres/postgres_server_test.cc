// The private PostgreSQL server helper: reachable only through its URL, private, restartable
// without losing data, and gone without a trace afterwards.
#include "tests/postgres/postgres_server.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

namespace bw::testing {
namespace {

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

Conn connect(const std::string& url) { return Conn(PQconnectdb(url.c_str()), &PQfinish); }

// The single value of a one-row, one-column query; nullopt when the query failed.
std::optional<std::string> scalar(PGconn* conn, const std::string& sql) {
  Result res(PQexec(conn, sql.c_str()), &PQclear);
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1) return std::nullopt;
  return std::string(PQgetvalue(res.get(), 0, 0));
}

// Live (not zombie) processes working in `dir`: every server process runs in its data folder.
int live_processes_in(const std::filesystem::path& dir) {
  int live = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path() / "cwd", link_ec) != dir) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    char state = line.size() > line.rfind(')') + 2 ? line[line.rfind(')') + 2] : 'X';
    if (state != 'Z' && state != 'X') ++live;
  }
  return live;
}

bool exec_ok(PGconn* conn, const std::string& sql) {
  Result res(PQexec(conn, sql.c_str()), &PQclear);
  return PQresultStatus(res.get()) == PGRES_COMMAND_OK;
}

class PostgresServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresServer::available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
  }
};

TEST_F(PostgresServerTest, AcceptsThePasswordLoginOnLoopbackWithTestSettings) {
  PostgresServer server;
  EXPECT_EQ(server.url().rfind("postgresql://breakwater:", 0), 0u) << server.url();
  EXPECT_NE(server.url().find("@127.0.0.1:" + std::to_string(server.port()) + "/breakwater"), std::string::npos);
  Conn conn = connect(server.url());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(scalar(conn.get(), "SELECT current_user"), "breakwater");
  EXPECT_EQ(scalar(conn.get(), "SELECT current_database()"), "breakwater");
  EXPECT_EQ(scalar(conn.get(), "SELECT host(inet_server_addr())"), "127.0.0.1");
  EXPECT_EQ(scalar(conn.get(), "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(scalar(conn.get(), "SHOW fsync"), "off");
  EXPECT_EQ(scalar(conn.get(), "SHOW server_version_num").value_or("").substr(0, 2), "15");
  auto socket_dir = scalar(conn.get(), "SHOW unix_socket_directories");
  ASSERT_TRUE(socket_dir.has_value());
  EXPECT_EQ(socket_dir->rfind(server.folder().string(), 0), 0u) << *socket_dir;
}

TEST_F(PostgresServerTest, RefusesAWrongPassword) {
  PostgresServer server;
  std::string url = "postgresql://breakwater:not-the-password@127.0.0.1:" + std::to_string(server.port()) +
                    "/breakwater";
  Conn conn = connect(url);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(conn.get())).find("password authentication failed"), std::string::npos)
      << PQerrorMessage(conn.get());
}

TEST_F(PostgresServerTest, RunsAsThePostgresUserWhenRoot) {
  PostgresServer server;
  struct stat st {};
  ASSERT_EQ(::stat((server.folder() / "data").c_str(), &st), 0);
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    ASSERT_NE(pw, nullptr);
    EXPECT_EQ(st.st_uid, pw->pw_uid);
  } else {
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
}

TEST_F(PostgresServerTest, CreatesDatabasesAndRejectsBadNames) {
  PostgresServer server;
  std::string url = server.create_database("contract_1");
  EXPECT_EQ(url, server.url_for("contract_1"));
  Conn conn = connect(url);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(scalar(conn.get(), "SELECT current_database()"), "contract_1");
  EXPECT_THROW(server.create_database("contract_1"), std::runtime_error);  // exists already
  EXPECT_THROW(server.create_database("x; DROP DATABASE breakwater"), std::invalid_argument);
  EXPECT_THROW(server.create_database("Upper"), std::invalid_argument);
  EXPECT_THROW(server.create_database("1abc"), std::invalid_argument);
  EXPECT_THROW(server.create_database(""), std::invalid_argument);
  EXPECT_THROW(server.create_database(std::string(64, 'a')), std::invalid_argument);
}

TEST_F(PostgresServerTest, StopAndStartKeepTheDataAndThePort) {
  PostgresServer server;
  std::string url = server.url();
  {
    Conn conn = connect(url);
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    ASSERT_TRUE(exec_ok(conn.get(), "CREATE TABLE kept (v text)"));
    ASSERT_TRUE(exec_ok(conn.get(), "INSERT INTO kept VALUES ('before the restart')"));
  }
  Conn held = connect(url);  // a session open across the restart, as a pool would hold
  ASSERT_EQ(PQstatus(held.get()), CONNECTION_OK);
  server.stop();
  EXPECT_FALSE(server.running());
  Conn refused = connect(url + "?connect_timeout=2");
  EXPECT_EQ(PQstatus(refused.get()), CONNECTION_BAD);
  EXPECT_FALSE(scalar(held.get(), "SELECT 1").has_value());
  server.start();
  EXPECT_TRUE(server.running());
  EXPECT_EQ(server.url(), url);
  Conn conn = connect(url);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(scalar(conn.get(), "SELECT v FROM kept"), "before the restart");
}

TEST_F(PostgresServerTest, RecoversAfterAKill) {
  PostgresServer server;
  {
    Conn conn = connect(server.url());
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    ASSERT_TRUE(exec_ok(conn.get(), "CREATE TABLE kept (v int)"));
    ASSERT_TRUE(exec_ok(conn.get(), "INSERT INTO kept SELECT generate_series(1, 1000)"));
  }
  // A session open across the kill: its backend, like every child of the postmaster, runs in a
  // session of its own, outside the postmaster's process group, and must die with it too.
  Conn held = connect(server.url());
  ASSERT_EQ(PQstatus(held.get()), CONNECTION_OK);
  const std::filesystem::path data = server.folder() / "data";
  ASSERT_GE(live_processes_in(data), 2);  // the postmaster and the held session's backend at least
  server.kill();
  EXPECT_FALSE(server.running());
  EXPECT_EQ(live_processes_in(data), 0);
  server.start();
  Conn conn = connect(server.url());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(scalar(conn.get(), "SELECT count(*) FROM kept"), "1000");
}

TEST_F(PostgresServerTest, TwoServersAreIndependentAndLeaveNothingBehind) {
  std::filesystem::path first_folder;
  int first_port = 0;
  Conn held(nullptr, &PQfinish);  // outlives the servers: destroyed with a session still open
  {
    PostgresServer first;
    PostgresServer second;
    first_folder = first.folder();
    first_port = first.port();
    EXPECT_NE(first.port(), second.port());
    EXPECT_NE(first.folder(), second.folder());
    Conn a = connect(first.url());
    ASSERT_EQ(PQstatus(a.get()), CONNECTION_OK) << PQerrorMessage(a.get());
    ASSERT_TRUE(exec_ok(a.get(), "CREATE TABLE only_in_first (v int)"));
    Conn b = connect(second.url());
    ASSERT_EQ(PQstatus(b.get()), CONNECTION_OK) << PQerrorMessage(b.get());
    EXPECT_EQ(scalar(b.get(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_first'"), "0");
    EXPECT_TRUE(std::filesystem::exists(first_folder / "data" / "PG_VERSION"));
    held = connect(first.url());
    ASSERT_EQ(PQstatus(held.get()), CONNECTION_OK);
  }
  EXPECT_FALSE(std::filesystem::exists(first_folder));
  Conn gone = connect("postgresql://breakwater:x@127.0.0.1:" + std::to_string(first_port) +
                      "/breakwater?connect_timeout=2");
  EXPECT_EQ(PQstatus(gone.get()), CONNECTION_BAD);
  EXPECT_FALSE(scalar(held.get(), "SELECT 1").has_value());
}

}  // namespace
}  // namespace bw::testing
