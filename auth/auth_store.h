// Accounts and API tokens (docs/security.md): who a caller is and which permissions they hold.
//
// Permissions (crash-stats' names, without its "crashstats." prefix):
//   view_pii            protected fields: URL, e-mail, comments, annotations not declared public
//   view_rawdump        dump downloads
//   reprocess_crashes   POST /api/Reprocessing/, admin reprocess
//   upload_symbols      the symbols service
//   run_long_queries    searches past the default limits
//   admin               accounts and tokens of others
//
// Groups: a group has a name and a permission set; a user belongs to any number of groups. A
// user's permissions (User::permissions, check_password, check_session, check_token's narrowing,
// create_token's subset rule) are always the *effective* ones: the user's own grants united with
// those of every group the user is in now. Taking a permission from a group, deleting a group or
// removing a member takes effect on the members' tokens and sessions at once.
//
// Promises:
// - Passwords are stored only as Argon2id hashes (libsodium's crypto_pwhash_str, interactive
//   limits); a password is never logged or returned. check_password runs the hash for unknown
//   and disabled users too, so the answer time does not tell which names exist. Hashing never
//   happens while the store holds its database lock or connection.
// - A token is 32 random bytes shown once, as "bwt_" + 64 lowercase hex digits; only its
//   BLAKE2b-256 hash is stored (a token has 256 bits of entropy: a fast hash is enough, and the
//   lookup by hash never compares secrets byte by byte in a way that leaks timing). It has an
//   owner, a label, an expiry and a subset of its owner's effective permissions.
// - check_token answers with the permissions the token holds *now*: its own set intersected with
//   its owner's current effective permissions, so disabling a user or revoking a permission (from
//   the user or from a group the user is in) takes effect on every token at once; an expired,
//   revoked or unknown token, or one of a disabled user, is refused with the reason.
// - A session (the web pages' sign-in cookie) is a secret like a token ("bws_" + 64 hex digits),
//   stored only as its hash, with an expiry and a CSRF token of its own; check_session answers
//   with the owner's effective permissions *now*, and refuses the session of a disabled user. A
//   one-time sign-in link ("bwl_" + 64 hex digits, hash stored) signs its user in once, before it
//   expires, and is gone after its first use.
// - User and group names are 1-64 characters of [A-Za-z0-9._@-] (users and groups are separate
//   name spaces); labels at most 200 printable ASCII characters; passwords 8-1024 bytes. Anything
//   else is AuthError naming what is wrong, before any write. A lookup by a name that breaks these
//   rules finds nothing (no such user can exist).
// - Both stores (SQLite, PostgreSQL) keep exactly these promises: auth/auth_store_test.cc runs one
//   suite against each.
//
// Errors: AuthError (bad input, unknown user or group, duplicate name: the message is safe to
// show); AuthUnavailable (the database cannot be used now: retry later).
// Thread safety: every implementation is safe to call from many threads and processes at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bw {
class Config;
}

namespace bw::auth {

class AuthError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class AuthUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The same type as index::Permissions: permission names.
using PermissionSet = std::set<std::string, std::less<>>;

// Every permission there is, in the order above.
const std::vector<std::string>& all_permissions();
// True for a name in all_permissions().
bool is_permission(std::string_view name);
// Throws AuthError naming the first name that is not a permission.
void check_permissions(const PermissionSet& permissions);

struct User {
  std::string name;
  bool disabled = false;
  PermissionSet permissions;  // effective: own_permissions and those of every group in `groups`
  std::chrono::system_clock::time_point created;
  PermissionSet own_permissions{};     // granted to the user directly (grant, revoke)
  std::vector<std::string> groups{};   // the groups the user is in, by name
};

// A group of permissions: its members hold them as long as they are members.
struct Group {
  std::string name;
  PermissionSet permissions;
  std::vector<std::string> members{};  // user names, sorted
  std::chrono::system_clock::time_point created{};
};

struct TokenInfo {
  int64_t id = 0;
  std::string user;
  std::string label;
  PermissionSet permissions;  // as created (check_token narrows it to the owner's current ones)
  std::chrono::system_clock::time_point created, expires;
  bool revoked = false;
  std::string shown_prefix;  // the first 8 characters of the token ("bwt_1a2b"), to tell tokens apart
};

struct CreatedToken {
  TokenInfo info;
  std::string secret;  // the token itself: shown once, never stored
};

struct TokenCheck {
  enum class Result { kValid, kMalformed, kUnknown, kExpired, kRevoked, kUserDisabled };
  Result result = Result::kUnknown;
  std::string user;            // kValid, kExpired, kRevoked, kUserDisabled
  PermissionSet permissions;   // kValid: what the caller may do now
  // A sentence for the 403 answer, naming the reason and nothing secret.
  std::string reason() const;
};

// A new session: `secret` is the cookie's value (shown to the browser only).
struct CreatedSession {
  std::string secret;
  std::string csrf;  // 64 hex digits: the forms of this session carry it (double submit)
  std::chrono::system_clock::time_point expires;
};

// A valid session: who, what they may do now, and the CSRF token its forms must carry.
struct Session {
  std::string user;
  PermissionSet permissions;
  std::string csrf;
  std::chrono::system_clock::time_point expires;
};

class AuthStore {
 public:
  static constexpr int kDefaultTokenDays = 90;

  virtual ~AuthStore() = default;

  virtual User add_user(std::string_view name, std::string_view password, const PermissionSet& permissions) = 0;
  virtual std::vector<User> list_users() = 0;
  virtual std::optional<User> find_user(std::string_view name) = 0;
  virtual void set_disabled(std::string_view name, bool disabled) = 0;
  virtual void set_password(std::string_view name, std::string_view password) = 0;
  // Adds permissions to or removes them from the user's own ones; returns the user's effective
  // permissions afterwards (a permission revoked here is still held through a group that has it).
  PermissionSet grant(std::string_view name, const PermissionSet& permissions);
  PermissionSet revoke(std::string_view name, const PermissionSet& permissions);
  // The user when the password is right and the user is enabled; nullopt otherwise (same time).
  virtual std::optional<User> check_password(std::string_view name, std::string_view password) = 0;

  // Groups. add_group: AuthError for a bad or taken name or an unknown permission. list_groups:
  // every group by name, with its members. delete_group: AuthError when there is no such group;
  // its members lose its permissions at once. grant_group/revoke_group: like grant/revoke, on the
  // group; they return the group's permissions afterwards. add_member/remove_member: AuthError for
  // an unknown group or user; true when membership changed (false: already a member / not one).
  virtual Group add_group(std::string_view name, const PermissionSet& permissions) = 0;
  virtual std::vector<Group> list_groups() = 0;
  virtual void delete_group(std::string_view name) = 0;
  PermissionSet grant_group(std::string_view name, const PermissionSet& permissions);
  PermissionSet revoke_group(std::string_view name, const PermissionSet& permissions);
  virtual bool add_member(std::string_view group, std::string_view user) = 0;
  virtual bool remove_member(std::string_view group, std::string_view user) = 0;

  // `permissions` must be a subset of the owner's effective ones (AuthError naming the extra
  // ones); empty means all of them, as they are now. `days` 1..3650.
  virtual CreatedToken create_token(std::string_view user, std::string_view label, const PermissionSet& permissions,
                                    int days, std::chrono::system_clock::time_point now) = 0;
  // Every token (or one user's), newest first, revoked and expired ones included.
  virtual std::vector<TokenInfo> list_tokens(std::optional<std::string_view> user = std::nullopt) = 0;
  // True when the token existed and was not revoked yet.
  virtual bool revoke_token(int64_t id) = 0;
  virtual TokenCheck check_token(std::string_view secret, std::chrono::system_clock::time_point now) = 0;

  // Sessions. create_session: AuthError for an unknown or disabled user; `lifetime` 1 minute to
  // 365 days. check_session: nullopt for a malformed, unknown, expired or ended session, or one
  // of a disabled user. end_session: true when it existed (sign-out); ending one twice is fine.
  virtual CreatedSession create_session(std::string_view user, std::chrono::minutes lifetime,
                                        std::chrono::system_clock::time_point now) = 0;
  virtual std::optional<Session> check_session(std::string_view secret, std::chrono::system_clock::time_point now) = 0;
  virtual bool end_session(std::string_view secret) = 0;
  // Ends every session of a user (password change, "sign out everywhere"); returns how many.
  virtual int end_sessions_of(std::string_view user) = 0;

  // One-time sign-in links (serve's first start, `admin user link`): the secret to put in
  // /login/once/<secret>. redeem: the user, once, while the link is valid and the user enabled.
  virtual std::string create_signin_link(std::string_view user, std::chrono::minutes lifetime,
                                         std::chrono::system_clock::time_point now) = 0;
  virtual std::optional<std::string> redeem_signin_link(std::string_view secret,
                                                        std::chrono::system_clock::time_point now) = 0;

 protected:
  // What grant/revoke (grant_group/revoke_group) do once the permissions are checked: `edit` the
  // user's own (the group's) permissions in one transaction and return the user's effective (the
  // group's) permissions afterwards; AuthError for a bad name or no such user (group).
  using PermissionEdit = std::function<void(PermissionSet&)>;
  virtual PermissionSet edit_user_permissions(std::string_view name, const PermissionEdit& edit) = 0;
  virtual PermissionSet edit_group_permissions(std::string_view name, const PermissionEdit& edit) = 0;
};

// The store in the crash index's database: with index.url (postgresql:// or postgres://) the
// PostgreSQL store in that database (postgres_auth_store.h), otherwise the SQLite file of
// index.sqlite_path (default <data>/index/crashes.sqlite). Throws AuthUnavailable when the
// database cannot be opened or reached, ConfigError for an index.url that is not PostgreSQL's.
std::unique_ptr<AuthStore> open_auth_store(const Config& config);

}  // namespace bw::auth
