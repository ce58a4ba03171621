#include "web/api_auth.h"

#include <chrono>
#include <utility>

#include "core/config.h"
#include "core/log.h"
#include "web/html.h"
#include "web/json_api.h"

namespace bw::web {
namespace {

constexpr std::string_view kHeader = "Auth-Token";

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

OpenedAccounts open_accounts(const Config& config) {
  OpenedAccounts out;
  try {
    out.owned = auth::open_auth_store(config);
    out.accounts.store = out.owned.get();
  } catch (const auth::AuthUnavailable& e) {
    // The one refusal expected: a PostgreSQL index has no account store yet. Anything else (the
    // SQLite file unusable) is a real failure to start.
    if (config.get_string("index", "url").empty()) throw;
    out.accounts.unavailable = "accounts need the SQLite crash index for now; this site's index is PostgreSQL";
    log_fields(*logger("web"), spdlog::level::warn, "API tokens are refused: no account store",
               {{"reason", std::string(html::utf8_prefix(e.what(), 500))}});
  }
  return out;
}

TokenHeader TokenHeader::of(const http::Request& request) {
  TokenHeader h;
  for (const auto& [name, value] : request.headers) {
    if (!equals_ignoring_case(name, kHeader)) continue;
    if (h.count++ == 0) h.value = value;
  }
  return h;
}

ApiAuth::ApiAuth(Accounts accounts) : accounts_(std::move(accounts)), log_(logger("web")) {}

std::variant<Caller, http::Response> ApiAuth::check(const TokenHeader& header) const {
  if (!header.present()) return Caller{};
  if (header.count > 1) return json_error(403, "give one Auth-Token header, not " + std::to_string(header.count));
  if (!accounts_.store) return json_error(403, accounts_.unavailable);
  try {
    auth::TokenCheck check = accounts_.store->check_token(header.value, std::chrono::system_clock::now());
    if (check.result != auth::TokenCheck::Result::kValid) {
      // The reason and the owner when known; never the token.
      log_fields(*log_, spdlog::level::info, "Auth-Token refused", {{"reason", check.reason()}, {"user", check.user}});
      return json_error(403, check.reason());
    }
    return Caller{true, std::move(check.user), std::move(check.permissions)};
  } catch (const auth::AuthUnavailable& e) {
    log_fields(*log_, spdlog::level::warn, "account store unavailable",
               {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return json_unavailable("the account store is unavailable; try again in a few seconds");
  } catch (const std::exception& e) {
    log_fields(*log_, spdlog::level::err, "token check failed", {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return json_error(500, "internal server error; it has been logged");
  }
}

http::Reply ApiAuth::answer(const http::Request& request, std::function<http::Response(const Caller&)> work) const {
  return deferred([this, header = TokenHeader::of(request), work = std::move(work)]() -> http::Response {
    auto caller = check(header);
    http::Response r = std::holds_alternative<http::Response>(caller) ? std::move(std::get<http::Response>(caller))
                                                                      : work(std::get<Caller>(caller));
    set_cache_headers(r, header.present());
    return r;
  });
}

void ApiAuth::set_cache_headers(http::Response& response, bool token_given) {
  auto& headers = response.headers;
  bool has_cache_control = false;
  bool has_vary = false;
  for (auto it = headers.begin(); it != headers.end();) {
    if (equals_ignoring_case(it->first, "Cache-Control")) {
      if (token_given) {
        it = headers.erase(it);
        continue;
      }
      has_cache_control = true;
    } else if (equals_ignoring_case(it->first, "Vary")) {
      it->second += ", " + std::string(kHeader);
      has_vary = true;
    }
    ++it;
  }
  if (token_given) {
    headers.emplace_back("Cache-Control", "private, no-store");
  } else if (!has_cache_control) {
    headers.emplace_back("Cache-Control", "no-cache");
  }
  if (!has_vary) headers.emplace_back("Vary", std::string(kHeader));
}

http::Response ApiAuth::anonymous(http::Response response) {
  set_cache_headers(response, false);
  return response;
}

}  // namespace bw::web
