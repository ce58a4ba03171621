#include "auth/postgres_auth_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "auth/postgres_migrations.h"
#include "auth/secrets.h"
#include "auth/store_rules.h"
#include "core/log.h"

namespace bw::auth {
namespace {

using Clock = std::chrono::system_clock;
using rules::from_ms;
using rules::join;
using rules::split;
using rules::to_ms;

// Advisory lock key of the account migrations (the index uses ...0001 and ...0002).
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(7160529375421190003)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(7160529375421190003)";
constexpr const char* kStatementTimeout = "SET statement_timeout = 10000";
constexpr const char* kUniqueViolation = "23505";

// A PostgreSQL failure. `lost`: the connection is gone (the server restarted or the network
// failed): it is dropped and the operation may run again on a new one.
class PgFailure : public AuthUnavailable {
 public:
  PgFailure(const std::string& what, std::string sqlstate, bool lost)
      : AuthUnavailable(what), sqlstate_(std::move(sqlstate)), lost_(lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool lost() const { return lost_; }

 private:
  std::string sqlstate_;
  bool lost_;
};

class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  // NULL reads as "" (string_agg over no rows).
  std::string text(int row, int col) const { return PQgetvalue(r_.get(), row, col); }
  int64_t integer(int row, int col) const {
    int64_t v = 0;
    const char* p = PQgetvalue(r_.get(), row, col);
    std::from_chars(p, p + std::strlen(p), v);
    return v;
  }
  bool boolean(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }
  uint64_t affected() const {
    const char* n = PQcmdTuples(r_.get());
    return *n ? std::strtoull(n, nullptr, 10) : 0;
  }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

// Parameters in text format (never spliced into SQL).
using Params = std::vector<std::string>;

std::string param(bool v) { return v ? "true" : "false"; }
std::string param(int64_t v) { return std::to_string(v); }

class Connection {
 public:
  explicit Connection(const std::string& url) {
    // Earlier keywords are defaults the URL's own parameters override (expand_dbname).
    const char* keys[] = {"connect_timeout", "client_encoding", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "UTF8", "breakwater-accounts", url.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keys, values, 1));
    if (!conn_) throw PgFailure("accounts database: out of memory connecting", "08001", true);
    if (broken()) throw PgFailure("accounts database: cannot connect: " + last_error(), "08001", true);
    // Server notices ("relation already exists, skipping") are not for the log.
    PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
    exec(kStatementTimeout);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool broken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }

  // A statement without parameters (transaction control, migrations).
  Rows exec(const std::string& sql) { return check(PQexec(conn_.get(), sql.c_str()), sql); }

  // A statement with parameters, prepared on this connection the first time its text is seen
  // (the texts are the constants of this file: a bounded set).
  Rows run(const std::string& sql, const Params& params) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = "bwa" + std::to_string(prepared_.size());
      check(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr), sql);
      it = prepared_.emplace(sql, name).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    return check(PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                nullptr, 0),
                 sql);
  }

 private:
  std::string last_error() const {
    std::string message = PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return message;
  }

  Rows check(PGresult* raw, const std::string& sql) {
    Rows r(raw);
    ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    std::string sqlstate = state ? state : "";
    // Class 08: connection exceptions; 57P01-03: the server is shutting down or starting.
    bool lost = broken() || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
                sqlstate == "57P03";
    std::string head = sql.substr(0, std::min<size_t>(sql.find_first_of(" \n"), 40));
    throw PgFailure("accounts database: " + head + ": " + last_error(), sqlstate, lost);
  }

  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};  // closed however the constructor ends
  std::unordered_map<std::string, std::string> prepared_;
};

// BEGIN ... COMMIT, rolled back when left by an exception (unless the connection is gone).
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) { c_.exec("BEGIN"); }
  ~Transaction() {
    if (done_ || c_.broken()) return;
    try {
      c_.exec("ROLLBACK");
    } catch (const std::exception&) {  // the connection is then dropped as broken
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    c_.exec("COMMIT");
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

// The groups of the user in `user_column`, aggregated in the same statement as the user's row
// (one snapshot): two columns, their names and their permissions, each space-joined (NULL: none).
std::string user_groups(std::string_view user_column) {
  std::string from = " FROM auth_group_members AS m JOIN auth_groups AS g ON g.name = m.group_name WHERE m.user_name = " +
                     std::string(user_column) + ")";
  return "(SELECT string_agg(g.name, ' ')" + from + ", (SELECT string_agg(g.permissions, ' ')" + from;
}

// Columns 0-5: a user (rules::make_user's arguments).
const std::string kUserColumns = "u.name, u.disabled, u.permissions, u.created_ms, " + user_groups("u.name");
const std::string kFindUser = "SELECT " + kUserColumns + " FROM auth_users AS u WHERE u.name = $1::text";
const std::string kTokenColumns =
    "t.id, t.user_name, t.label, t.permissions, t.created_ms, t.expires_ms, t.revoked, t.shown_prefix";

User user_at(const Rows& r, int row) {
  return rules::make_user(r.text(row, 0), r.boolean(row, 1), r.text(row, 2), from_ms(r.integer(row, 3)),
                          r.text(row, 4), r.text(row, 5));
}

TokenInfo token_at(const Rows& r, int row) {
  TokenInfo t;
  t.id = r.integer(row, 0);
  t.user = r.text(row, 1);
  t.label = r.text(row, 2);
  t.permissions = split(r.text(row, 3));
  t.created = from_ms(r.integer(row, 4));
  t.expires = from_ms(r.integer(row, 5));
  t.revoked = r.boolean(row, 6);
  t.shown_prefix = r.text(row, 7);
  return t;
}

std::optional<User> find(Connection& c, std::string_view name) {
  Rows r = c.run(kFindUser, {std::string(name)});
  if (r.size() == 0) return std::nullopt;
  return user_at(r, 0);
}

class PostgresAuthStore : public AuthStore {
 public:
  explicit PostgresAuthStore(std::string url) : url_(std::move(url)) {
    with_db([&](Connection& c) { migrate(c); });
  }

  User add_user(std::string_view name, std::string_view password, const PermissionSet& permissions) override {
    rules::check_user_name(name);
    rules::check_password_text(password);
    check_permissions(permissions);
    std::string hash = hash_password(password);  // slow: before the connection is taken
    auto created = from_ms(to_ms(Clock::now()));
    with_db([&](Connection& c) {
      try {
        c.run("INSERT INTO auth_users(name, password_hash, permissions, created_ms) "
              "VALUES($1::text, $2::text, $3::text, $4::bigint)",
              {std::string(name), hash, join(permissions), param(to_ms(created))});
      } catch (const PgFailure& e) {
        if (e.sqlstate() == kUniqueViolation) throw AuthError("a user named " + std::string(name) + " already exists");
        throw;
      }
    });
    return rules::make_user(std::string(name), false, join(permissions), created, "", "");
  }

  std::vector<User> list_users() override {
    return with_db([&](Connection& c) {
      Rows r = c.run("SELECT " + kUserColumns + " FROM auth_users AS u ORDER BY u.name", {});
      std::vector<User> out;
      for (int i = 0; i < r.size(); ++i) out.push_back(user_at(r, i));
      return out;
    });
  }

  std::optional<User> find_user(std::string_view name) override {
    if (!rules::is_valid_name(name)) return std::nullopt;
    return with_db([&](Connection& c) { return find(c, name); });
  }

  void set_disabled(std::string_view name, bool disabled) override {
    rules::check_user_name(name);
    with_db([&](Connection& c) {
      Rows r = c.run("UPDATE auth_users SET disabled = $2::boolean WHERE name = $1::text",
                     {std::string(name), param(disabled)});
      if (r.affected() == 0) rules::throw_no_user(name);
    });
  }

  void set_password(std::string_view name, std::string_view password) override {
    rules::check_user_name(name);
    rules::check_password_text(password);
    std::string hash = hash_password(password);
    with_db([&](Connection& c) {
      Transaction tx(c);
      Rows r = c.run("UPDATE auth_users SET password_hash = $2::text WHERE name = $1::text", {std::string(name), hash});
      if (r.affected() == 0) rules::throw_no_user(name);
      // A new password signs the user out everywhere (a stolen session ends with the old password).
      c.run("DELETE FROM auth_sessions WHERE user_name = $1::text", {std::string(name)});
      tx.commit();
    });
  }

  PermissionSet grant(std::string_view name, const PermissionSet& permissions) override {
    check_permissions(permissions);
    return change_user_permissions(name, [&](PermissionSet& p) { p.insert(permissions.begin(), permissions.end()); });
  }

  PermissionSet revoke(std::string_view name, const PermissionSet& permissions) override {
    check_permissions(permissions);
    return change_user_permissions(name, [&](PermissionSet& p) {
      for (const auto& x : permissions) p.erase(x);
    });
  }

  std::optional<User> check_password(std::string_view name, std::string_view password) override {
    std::string hash;
    std::optional<User> user;
    if (rules::is_valid_name(name)) {
      with_db([&](Connection& c) {
        Rows r = c.run("SELECT " + kUserColumns + ", u.password_hash FROM auth_users AS u WHERE u.name = $1::text",
                       {std::string(name)});
        if (r.size() == 0) return;
        user = user_at(r, 0);
        hash = r.text(0, 6);
      });
    }
    // Unknown and disabled users cost a hash too: the time does not tell which names exist.
    bool ok = verify_password(hash.empty() ? decoy_password_hash() : hash, password);
    if (!user || hash.empty() || !ok || user->disabled) return std::nullopt;
    return user;
  }

  Group add_group(std::string_view name, const PermissionSet& permissions) override {
    rules::check_group_name(name);
    check_permissions(permissions);
    auto created = from_ms(to_ms(Clock::now()));
    with_db([&](Connection& c) {
      try {
        c.run("INSERT INTO auth_groups(name, permissions, created_ms) VALUES($1::text, $2::text, $3::bigint)",
              {std::string(name), join(permissions), param(to_ms(created))});
      } catch (const PgFailure& e) {
        if (e.sqlstate() == kUniqueViolation) throw AuthError("a group named " + std::string(name) + " already exists");
        throw;
      }
    });
    return Group{std::string(name), permissions, {}, created};
  }

  std::vector<Group> list_groups() override {
    return with_db([&](Connection& c) {
      Rows r = c.run(
          "SELECT g.name, g.permissions, g.created_ms, (SELECT string_agg(m.user_name, ' ') "
          "FROM auth_group_members AS m WHERE m.group_name = g.name) FROM auth_groups AS g ORDER BY g.name",
          {});
      std::vector<Group> out;
      for (int i = 0; i < r.size(); ++i) {
        Group g{r.text(i, 0), split(r.text(i, 1)), {}, from_ms(r.integer(i, 2))};
        for (auto& m : split(r.text(i, 3))) g.members.push_back(m);
        out.push_back(std::move(g));
      }
      return out;
    });
  }

  void delete_group(std::string_view name) override {
    rules::check_group_name(name);
    with_db([&](Connection& c) {
      // The memberships go with it (ON DELETE CASCADE), in the same statement.
      Rows r = c.run("DELETE FROM auth_groups WHERE name = $1::text", {std::string(name)});
      if (r.affected() == 0) rules::throw_no_group(name);
    });
  }

  PermissionSet grant_group(std::string_view name, const PermissionSet& permissions) override {
    check_permissions(permissions);
    return change_group_permissions(name, [&](PermissionSet& p) { p.insert(permissions.begin(), permissions.end()); });
  }

  PermissionSet revoke_group(std::string_view name, const PermissionSet& permissions) override {
    check_permissions(permissions);
    return change_group_permissions(name, [&](PermissionSet& p) {
      for (const auto& x : permissions) p.erase(x);
    });
  }

  bool add_member(std::string_view group, std::string_view user) override {
    rules::check_group_name(group);
    rules::check_user_name(user);
    return with_db([&](Connection& c) {
      Transaction tx(c);
      lock_group_and_user(c, group, user);
      Rows r = c.run("INSERT INTO auth_group_members(group_name, user_name) VALUES($1::text, $2::text) "
                     "ON CONFLICT DO NOTHING",
                     {std::string(group), std::string(user)});
      tx.commit();
      return r.affected() > 0;
    });
  }

  bool remove_member(std::string_view group, std::string_view user) override {
    rules::check_group_name(group);
    rules::check_user_name(user);
    return with_db([&](Connection& c) {
      Transaction tx(c);
      lock_group_and_user(c, group, user);
      Rows r = c.run("DELETE FROM auth_group_members WHERE group_name = $1::text AND user_name = $2::text",
                     {std::string(group), std::string(user)});
      tx.commit();
      return r.affected() > 0;
    });
  }

  CreatedToken create_token(std::string_view user, std::string_view label, const PermissionSet& permissions, int days,
                            Clock::time_point now) override {
    rules::check_user_name(user);
    rules::check_label(label);
    check_permissions(permissions);
    rules::check_token_days(days);
    return with_db([&](Connection& c) {
      // A permission taken from the owner after this read is taken from the token too, at once
      // (check_token narrows to the owner's permissions then).
      auto owner = find(c, user);
      if (!owner) rules::throw_no_user(user);
      CreatedToken out;
      auto& t = out.info;
      t.permissions = rules::token_permissions(*owner, permissions);
      out.secret = new_token();
      t.user = owner->name;
      t.label = std::string(label);
      t.created = from_ms(to_ms(now));
      t.expires = from_ms(to_ms(now + std::chrono::hours(24) * days));
      t.shown_prefix = out.secret.substr(0, 8);
      Rows r = c.run(
          "INSERT INTO auth_tokens(hash, user_name, label, permissions, created_ms, expires_ms, shown_prefix) "
          "VALUES($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::text) RETURNING id",
          {token_hash(out.secret), t.user, t.label, join(t.permissions), param(to_ms(t.created)),
           param(to_ms(t.expires)), t.shown_prefix});
      t.id = r.integer(0, 0);
      return out;
    });
  }

  std::vector<TokenInfo> list_tokens(std::optional<std::string_view> user) override {
    if (user && !rules::is_valid_name(*user)) return {};
    return with_db([&](Connection& c) {
      Rows r = user ? c.run("SELECT " + kTokenColumns +
                                " FROM auth_tokens AS t WHERE t.user_name = $1::text ORDER BY t.id DESC",
                            {std::string(*user)})
                    : c.run("SELECT " + kTokenColumns + " FROM auth_tokens AS t ORDER BY t.id DESC", {});
      std::vector<TokenInfo> out;
      for (int i = 0; i < r.size(); ++i) out.push_back(token_at(r, i));
      return out;
    });
  }

  bool revoke_token(int64_t id) override {
    return with_db([&](Connection& c) {
      return c.run("UPDATE auth_tokens SET revoked = true WHERE id = $1::bigint AND NOT revoked", {param(id)})
                 .affected() > 0;
    });
  }

  TokenCheck check_token(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_token(secret)) {
      TokenCheck malformed;
      malformed.result = TokenCheck::Result::kMalformed;
      return malformed;
    }
    std::string hash = token_hash(secret);
    return with_db([&](Connection& c) {
      // One statement: the token, its owner and the owner's groups in one snapshot.
      static const std::string sql = "SELECT " + kTokenColumns + ", u.disabled, u.permissions, " +
                                     user_groups("u.name") +
                                     " FROM auth_tokens AS t JOIN auth_users AS u ON u.name = t.user_name "
                                     "WHERE t.hash = $1::text";
      Rows r = c.run(sql, {hash});
      if (r.size() == 0) {
        TokenCheck unknown;
        unknown.result = TokenCheck::Result::kUnknown;
        return unknown;
      }
      User owner = rules::make_user(r.text(0, 1), r.boolean(0, 8), r.text(0, 9), {}, r.text(0, 10), r.text(0, 11));
      return rules::token_verdict(token_at(r, 0), owner.disabled, owner.permissions, now);
    });
  }

  CreatedSession create_session(std::string_view user, std::chrono::minutes lifetime, Clock::time_point now) override {
    rules::check_session_lifetime(lifetime);
    rules::check_user_name(user);
    CreatedSession out{new_secret(kSessionPrefix), random_hex32(), from_ms(to_ms(now + lifetime))};
    with_db([&](Connection& c) {
      Transaction tx(c);
      auto owner = find(c, user);
      if (!owner) rules::throw_no_user(user);
      if (owner->disabled) throw AuthError("user " + owner->name + " is disabled");
      // Expired sessions go when new ones come: the table holds live sessions only, give or take.
      c.run("DELETE FROM auth_sessions WHERE expires_ms <= $1::bigint", {param(to_ms(now))});
      c.run("INSERT INTO auth_sessions(hash, user_name, csrf, created_ms, expires_ms) "
            "VALUES($1::text, $2::text, $3::text, $4::bigint, $5::bigint)",
            {token_hash(out.secret), owner->name, out.csrf, param(to_ms(now)), param(to_ms(out.expires))});
      tx.commit();
    });
    return out;
  }

  std::optional<Session> check_session(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_secret(secret, kSessionPrefix)) return std::nullopt;
    std::string hash = token_hash(secret);
    return with_db([&](Connection& c) -> std::optional<Session> {
      static const std::string sql = "SELECT s.user_name, s.csrf, s.expires_ms, u.disabled, u.permissions, " +
                                     user_groups("u.name") +
                                     " FROM auth_sessions AS s JOIN auth_users AS u ON u.name = s.user_name "
                                     "WHERE s.hash = $1::text";
      Rows r = c.run(sql, {hash});
      if (r.size() == 0) return std::nullopt;
      auto expires = from_ms(r.integer(0, 2));
      if (now >= expires || r.boolean(0, 3)) return std::nullopt;
      User owner = rules::make_user(r.text(0, 0), false, r.text(0, 4), {}, r.text(0, 5), r.text(0, 6));
      return Session{owner.name, owner.permissions, r.text(0, 1), expires};
    });
  }

  bool end_session(std::string_view secret) override {
    if (!is_well_formed_secret(secret, kSessionPrefix)) return false;
    std::string hash = token_hash(secret);
    return with_db([&](Connection& c) {
      return c.run("DELETE FROM auth_sessions WHERE hash = $1::text", {hash}).affected() > 0;
    });
  }

  int end_sessions_of(std::string_view user) override {
    if (!rules::is_valid_name(user)) return 0;
    return with_db([&](Connection& c) {
      return static_cast<int>(
          c.run("DELETE FROM auth_sessions WHERE user_name = $1::text", {std::string(user)}).affected());
    });
  }

  std::string create_signin_link(std::string_view user, std::chrono::minutes lifetime, Clock::time_point now) override {
    rules::check_link_lifetime(lifetime);
    rules::check_user_name(user);
    std::string secret = new_secret(kSignInLinkPrefix);
    with_db([&](Connection& c) {
      Transaction tx(c);
      auto owner = find(c, user);
      if (!owner) rules::throw_no_user(user);
      if (owner->disabled) throw AuthError("user " + owner->name + " is disabled");
      c.run("DELETE FROM auth_signin_links WHERE expires_ms <= $1::bigint", {param(to_ms(now))});
      c.run("INSERT INTO auth_signin_links(hash, user_name, expires_ms) VALUES($1::text, $2::text, $3::bigint)",
            {token_hash(secret), owner->name, param(to_ms(now + lifetime))});
      tx.commit();
    });
    return secret;
  }

  std::optional<std::string> redeem_signin_link(std::string_view secret, Clock::time_point now) override {
    if (!is_well_formed_secret(secret, kSignInLinkPrefix)) return std::nullopt;
    std::string hash = token_hash(secret);
    return with_db([&](Connection& c) -> std::optional<std::string> {
      // Used or not, a presented link is gone: one use, and an expired one is of no use. One
      // statement: of two processes redeeming it at once, only one gets the row.
      Rows r = c.run(
          "DELETE FROM auth_signin_links AS l USING auth_users AS u WHERE l.hash = $1::text AND u.name = l.user_name "
          "RETURNING l.user_name, l.expires_ms, u.disabled",
          {hash});
      if (r.size() == 0) return std::nullopt;
      if (now >= from_ms(r.integer(0, 1)) || r.boolean(0, 2)) return std::nullopt;
      return r.text(0, 0);
    });
  }

 private:
  // Runs `op` on the store's connection (connecting when there is none), under the mutex; when
  // the connection it reused turns out lost, drops it and runs `op` once more on a new one. A
  // new connection that fails is not tried again: the server is away (AuthUnavailable).
  template <typename F>
  auto with_db(F&& op) -> decltype(op(std::declval<Connection&>())) {
    std::lock_guard lock(mu_);
    for (;;) {
      bool fresh = false;
      try {
        if (!conn_ || conn_->broken()) {
          conn_.reset();
          fresh = true;
          conn_ = std::make_unique<Connection>(url_);
        }
        return op(*conn_);
      } catch (const PgFailure& e) {
        if (!e.lost()) throw;
        conn_.reset();
        if (fresh) throw;
        log_fields(*logger("auth"), spdlog::level::warn, "accounts database connection lost; retrying on a new one",
                   {{"error", e.what()}});
      }
    }
  }

  void migrate(Connection& c) {
    c.exec(kMigrationLock);
    try {
      c.exec("CREATE TABLE IF NOT EXISTS auth_schema_version(version integer NOT NULL)");
      for (const auto& m : postgres_migrations()) {
        Transaction tx(c);
        Rows r = c.run("SELECT COALESCE(MAX(version), 0) FROM auth_schema_version", {});
        if (m.version <= r.integer(0, 0)) continue;
        c.exec(std::string(m.sql));
        c.run("INSERT INTO auth_schema_version(version) VALUES($1::integer)", {std::to_string(m.version)});
        tx.commit();
        logger("auth")->info("accounts database: applied migration {} ({})", m.version, m.name);
      }
    } catch (...) {
      if (!c.broken()) {
        try {
          c.exec(kMigrationUnlock);
        } catch (const std::exception&) {
        }
      }
      throw;
    }
    c.exec(kMigrationUnlock);
  }

  // Inside a transaction: AuthError unless both exist; the group's row is then locked against a
  // concurrent delete_group until the transaction ends (users are never deleted).
  static void lock_group_and_user(Connection& c, std::string_view group, std::string_view user) {
    if (c.run("SELECT 1 FROM auth_groups WHERE name = $1::text FOR KEY SHARE", {std::string(group)}).size() == 0) {
      rules::throw_no_group(group);
    }
    if (c.run("SELECT 1 FROM auth_users WHERE name = $1::text", {std::string(user)}).size() == 0) {
      rules::throw_no_user(user);
    }
  }

  template <typename F>
  PermissionSet change_user_permissions(std::string_view name, F&& change) {
    rules::check_user_name(name);
    return with_db([&](Connection& c) {
      Transaction tx(c);
      Rows r = c.run("SELECT permissions FROM auth_users WHERE name = $1::text FOR UPDATE", {std::string(name)});
      if (r.size() == 0) rules::throw_no_user(name);
      PermissionSet own = split(r.text(0, 0));
      change(own);
      c.run("UPDATE auth_users SET permissions = $2::text WHERE name = $1::text", {std::string(name), join(own)});
      auto after = find(c, name);
      tx.commit();
      return after->permissions;
    });
  }

  template <typename F>
  PermissionSet change_group_permissions(std::string_view name, F&& change) {
    rules::check_group_name(name);
    return with_db([&](Connection& c) {
      Transaction tx(c);
      Rows r = c.run("SELECT permissions FROM auth_groups WHERE name = $1::text FOR UPDATE", {std::string(name)});
      if (r.size() == 0) rules::throw_no_group(name);
      PermissionSet permissions = split(r.text(0, 0));
      change(permissions);
      c.run("UPDATE auth_groups SET permissions = $2::text WHERE name = $1::text", {std::string(name), join(permissions)});
      tx.commit();
      return permissions;
    });
  }

  const std::string url_;
  std::mutex mu_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace

std::unique_ptr<AuthStore> open_postgres_auth_store(const std::string& url) {
  return std::make_unique<PostgresAuthStore>(url);
}

}  // namespace bw::auth
