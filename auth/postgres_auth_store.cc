#include "auth/postgres_auth_store.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "auth/postgres_migrations.h"
#include "auth/secrets.h"
#include "auth/store_rules.h"
#include "core/log.h"
#include "pg/connection.h"

namespace bw::auth {
namespace {

using Clock = std::chrono::system_clock;
using rules::from_ms;
using rules::join;
using rules::split;
using rules::to_ms;

// Advisory lock key of the account migrations (the index uses ...0001 and ...0002).
constexpr int64_t kMigrationLock = 7160529375421190003;
constexpr std::chrono::milliseconds kStatementTimeout{10000};
constexpr const char* kUniqueViolation = "23505";

using pg::Connection;
using pg::Transaction;
using Rows = pg::Result;

std::string param(bool v) { return v ? "true" : "false"; }
std::string param(int64_t v) { return std::to_string(v); }

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
  return rules::make_user(r.text(row, 0), r.boolean(row, 1), r.text(row, 2), from_ms(r.int_at(row, 3)),
                          r.text(row, 4), r.text(row, 5));
}

TokenInfo token_at(const Rows& r, int row) {
  TokenInfo t;
  t.id = r.int_at(row, 0);
  t.user = r.text(row, 1);
  t.label = r.text(row, 2);
  t.permissions = split(r.text(row, 3));
  t.created = from_ms(r.int_at(row, 4));
  t.expires = from_ms(r.int_at(row, 5));
  t.revoked = r.boolean(row, 6);
  t.shown_prefix = r.text(row, 7);
  return t;
}

std::optional<User> find(Connection& c, std::string_view name) {
  Rows r = c.run(kFindUser, {std::string(name)});
  if (r.rows() == 0) return std::nullopt;
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
      } catch (const pg::Error& e) {
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
      for (int i = 0; i < r.rows(); ++i) out.push_back(user_at(r, i));
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

  std::optional<User> check_password(std::string_view name, std::string_view password) override {
    std::string hash;
    std::optional<User> user;
    if (rules::is_valid_name(name)) {
      with_db([&](Connection& c) {
        Rows r = c.run("SELECT " + kUserColumns + ", u.password_hash FROM auth_users AS u WHERE u.name = $1::text",
                       {std::string(name)});
        if (r.rows() == 0) return;
        user = user_at(r, 0);
        hash = r.text(0, 6);
      });
    }
    return rules::password_verdict(std::move(user), hash, password);
  }

  Group add_group(std::string_view name, const PermissionSet& permissions) override {
    rules::check_group_name(name);
    check_permissions(permissions);
    auto created = from_ms(to_ms(Clock::now()));
    with_db([&](Connection& c) {
      try {
        c.run("INSERT INTO auth_groups(name, permissions, created_ms) VALUES($1::text, $2::text, $3::bigint)",
              {std::string(name), join(permissions), param(to_ms(created))});
      } catch (const pg::Error& e) {
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
      for (int i = 0; i < r.rows(); ++i) {
        Group g{r.text(i, 0), split(r.text(i, 1)), {}, from_ms(r.int_at(i, 2))};
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
      CreatedToken out = rules::new_token_record(*owner, label, permissions, days, now);
      auto& t = out.info;
      Rows r = c.run(
          "INSERT INTO auth_tokens(hash, user_name, label, permissions, created_ms, expires_ms, shown_prefix) "
          "VALUES($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::text) RETURNING id",
          {token_hash(out.secret), t.user, t.label, join(t.permissions), param(to_ms(t.created)),
           param(to_ms(t.expires)), t.shown_prefix});
      t.id = r.int_at(0, 0);
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
      for (int i = 0; i < r.rows(); ++i) out.push_back(token_at(r, i));
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
      if (r.rows() == 0) {
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
      rules::active_user(owner, user);
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
      if (r.rows() == 0) return std::nullopt;
      auto expires = from_ms(r.int_at(0, 2));
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
      rules::active_user(owner, user);
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
      if (r.rows() == 0) return std::nullopt;
      if (now >= from_ms(r.int_at(0, 1)) || r.boolean(0, 2)) return std::nullopt;
      return r.text(0, 0);
    });
  }

 private:
  // Runs `op` on the store's connection (connecting when there is none), under the mutex; when
  // the connection it reused turns out lost, drops it and runs `op` once more on a new one. A
  // new connection that fails is not tried again: the server is away. Every PostgreSQL failure
  // leaves as AuthUnavailable.
  template <typename F>
  auto with_db(F&& op) -> decltype(op(std::declval<Connection&>())) {
    std::lock_guard lock(mu_);
    try {
      return with_db_retried(op);
    } catch (const pg::Error& e) {
      throw AuthUnavailable(e.what());
    }
  }

  template <typename F>
  auto with_db_retried(F& op) -> decltype(op(std::declval<Connection&>())) {
    for (;;) {
      bool fresh = false;
      try {
        if (!conn_ || conn_->broken()) {
          conn_.reset();
          fresh = true;
          conn_ = std::make_unique<Connection>(
              pg::ConnectOptions{url_, "breakwater-accounts", "accounts database", kStatementTimeout});
        }
        return op(*conn_);
      } catch (const pg::Error& e) {
        if (!e.lost()) throw;
        conn_.reset();
        if (fresh) throw;
        log_fields(*logger("auth"), spdlog::level::warn, "accounts database connection lost; retrying on a new one",
                   {{"error", e.what()}});
      }
    }
  }

  void migrate(Connection& c) {
    pg::migrate(c, kMigrationLock, "auth_schema_version", postgres_migrations(), [](const Migration& m) {
      logger("auth")->info("accounts database: applied migration {} ({})", m.version, m.name);
    });
  }

  // Inside a transaction: AuthError unless both exist; the group's row is then locked against a
  // concurrent delete_group until the transaction ends (users are never deleted).
  static void lock_group_and_user(Connection& c, std::string_view group, std::string_view user) {
    if (c.run("SELECT 1 FROM auth_groups WHERE name = $1::text FOR KEY SHARE", {std::string(group)}).rows() == 0) {
      rules::throw_no_group(group);
    }
    if (c.run("SELECT 1 FROM auth_users WHERE name = $1::text", {std::string(user)}).rows() == 0) {
      rules::throw_no_user(user);
    }
  }

  PermissionSet edit_user_permissions(std::string_view name, const PermissionEdit& change) override {
    rules::check_user_name(name);
    return with_db([&](Connection& c) {
      Transaction tx(c);
      Rows r = c.run("SELECT permissions FROM auth_users WHERE name = $1::text FOR UPDATE", {std::string(name)});
      if (r.rows() == 0) rules::throw_no_user(name);
      PermissionSet own = split(r.text(0, 0));
      change(own);
      c.run("UPDATE auth_users SET permissions = $2::text WHERE name = $1::text", {std::string(name), join(own)});
      auto after = find(c, name);
      tx.commit();
      return after->permissions;
    });
  }

  PermissionSet edit_group_permissions(std::string_view name, const PermissionEdit& change) override {
    rules::check_group_name(name);
    return with_db([&](Connection& c) {
      Transaction tx(c);
      Rows r = c.run("SELECT permissions FROM auth_groups WHERE name = $1::text FOR UPDATE", {std::string(name)});
      if (r.rows() == 0) rules::throw_no_group(name);
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
