#include "web/caller_auth.h"

#include <chrono>
#include <utility>

#include "core/ascii.h"
#include "core/config.h"
#include "auth/secrets.h"
#include "core/log.h"
#include "http/cookies.h"
#include "web/html.h"
#include "web/json_api.h"

namespace bw::web {
namespace {

constexpr std::string_view kHeader = "Auth-Token";
constexpr std::string_view kVary = "Auth-Token, Cookie";

}  // namespace

OpenedAccounts open_accounts(const Config& config) {
  OpenedAccounts out;
  out.owned = auth::open_auth_store(config);
  out.accounts.store = out.owned.get();
  return out;
}

TokenHeader TokenHeader::of(const http::Request& request) {
  TokenHeader h;
  for (const auto& [name, value] : request.headers) {
    if (!iequals(name, kHeader)) continue;
    if (h.count++ == 0) h.value = value;
  }
  return h;
}

RateLimits RateLimits::from_config(const Config& config) {
  RateLimits r;
  for (auto [key, out] : {std::pair{"api_requests_per_minute", &r.per_address}, std::pair{"token_requests_per_minute", &r.per_token}}) {
    int64_t v = config.get_int("web", key);
    if (v < 0 || v > 10'000'000) throw ConfigError(std::string("web.") + key + " must be 0 (no limit) to 10000000");
    *out = static_cast<double>(v);
  }
  return r;
}

namespace {
std::unique_ptr<http::RateLimiter> limiter(double per_minute) {
  return std::make_unique<http::RateLimiter>(http::RateLimiter::Options{per_minute, std::max(1.0, per_minute / 6), 100000});
}
}  // namespace

CallerAuth::CallerAuth(Accounts accounts, RateLimits limits)
    : accounts_(std::move(accounts)),
      log_(logger("web")),
      by_address_(limiter(limits.per_address)),
      by_token_(limiter(limits.per_token)) {}

CallerAuth::~CallerAuth() = default;

std::optional<http::Response> CallerAuth::over_limit(const std::string& address, const Caller* caller,
                                                     const Credentials& credentials) const {
  auto now = http::RateLimiter::Clock::now();
  http::RateLimiter::Decision d;
  if (caller && caller->has_token) {
    d = by_token_->take("token:" + auth::token_hash(credentials.token.value).substr(0, 32), now);
  } else {
    d = by_address_->take(address, now);
  }
  if (d.allowed) return std::nullopt;
  log_fields(*log_, spdlog::level::info, "rate limited", {{"peer", address}, {"user", caller ? caller->user : ""}});
  return http::too_many_requests(d.retry_after,
                                 nlohmann::json{{"error", "too many requests; try again in " +
                                                              std::to_string(d.retry_after.count()) + " s"}}
                                     .dump());
}

Credentials Credentials::of(const http::Request& request) {
  Credentials c = token_only(request);
  c.session = http::cookie_value(request, kSessionCookie).value_or("");
  return c;
}

Credentials Credentials::token_only(const http::Request& request) { return Credentials{TokenHeader::of(request), {}}; }

std::variant<Caller, http::Response> CallerAuth::check(const Credentials& credentials) const {
  const TokenHeader& header = credentials.token;
  if (!header.present()) return session_caller(credentials.session);
  if (header.count > 1) return json_error(403, "give one Auth-Token header, not " + std::to_string(header.count));
  if (!accounts_.store) return json_error(403, accounts_.unavailable);
  try {
    auth::TokenCheck check = accounts_.store->check_token(header.value, std::chrono::system_clock::now());
    if (check.result != auth::TokenCheck::Result::kValid) {
      // The reason and the owner when known; never the token.
      log_fields(*log_, spdlog::level::info, "Auth-Token refused", {{"reason", check.reason()}, {"user", check.user}});
      return json_error(403, check.reason());
    }
    return Caller{true, std::move(check.user), std::move(check.permissions), false, {}};
  } catch (const auth::AuthUnavailable& e) {
    log_fields(*log_, spdlog::level::warn, "account store unavailable",
               {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return json_unavailable("the account store is unavailable; try again in a few seconds");
  } catch (const std::exception& e) {
    log_fields(*log_, spdlog::level::err, "token check failed", {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return json_error(500, "internal server error; it has been logged");
  }
}

Caller CallerAuth::session_caller(std::string_view session) const {
  if (session.empty() || !accounts_.store) return Caller{};
  try {
    auto found = accounts_.store->check_session(session, std::chrono::system_clock::now());
    if (!found) return Caller{};
    return Caller{false, std::move(found->user), std::move(found->permissions), true, std::move(found->csrf)};
  } catch (const std::exception& e) {
    // Shown as signed out rather than failing the page; the API says so with a 503 when a token
    // cannot be checked, but a page can still show public data.
    log_fields(*log_, spdlog::level::warn, "session check failed", {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return Caller{};
  }
}

http::Reply CallerAuth::answer(const http::Request& request, std::function<http::Response(const Caller&)> work) const {
  return deferred([this, credentials = Credentials::of(request), address = http::client_address(request.peer),
                   work = std::move(work)]() -> http::Response {
    auto caller = check(credentials);
    const Caller* who = std::get_if<Caller>(&caller);
    auto limited = over_limit(address, who, credentials);
    http::Response r = limited ? std::move(*limited)
                       : who   ? work(*who)
                               : std::move(std::get<http::Response>(caller));
    set_cache_headers(r, credentials.present());
    return r;
  });
}

http::Reply CallerAuth::page(const http::Request& request, std::function<http::Response(const Caller&)> work) const {
  auto session = http::cookie_value(request, kSessionCookie).value_or("");
  return deferred([this, session = std::move(session), address = http::client_address(request.peer),
                   work = std::move(work)]() -> http::Response {
    Caller caller = session_caller(session);
    auto limited = over_limit(address, nullptr, Credentials{});
    http::Response r = limited ? std::move(*limited) : work(caller);
    if (!session.empty()) {
      std::erase_if(r.headers, [](const auto& h) { return iequals(h.first, "Cache-Control"); });
      r.headers.emplace_back("Cache-Control", "private, no-store");
    }
    r.headers.emplace_back("Vary", "Cookie");
    return r;
  });
}

void CallerAuth::set_cache_headers(http::Response& response, bool personal) {
  auto& headers = response.headers;
  bool has_cache_control = false;
  bool has_vary = false;
  for (auto it = headers.begin(); it != headers.end();) {
    if (iequals(it->first, "Cache-Control")) {
      if (personal) {
        it = headers.erase(it);
        continue;
      }
      has_cache_control = true;
    } else if (iequals(it->first, "Vary")) {
      it->second += ", " + std::string(kVary);
      has_vary = true;
    }
    ++it;
  }
  if (personal) {
    headers.emplace_back("Cache-Control", "private, no-store");
  } else if (!has_cache_control) {
    headers.emplace_back("Cache-Control", "no-cache");
  }
  if (!has_vary) headers.emplace_back("Vary", std::string(kVary));
}

http::Response CallerAuth::anonymous(http::Response response) {
  set_cache_headers(response, false);
  return response;
}

}  // namespace bw::web
