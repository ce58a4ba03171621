// The account store contract (auth_store.h), one suite run against both stores: the SQLite file
// in a temporary folder, and PostgreSQL on a private server this binary starts
// (tests/postgres/postgres_server.h), each test on a database of its own. Users, passwords,
// tokens, sessions, one-time links and groups, and what each promise means for a caller; nothing
// secret is ever stored (the bytes on disk are searched) or returned. Then what only one backend
// shows: an older SQLite file gaining the group tables; PostgreSQL surviving a server restart
// without reopening, its tables next to the index's, migrations applied once, open_auth_store
// choosing the backend.
#include "auth/auth_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "auth/postgres_auth_store.h"
#include "auth/postgres_migrations.h"
#include "auth/secrets.h"
#include "auth/sqlite_auth_store.h"
#include "core/config.h"
#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "index/postgres_crash_index.h"
#include "tests/postgres/shared_postgres_server.h"

namespace bw::auth {
namespace {

using namespace std::chrono_literals;
using Result = TokenCheck::Result;
using bw::testing::PostgresServer;

// ----- the backends -----

// One PostgreSQL server per run of the binary, started by the first test that needs it (initdb
// takes seconds; a run of the SQLite half never starts one).
PostgresServer& server() {
  PostgresServer* s = bw::testing::shared_postgres_server();
  if (!s) throw std::runtime_error("PostgreSQL 15 is not installed (scripts/install-deps.sh test)");
  return *s;
}

std::string fresh_database() {
  server();
  return bw::testing::fresh_postgres_database("auth");
}

// A direct libpq session, to look behind the store. Every row of the answer's first column.
std::vector<std::string> pg_column(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto status = PQresultStatus(r.get());
  EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) << sql << ": " << PQerrorMessage(conn.get());
  std::vector<std::string> out;
  if (status != PGRES_TUPLES_OK) return out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

std::string pg_scalar(const std::string& url, const std::string& sql) {
  auto rows = pg_column(url, sql);
  return rows.size() == 1 ? rows[0] : "<" + std::to_string(rows.size()) + " rows>";
}

std::string read_folder(const std::filesystem::path& folder) {
  std::string bytes;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) bytes += fs::read_file(entry.path());
  }
  return bytes;
}

class Backend {
 public:
  virtual ~Backend() = default;
  // A store on the test's database (another one each call: they share the data).
  virtual std::unique_ptr<AuthStore> open() = 0;
  // Every byte the database keeps on disk, once no store is open: to look for secrets.
  virtual std::string stored_bytes() = 0;
};

class SqliteBackend : public Backend {
 public:
  std::unique_ptr<AuthStore> open() override { return open_sqlite_auth_store(path()); }
  // Closed stores have folded the WAL into the file; the folder holds whatever is left.
  std::string stored_bytes() override { return read_folder(path().parent_path()); }

 private:
  std::filesystem::path path() const { return dir_.path() / "index" / "crashes.sqlite"; }
  test_support::TempDir dir_;
};

class PostgresBackend : public Backend {
 public:
  PostgresBackend() : url_(fresh_database()) {}
  std::unique_ptr<AuthStore> open() override { return open_postgres_auth_store(url_); }
  // The database's own files after a checkpoint (every table and index page written out), and
  // the server's write-ahead log.
  std::string stored_bytes() override {
    pg_column(url_, "CHECKPOINT");
    std::string oid = pg_scalar(url_, "SELECT oid FROM pg_database WHERE datname = current_database()");
    auto data = server().folder() / "data";
    return read_folder(data / "base" / oid) + read_folder(data / "pg_wal");
  }

 private:
  std::string url_;
};

using BackendMaker = std::unique_ptr<Backend> (*)();
std::unique_ptr<Backend> make_sqlite() { return std::make_unique<SqliteBackend>(); }
std::unique_ptr<Backend> make_postgres() { return std::make_unique<PostgresBackend>(); }

class AuthStoreTest : public ::testing::TestWithParam<BackendMaker> {
 protected:
  void SetUp() override {
    backend_ = GetParam()();
    store_ = backend_->open();
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<AuthStore> store_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

INSTANTIATE_TEST_SUITE_P(Sqlite, AuthStoreTest, ::testing::Values(&make_sqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, AuthStoreTest, ::testing::Values(&make_postgres));

// ----- users, passwords, tokens -----

TEST_P(AuthStoreTest, UsersAreAddedListedAndCheckedByPassword) {
  auto alice = store_->add_user("alice", "correct horse", {"view_pii", "view_rawdump"});
  EXPECT_EQ(alice.permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_EQ(alice.own_permissions, alice.permissions);
  EXPECT_TRUE(alice.groups.empty());
  store_->add_user("bob@example.com", "battery staple", {});
  store_->add_user("Zed", "battery staple", {});
  auto users = store_->list_users();
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].name, "Zed") << "byte order, whatever the server's locale";
  EXPECT_EQ(users[1].name, "alice");
  EXPECT_EQ(users[1].permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_EQ(users[1].created, alice.created);
  EXPECT_EQ(users[2].name, "bob@example.com");
  EXPECT_FALSE(users[2].disabled);

  auto checked = store_->check_password("alice", "correct horse");
  ASSERT_TRUE(checked);
  EXPECT_EQ(checked->permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_FALSE(store_->check_password("alice", "correct horsE"));
  EXPECT_FALSE(store_->check_password("nobody", "correct horse"));
  store_->set_disabled("alice", true);
  EXPECT_TRUE(store_->find_user("alice")->disabled);
  EXPECT_FALSE(store_->check_password("alice", "correct horse")) << "a disabled user cannot sign in";
  store_->set_disabled("alice", false);
  store_->set_password("alice", "a new password");
  EXPECT_FALSE(store_->check_password("alice", "correct horse"));
  EXPECT_TRUE(store_->check_password("alice", "a new password"));
  EXPECT_THROW(store_->set_password("nobody", "a new password"), AuthError);
}

TEST_P(AuthStoreTest, BadNamesPasswordsAndPermissionsAreRefusedBeforeAnyWrite) {
  EXPECT_THROW(store_->add_user("", "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user("a b", "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user(std::string(65, 'a'), "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user("x'; DROP TABLE auth_users; --", "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user(std::string("nul\0x", 5), "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user("carol", "short", {}), AuthError);
  EXPECT_THROW(store_->add_user("carol", std::string(1025, 'p'), {}), AuthError);
  try {
    store_->add_user("carol", "long enough", {"crashstats.view_pii"});
    FAIL() << "an unknown permission was accepted";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("crashstats.view_pii"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store_->list_users().empty());
  store_->add_user("carol", "long enough", {});
  try {
    store_->add_user("carol", "long enough", {});
    FAIL() << "a second carol was accepted";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store_->grant("nobody", {"admin"}), AuthError);
  EXPECT_THROW(store_->grant("carol", {"everything"}), AuthError);
  EXPECT_THROW(store_->set_disabled("nobody", true), AuthError);
  EXPECT_EQ(store_->list_users().size(), 1u);

  // A name that breaks the rules finds nothing: no prefix of it, no other user.
  const std::string with_nul("carol\0x", 7);
  EXPECT_FALSE(store_->find_user(with_nul));
  EXPECT_FALSE(store_->check_password(with_nul, "long enough"));
  EXPECT_FALSE(store_->find_user("carol\xff"));
  EXPECT_FALSE(store_->check_password("carol\xff", "long enough"));
  EXPECT_TRUE(store_->list_tokens(std::string_view(with_nul)).empty());
  EXPECT_EQ(store_->end_sessions_of(with_nul), 0);
  EXPECT_THROW(store_->create_token(with_nul, "", {}, 1, now_), AuthError);
  EXPECT_TRUE(store_->check_password("carol", "long enough"));
}

TEST_P(AuthStoreTest, ATokenCarriesASubsetOfItsOwnersPermissionsAndIsShownOnce) {
  store_->add_user("alice", "correct horse", {"view_pii", "view_rawdump"});
  auto made = store_->create_token("alice", "nightly script", {"view_pii"}, 90, now_);
  EXPECT_TRUE(is_well_formed_token(made.secret)) << made.secret;
  EXPECT_EQ(made.info.shown_prefix, made.secret.substr(0, 8));
  EXPECT_EQ(made.info.expires - made.info.created, std::chrono::hours(24 * 90));

  auto check = store_->check_token(made.secret, now_);
  EXPECT_EQ(check.result, Result::kValid);
  EXPECT_EQ(check.user, "alice");
  EXPECT_EQ(check.permissions, PermissionSet{"view_pii"});

  // Empty means all of the owner's; more than the owner holds is refused, naming it.
  auto all = store_->create_token("alice", "", {}, 1, now_);
  EXPECT_EQ(store_->check_token(all.secret, now_).permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  try {
    store_->create_token("alice", "too much", {"admin"}, 90, now_);
    FAIL() << "a token got a permission its owner does not hold";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("admin"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store_->create_token("alice", "x", {}, 0, now_), AuthError);
  EXPECT_THROW(store_->create_token("alice", "x", {}, 3651, now_), AuthError);
  EXPECT_THROW(store_->create_token("alice", "bad\nlabel", {}, 1, now_), AuthError);
  EXPECT_THROW(store_->create_token("alice", std::string(201, 'l'), {}, 1, now_), AuthError);
  EXPECT_THROW(store_->create_token("nobody", "x", {}, 1, now_), AuthError);

  auto listed = store_->list_tokens("alice");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, all.info.id) << "newest first";
  EXPECT_EQ(listed[1].id, made.info.id);
  EXPECT_EQ(listed[1].label, "nightly script");
  EXPECT_EQ(listed[1].permissions, PermissionSet{"view_pii"});
  EXPECT_EQ(listed[1].created, made.info.created);
  EXPECT_EQ(listed[1].expires, made.info.expires);
  EXPECT_EQ(listed[1].shown_prefix, made.info.shown_prefix);
  EXPECT_FALSE(listed[1].revoked);
  store_->add_user("bob", "battery staple", {});
  store_->create_token("bob", "", {}, 1, now_);
  EXPECT_EQ(store_->list_tokens().size(), 3u);
  EXPECT_EQ(store_->list_tokens("alice").size(), 2u);
  EXPECT_TRUE(store_->list_tokens("nobody").empty());
}

TEST_P(AuthStoreTest, LabelsKeepSqlMetacharactersVerbatim) {
  store_->add_user("alice", "correct horse", {"view_pii"});
  const std::string label = "x'); DROP TABLE auth_users; -- $1 \\ \"q\" %_ ?";
  auto t = store_->create_token("alice", label, {}, 1, now_);
  auto listed = store_->list_tokens("alice");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].label, label);
  EXPECT_EQ(store_->check_token(t.secret, now_).result, Result::kValid);
  EXPECT_EQ(store_->list_users().size(), 1u);
}

TEST_P(AuthStoreTest, ExpiryRevocationDisablingAndLostPermissionsTakeEffectAtOnce) {
  store_->add_user("alice", "correct horse", {"view_pii", "view_rawdump"});
  auto t = store_->create_token("alice", "", {}, 90, now_);
  EXPECT_EQ(store_->check_token(t.secret, now_ + std::chrono::hours(24 * 90) - 1s).result, Result::kValid);
  EXPECT_EQ(store_->check_token(t.secret, now_ + std::chrono::hours(24 * 90)).result, Result::kExpired);

  EXPECT_EQ(store_->revoke("alice", {"view_rawdump"}), PermissionSet{"view_pii"});
  EXPECT_EQ(store_->check_token(t.secret, now_).permissions, PermissionSet{"view_pii"});
  EXPECT_EQ(store_->grant("alice", {"view_rawdump"}), (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_EQ(store_->check_token(t.secret, now_).permissions, (PermissionSet{"view_pii", "view_rawdump"}));

  store_->set_disabled("alice", true);
  auto disabled = store_->check_token(t.secret, now_);
  EXPECT_EQ(disabled.result, Result::kUserDisabled);
  EXPECT_TRUE(disabled.permissions.empty());
  EXPECT_THROW(store_->create_token("alice", "", {}, 1, now_), AuthError);
  store_->set_disabled("alice", false);

  EXPECT_TRUE(store_->revoke_token(t.info.id));
  EXPECT_FALSE(store_->revoke_token(t.info.id)) << "revoking twice changes nothing";
  EXPECT_FALSE(store_->revoke_token(t.info.id + 1000));
  EXPECT_EQ(store_->check_token(t.secret, now_).result, Result::kRevoked);
  EXPECT_TRUE(store_->list_tokens("alice")[0].revoked);
  TokenCheck revoked;
  revoked.result = Result::kRevoked;
  EXPECT_NE(revoked.reason().find("revoked"), std::string::npos);
}

TEST_P(AuthStoreTest, MalformedAndUnknownTokensAreToldApart) {
  for (std::string bad : {std::string(), std::string("bwt_"), std::string("bwt_") + std::string(63, 'a'),
                          std::string("bwt_") + std::string(65, 'a'), std::string("bwt_") + std::string(64, 'A'),
                          std::string("bwt_") + std::string(63, 'a') + "'", std::string("xyz_") + std::string(64, 'a'),
                          std::string(10 << 20, 'a'), std::string("bwt_") + std::string(63, 'a') + '\0'}) {
    EXPECT_EQ(store_->check_token(bad, now_).result, Result::kMalformed) << bad.substr(0, 80);
  }
  EXPECT_EQ(store_->check_token(new_token(), now_).result, Result::kUnknown);
}

TEST_P(AuthStoreTest, NeitherPasswordsNorSecretsAreStored) {
  store_->add_user("alice", "zq-password-marker", {"view_pii"});
  store_->set_password("alice", "zq-second-password");
  auto t = store_->create_token("alice", "", {}, 90, now_);
  auto session = store_->create_session("alice", std::chrono::minutes(60), now_);
  auto link = store_->create_signin_link("alice", std::chrono::minutes(60), now_);
  store_.reset();
  std::string bytes = backend_->stored_bytes();
  EXPECT_NE(bytes.find("$argon2id$"), std::string::npos) << "the password is an Argon2id hash (and the read found it)";
  EXPECT_NE(bytes.find(token_hash(t.secret)), std::string::npos) << "the token's hash is what is kept";
  EXPECT_EQ(bytes.find("zq-password-marker"), std::string::npos);
  EXPECT_EQ(bytes.find("zq-second-password"), std::string::npos);
  EXPECT_EQ(bytes.find(t.secret.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(session.secret.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(link.substr(4)), std::string::npos);
}

TEST_P(AuthStoreTest, TwoStoresOnOneDatabaseSeeEachOthersChanges) {
  auto other = backend_->open();
  store_->add_user("alice", "correct horse", {"view_pii"});
  auto t = store_->create_token("alice", "", {}, 90, now_);
  EXPECT_EQ(other->check_token(t.secret, now_).result, Result::kValid);
  other->revoke_token(t.info.id);
  EXPECT_EQ(store_->check_token(t.secret, now_).result, Result::kRevoked);
  other->add_group("triage", {"view_rawdump"});
  other->add_member("triage", "alice");
  EXPECT_EQ(store_->find_user("alice")->permissions, (PermissionSet{"view_pii", "view_rawdump"}));
}

TEST_P(AuthStoreTest, ManyThreadsAndTwoStoresAtOnce) {
  store_->add_user("alice", "correct horse", {"view_pii"});
  auto other = backend_->open();
  auto t = store_->create_token("alice", "", {}, 90, now_);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    AuthStore* s = i % 2 ? other.get() : store_.get();
    threads.emplace_back([s, &t, &wrong, this] {
      for (int k = 0; k < 25; ++k) {
        if (s->check_token(t.secret, now_).permissions != PermissionSet{"view_pii"}) ++wrong;
        auto session = s->create_session("alice", 60min, now_);
        auto checked = s->check_session(session.secret, now_);
        if (!checked || checked->user != "alice") ++wrong;
        if (!s->end_session(session.secret)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ----- sessions and one-time links -----

TEST_P(AuthStoreTest, SessionsCarryTheOwnersPermissionsNowAndEndOnSignOutDisablingOrANewPassword) {
  store_->add_user("alice", "correct horse", {"view_pii"});
  auto s = store_->create_session("alice", 60min, now_);
  EXPECT_TRUE(is_well_formed_secret(s.secret, kSessionPrefix));
  EXPECT_EQ(s.csrf.size(), 64u);
  auto checked = store_->check_session(s.secret, now_ + 59min);
  ASSERT_TRUE(checked);
  EXPECT_EQ(checked->user, "alice");
  EXPECT_EQ(checked->csrf, s.csrf);
  EXPECT_EQ(checked->permissions, PermissionSet{"view_pii"});
  EXPECT_EQ(checked->expires, s.expires);
  EXPECT_FALSE(store_->check_session(s.secret, now_ + 60min)) << "expired";

  store_->grant("alice", {"admin"});
  EXPECT_EQ(store_->check_session(s.secret, now_)->permissions, (PermissionSet{"admin", "view_pii"}));
  store_->set_disabled("alice", true);
  EXPECT_FALSE(store_->check_session(s.secret, now_)) << "a disabled user's session is refused at once";
  EXPECT_THROW(store_->create_session("alice", 60min, now_), AuthError);
  store_->set_disabled("alice", false);
  EXPECT_TRUE(store_->check_session(s.secret, now_));

  EXPECT_TRUE(store_->end_session(s.secret));
  EXPECT_FALSE(store_->end_session(s.secret)) << "signing out twice is harmless";
  EXPECT_FALSE(store_->check_session(s.secret, now_));

  auto a = store_->create_session("alice", 60min, now_);
  auto b = store_->create_session("alice", 60min, now_);
  EXPECT_NE(a.secret, b.secret);
  EXPECT_NE(a.csrf, b.csrf);
  store_->set_password("alice", "a new password");
  EXPECT_FALSE(store_->check_session(a.secret, now_)) << "a new password signs out everywhere";
  EXPECT_FALSE(store_->check_session(b.secret, now_));
  EXPECT_THROW(store_->create_session("nobody", 60min, now_), AuthError);
  EXPECT_THROW(store_->create_session("alice", 0min, now_), AuthError);
  EXPECT_THROW(store_->create_session("alice", std::chrono::hours(24 * 366), now_), AuthError);
  for (std::string bad : {std::string(), std::string("bws_"), new_token(), std::string("bws_") + std::string(64, 'A'),
                          std::string(1 << 20, 'b')}) {
    EXPECT_FALSE(store_->check_session(bad, now_)) << bad.substr(0, 80);
  }
  EXPECT_FALSE(store_->check_session(new_secret(kSessionPrefix), now_)) << "unknown";
}

TEST_P(AuthStoreTest, EndingEverySessionOfAUserLeavesOthersAlone) {
  store_->add_user("alice", "correct horse", {});
  store_->add_user("bob", "battery staple", {});
  auto a1 = store_->create_session("alice", 60min, now_);
  auto a2 = store_->create_session("alice", 60min, now_);
  auto b = store_->create_session("bob", 60min, now_);
  EXPECT_EQ(store_->end_sessions_of("alice"), 2);
  EXPECT_EQ(store_->end_sessions_of("alice"), 0);
  EXPECT_FALSE(store_->check_session(a1.secret, now_));
  EXPECT_FALSE(store_->check_session(a2.secret, now_));
  EXPECT_TRUE(store_->check_session(b.secret, now_));
}

TEST_P(AuthStoreTest, ASignInLinkWorksOnceBeforeItExpires) {
  store_->add_user("admin", "correct horse", {"admin"});
  auto link = store_->create_signin_link("admin", 60min, now_);
  EXPECT_TRUE(is_well_formed_secret(link, kSignInLinkPrefix));
  EXPECT_EQ(store_->redeem_signin_link(link, now_ + 1min), std::optional<std::string>("admin"));
  EXPECT_FALSE(store_->redeem_signin_link(link, now_ + 1min)) << "one use";

  auto late = store_->create_signin_link("admin", 60min, now_);
  EXPECT_FALSE(store_->redeem_signin_link(late, now_ + 60min)) << "expired";
  EXPECT_FALSE(store_->redeem_signin_link(late, now_)) << "an expired link is gone once presented";
  auto disabled = store_->create_signin_link("admin", 60min, now_);
  store_->set_disabled("admin", true);
  EXPECT_FALSE(store_->redeem_signin_link(disabled, now_));
  EXPECT_THROW(store_->create_signin_link("admin", 60min, now_), AuthError);
  store_->set_disabled("admin", false);
  EXPECT_FALSE(store_->redeem_signin_link(disabled, now_)) << "presented while disabled: gone";
  EXPECT_FALSE(store_->redeem_signin_link(new_token(), now_)) << "a token is not a link";
  EXPECT_FALSE(store_->redeem_signin_link(new_secret(kSignInLinkPrefix), now_)) << "unknown";
  EXPECT_THROW(store_->create_signin_link("nobody", 60min, now_), AuthError);
  EXPECT_THROW(store_->create_signin_link("admin", std::chrono::hours(24 * 31), now_), AuthError);
}

TEST_P(AuthStoreTest, ALinkRedeemedByTwoStoresAtOnceWorksOnce) {
  store_->add_user("admin", "correct horse", {"admin"});
  auto other = backend_->open();
  for (int i = 0; i < 10; ++i) {
    auto link = store_->create_signin_link("admin", 60min, now_);
    std::atomic<int> redeemed{0};
    std::thread a([&] { redeemed += store_->redeem_signin_link(link, now_).has_value(); });
    std::thread b([&] { redeemed += other->redeem_signin_link(link, now_).has_value(); });
    a.join();
    b.join();
    EXPECT_EQ(redeemed.load(), 1) << "link " << i;
  }
}

// ----- groups -----

TEST_P(AuthStoreTest, GroupsGiveTheirMembersTheirPermissions) {
  store_->add_user("alice", "correct horse", {"view_pii"});
  store_->add_user("bob", "battery staple", {});
  auto triage = store_->add_group("triage", {"view_pii", "view_rawdump"});
  EXPECT_EQ(triage.name, "triage");
  EXPECT_EQ(triage.permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_TRUE(triage.members.empty());
  store_->add_group("symbols", {"upload_symbols"});
  store_->add_group("empty", {});

  EXPECT_TRUE(store_->add_member("triage", "bob"));
  EXPECT_TRUE(store_->add_member("triage", "alice"));
  EXPECT_FALSE(store_->add_member("triage", "alice")) << "already a member";
  EXPECT_TRUE(store_->add_member("symbols", "alice"));

  auto alice = store_->find_user("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->permissions, (PermissionSet{"upload_symbols", "view_pii", "view_rawdump"})) << "own ∪ groups'";
  EXPECT_EQ(alice->own_permissions, PermissionSet{"view_pii"});
  EXPECT_EQ(alice->groups, (std::vector<std::string>{"symbols", "triage"}));
  auto users = store_->list_users();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].permissions, alice->permissions);
  EXPECT_EQ(users[0].groups, alice->groups);
  EXPECT_EQ(users[1].permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_TRUE(users[1].own_permissions.empty());
  EXPECT_EQ(users[1].groups, std::vector<std::string>{"triage"});
  EXPECT_EQ(store_->check_password("bob", "battery staple")->permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_EQ(store_->check_password("bob", "battery staple")->groups, std::vector<std::string>{"triage"});

  auto groups = store_->list_groups();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].name, "empty");
  EXPECT_TRUE(groups[0].members.empty());
  EXPECT_TRUE(groups[0].permissions.empty());
  EXPECT_EQ(groups[1].name, "symbols");
  EXPECT_EQ(groups[1].members, std::vector<std::string>{"alice"});
  EXPECT_EQ(groups[2].name, "triage");
  EXPECT_EQ(groups[2].members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(groups[2].permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_EQ(groups[2].created, triage.created);

  // A permission held both directly and through a group: revoking one way keeps it.
  EXPECT_EQ(store_->revoke("alice", {"view_pii"}), (PermissionSet{"upload_symbols", "view_pii", "view_rawdump"}));
  EXPECT_TRUE(store_->find_user("alice")->own_permissions.empty());
  EXPECT_EQ(store_->revoke_group("triage", {"view_pii"}), PermissionSet{"view_rawdump"});
  EXPECT_EQ(store_->find_user("alice")->permissions, (PermissionSet{"upload_symbols", "view_rawdump"}));
  EXPECT_EQ(store_->grant_group("triage", {"view_pii", "run_long_queries"}),
            (PermissionSet{"run_long_queries", "view_pii", "view_rawdump"}));
  EXPECT_EQ(store_->find_user("bob")->permissions, (PermissionSet{"run_long_queries", "view_pii", "view_rawdump"}));

  EXPECT_TRUE(store_->remove_member("triage", "bob"));
  EXPECT_FALSE(store_->remove_member("triage", "bob")) << "not a member any more";
  EXPECT_TRUE(store_->find_user("bob")->permissions.empty());
  EXPECT_TRUE(store_->find_user("bob")->groups.empty());

  store_->delete_group("triage");
  EXPECT_EQ(store_->find_user("alice")->permissions, PermissionSet{"upload_symbols"});
  EXPECT_EQ(store_->find_user("alice")->groups, std::vector<std::string>{"symbols"});
  EXPECT_EQ(store_->list_groups().size(), 2u);
  // A group of the same name later starts empty: the old memberships went with the old group.
  store_->add_group("triage", {"admin"});
  EXPECT_FALSE(store_->find_user("alice")->permissions.count("admin"));
  EXPECT_TRUE(store_->list_groups()[2].members.empty());
}

TEST_P(AuthStoreTest, AGroupsPermissionsReachTokensAndSessionsAndLeaveThemAtOnce) {
  store_->add_user("bob", "battery staple", {});
  store_->add_group("triage", {"view_pii", "view_rawdump"});
  EXPECT_THROW(store_->create_token("bob", "", {"view_pii"}, 1, now_), AuthError) << "not a member yet";
  store_->add_member("triage", "bob");

  auto narrow = store_->create_token("bob", "", {"view_pii"}, 90, now_);
  auto all = store_->create_token("bob", "", {}, 90, now_);
  EXPECT_EQ(all.info.permissions, (PermissionSet{"view_pii", "view_rawdump"})) << "empty: every effective one";
  EXPECT_THROW(store_->create_token("bob", "", {"admin"}, 1, now_), AuthError);
  auto session = store_->create_session("bob", 60min, now_);
  EXPECT_EQ(store_->check_session(session.secret, now_)->permissions, (PermissionSet{"view_pii", "view_rawdump"}));

  store_->revoke_group("triage", {"view_rawdump"});
  EXPECT_EQ(store_->check_token(all.secret, now_).permissions, PermissionSet{"view_pii"});
  EXPECT_EQ(store_->check_session(session.secret, now_)->permissions, PermissionSet{"view_pii"});
  store_->grant_group("triage", {"view_rawdump"});
  EXPECT_EQ(store_->check_token(all.secret, now_).permissions, (PermissionSet{"view_pii", "view_rawdump"}));

  store_->remove_member("triage", "bob");
  auto gone = store_->check_token(all.secret, now_);
  EXPECT_EQ(gone.result, Result::kValid);
  EXPECT_TRUE(gone.permissions.empty()) << "the token holds nothing its owner does not";
  EXPECT_TRUE(store_->check_token(narrow.secret, now_).permissions.empty());
  EXPECT_TRUE(store_->check_session(session.secret, now_)->permissions.empty());
  store_->add_member("triage", "bob");
  EXPECT_EQ(store_->check_token(narrow.secret, now_).permissions, PermissionSet{"view_pii"});

  store_->delete_group("triage");
  EXPECT_TRUE(store_->check_token(all.secret, now_).permissions.empty());
  EXPECT_TRUE(store_->check_session(session.secret, now_)->permissions.empty());
  // A token never gains what its owner gets later beyond its own set.
  store_->grant("bob", {"view_pii", "admin"});
  EXPECT_EQ(store_->check_token(narrow.secret, now_).permissions, PermissionSet{"view_pii"});
}

TEST_P(AuthStoreTest, BadGroupInputIsRefusedBeforeAnyWrite) {
  store_->add_user("alice", "correct horse", {});
  EXPECT_THROW(store_->add_group("", {}), AuthError);
  EXPECT_THROW(store_->add_group("two words", {}), AuthError);
  EXPECT_THROW(store_->add_group(std::string(65, 'g'), {}), AuthError);
  EXPECT_THROW(store_->add_group("g'; DROP TABLE auth_groups; --", {}), AuthError);
  try {
    store_->add_group("triage", {"view_pii", "see_everything"});
    FAIL() << "an unknown permission was accepted";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("see_everything"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store_->list_groups().empty());
  store_->add_group("triage", {});
  try {
    store_->add_group("triage", {"admin"});
    FAIL() << "a second triage was accepted";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  store_->add_group("alice", {});  // users and groups are separate name spaces
  EXPECT_THROW(store_->grant_group("nobody", {"admin"}), AuthError);
  EXPECT_THROW(store_->grant_group("triage", {"everything"}), AuthError);
  EXPECT_THROW(store_->revoke_group("nobody", {"admin"}), AuthError);
  EXPECT_THROW(store_->delete_group("nobody"), AuthError);
  EXPECT_THROW(store_->delete_group("bad name"), AuthError);
  EXPECT_THROW(store_->add_member("nobody", "alice"), AuthError);
  EXPECT_THROW(store_->add_member("triage", "nobody"), AuthError);
  EXPECT_THROW(store_->remove_member("nobody", "alice"), AuthError);
  EXPECT_THROW(store_->remove_member("triage", "nobody"), AuthError);
  auto groups = store_->list_groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_TRUE(groups[1].permissions.empty());
  EXPECT_TRUE(groups[1].members.empty());
  EXPECT_TRUE(store_->find_user("alice")->groups.empty());
}

// ----- SQLite only -----

// A file made before groups existed (the four tables of then, a user and a token in them) gains
// the group tables when opened, keeping what it holds.
TEST(SqliteAuthStoreTest, AnOlderFileGainsTheGroupTables) {
  test_support::TempDir dir;
  auto path = dir.path() / "crashes.sqlite";
  const std::string secret = new_token();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> closer(db, &sqlite3_close);
    const std::string sql =
        "CREATE TABLE auth_users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL "
        "DEFAULT 0, permissions TEXT NOT NULL, created_ms INTEGER NOT NULL);"
        "CREATE TABLE auth_tokens(id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE, user TEXT NOT NULL "
        "REFERENCES auth_users(name), label TEXT NOT NULL, permissions TEXT NOT NULL, created_ms INTEGER NOT NULL, "
        "expires_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, shown_prefix TEXT NOT NULL);"
        "CREATE TABLE auth_sessions(hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES auth_users(name), csrf TEXT "
        "NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
        "CREATE TABLE auth_signin_links(hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES auth_users(name), "
        "expires_ms INTEGER NOT NULL);"
        "INSERT INTO auth_users VALUES('alice', '" + hash_password("correct horse") + "', 0, 'view_pii', 0);"
        "INSERT INTO auth_tokens(hash, user, label, permissions, created_ms, expires_ms, shown_prefix) VALUES('" +
        token_hash(secret) + "', 'alice', 'old', 'view_pii', 0, 9000000000000, 'bwt_0000');";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  }
  auto store = open_sqlite_auth_store(path);
  auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(store->check_password("alice", "correct horse"));
  EXPECT_EQ(store->check_token(secret, now).permissions, PermissionSet{"view_pii"});
  store->add_group("triage", {"view_rawdump"});
  EXPECT_TRUE(store->add_member("triage", "alice"));
  EXPECT_EQ(store->find_user("alice")->permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  EXPECT_EQ(store->check_token(secret, now).permissions, PermissionSet{"view_pii"}) << "as made";
}

// ----- PostgreSQL only -----

class PostgresAuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { url_ = fresh_database(); }
  std::string url_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

TEST_F(PostgresAuthStoreTest, AnswersAgainAfterTheServerRestartsWithoutReopening) {
  auto store = open_postgres_auth_store(url_);
  store->add_user("alice", "correct horse", {"view_pii"});
  auto t = store->create_token("alice", "", {}, 90, now_);
  auto s = store->create_session("alice", 60min, now_);
  server().stop();
  EXPECT_THROW(store->check_token(t.secret, now_), AuthUnavailable);
  EXPECT_THROW(store->list_users(), AuthUnavailable);
  server().start();
  EXPECT_EQ(store->check_token(t.secret, now_).result, Result::kValid) << "a new connection was made";
  server().kill();  // no shutdown at all: the store's connection dies unnoticed
  server().start();
  EXPECT_EQ(store->check_token(t.secret, now_).permissions, PermissionSet{"view_pii"}) << "retried on a new one";
  EXPECT_TRUE(store->check_session(s.secret, now_));
  server().stop();
  server().start();
  store->add_group("triage", {"view_rawdump"});  // a write first, after the restart
  store->add_member("triage", "alice");
  EXPECT_EQ(store->check_password("alice", "correct horse")->permissions, (PermissionSet{"view_pii", "view_rawdump"}));
}

TEST_F(PostgresAuthStoreTest, TheTablesLiveNextToTheIndexsAndAreMigratedOnce) {
  index::IndexSettings settings;
  settings.url = url_;
  int index_version = 0;
  {
    index::PostgresCrashIndex index(settings);
    index_version = index.schema_version();
  }
  ASSERT_GT(index_version, 0);
  // Several processes may open a fresh database at once: the advisory lock serializes them.
  std::vector<std::unique_ptr<AuthStore>> stores(4);
  std::vector<std::thread> threads;
  for (auto& s : stores) threads.emplace_back([&s, this] { s = open_postgres_auth_store(url_); });
  for (auto& th : threads) th.join();
  for (auto& s : stores) ASSERT_TRUE(s);
  stores[0]->add_user("alice", "correct horse", {"admin"});
  EXPECT_EQ(stores[3]->list_users().size(), 1u);
  stores.clear();
  auto again = open_postgres_auth_store(url_);
  EXPECT_EQ(again->list_users().size(), 1u) << "reopening keeps the data";

  const auto& migrations = postgres_migrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(pg_scalar(url_, "SELECT COALESCE(MAX(version), 0) FROM auth_schema_version"),
            std::to_string(migrations.back().version));
  EXPECT_EQ(pg_scalar(url_, "SELECT count(*) FROM auth_schema_version"), std::to_string(migrations.size()))
      << "each migration applied once";
  index::PostgresCrashIndex index(settings);
  EXPECT_EQ(index.schema_version(), index_version) << "the index's versions are its own";
  EXPECT_EQ(pg_column(url_,
                      "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'auth%' "
                      "ORDER BY table_name"),
            (std::vector<std::string>{"auth_group_members", "auth_groups", "auth_schema_version", "auth_sessions",
                                      "auth_signin_links", "auth_tokens", "auth_users"}));
}

TEST_F(PostgresAuthStoreTest, OpenAuthStoreUsesTheIndexsPostgresDatabase) {
  test_support::TempDir dir;
  auto config_with = [&](const std::string& url) {
    Config::Sources sources;
    sources.overrides = {{"server.data", dir.path().string()}, {"index.url", url}};
    return Config::load(sources);
  };
  open_postgres_auth_store(url_)->add_user("alice", "correct horse", {"view_pii"});
  auto store = open_auth_store(config_with(url_));
  EXPECT_TRUE(store->find_user("alice")) << "the store of index.url's database";
  std::string postgres_scheme = url_;
  postgres_scheme.replace(0, std::string("postgresql").size(), "postgres");
  EXPECT_TRUE(open_auth_store(config_with(postgres_scheme))->find_user("alice"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "index")) << "no SQLite file made beside it";

  EXPECT_THROW(open_auth_store(config_with("postgresql://user:pass@127.0.0.1:1/none")), AuthUnavailable);
  try {
    open_auth_store(config_with("mysql://user:secret-pass@host/db"));
    FAIL() << "a URL that is not PostgreSQL's was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("secret-pass"), std::string::npos) << e.what();
  }
}

// ----- shared rules -----

TEST(Secrets, TokensAreRandomAndHashesStable) {
  auto a = new_token(), b = new_token();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), kTokenLength);
  EXPECT_EQ(token_hash(a), token_hash(a));
  EXPECT_NE(token_hash(a), token_hash(b));
  EXPECT_EQ(token_hash(a).size(), 64u);
  EXPECT_FALSE(verify_password("not a hash", "anything"));
  EXPECT_FALSE(verify_password(std::string(1000, '$'), "anything"));
}

}  // namespace
}  // namespace bw::auth
