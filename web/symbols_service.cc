#include "web/symbols_service.h"

#include <sodium.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/ascii.h"
#include "symbols/symbol_routes.h"
#include "web/symbols_pages.h"
#include "web/json_api.h"

namespace bw::web {
namespace {

constexpr size_t kMaxCredentials = 1024;

// The token of an `Authorization: Basic` header: the password, or the user when the password is
// empty; nullopt when there is no such header or it does not decode.
std::optional<std::string> basic_auth_token(const http::Request& request) {
  const std::string* header = request.header("Authorization");
  if (!header || !istarts_with(*header, "basic ") || header->size() > kMaxCredentials) return std::nullopt;
  std::string_view encoded = std::string_view(*header).substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded(encoded.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(), encoded.data(), encoded.size(),
                        nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  decoded.resize(length);
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string password = decoded.substr(colon + 1);
  return password.empty() ? decoded.substr(0, colon) : password;
}

// The token the request carries (rules in the header), or nullopt.
std::optional<TokenHeader> upload_token(const http::Request& request) {
  TokenHeader header = TokenHeader::of(request);
  if (header.present()) return header;
  if (auto basic = basic_auth_token(request)) return TokenHeader{1, std::move(*basic)};
  for (const auto& [name, value] : http::parse_query_pairs(request.query)) {
    if (name == "token" || name == "key") return TokenHeader{1, value};
  }
  return std::nullopt;
}

}  // namespace

symbols::UploadAuthorizer upload_authorizer(Accounts accounts) {
  auto caller_auth = std::make_shared<CallerAuth>(std::move(accounts));
  return [caller_auth](const http::Request& request) -> std::variant<std::string, http::Response> {
    auto token = upload_token(request);
    if (!token) {
      http::Response r = json_error(401, "symbol uploads need a token with the upload_symbols permission: an Auth-Token "
                                         "header, the token as the basic-auth password, or ?token=");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Breakwater symbol upload\"");
      return r;
    }
    auto caller = caller_auth->check(*token);
    if (auto* refused = std::get_if<http::Response>(&caller)) return std::move(*refused);
    const Caller& who = std::get<Caller>(caller);
    if (!who.permissions.contains("upload_symbols")) {
      return json_error(403, "this token does not carry the upload_symbols permission");
    }
    return who.user;
  };
}

SymbolsService::SymbolsService(const Config& config, const symbols::SymbolStore& store, index::CrashIndex* index,
                               queue::CrashQueue* queue, Accounts accounts)
    : store_(store),
      index_(index),
      accounts_(std::move(accounts)),
      upload_options_(symbols::UploadRouteOptions::from_config(config)) {
  if (index && queue) {
    healer_ = std::make_unique<SymbolHealer>(*index, *queue);
    upload_options_.on_stored = healer_->hook();
  }
}

SymbolsService::~SymbolsService() = default;

void SymbolsService::add_routes(http::Server& server) {
  // Exact page routes first in meaning: they win over the /symbols/ prefix of the downloads.
  add_symbols_pages(server, index_, store_);
  symbols::add_symbol_routes(server, store_);
  symbols::add_symbol_upload_routes(server, store_, upload_authorizer(accounts_), upload_options_);
}

}  // namespace bw::web
