// Who calls the JSON API: the `Auth-Token` request header (docs/security.md "API tokens"), as
// crash-stats takes it on /api/*.
//
// - No Auth-Token header: an anonymous caller (no permissions), as every web page is.
// - An Auth-Token header: the token is checked with AuthStore::check_token on the server's worker
//   pool (it reads SQLite and hashes: never on the threads that move bytes), before the endpoint
//   does anything else. Valid: the caller holds the token's permissions *now* (its own set
//   narrowed to its owner's current ones). Anything else (malformed, unknown, expired, revoked,
//   owner disabled, or the header given more than once) is 403 {"error": "<reason>"}, the reason
//   naming what is wrong and never the token. Without an account store (a PostgreSQL index),
//   every Auth-Token is 403 with the store's absence as the reason. A store that cannot be read
//   now is 503 with Retry-After: 5; anything else 500 (the detail logged, never the token).
// - Caching: every answer of an endpoint that takes the header carries `Vary: Auth-Token`; the
//   answer to a request with an Auth-Token (accepted or refused) carries
//   `Cache-Control: private, no-store` instead of the endpoint's usual one, so no cache keeps it
//   or hands it to someone else.
// - The token is never logged, echoed or kept after the request.
//
// Ownership and threads: an ApiAuth borrows the store, which must outlive it; it holds nothing
// mutable and may be used from any thread (AuthStore is thread-safe).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "auth/auth_store.h"
#include "http/server.h"
#include "web/public_data.h"

namespace bw {
class Config;
}
namespace spdlog {
class logger;
}

namespace bw::web {

// Where tokens are checked: a borrowed store, or none (every Auth-Token is refused with
// `unavailable`).
struct Accounts {
  auth::AuthStore* store = nullptr;
  std::string unavailable = "accounts are not available on this server";
};

// What `serve` and `web` open: the account store of the config's crash index (SQLite,
// auth::open_auth_store). With a PostgreSQL index (index.url) the store is refused for now: no
// store, and `accounts.unavailable` says accounts need the SQLite index (logged once as a
// warning). Any other failure to open it throws (auth::AuthUnavailable).
struct OpenedAccounts {
  std::unique_ptr<auth::AuthStore> owned;
  Accounts accounts;
};
OpenedAccounts open_accounts(const Config& config);

// The caller of one API request.
struct Caller {
  bool has_token = false;   // an accepted Auth-Token was given
  std::string user;         // its owner (for logs); empty when anonymous
  Permissions permissions;  // empty: anonymous
};

// The Auth-Token headers of a request, copied from it on the I/O thread.
struct TokenHeader {
  size_t count = 0;   // how many Auth-Token headers the request has
  std::string value;  // the first one's value
  bool present() const { return count > 0; }
  static TokenHeader of(const http::Request& request);
};

class ApiAuth {
 public:
  explicit ApiAuth(Accounts accounts);

  // The caller, or the answer refusing the request (above). Slow (SQLite, hashing) when a token
  // is given: call it on the worker pool.
  std::variant<Caller, http::Response> check(const TokenHeader& header) const;

  // Answers an API request for its caller: on the worker pool, checks the token (when given)
  // then runs `work` for the caller; the answer gets the caching headers above.
  http::Reply answer(const http::Request& request, std::function<http::Response(const Caller&)> work) const;

  // The caching headers above on an answer (`token_given`: the request had an Auth-Token).
  static void set_cache_headers(http::Response& response, bool token_given);
  // An anonymous answer given at once (no Auth-Token; nothing slow to do), with Vary: Auth-Token.
  static http::Response anonymous(http::Response response);

 private:
  Accounts accounts_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace bw::web
