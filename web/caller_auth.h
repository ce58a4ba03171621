// Who calls: the `Auth-Token` request header (docs/security.md "API tokens"), as crash-stats takes
// it on /api/*, or the web pages' session cookie (`bw_session`, web/sign_in_pages.h).
//
// - Neither: an anonymous caller (no permissions).
// - An Auth-Token header (it wins over a cookie): the token is checked with
//   AuthStore::check_token on the server's worker pool (it reads SQLite and hashes: never on the
//   threads that move bytes), before the endpoint does anything else. Valid: the caller holds the
//   token's permissions *now* (its own set narrowed to its owner's current ones). Anything else
//   (malformed, unknown, expired, revoked, owner disabled, or the header given more than once) is
//   403 {"error": "<reason>"}, the reason naming what is wrong and never the token. Without an
//   account store (Accounts{}: a server built without accounts), every Auth-Token is 403 with the
//   store's absence as the reason. A store that cannot be read now is 503 with Retry-After: 5;
//   anything else 500 (the detail logged, never the token).
// - A session cookie (GET API endpoints and pages; never a POST endpoint, which takes the header
//   only, so that no other site can make a signed-in browser post to the API): a valid session
//   makes the caller its user with the user's permissions now; one that is not valid (expired,
//   signed out, malformed) is simply anonymous: a stale cookie is not an error.
// - Caching: every answer of an endpoint that takes credentials carries `Vary: Auth-Token, Cookie`;
//   the answer to a request with either (accepted or refused) carries `Cache-Control: private,
//   no-store` instead of the endpoint's usual one, so no cache keeps it or hands it to someone else.
// - Neither the token nor the cookie is ever logged, echoed or kept after the request.
// - Rate limits (RateLimits): a request with a valid Auth-Token counts against its token's bucket
//   (keyed by a hash of the token), every other request against its client address's; over the
//   limit is 429 {"error": ...} with Retry-After, before any work. Pages answered with page()
//   count against the address too.
//
// Ownership and threads: a CallerAuth borrows the store, which must outlive it; it holds nothing
// mutable and may be used from any thread (AuthStore is thread-safe).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "auth/auth_store.h"
#include "http/rate_limiter.h"
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

// What `serve` and `web` open: the account store in the config's crash index database (the SQLite
// file, or PostgreSQL with index.url; auth::open_auth_store). A store that cannot be opened is a
// failure to start: it throws (auth::AuthUnavailable; ConfigError for a bad index.url).
struct OpenedAccounts {
  std::unique_ptr<auth::AuthStore> owned;
  Accounts accounts;
};
OpenedAccounts open_accounts(const Config& config);

// The name of the web pages' session cookie.
inline constexpr std::string_view kSessionCookie = "bw_session";

// The caller of one request.
struct Caller {
  bool has_token = false;   // an accepted Auth-Token was given
  std::string user;         // the token's owner or the signed-in user (for logs); empty when anonymous
  Permissions permissions;  // empty: anonymous
  bool signed_in = false;   // a valid session cookie (pages show who is signed in)
  std::string csrf;         // signed_in: the session's CSRF token, for the forms a page renders
};

// The Auth-Token headers of a request, copied from it on the I/O thread.
struct TokenHeader {
  size_t count = 0;   // how many Auth-Token headers the request has
  std::string value;  // the first one's value
  bool present() const { return count > 0; }
  static TokenHeader of(const http::Request& request);
};

// What a request carries to say who calls, copied from it on the I/O thread.
struct Credentials {
  TokenHeader token;
  std::string session;  // the session cookie's value; empty when none
  bool present() const { return token.present() || !session.empty(); }
  // Both (GET endpoints and pages).
  static Credentials of(const http::Request& request);
  // The Auth-Token only (POST endpoints: a cookie would let other sites post for a signed-in user).
  static Credentials token_only(const http::Request& request);
};

// Requests per minute (web.api_requests_per_minute, web.token_requests_per_minute); 0: no limit.
// Each bucket holds a sixth of a minute's requests: bursts of ten seconds' worth.
struct RateLimits {
  double per_address = 0;
  double per_token = 0;
  static RateLimits from_config(const Config& config);
};

class CallerAuth {
 public:
  explicit CallerAuth(Accounts accounts, RateLimits limits = {});
  ~CallerAuth();

  // The caller, or the answer refusing the request (above). Slow (SQLite, hashing) when a token
  // or cookie is given: call it on the worker pool.
  std::variant<Caller, http::Response> check(const Credentials& credentials) const;
  std::variant<Caller, http::Response> check(const TokenHeader& header) const { return check(Credentials{header, {}}); }
  // The caller of a session cookie alone (pages): anonymous when it is not valid or the store
  // cannot be read (logged). Slow: on the worker pool.
  Caller session_caller(std::string_view session) const;

  // Answers a GET API request for its caller: on the worker pool, checks the token or cookie
  // (when given) then runs `work` for the caller; the answer gets the caching headers above.
  http::Reply answer(const http::Request& request, std::function<http::Response(const Caller&)> work) const;
  // Answers a page for its caller (the session cookie; an Auth-Token is ignored, as browsers send
  // none): on the worker pool; `Cache-Control: private, no-store` and `Vary: Cookie` when a
  // cookie was given.
  http::Reply page(const http::Request& request, std::function<http::Response(const Caller&)> work) const;

  // The caching headers above on an answer (`personal`: the request had an Auth-Token or cookie).
  static void set_cache_headers(http::Response& response, bool personal);
  // An anonymous answer given at once (no credentials; nothing slow to do), with the Vary header.
  static http::Response anonymous(http::Response response);

  // The store (null without one), for the sign-in pages.
  auth::AuthStore* store() const { return accounts_.store; }

 private:
  // 429 when the request's bucket is empty (the token's when it is valid, else the address's).
  std::optional<http::Response> over_limit(const std::string& address, const Caller* caller,
                                           const Credentials& credentials) const;

  Accounts accounts_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<http::RateLimiter> by_address_, by_token_;
};

}  // namespace bw::web
