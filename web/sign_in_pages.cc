#include "web/sign_in_pages.h"

#include <algorithm>
#include <optional>

#include "auth/secrets.h"
#include "core/ascii.h"
#include "core/config.h"
#include "core/log.h"
#include "core/timestamp.h"
#include "http/cookies.h"
#include "http/rate_limiter.h"
#include "web/html.h"
#include "web/layout.h"

namespace bw::web {
namespace {

using html::Url;
using html::Writer;
using Clock = std::chrono::system_clock;
using Form = std::vector<std::pair<std::string, std::string>>;

constexpr uint64_t kFormLimit = 16 * 1024;
constexpr std::chrono::minutes kLoginCookieLifetime{60};

std::string form_value(const Form& form, std::string_view name) {
  for (const auto& [key, value] : form) {
    if (key == name) return value;
  }
  return {};
}

std::vector<std::string> form_values(const Form& form, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : form) {
    if (key == name) out.push_back(value);
  }
  return out;
}

// A request whose Origin names another site than its Host is refused (a second guard beside the
// CSRF token). No Origin (older browsers, curl) is left to the token.
bool same_origin(const http::Request& request) {
  const std::string* origin = request.header("Origin");
  if (!origin) return true;
  const std::string* host = request.header("Host");
  if (!host) return false;
  std::string o = ascii_lowered(*origin);
  for (std::string_view scheme : {"http://", "https://"}) {
    if (o.starts_with(scheme)) return o.substr(scheme.size()) == ascii_lowered(*host);
  }
  return false;
}

http::Response redirect_to(std::string location) {
  http::Response r;
  r.status = 303;
  r.headers = html_security_headers();
  r.headers.emplace_back("Location", std::move(location));
  r.headers.emplace_back("Cache-Control", "private, no-store");
  return r;
}

http::Response private_page(int status, const std::string& title, const html::Html& main) {
  http::Response r = html_response(status, render_page({title, NavItem::kAccount, {}}, main));
  std::erase_if(r.headers, [](const auto& h) { return h.first == "Cache-Control"; });
  r.headers.emplace_back("Cache-Control", "private, no-store");
  return r;
}

void hidden(Writer& w, std::string_view name, std::string_view value) {
  w.empty("input", {{"type", "hidden"}, {"name", std::string(name)}, {"value", std::string(value)}});
}

void text_field(Writer& w, std::string_view id, std::string_view label, std::string_view type,
                std::string_view autocomplete, std::string_view value = {}) {
  w.open("div", {{"class", "form-field"}});
  w.element("label", label, {{"for", std::string(id)}});
  html::Attributes attrs = {{"id", std::string(id)}, {"name", std::string(id)}, {"type", std::string(type)}};
  if (!autocomplete.empty()) attrs.emplace_back("autocomplete", std::string(autocomplete));
  if (!value.empty()) attrs.emplace_back("value", std::string(value));
  w.empty("input", attrs);
  w.close("div");
}


bool arrived_over_https(const http::Request& request) {
  const std::string* proto = request.header("X-Forwarded-Proto");
  return proto && ascii_lowered(*proto) == "https";
}

}  // namespace

// A local path only, so the form (or a crafted link) cannot be made to send someone elsewhere.
std::string safe_next(std::string_view next) {
  bool ok = next.size() >= 1 && next.size() <= 1024 && next[0] == '/' && !next.starts_with("//") &&
            !next.starts_with("/\\");
  for (char c : next) ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '\\';
  return ok ? std::string(next) : std::string("/profile/");
}

std::string sign_in_cookie(std::string_view name, std::string_view value, std::chrono::seconds max_age,
                           const http::Request& request, const SignInOptions& options, std::string_view path) {
  http::CookieOptions c;
  c.path = std::string(path);
  c.max_age = max_age;
  c.http_only = true;
  c.secure = options.secure_cookies || arrived_over_https(request);
  return http::set_cookie(name, value, c);
}

http::Response start_session(auth::AuthStore& store, const SignInOptions& options, const http::Request& request,
                             const std::string& user, const std::string& next, std::string_view method) {
  auto session = store.create_session(user, options.session_lifetime, Clock::now());
  log_fields(*logger("web"), spdlog::level::info, "signed in",
             {{"user", user}, {"method", std::string(method)}, {"peer", http::client_address(request.peer)}});
  http::Response r = redirect_to(next);
  r.headers.emplace_back("Set-Cookie",
                         sign_in_cookie(kSessionCookie, session.secret,
                                        std::chrono::duration_cast<std::chrono::seconds>(options.session_lifetime),
                                        request, options));
  r.headers.emplace_back("Set-Cookie", sign_in_cookie(kLoginCookie, "", std::chrono::seconds(0), request, options));
  return r;
}

std::string signin_link_path(auth::AuthStore& store, std::string_view user, std::chrono::minutes lifetime) {
  return "/login/once/" + store.create_signin_link(user, lifetime, Clock::now());
}

std::optional<std::string> first_start_admin_link(auth::AuthStore& store) {
  if (!store.list_users().empty()) return std::nullopt;
  const auto& all = auth::all_permissions();
  try {
    // A password of 256 random bits that is never shown: the link is the way in.
    store.add_user("admin", auth::random_hex32(), auth::PermissionSet(all.begin(), all.end()));
  } catch (const auth::AuthError&) {
    return std::nullopt;  // another process made it first
  }
  return signin_link_path(store, "admin");
}

SignInOptions SignInOptions::from_config(const Config& config) {
  SignInOptions o;
  auto lifetime = std::chrono::duration_cast<std::chrono::minutes>(config.get_duration("web", "session_lifetime"));
  if (lifetime < std::chrono::minutes(1) || lifetime > std::chrono::hours(24 * 365)) {
    throw ConfigError("web.session_lifetime must be between 1 minute and 365 days");
  }
  o.session_lifetime = lifetime;
  o.secure_cookies = config.get_bool("web", "secure_cookies");
  int64_t attempts = config.get_int("web", "signin_attempts_per_minute");
  if (attempts < 1 || attempts > 10000) throw ConfigError("web.signin_attempts_per_minute must be 1 to 10000");
  o.attempts_per_minute = static_cast<double>(attempts);
  return o;
}

struct SignInPages::Impl {
  Impl(SignInOptions o, const CallerAuth& a)
      : options(o),
        auth(a),
        by_address({o.attempts_per_minute, o.attempts_per_minute, 100000}),
        by_name({o.attempts_per_minute, o.attempts_per_minute, 100000}),
        log(logger("web")) {}

  SignInOptions options;
  const CallerAuth& auth;
  http::RateLimiter by_address;
  http::RateLimiter by_name;
  std::shared_ptr<spdlog::logger> log;

  auth::AuthStore* store() const { return auth.store(); }

  http::Response unavailable() const {
    return error_page(501, "Sign-in is not available",
                      {"This site keeps no accounts: they need the SQLite crash index (docs/security.md).",
                       "Every page shows public data only."});
  }

  std::string cookie(std::string_view name, std::string_view value, std::chrono::seconds max_age,
                     const http::Request& request) const {
    return sign_in_cookie(name, value, max_age, request, options);
  }

  // ----- sign-in form -----

  http::Response login_form(const http::Request& request, int status, std::string_view next, std::string_view message,
                            std::string_view name = {}) const {
    std::string csrf = auth::random_hex32();
    Writer w;
    w.element("h1", "Sign in");
    if (!message.empty()) w.element("p", message, {{"class", "form-error"}, {"role", "alert"}});
    w.open_with_url("form", "action", Url::local("/login/"), {{"method", "post"}, {"class", "account-form"}});
    hidden(w, "csrf", csrf);
    hidden(w, "next", safe_next(next));
    text_field(w, "username", "User name", "text", "username", name);
    text_field(w, "password", "Password", "password", "current-password");
    w.element("button", "Sign in", {{"type", "submit"}});
    w.close("form");
    if (!options.oidc_label.empty()) {
      // A link, not a form: the page's CSP (form-action 'self') would stop a form's redirect to
      // the identity provider.
      w.open("p", {{"class", "oidc-sign-in"}});
      w.link(Url::local("/login/oidc/?next=" + html::encode_component(safe_next(next))),
             "Sign in with " + options.oidc_label, {{"class", "button-link"}});
      w.close("p");
    }
    w.element("p",
              "No account? An administrator makes one with breakwater admin user add NAME; the first start of "
              "breakwater serve printed a one-time sign-in link for the admin account.",
              {{"class", "muted"}});
    http::Response r = private_page(status, "Sign in", w.finish());
    r.headers.emplace_back("Set-Cookie", cookie(kLoginCookie, csrf, kLoginCookieLifetime, request));
    return r;
  }

  http::Response sign_in(const http::Request& request, const Form& form, const std::string& login_cookie) {
    std::string next = safe_next(form_value(form, "next"));
    std::string name = form_value(form, "username");
    std::string address = http::client_address(request.peer);
    if (!same_origin(request) || !auth::secrets_equal(form_value(form, "csrf"), login_cookie)) {
      log_fields(*log, spdlog::level::info, "sign-in refused", {{"reason", "csrf"}, {"peer", address}});
      return login_form(request, 403, next, "The form had expired or came from another site. Please sign in again.");
    }
    auto now = std::chrono::steady_clock::now();
    for (auto [limiter, key] : {std::pair{&by_address, address}, std::pair{&by_name, "name:" + ascii_lowered(name.substr(0, 64))}}) {
      auto decision = limiter->take(key, now);
      if (!decision.allowed) {
        log_fields(*log, spdlog::level::warn, "sign-in throttled", {{"peer", address}});
        http::Response r = login_form(request, 429, next, "Too many sign-in attempts. Wait a minute and try again.", name);
        r.headers.emplace_back("Retry-After", std::to_string(decision.retry_after.count()));
        return r;
      }
    }
    std::optional<auth::User> user;
    if (name.size() <= 64 && form_value(form, "password").size() <= 1024) {
      user = store()->check_password(name, form_value(form, "password"));
    }
    if (!user) {
      log_fields(*log, spdlog::level::info, "sign-in failed", {{"peer", address}});
      return login_form(request, 403, next, "Wrong user name or password.", name);
    }
    return start_session(*store(), options, request, user->name, next, "password");
  }

  http::Response sign_in_link(const http::Request& request, std::string_view secret) const {
    auto user = store()->redeem_signin_link(secret, Clock::now());
    if (!user) {
      log_fields(*log, spdlog::level::info, "sign-in link refused", {{"peer", http::client_address(request.peer)}});
      return error_page(403, "This sign-in link cannot be used",
                        {"A sign-in link works once, for a limited time; this one was used already or has expired.",
                         "Make a new one with: breakwater admin user link NAME"});
    }
    return start_session(*store(), options, request, *user, "/profile/", "link");
  }

  http::Response sign_out(const http::Request& request, const Form& form, const std::string& session) const {
    if (!same_origin(request)) return error_page(403, "Refused", {"The form came from another site."});
    auto found = store()->check_session(session, Clock::now());
    if (found) {
      if (!auth::secrets_equal(form_value(form, "csrf"), found->csrf)) {
        return error_page(403, "Refused", {"The form had expired or came from another site."});
      }
      store()->end_session(session);
      log_fields(*log, spdlog::level::info, "signed out", {{"user", found->user}});
    }
    http::Response r = redirect_to("/");
    r.headers.emplace_back("Set-Cookie", cookie(kSessionCookie, "", std::chrono::seconds(0), request));
    return r;
  }

  // ----- profile -----

  html::Html profile_main(const Caller& caller, const std::string& message, const std::string& new_token,
                          std::string_view host = "HOST") const {
    Writer w;
    w.element("h1", caller.user);
    if (!new_token.empty()) {
      w.open("div", {{"class", "new-token"}, {"role", "status"}});
      w.element("h2", "Your new token");
      w.element("p", "Copy it now: it is shown this once and never stored. Send it in the Auth-Token header.");
      w.element("pre", new_token, {{"class", "mono token"}, {"id", "new-token"}});
      w.element("pre", "curl -H 'Auth-Token: " + new_token + "' 'http://" + std::string(host) + "/api/SuperSearch/'",
                {{"class", "mono"}});
      w.close("div");
    }
    if (!message.empty()) w.element("p", message, {{"class", "form-error"}, {"role", "alert"}});

    w.element("h2", "Permissions");
    if (caller.permissions.empty()) {
      w.element("p", "None: you see public data only, as everyone does.", {{"class", "muted"}});
    } else {
      w.open("ul", {{"class", "permissions"}});
      for (const auto& p : caller.permissions) w.element("li", p, {{"class", "mono"}});
      w.close("ul");
    }

    w.element("h2", "API tokens");
    auto tokens = store()->list_tokens(caller.user);
    if (tokens.empty()) {
      w.element("p", "No tokens yet.", {{"class", "muted"}});
    } else {
      w.open("div", {{"class", "table-wrap"}});
      w.open("table", {{"class", "tokens"}});
      w.open("thead");
      w.open("tr");
      for (const char* h : {"Label", "Starts", "Permissions", "Created", "Expires", "State", ""}) w.element("th", h);
      w.close("tr");
      w.close("thead");
      w.open("tbody");
      auto now = Clock::now();
      for (const auto& t : tokens) {
        w.open("tr");
        w.element("td", t.label.empty() ? "(no label)" : t.label);
        w.element("td", t.shown_prefix + "\xE2\x80\xA6", {{"class", "mono"}});
        std::string perms;
        for (const auto& p : t.permissions) perms += (perms.empty() ? "" : " ") + p;
        w.element("td", perms, {{"class", "mono"}});
        w.element("td", iso_day(t.created));
        w.element("td", iso_day(t.expires));
        bool live = !t.revoked && now < t.expires;
        w.element("td", t.revoked ? "revoked" : (live ? "valid" : "expired"));
        w.open("td");
        if (live) {
          w.open_with_url("form", "action", Url::local("/profile/tokens/revoke/"), {{"method", "post"}, {"class", "inline-form"}});
          hidden(w, "csrf", caller.csrf);
          hidden(w, "id", std::to_string(t.id));
          w.element("button", "Revoke", {{"type", "submit"}});
          w.close("form");
        }
        w.close("td");
        w.close("tr");
      }
      w.close("tbody");
      w.close("table");
      w.close("div");
    }

    w.element("h3", "New token");
    if (caller.permissions.empty()) {
      w.element("p", "A token carries some of your permissions; you hold none, so a token would add nothing.",
                {{"class", "muted"}});
    } else {
      w.open_with_url("form", "action", Url::local("/profile/tokens/"), {{"method", "post"}, {"class", "account-form"}});
      hidden(w, "csrf", caller.csrf);
      text_field(w, "label", "Label", "text", "off");
      text_field(w, "days", "Days valid", "number", "off", "90");
      w.open("fieldset");
      w.element("legend", "Permissions");
      for (const auto& p : caller.permissions) {
        w.open("label", {{"class", "check"}});
        w.empty("input", {{"type", "checkbox"}, {"name", "permission"}, {"value", p}, {"checked", "checked"}});
        w.text(" " + p);
        w.close("label");
      }
      w.close("fieldset");
      w.element("button", "Create token", {{"type", "submit"}});
      w.close("form");
    }

    w.element("h2", "Sign out");
    w.open_with_url("form", "action", Url::local("/logout/"), {{"method", "post"}, {"class", "account-form"}});
    hidden(w, "csrf", caller.csrf);
    w.element("button", "Sign out", {{"type", "submit"}});
    w.close("form");
    return w.finish();
  }

  http::Response profile(const Caller& caller) const {
    if (!caller.signed_in) return redirect_to("/login/?next=/profile/");
    return private_page(200, "Account", profile_main(caller, "", ""));
  }

  // The caller of a form post: signed in, the form's csrf the session's, from this site.
  std::optional<http::Response> refuse_post(const http::Request& request, const Caller& caller, const Form& form) const {
    if (!caller.signed_in) return redirect_to("/login/?next=/profile/");
    if (!same_origin(request) || !auth::secrets_equal(form_value(form, "csrf"), caller.csrf)) {
      log_fields(*log, spdlog::level::info, "form refused", {{"reason", "csrf"}, {"user", caller.user}});
      return error_page(403, "Refused", {"The form had expired or came from another site. Go back and try again."});
    }
    return std::nullopt;
  }

  http::Response create_token(const http::Request& request, const Caller& caller, const Form& form) const {
    if (auto refused = refuse_post(request, caller, form)) return *refused;
    auto requested = form_values(form, "permission");
    auth::PermissionSet permissions(requested.begin(), requested.end());
    std::string days_text = form_value(form, "days");
    int days = 90;
    if (!days_text.empty()) {
      bool digits = days_text.size() <= 4 && std::all_of(days_text.begin(), days_text.end(), [](char c) { return c >= '0' && c <= '9'; });
      days = digits ? std::stoi(days_text) : 0;
    }
    std::string problem;
    if (permissions.empty()) problem = "Choose at least one permission for the token.";
    if (days < 1 || days > 3650) problem = "A token lasts 1 to 3650 days.";
    if (problem.empty()) {
      try {
        auto created = store()->create_token(caller.user, form_value(form, "label"), permissions, days, Clock::now());
        log_fields(*log, spdlog::level::info, "token created",
                   {{"user", caller.user}, {"token_id", std::to_string(created.info.id)}});
        const std::string* host = request.header("Host");
        return private_page(200, "Account", profile_main(caller, "", created.secret, host ? *host : "HOST"));
      } catch (const auth::AuthError& e) {
        problem = e.what();
      }
    }
    return private_page(400, "Account", profile_main(caller, problem, ""));
  }

  http::Response revoke_token(const http::Request& request, const Caller& caller, const Form& form) const {
    if (auto refused = refuse_post(request, caller, form)) return *refused;
    std::string id_text = form_value(form, "id");
    bool digits = !id_text.empty() && id_text.size() <= 18 &&
                  std::all_of(id_text.begin(), id_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    int64_t id = digits ? std::stoll(id_text) : -1;
    auto tokens = store()->list_tokens(caller.user);
    bool own = std::any_of(tokens.begin(), tokens.end(), [&](const auth::TokenInfo& t) { return t.id == id; });
    if (!own) return private_page(404, "Account", profile_main(caller, "You have no token with that id.", ""));
    store()->revoke_token(id);
    log_fields(*log, spdlog::level::info, "token revoked", {{"user", caller.user}, {"token_id", id_text}});
    return redirect_to("/profile/");
  }
};

SignInPages::SignInPages(SignInOptions options, const CallerAuth& auth)
    : impl_(std::make_shared<Impl>(options, auth)) {}
SignInPages::~SignInPages() = default;

void SignInPages::add_routes(http::Server& server) {
  std::shared_ptr<Impl> im = impl_;
  auto session_of = [](const http::Request& req) { return http::cookie_value(req, kSessionCookie).value_or(""); };

  server.route(http::Access::signed_in(), {"GET", "/login/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable();
                  auto next = http::parse_query(req.query)["next"];
                  return im->auth.page(req, [im, req, next](const Caller& caller) {
                    if (caller.signed_in) return redirect_to(safe_next(next));
                    return im->login_form(req, 200, next, "");
                  });
                }});
  server.route(http::Access::signed_in(), {"POST", "/login/", kFormLimit, [im](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable();
                  return http::collected([im, req, login = http::cookie_value(req, kLoginCookie).value_or("")](std::string body) {
                    return im->sign_in(req, http::parse_query_pairs(body), login);
                  });
                }});
  http::Route once{"GET", "/login/once/", http::kNoBodyLimit,
                   [im](const http::Request& req) -> http::Reply {
                     if (!im->store()) return im->unavailable();
                     std::string secret = req.path.substr(std::string_view("/login/once/").size());
                     return http::deferred([im, req, secret] { return im->sign_in_link(req, secret); });
                   },
                   true};
  once.secret_in_path = true;  // the link's secret stays out of the access log
  server.route(http::Access::signed_in(), std::move(once));
  server.route(http::Access::signed_in(), {"POST", "/logout/", kFormLimit, [im, session_of](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable();
                  return http::collected([im, req, session = session_of(req)](std::string body) {
                    return im->sign_out(req, http::parse_query_pairs(body), session);
                  });
                }});
  server.route(http::Access::signed_in(), {"GET", "/profile/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable();
                  return im->auth.page(req, [im](const Caller& caller) { return im->profile(caller); });
                }});
  server.route(http::Access::signed_in(), {"POST", "/profile/tokens/", kFormLimit, [im, session_of](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable();
                  return http::collected([im, req, session = session_of(req)](std::string body) {
                    return im->create_token(req, im->auth.session_caller(session), http::parse_query_pairs(body));
                  });
                }});
  server.route(http::Access::signed_in(), {"POST", "/profile/tokens/revoke/", kFormLimit, [im, session_of](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable();
                  return http::collected([im, req, session = session_of(req)](std::string body) {
                    return im->revoke_token(req, im->auth.session_caller(session), http::parse_query_pairs(body));
                  });
                }});
}

}  // namespace bw::web
