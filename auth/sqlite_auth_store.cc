#include "auth/sqlite_auth_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>

#include "auth/secrets.h"
#include "auth/store_rules.h"

namespace bw::auth {
namespace {

using Clock = std::chrono::system_clock;
using rules::from_ms;
using rules::join;
using rules::split;
using rules::to_ms;

// Created when missing: an older file gains the tables it lacks (the groups) when opened.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS auth_users(
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  permissions TEXT NOT NULL,          -- names separated by spaces (the user's own)
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS auth_tokens(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  hash TEXT NOT NULL UNIQUE,          -- token_hash(token): the token itself is never stored
  user TEXT NOT NULL REFERENCES auth_users(name),
  label TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  shown_prefix TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS auth_tokens_by_user ON auth_tokens(user, id);
CREATE TABLE IF NOT EXISTS auth_sessions(
  hash TEXT PRIMARY KEY,              -- token_hash(cookie value)
  user TEXT NOT NULL REFERENCES auth_users(name),
  csrf TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS auth_sessions_by_user ON auth_sessions(user);
CREATE TABLE IF NOT EXISTS auth_signin_links(
  hash TEXT PRIMARY KEY,              -- token_hash(link secret)
  user TEXT NOT NULL REFERENCES auth_users(name),
  expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS auth_groups(
  name TEXT PRIMARY KEY,
  permissions TEXT NOT NULL,          -- names separated by spaces
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS auth_group_members(
  group_name TEXT NOT NULL REFERENCES auth_groups(name) ON DELETE CASCADE,
  user_name TEXT NOT NULL REFERENCES auth_users(name),
  PRIMARY KEY(group_name, user_name));
CREATE INDEX IF NOT EXISTS auth_group_members_by_user ON auth_group_members(user_name);
)sql";

// A prepared statement on the store's connection, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  Statement(sqlite3* db, const std::string& sql) : Statement(db, sql.c_str()) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int64_t v) {
    if (sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) fail("bind");
    return *this;
  }
  Statement& bind(int i, std::string_view v) {
    if (sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK) fail("bind");
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) throw AuthError("already exists");
    fail("step");
  }
  int64_t int_at(int c) const { return sqlite3_column_int64(stmt_, c); }
  std::string text_at(int c) const {
    const auto* p = sqlite3_column_text(stmt_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, c))) : "";
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw AuthUnavailable(std::string("accounts database: ") + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// The groups of the user in `user_column`, aggregated in the same statement as the user's row
// (one snapshot): two columns, their names and their permissions, each space-joined (NULL: none).
std::string user_groups(std::string_view user_column) {
  std::string from = " FROM auth_group_members AS m JOIN auth_groups AS g ON g.name = m.group_name WHERE m.user_name = " +
                     std::string(user_column) + ")";
  return "(SELECT group_concat(g.name, ' ')" + from + ", (SELECT group_concat(g.permissions, ' ')" + from;
}

// Columns 0-5: a user (rules::make_user's arguments).
const std::string kUserColumns = "u.name, u.disabled, u.permissions, u.created_ms, " + user_groups("u.name");
constexpr const char* kTokenColumns =
    "t.id, t.user, t.label, t.permissions, t.created_ms, t.expires_ms, t.revoked, t.shown_prefix";

User user_from(const Statement& q) {
  return rules::make_user(q.text_at(0), q.int_at(1) != 0, q.text_at(2), from_ms(q.int_at(3)), q.text_at(4),
                          q.text_at(5));
}

TokenInfo token_from(const Statement& q) {
  TokenInfo t;
  t.id = q.int_at(0);
  t.user = q.text_at(1);
  t.label = q.text_at(2);
  t.permissions = split(q.text_at(3));
  t.created = from_ms(q.int_at(4));
  t.expires = from_ms(q.int_at(5));
  t.revoked = q.int_at(6) != 0;
  t.shown_prefix = q.text_at(7);
  return t;
}

class SqliteAuthStore : public AuthStore {
 public:
  explicit SqliteAuthStore(const std::filesystem::path& path) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    db_ = raw;
    if (rc != SQLITE_OK) {
      std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
      sqlite3_close(raw);
      throw AuthUnavailable("accounts database " + path.string() + ": " + why);
    }
    sqlite3_busy_timeout(db_, 10000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA foreign_keys=ON");
    exec(kSchema);
  }
  ~SqliteAuthStore() override { sqlite3_close(db_); }

  User add_user(std::string_view name, std::string_view password, const PermissionSet& permissions) override {
    rules::check_user_name(name);
    rules::check_password_text(password);
    check_permissions(permissions);
    std::string hash = hash_password(password);  // slow: outside the lock
    auto created = Clock::now();
    std::lock_guard lock(mu_);
    try {
      Statement(db_, "INSERT INTO auth_users(name, password_hash, permissions, created_ms) VALUES(?, ?, ?, ?)")
          .bind(1, name)
          .bind(2, hash)
          .bind(3, join(permissions))
          .bind(4, to_ms(created))
          .step();
    } catch (const AuthError&) {
      throw AuthError("a user named " + std::string(name) + " already exists");
    }
    return rules::make_user(std::string(name), false, join(permissions), from_ms(to_ms(created)), "", "");
  }

  std::vector<User> list_users() override {
    std::lock_guard lock(mu_);
    Statement q(db_, "SELECT " + kUserColumns + " FROM auth_users AS u ORDER BY u.name");
    std::vector<User> out;
    while (q.step()) out.push_back(user_from(q));
    return out;
  }

  std::optional<User> find_user(std::string_view name) override {
    if (!rules::is_valid_name(name)) return std::nullopt;
    std::lock_guard lock(mu_);
    return find_locked(name);
  }

  void set_disabled(std::string_view name, bool disabled) override {
    rules::check_user_name(name);
    std::lock_guard lock(mu_);
    Statement(db_, "UPDATE auth_users SET disabled = ? WHERE name = ?").bind(1, disabled ? 1 : 0).bind(2, name).step();
    if (sqlite3_changes(db_) == 0) rules::throw_no_user(name);
  }

  void set_password(std::string_view name, std::string_view password) override {
    rules::check_user_name(name);
    rules::check_password_text(password);
    std::string hash = hash_password(password);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    Statement(db_, "UPDATE auth_users SET password_hash = ? WHERE name = ?").bind(1, hash).bind(2, name).step();
    if (sqlite3_changes(db_) == 0) rules::throw_no_user(name);
    // A new password signs the user out everywhere (a stolen session ends with the old password).
    Statement(db_, "DELETE FROM auth_sessions WHERE user = ?").bind(1, name).step();
    tx.commit();
  }

  std::optional<User> check_password(std::string_view name, std::string_view password) override {
    std::string hash;
    std::optional<User> user;
    if (rules::is_valid_name(name)) {
      std::lock_guard lock(mu_);
      Statement q(db_, "SELECT " + kUserColumns + ", u.password_hash FROM auth_users AS u WHERE u.name = ?");
      q.bind(1, name);
      if (q.step()) {
        user = user_from(q);
        hash = q.text_at(6);
      }
    }
    return rules::password_verdict(std::move(user), hash, password);
  }

  Group add_group(std::string_view name, const PermissionSet& permissions) override {
    rules::check_group_name(name);
    check_permissions(permissions);
    auto created = from_ms(to_ms(Clock::now()));
    std::lock_guard lock(mu_);
    try {
      Statement(db_, "INSERT INTO auth_groups(name, permissions, created_ms) VALUES(?, ?, ?)")
          .bind(1, name)
          .bind(2, join(permissions))
          .bind(3, to_ms(created))
          .step();
    } catch (const AuthError&) {
      throw AuthError("a group named " + std::string(name) + " already exists");
    }
    return Group{std::string(name), permissions, {}, created};
  }

  std::vector<Group> list_groups() override {
    std::lock_guard lock(mu_);
    Statement q(db_,
                "SELECT g.name, g.permissions, g.created_ms, (SELECT group_concat(m.user_name, ' ') "
                "FROM auth_group_members AS m WHERE m.group_name = g.name) FROM auth_groups AS g ORDER BY g.name");
    std::vector<Group> out;
    while (q.step()) {
      Group g{q.text_at(0), split(q.text_at(1)), {}, from_ms(q.int_at(2))};
      for (auto& m : split(q.text_at(3))) g.members.push_back(m);
      out.push_back(std::move(g));
    }
    return out;
  }

  void delete_group(std::string_view name) override {
    rules::check_group_name(name);
    std::lock_guard lock(mu_);
    // The memberships go with it (ON DELETE CASCADE), in the same statement.
    Statement(db_, "DELETE FROM auth_groups WHERE name = ?").bind(1, name).step();
    if (sqlite3_changes(db_) == 0) rules::throw_no_group(name);
  }

  bool add_member(std::string_view group, std::string_view user) override {
    return change_membership(group, user,
                             "INSERT OR IGNORE INTO auth_group_members(group_name, user_name) VALUES(?, ?)");
  }

  bool remove_member(std::string_view group, std::string_view user) override {
    return change_membership(group, user, "DELETE FROM auth_group_members WHERE group_name = ? AND user_name = ?");
  }

  CreatedToken create_token(std::string_view user, std::string_view label, const PermissionSet& permissions, int days,
                            Clock::time_point now) override {
    rules::check_user_name(user);
    rules::check_label(label);
    check_permissions(permissions);
    rules::check_token_days(days);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    auto owner = find_locked(user);
    if (!owner) rules::throw_no_user(user);
    CreatedToken out = rules::new_token_record(*owner, label, permissions, days, now);
    auto& t = out.info;
    Statement(db_,
              "INSERT INTO auth_tokens(hash, user, label, permissions, created_ms, expires_ms, shown_prefix) "
              "VALUES(?, ?, ?, ?, ?, ?, ?)")
        .bind(1, token_hash(out.secret))
        .bind(2, t.user)
        .bind(3, t.label)
        .bind(4, join(t.permissions))
        .bind(5, to_ms(t.created))
        .bind(6, to_ms(t.expires))
        .bind(7, t.shown_prefix)
        .step();
    t.id = sqlite3_last_insert_rowid(db_);
    tx.commit();
    return out;
  }

  std::vector<TokenInfo> list_tokens(std::optional<std::string_view> user) override {
    if (user && !rules::is_valid_name(*user)) return {};
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kTokenColumns + " FROM auth_tokens AS t" +
                      (user ? " WHERE t.user = ?" : "") + " ORDER BY t.id DESC";
    Statement q(db_, sql);
    if (user) q.bind(1, *user);
    std::vector<TokenInfo> out;
    while (q.step()) out.push_back(token_from(q));
    return out;
  }

  bool revoke_token(int64_t id) override {
    std::lock_guard lock(mu_);
    Statement(db_, "UPDATE auth_tokens SET revoked = 1 WHERE id = ? AND revoked = 0").bind(1, id).step();
    return sqlite3_changes(db_) > 0;
  }

  TokenCheck check_token(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_token(secret)) {
      TokenCheck malformed;
      malformed.result = TokenCheck::Result::kMalformed;
      return malformed;
    }
    std::string hash = token_hash(secret);
    std::lock_guard lock(mu_);
    // One statement: the token, its owner and the owner's groups in one snapshot.
    Statement q(db_, std::string("SELECT ") + kTokenColumns + ", u.disabled, u.permissions, " +
                         user_groups("u.name") +
                         " FROM auth_tokens AS t JOIN auth_users AS u ON u.name = t.user WHERE t.hash = ?");
    q.bind(1, hash);
    if (!q.step()) {
      TokenCheck unknown;
      unknown.result = TokenCheck::Result::kUnknown;
      return unknown;
    }
    User owner = rules::make_user(q.text_at(1), q.int_at(8) != 0, q.text_at(9), {}, q.text_at(10), q.text_at(11));
    return rules::token_verdict(token_from(q), owner.disabled, owner.permissions, now);
  }

  CreatedSession create_session(std::string_view user, std::chrono::minutes lifetime, Clock::time_point now) override {
    rules::check_session_lifetime(lifetime);
    rules::check_user_name(user);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    auto owner = find_locked(user);
    rules::active_user(owner, user);
    CreatedSession out{new_secret(kSessionPrefix), random_hex32(), from_ms(to_ms(now + lifetime))};
    // Expired sessions go when new ones come: the table holds live sessions only, give or take.
    Statement(db_, "DELETE FROM auth_sessions WHERE expires_ms <= ?").bind(1, to_ms(now)).step();
    Statement(db_, "INSERT INTO auth_sessions(hash, user, csrf, created_ms, expires_ms) VALUES(?, ?, ?, ?, ?)")
        .bind(1, token_hash(out.secret))
        .bind(2, owner->name)
        .bind(3, out.csrf)
        .bind(4, to_ms(now))
        .bind(5, to_ms(out.expires))
        .step();
    tx.commit();
    return out;
  }

  std::optional<Session> check_session(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_secret(secret, kSessionPrefix)) return std::nullopt;
    std::string hash = token_hash(secret);
    std::lock_guard lock(mu_);
    Statement q(db_, std::string("SELECT s.user, s.csrf, s.expires_ms, u.disabled, u.permissions, ") +
                         user_groups("u.name") +
                         " FROM auth_sessions AS s JOIN auth_users AS u ON u.name = s.user WHERE s.hash = ?");
    q.bind(1, hash);
    if (!q.step()) return std::nullopt;
    auto expires = from_ms(q.int_at(2));
    if (now >= expires || q.int_at(3) != 0) return std::nullopt;
    User owner = rules::make_user(q.text_at(0), false, q.text_at(4), {}, q.text_at(5), q.text_at(6));
    return Session{owner.name, owner.permissions, q.text_at(1), expires};
  }

  bool end_session(std::string_view secret) override {
    if (!is_well_formed_secret(secret, kSessionPrefix)) return false;
    std::string hash = token_hash(secret);
    std::lock_guard lock(mu_);
    Statement(db_, "DELETE FROM auth_sessions WHERE hash = ?").bind(1, hash).step();
    return sqlite3_changes(db_) > 0;
  }

  int end_sessions_of(std::string_view user) override {
    if (!rules::is_valid_name(user)) return 0;
    std::lock_guard lock(mu_);
    Statement(db_, "DELETE FROM auth_sessions WHERE user = ?").bind(1, user).step();
    return sqlite3_changes(db_);
  }

  std::string create_signin_link(std::string_view user, std::chrono::minutes lifetime, Clock::time_point now) override {
    rules::check_link_lifetime(lifetime);
    rules::check_user_name(user);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    auto owner = find_locked(user);
    rules::active_user(owner, user);
    std::string secret = new_secret(kSignInLinkPrefix);
    Statement(db_, "DELETE FROM auth_signin_links WHERE expires_ms <= ?").bind(1, to_ms(now)).step();
    Statement(db_, "INSERT INTO auth_signin_links(hash, user, expires_ms) VALUES(?, ?, ?)")
        .bind(1, token_hash(secret))
        .bind(2, owner->name)
        .bind(3, to_ms(now + lifetime))
        .step();
    tx.commit();
    return secret;
  }

  std::optional<std::string> redeem_signin_link(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_secret(secret, kSignInLinkPrefix)) return std::nullopt;
    std::string hash = token_hash(secret);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    std::string user;
    bool usable = false;
    {
      Statement q(db_,
                  "SELECT l.user, l.expires_ms, u.disabled FROM auth_signin_links AS l "
                  "JOIN auth_users AS u ON u.name = l.user WHERE l.hash = ?");
      q.bind(1, hash);
      if (!q.step()) return std::nullopt;
      user = q.text_at(0);
      usable = now < from_ms(q.int_at(1)) && q.int_at(2) == 0;
    }
    // Used or not, a presented link is gone: one use, and an expired one is of no use.
    Statement(db_, "DELETE FROM auth_signin_links WHERE hash = ?").bind(1, hash).step();
    bool deleted = sqlite3_changes(db_) > 0;
    tx.commit();
    if (!deleted || !usable) return std::nullopt;
    return user;
  }

 private:
  // BEGIN IMMEDIATE ... COMMIT (the write lock taken at once: a read-then-write cannot interleave
  // with another process's), rolled back when left by an exception. Under mu_.
  class Transaction {
   public:
    explicit Transaction(SqliteAuthStore& store) : store_(store) { store_.exec("BEGIN IMMEDIATE"); }
    ~Transaction() {
      if (!done_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      store_.exec("COMMIT");
      done_ = true;
    }

   private:
    SqliteAuthStore& store_;
    bool done_ = false;
  };

  // Runs `sql` (bound to group, user) once both exist; true when it changed a row.
  bool change_membership(std::string_view group, std::string_view user, const char* sql) {
    rules::check_group_name(group);
    rules::check_user_name(user);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    must_exist("SELECT 1 FROM auth_groups WHERE name = ?", group, rules::throw_no_group);
    must_exist("SELECT 1 FROM auth_users WHERE name = ?", user, rules::throw_no_user);
    Statement(db_, sql).bind(1, group).bind(2, user).step();
    bool changed = sqlite3_changes(db_) > 0;
    tx.commit();
    return changed;
  }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string why = error ? error : "unknown error";
      sqlite3_free(error);
      throw AuthUnavailable("accounts database: " + why);
    }
  }

  std::optional<User> find_locked(std::string_view name) {
    Statement q(db_, "SELECT " + kUserColumns + " FROM auth_users AS u WHERE u.name = ?");
    q.bind(1, name);
    if (!q.step()) return std::nullopt;
    return user_from(q);
  }

  void must_exist(const char* sql, std::string_view name, void (*missing)(std::string_view)) {
    Statement q(db_, sql);
    q.bind(1, name);
    if (!q.step()) missing(name);
  }

  PermissionSet edit_user_permissions(std::string_view name, const PermissionEdit& change) override {
    rules::check_user_name(name);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    auto user = find_locked(name);
    if (!user) rules::throw_no_user(name);
    change(user->own_permissions);
    Statement(db_, "UPDATE auth_users SET permissions = ? WHERE name = ?")
        .bind(1, join(user->own_permissions))
        .bind(2, name)
        .step();
    auto after = find_locked(name);
    tx.commit();
    return after->permissions;
  }

  PermissionSet edit_group_permissions(std::string_view name, const PermissionEdit& change) override {
    rules::check_group_name(name);
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    PermissionSet permissions;
    {
      Statement q(db_, "SELECT permissions FROM auth_groups WHERE name = ?");
      q.bind(1, name);
      if (!q.step()) rules::throw_no_group(name);
      permissions = split(q.text_at(0));
    }
    change(permissions);
    Statement(db_, "UPDATE auth_groups SET permissions = ? WHERE name = ?").bind(1, join(permissions)).bind(2, name).step();
    tx.commit();
    return permissions;
  }

  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<AuthStore> open_sqlite_auth_store(const std::filesystem::path& path) {
  return std::make_unique<SqliteAuthStore>(path);
}

}  // namespace bw::auth
