#include "auth/sqlite_auth_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "auth/secrets.h"

namespace bw::auth {
namespace {

using Clock = std::chrono::system_clock;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS auth_users(
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  permissions TEXT NOT NULL,          -- names separated by spaces
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
)sql";

int64_t to_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

std::string join(const PermissionSet& permissions) {
  std::string out;
  for (const auto& p : permissions) out += (out.empty() ? "" : " ") + p;
  return out;
}

PermissionSet split(const std::string& text) {
  PermissionSet out;
  std::istringstream in(text);
  for (std::string p; in >> p;) out.insert(p);
  return out;
}

void check_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '@' || c == '-');
  }
  if (!ok) throw AuthError("a user name is 1-64 characters of A-Z a-z 0-9 . _ @ -");
}

void check_password_text(std::string_view password) {
  if (password.size() < 8 || password.size() > 1024) throw AuthError("a password is 8 to 1024 bytes long");
}

void check_label(std::string_view label) {
  bool ok = label.size() <= 200;
  for (char c : label) ok = ok && c >= 0x20 && c < 0x7f;
  if (!ok) throw AuthError("a token label is at most 200 printable ASCII characters");
}

// A prepared statement on the store's connection, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
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

constexpr const char* kUserColumns = "name, disabled, permissions, created_ms";
constexpr const char* kTokenColumns =
    "t.id, t.user, t.label, t.permissions, t.created_ms, t.expires_ms, t.revoked, t.shown_prefix";

User user_from(const Statement& q) {
  return User{q.text_at(0), q.int_at(1) != 0, split(q.text_at(2)), from_ms(q.int_at(3))};
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
    check_name(name);
    check_password_text(password);
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
    return User{std::string(name), false, permissions, from_ms(to_ms(created))};
  }

  std::vector<User> list_users() override {
    std::lock_guard lock(mu_);
    Statement q(db_, (std::string("SELECT ") + kUserColumns + " FROM auth_users ORDER BY name").c_str());
    std::vector<User> out;
    while (q.step()) out.push_back(user_from(q));
    return out;
  }

  std::optional<User> find_user(std::string_view name) override {
    std::lock_guard lock(mu_);
    return find_locked(name);
  }

  void set_disabled(std::string_view name, bool disabled) override {
    std::lock_guard lock(mu_);
    Statement(db_, "UPDATE auth_users SET disabled = ? WHERE name = ?").bind(1, disabled ? 1 : 0).bind(2, name).step();
    must_have_changed(name);
  }

  void set_password(std::string_view name, std::string_view password) override {
    check_password_text(password);
    std::string hash = hash_password(password);
    std::lock_guard lock(mu_);
    Statement(db_, "UPDATE auth_users SET password_hash = ? WHERE name = ?").bind(1, hash).bind(2, name).step();
    must_have_changed(name);
    // A new password signs the user out everywhere (a stolen session ends with the old password).
    Statement(db_, "DELETE FROM auth_sessions WHERE user = ?").bind(1, name).step();
  }

  PermissionSet grant(std::string_view name, const PermissionSet& permissions) override {
    check_permissions(permissions);
    return change_permissions(name, [&](PermissionSet& p) { p.insert(permissions.begin(), permissions.end()); });
  }

  PermissionSet revoke(std::string_view name, const PermissionSet& permissions) override {
    check_permissions(permissions);
    return change_permissions(name, [&](PermissionSet& p) {
      for (const auto& x : permissions) p.erase(x);
    });
  }

  std::optional<User> check_password(std::string_view name, std::string_view password) override {
    std::string hash;
    std::optional<User> user;
    {
      std::lock_guard lock(mu_);
      Statement q(db_, (std::string("SELECT ") + kUserColumns + ", password_hash FROM auth_users WHERE name = ?").c_str());
      q.bind(1, name);
      if (q.step()) {
        user = user_from(q);
        hash = q.text_at(4);
      }
    }
    // Unknown and disabled users cost a hash too: the time does not tell which names exist.
    bool ok = verify_password(hash.empty() ? decoy_password_hash() : hash, password);
    if (!user || hash.empty() || !ok || user->disabled) return std::nullopt;
    return user;
  }

  CreatedToken create_token(std::string_view user, std::string_view label, const PermissionSet& permissions, int days,
                            Clock::time_point now) override {
    check_label(label);
    check_permissions(permissions);
    if (days < 1 || days > 3650) throw AuthError("a token lasts 1 to 3650 days");
    std::lock_guard lock(mu_);
    auto owner = find_locked(user);
    if (!owner) throw AuthError("no user named " + std::string(user));
    if (owner->disabled) throw AuthError("user " + owner->name + " is disabled");
    PermissionSet granted = permissions.empty() ? owner->permissions : permissions;
    std::string extra;
    for (const auto& p : granted) {
      if (!owner->permissions.count(p)) extra += (extra.empty() ? "" : ", ") + p;
    }
    if (!extra.empty()) throw AuthError("user " + owner->name + " does not hold " + extra);
    CreatedToken out;
    out.secret = new_token();
    auto& t = out.info;
    t.user = owner->name;
    t.label = std::string(label);
    t.permissions = granted;
    t.created = from_ms(to_ms(now));
    t.expires = from_ms(to_ms(now + std::chrono::hours(24) * days));
    t.shown_prefix = out.secret.substr(0, 8);
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
    return out;
  }

  std::vector<TokenInfo> list_tokens(std::optional<std::string_view> user) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kTokenColumns + " FROM auth_tokens AS t" +
                      (user ? " WHERE t.user = ?" : "") + " ORDER BY t.id DESC";
    Statement q(db_, sql.c_str());
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
    TokenCheck check;
    if (!is_well_formed_token(secret)) {
      check.result = TokenCheck::Result::kMalformed;
      return check;
    }
    std::lock_guard lock(mu_);
    Statement q(db_, (std::string("SELECT ") + kTokenColumns +
                      ", u.disabled, u.permissions FROM auth_tokens AS t JOIN auth_users AS u ON u.name = t.user "
                      "WHERE t.hash = ?")
                         .c_str());
    q.bind(1, token_hash(secret));
    if (!q.step()) {
      check.result = TokenCheck::Result::kUnknown;
      return check;
    }
    TokenInfo t = token_from(q);
    check.user = t.user;
    if (t.revoked) {
      check.result = TokenCheck::Result::kRevoked;
    } else if (now >= t.expires) {
      check.result = TokenCheck::Result::kExpired;
    } else if (q.int_at(8) != 0) {
      check.result = TokenCheck::Result::kUserDisabled;
    } else {
      check.result = TokenCheck::Result::kValid;
      PermissionSet owner = split(q.text_at(9));
      for (const auto& p : t.permissions) {
        if (owner.count(p)) check.permissions.insert(p);
      }
    }
    return check;
  }

  CreatedSession create_session(std::string_view user, std::chrono::minutes lifetime, Clock::time_point now) override {
    if (lifetime < std::chrono::minutes(1) || lifetime > std::chrono::hours(24 * 365)) {
      throw AuthError("a session lasts 1 minute to 365 days");
    }
    std::lock_guard lock(mu_);
    auto owner = find_locked(user);
    if (!owner) throw AuthError("no user named " + std::string(user));
    if (owner->disabled) throw AuthError("user " + owner->name + " is disabled");
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
    return out;
  }

  std::optional<Session> check_session(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_secret(secret, kSessionPrefix)) return std::nullopt;
    std::lock_guard lock(mu_);
    Statement q(db_,
                "SELECT s.user, s.csrf, s.expires_ms, u.disabled, u.permissions FROM auth_sessions AS s "
                "JOIN auth_users AS u ON u.name = s.user WHERE s.hash = ?");
    q.bind(1, token_hash(secret));
    if (!q.step()) return std::nullopt;
    auto expires = from_ms(q.int_at(2));
    if (now >= expires || q.int_at(3) != 0) return std::nullopt;
    return Session{q.text_at(0), split(q.text_at(4)), q.text_at(1), expires};
  }

  bool end_session(std::string_view secret) override {
    if (!is_well_formed_secret(secret, kSessionPrefix)) return false;
    std::lock_guard lock(mu_);
    Statement(db_, "DELETE FROM auth_sessions WHERE hash = ?").bind(1, token_hash(secret)).step();
    return sqlite3_changes(db_) > 0;
  }

  int end_sessions_of(std::string_view user) override {
    std::lock_guard lock(mu_);
    Statement(db_, "DELETE FROM auth_sessions WHERE user = ?").bind(1, user).step();
    return sqlite3_changes(db_);
  }

  std::string create_signin_link(std::string_view user, std::chrono::minutes lifetime, Clock::time_point now) override {
    if (lifetime < std::chrono::minutes(1) || lifetime > std::chrono::hours(24 * 30)) {
      throw AuthError("a sign-in link lasts 1 minute to 30 days");
    }
    std::lock_guard lock(mu_);
    auto owner = find_locked(user);
    if (!owner) throw AuthError("no user named " + std::string(user));
    if (owner->disabled) throw AuthError("user " + owner->name + " is disabled");
    std::string secret = new_secret(kSignInLinkPrefix);
    Statement(db_, "DELETE FROM auth_signin_links WHERE expires_ms <= ?").bind(1, to_ms(now)).step();
    Statement(db_, "INSERT INTO auth_signin_links(hash, user, expires_ms) VALUES(?, ?, ?)")
        .bind(1, token_hash(secret))
        .bind(2, owner->name)
        .bind(3, to_ms(now + lifetime))
        .step();
    return secret;
  }

  std::optional<std::string> redeem_signin_link(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_secret(secret, kSignInLinkPrefix)) return std::nullopt;
    std::lock_guard lock(mu_);
    std::string hash = token_hash(secret);
    Statement q(db_,
                "SELECT l.user, l.expires_ms, u.disabled FROM auth_signin_links AS l "
                "JOIN auth_users AS u ON u.name = l.user WHERE l.hash = ?");
    q.bind(1, hash);
    if (!q.step()) return std::nullopt;
    std::string user = q.text_at(0);
    bool usable = now < from_ms(q.int_at(1)) && q.int_at(2) == 0;
    // Used or not, a presented link is gone: one use, and an expired one is of no use.
    Statement(db_, "DELETE FROM auth_signin_links WHERE hash = ?").bind(1, hash).step();
    if (sqlite3_changes(db_) == 0 || !usable) return std::nullopt;
    return user;
  }

 private:
  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string why = error ? error : "unknown error";
      sqlite3_free(error);
      throw AuthUnavailable("accounts database: " + why);
    }
  }

  std::optional<User> find_locked(std::string_view name) {
    Statement q(db_, (std::string("SELECT ") + kUserColumns + " FROM auth_users WHERE name = ?").c_str());
    q.bind(1, name);
    if (!q.step()) return std::nullopt;
    return user_from(q);
  }

  void must_have_changed(std::string_view name) {
    if (sqlite3_changes(db_) == 0) throw AuthError("no user named " + std::string(name));
  }

  template <typename F>
  PermissionSet change_permissions(std::string_view name, F&& change) {
    std::lock_guard lock(mu_);
    auto user = find_locked(name);
    if (!user) throw AuthError("no user named " + std::string(name));
    change(user->permissions);
    Statement(db_, "UPDATE auth_users SET permissions = ? WHERE name = ?")
        .bind(1, join(user->permissions))
        .bind(2, name)
        .step();
    return user->permissions;
  }

  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<AuthStore> open_sqlite_auth_store(const std::filesystem::path& path) {
  return std::make_unique<SqliteAuthStore>(path);
}

}  // namespace bw::auth
