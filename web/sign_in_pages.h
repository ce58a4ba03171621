// Signing in to the web pages (docs/security.md "Signing in"): the sign-in form, one-time sign-in
// links, sign-out, and the profile page where a user sees their permissions and makes and revokes
// their own API tokens.
//
// Routes:
//   GET  /login/[?next=/path]     the form. Sets a short-lived `bw_login` cookie whose value the form
//                                 carries too (a form posted from another site cannot know it).
//   POST /login/                  name, password, csrf, next → 303 to `next` (a local path; else
//                                 /profile/) with the session cookie. A wrong name, wrong password
//                                 and disabled user get the same 403 form (the same time: the
//                                 store hashes for unknown names too). A missing or wrong csrf, or
//                                 an Origin of another site → 403. Too many attempts from one
//                                 address or for one name → 429 with Retry-After.
//   GET  /login/once/<secret>     a one-time sign-in link (serve's first start, `breakwater admin
//                                 user link`): a session, then 303 /profile/; a used or expired
//                                 link → 403 page. Secrets in URLs: the link works once only.
//   POST /logout/                 csrf of the session → the session ended, the cookie cleared,
//                                 303 to /. Without a session: 303 to / as well.
//   GET  /profile/                signed in: name, permissions, tokens (label, start, permissions,
//                                 expiry, state) with revoke buttons, a form making a token, sign
//                                 out. Signed out: 303 /login/?next=/profile/.
//   POST /profile/tokens/         csrf, label, days (1-3650, default 90), permission (repeated;
//                                 at least one of the user's own) → 200 page showing the token
//                                 once (never in a URL, never stored).
//   POST /profile/tokens/revoke/  csrf, id (one of the user's own tokens) → 303 /profile/.
// With OpenID Connect configured (web/oidc.h) the form also offers "Sign in with <label>", a link
// to /login/oidc/?next=...; that sign-in ends in start_session() below like the others.
//
// Promises:
// - The session cookie `bw_session` is HttpOnly, SameSite=Lax, Path=/, lasts the session's
//   lifetime, and is Secure when web.secure_cookies is set or the request reached a proxy over
//   https (X-Forwarded-Proto: https).
// - Every state-changing form carries a CSRF token: the session's own (stored with it) or, for the
//   sign-in form, the bw_login cookie's; compared in constant time. A request whose Origin header
//   names another host than its Host is refused too.
// - Answers that depend on who is signed in are `Cache-Control: private, no-store`.
// - Passwords, session cookies, CSRF tokens and new tokens are never logged; the log says who
//   signed in or out, from which address, and why an attempt failed (never the password).
// - Without an account store (a PostgreSQL index) every route answers a page saying sign-in is
//   not available on this site (501).
//
// Ownership and threads: borrows the CallerAuth (and through it the store), which must outlive
// the server's routes. Handlers run on the worker pool and may run concurrently; the rate limiters
// are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/server.h"
#include "web/caller_auth.h"

namespace bw {
class Config;
}

namespace bw::web {

inline constexpr std::string_view kLoginCookie = "bw_login";

struct SignInOptions {
  std::chrono::minutes session_lifetime{14 * 24 * 60};  // web.session_lifetime
  bool secure_cookies = false;                          // web.secure_cookies
  double attempts_per_minute = 10;  // web.signin_attempts_per_minute: per client address and per name
  // Non-empty: OpenID Connect is configured (oidc.label) and the form offers "Sign in with <label>".
  std::string oidc_label{};

  static SignInOptions from_config(const Config& config);
};

// Where to go after signing in: `next` when it is a local path ("/..."; never "//host", a
// backslash, a scheme or a control character, at most 1024 bytes), else "/profile/".
std::string safe_next(std::string_view next);

// A Set-Cookie value as the sign-in pages set their cookies: HttpOnly, SameSite=Lax, `path`,
// Max-Age `max_age` (0 deletes it), Secure when options.secure_cookies or the request reached the
// proxy over https (X-Forwarded-Proto: https).
std::string sign_in_cookie(std::string_view name, std::string_view value, std::chrono::seconds max_age,
                           const http::Request& request, const SignInOptions& options, std::string_view path = "/");

// How every way of signing in ends (the password form, a one-time link, OpenID Connect): a new
// session for `user` in `store` (options.session_lifetime), logged on the "web" logger with the
// user, `method` and the client's address, and a 303 to `next` (a safe_next() path) setting the
// session cookie and clearing the sign-in form's. Throws auth::AuthError for an unknown or
// disabled user, auth::AuthUnavailable when the store cannot be written.
http::Response start_session(auth::AuthStore& store, const SignInOptions& options, const http::Request& request,
                             const std::string& user, const std::string& next, std::string_view method);

// The path of a one-time sign-in link ("/login/once/bwl_..."), valid `lifetime`.
// Throws auth::AuthError (unknown or disabled user) or auth::AuthUnavailable.
std::string signin_link_path(auth::AuthStore& store, std::string_view user,
                             std::chrono::minutes lifetime = std::chrono::hours(24));

// `serve`'s first start (docs/security.md "First start"): when the store holds no user at all,
// creates "admin" with every permission and a random password nobody is told (sign in with the
// link; set one with `breakwater admin user password admin`), and answers a sign-in link path
// valid 24 hours. nullopt when a user exists already (or another process made it just now).
std::optional<std::string> first_start_admin_link(auth::AuthStore& store);

class SignInPages {
 public:
  SignInPages(SignInOptions options, const CallerAuth& auth);
  ~SignInPages();
  SignInPages(const SignInPages&) = delete;
  SignInPages& operator=(const SignInPages&) = delete;

  void add_routes(http::Server& server);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bw::web
