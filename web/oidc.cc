#include "web/oidc.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "auth/secrets.h"
#include "core/ascii.h"
#include "core/config.h"
#include "core/fs_util.h"
#include "core/libcurl.h"
#include "core/log.h"
#include "core/random.h"
#include "http/cookies.h"
#include "http/rate_limiter.h"
#include "web/html.h"
#include "web/layout.h"

namespace bw::web {

using nlohmann::json;

namespace {

// A value from outside that may be shown and logged: [A-Za-z0-9_.-]{1,max}; else "unknown".
std::string plain_word(std::string_view text, size_t max = 64) {
  bool ok = !text.empty() && text.size() <= max;
  for (char c : text) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  return ok ? std::string(text) : std::string("unknown");
}

// The host of "scheme://authority/..." (lower-cased; "[::1]" keeps its brackets), or nullopt when
// the authority is malformed (userinfo, a port that is not 1-5 digits, no host).
std::optional<std::string> url_host(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(scheme + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (host.empty() || port.size() > 5) return std::nullopt;
  unsigned number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<unsigned>(c - '0');
  }
  if (number > 65535) return std::nullopt;
  return ascii_lowered(host);
}

bool is_loopback_host(std::string_view host) { return host == "127.0.0.1" || host == "localhost" || host == "[::1]"; }

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), md, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), size);
}

std::string base64_standard(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string random_base64url(size_t bytes) {
  std::string raw(bytes, '\0');
  random_bytes(raw.data(), raw.size());
  return oidc::base64url_encode(raw);
}

bool valid_user_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' || c == '-');
  }
  return ok;
}

}  // namespace

OidcOptions OidcOptions::from_config(const Config& config) {
  OidcOptions o;
  o.issuer = config.get_string("oidc", "issuer");
  o.client_id = config.get_string("oidc", "client_id");
  o.redirect_url = config.get_string("oidc", "redirect_url");
  o.scopes = config.get_string("oidc", "scopes");
  o.user_claim = config.get_string("oidc", "user_claim");
  o.allow_new_users = config.get_bool("oidc", "allow_new_users");
  o.label = config.get_string("oidc", "label");
  if (!o.enabled()) return o;

  if (!oidc::acceptable_url(o.issuer)) {
    throw ConfigError("oidc.issuer must be an https:// URL (http:// only on loopback: 127.0.0.1, localhost, [::1])");
  }
  if (o.client_id.empty()) throw ConfigError("oidc.client_id is needed when oidc.issuer is set");
  std::string secret = config.get_string("oidc", "client_secret");
  std::string file = config.get_string("oidc", "client_secret_file");
  if (!secret.empty() && !file.empty()) throw ConfigError("set oidc.client_secret or oidc.client_secret_file, not both");
  if (!file.empty()) {
    try {
      secret = fs::read_file(file);
    } catch (const std::exception& e) {
      throw ConfigError("oidc.client_secret_file cannot be read: " + std::string(e.what()));
    }
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!secret.empty() && space(secret.back())) secret.pop_back();
    size_t start = 0;
    while (start < secret.size() && space(secret[start])) ++start;
    secret.erase(0, start);
    if (secret.empty()) throw ConfigError("oidc.client_secret_file is empty");
  }
  if (secret.empty()) throw ConfigError("oidc.client_secret (or oidc.client_secret_file) is needed when oidc.issuer is set");
  o.client_secret = secret;

  std::string_view redirect = o.redirect_url;
  size_t scheme = redirect.find("://");
  size_t path = scheme == std::string_view::npos ? scheme : redirect.find('/', scheme + 3);
  if (!oidc::acceptable_url(redirect) || path == std::string_view::npos || redirect.substr(path) != "/login/oidc/callback") {
    throw ConfigError(
        "oidc.redirect_url must be the site's public https:// URL of /login/oidc/callback (e.g. "
        "https://crash.example.com/login/oidc/callback; http:// only on loopback)");
  }

  bool openid = false, scope_chars = !o.scopes.empty() && o.scopes.size() <= 1000;
  size_t pos = 0;
  while (pos <= o.scopes.size()) {
    size_t end = std::min(o.scopes.find(' ', pos), o.scopes.size());
    if (o.scopes.substr(pos, end - pos) == "openid") openid = true;
    pos = end + 1;
  }
  for (char c : o.scopes) {
    auto u = static_cast<unsigned char>(c);
    scope_chars = scope_chars && (u == ' ' || (u >= 0x21 && u <= 0x7e && c != '"' && c != '\\'));
  }
  if (!openid || !scope_chars) {
    throw ConfigError("oidc.scopes must be scope names separated by spaces, openid among them");
  }
  if (o.user_claim != "email" && o.user_claim != "preferred_username" && o.user_claim != "sub") {
    throw ConfigError("oidc.user_claim must be email, preferred_username or sub");
  }
  if (o.label.empty() || o.label.size() > 100) throw ConfigError("oidc.label must be 1 to 100 bytes");
  return o;
}

namespace oidc {

// ----- base64url -----

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (left == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (left == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The bits left over must be zero: one encoding per byte string.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool acceptable_url(std::string_view url) {
  if (url.empty() || url.size() > 2048) return false;
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\') return false;
  }
  bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) return false;
  auto host = url_host(url);
  if (!host) return false;
  return https || is_loopback_host(*host);
}

// ----- discovery -----

Discovery parse_discovery(std::string_view body, std::string_view expected_issuer) {
  if (body.size() > kMaxDocument) throw OidcError("the discovery document is larger than 256 KiB");
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw OidcError("the discovery document is not a JSON object");
  auto text = [&](const char* key) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) throw OidcError(std::string("the discovery document has no ") + key);
    return it->get<std::string>();
  };
  auto listed = [&](const char* key, std::string_view want) -> std::optional<bool> {
    auto it = doc.find(key);
    if (it == doc.end()) return std::nullopt;
    if (!it->is_array()) throw OidcError(std::string("the discovery document's ") + key + " is not a list");
    return std::any_of(it->begin(), it->end(), [&](const json& v) { return v.is_string() && v.get_ref<const std::string&>() == want; });
  };
  Discovery d;
  d.issuer = text("issuer");
  if (d.issuer != expected_issuer) {
    throw OidcError("the discovery document names another issuer than oidc.issuer (they must match exactly)");
  }
  d.authorization_endpoint = text("authorization_endpoint");
  d.token_endpoint = text("token_endpoint");
  d.jwks_uri = text("jwks_uri");
  for (const auto& [key, value] : {std::pair{"authorization_endpoint", &d.authorization_endpoint},
                                   std::pair{"token_endpoint", &d.token_endpoint}, std::pair{"jwks_uri", &d.jwks_uri}}) {
    if (!acceptable_url(*value)) {
      throw OidcError(std::string("the discovery document's ") + key + " is not an https:// URL");
    }
  }
  if (listed("response_types_supported", "code") == false) throw OidcError("the provider does not offer the code flow");
  if (listed("id_token_signing_alg_values_supported", "RS256") == false) {
    throw OidcError("the provider does not sign id_tokens with RS256");
  }
  if (listed("code_challenge_methods_supported", "S256") == false) throw OidcError("the provider does not offer PKCE with S256");
  auto basic = listed("token_endpoint_auth_methods_supported", "client_secret_basic");
  if (basic == false) {
    if (listed("token_endpoint_auth_methods_supported", "client_secret_post") != true) {
      throw OidcError("the provider takes neither client_secret_basic nor client_secret_post");
    }
    d.secret_in_post = true;
  }
  return d;
}

// ----- keys -----

class RsaKey {
 public:
  explicit RsaKey(EVP_PKEY* key) : key_(key) {}
  ~RsaKey() { EVP_PKEY_free(key_); }
  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;
  EVP_PKEY* get() const { return key_; }

 private:
  EVP_PKEY* key_;
};

int rsa_key_bits(const RsaKey& key) { return EVP_PKEY_get_bits(key.get()); }

bool verify_rs256(const RsaKey& key, std::string_view data, std::string_view signature) {
  if (signature.empty() || signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.get()))) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();  // a failed check leaves reasons on this thread's queue
  return ok;
}

namespace {

// An RSA public key from a JWK's n and e (big-endian bytes), or nullptr when they do not make a
// usable key: 2048-8192 bits, n odd, e odd and at least 3, at most 64 bits.
std::shared_ptr<const RsaKey> make_rsa_key(std::string_view n, std::string_view e) {
  while (!n.empty() && n.front() == '\0') n.remove_prefix(1);
  while (!e.empty() && e.front() == '\0') e.remove_prefix(1);
  if (n.size() < 256 || n.size() > 1024 || e.empty() || e.size() > 8) return nullptr;
  if ((static_cast<unsigned char>(n.back()) & 1) == 0 || (static_cast<unsigned char>(e.back()) & 1) == 0) return nullptr;
  if (e.size() == 1 && static_cast<unsigned char>(e[0]) < 3) return nullptr;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr), BN_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr), BN_free);
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                   EVP_PKEY_CTX_free);
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !pkey) {
    ERR_clear_error();
    return nullptr;
  }
  auto key = std::make_shared<const RsaKey>(pkey);
  int bits = rsa_key_bits(*key);
  if (bits < 2048 || bits > 8192) return nullptr;
  return key;
}

// The JWK's key when it is an RS256 signing key; nullptr otherwise.
std::shared_ptr<const RsaKey> rs256_key(const json& jwk) {
  if (!jwk.is_object()) return nullptr;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = jwk.find(key);
    if (it == jwk.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (text("kty") != "RSA") return nullptr;
  if (jwk.contains("use") && text("use") != "sig") return nullptr;
  if (jwk.contains("alg") && text("alg") != "RS256") return nullptr;
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array() || std::none_of(ops->begin(), ops->end(), [](const json& v) { return v == "verify"; })) {
      return nullptr;
    }
  }
  auto n = text("n"), e = text("e");
  if (!n || !e) return nullptr;
  auto n_bytes = base64url_decode(*n), e_bytes = base64url_decode(*e);
  if (!n_bytes || !e_bytes) return nullptr;
  return make_rsa_key(*n_bytes, *e_bytes);
}

}  // namespace

const RsaKey* Jwks::find(const std::optional<std::string>& kid) const {
  if (!kid) return keys.size() == 1 ? keys.front().key.get() : nullptr;
  for (const auto& k : keys) {
    if (!k.kid.empty() && k.kid == *kid) return k.key.get();
  }
  return nullptr;
}

Jwks parse_jwks(std::string_view body) {
  if (body.size() > kMaxDocument) throw OidcError("the provider's JWKS is larger than 256 KiB");
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw OidcError("the provider's JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) throw OidcError("the provider's JWKS has no list of keys");
  Jwks out;
  size_t seen = 0;
  for (const json& jwk : *keys) {
    if (++seen > kMaxJwksKeys) {
      ++out.skipped;
      continue;
    }
    std::string kid;
    if (jwk.is_object()) {
      auto it = jwk.find("kid");
      if (it != jwk.end()) {
        if (!it->is_string() || it->get_ref<const std::string&>().empty() || it->get_ref<const std::string&>().size() > 256) {
          ++out.skipped;
          continue;
        }
        kid = it->get<std::string>();
      }
    }
    bool duplicate = !kid.empty() && std::any_of(out.keys.begin(), out.keys.end(), [&](const JwksKey& k) { return k.kid == kid; });
    auto key = duplicate ? nullptr : rs256_key(jwk);
    if (!key) {
      ++out.skipped;
      continue;
    }
    out.keys.push_back({std::move(kid), std::move(key)});
  }
  return out;
}

// ----- id_token -----

Jws parse_jws(std::string_view token) {
  if (token.size() > kMaxIdToken) throw OidcError("the id_token is longer than 16 KiB");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    throw OidcError("the id_token is not a compact JWS (three parts separated by dots)");
  }
  auto header_text = base64url_decode(token.substr(0, first));
  if (!header_text) throw OidcError("the id_token's header is not base64url");
  json header = json::parse(*header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) throw OidcError("the id_token's header is not a JSON object");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) throw OidcError("the id_token's header names no algorithm (alg)");
  const std::string& name = alg->get_ref<const std::string&>();
  if (ascii_lowered(name) == "none") throw OidcError("the id_token is not signed (alg none): only RS256 is accepted");
  if (name.starts_with("HS") || name.starts_with("hs")) {
    throw OidcError("the id_token is signed with a shared secret (" + plain_word(name, 16) +
                    "): only RS256 is accepted");
  }
  if (name != "RS256") throw OidcError("the id_token's algorithm (" + plain_word(name, 16) + ") is not RS256");
  if (header.contains("crit")) throw OidcError("the id_token's header has critical extensions (crit) this site does not know");
  Jws jws;
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string() || kid->get_ref<const std::string&>().empty() || kid->get_ref<const std::string&>().size() > 256) {
      throw OidcError("the id_token's key id (kid) is not a string of 1 to 256 bytes");
    }
    jws.kid = kid->get<std::string>();
  }
  auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload) throw OidcError("the id_token's payload is not base64url");
  jws.claims = json::parse(*payload, nullptr, false);
  if (jws.claims.is_discarded() || !jws.claims.is_object()) throw OidcError("the id_token's payload is not a JSON object");
  auto signature = base64url_decode(token.substr(second + 1));
  if (!signature || signature->empty()) throw OidcError("the id_token has no valid signature part");
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(token.substr(0, second));
  return jws;
}

void check_claims(const json& claims, const ClaimChecks& checks) {
  if (!claims.is_object()) throw OidcError("the id_token's payload is not a JSON object");
  auto text = [&](const char* key) -> const std::string* {
    auto it = claims.find(key);
    return it != claims.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = claims.find(key);
    if (it == claims.end()) return std::nullopt;
    if (!it->is_number()) throw OidcError(std::string("the id_token's ") + key + " is not a number");
    return it->get<double>();
  };
  const std::string* iss = text("iss");
  if (!iss || *iss != checks.issuer) throw OidcError("the id_token comes from another issuer than oidc.issuer (iss)");

  std::vector<std::string> audiences;
  auto aud = claims.find("aud");
  if (aud != claims.end() && aud->is_string()) {
    audiences.push_back(aud->get<std::string>());
  } else if (aud != claims.end() && aud->is_array() && aud->size() <= 100) {
    for (const auto& a : *aud) {
      if (!a.is_string()) throw OidcError("the id_token's audience (aud) is not a list of strings");
      audiences.push_back(a.get<std::string>());
    }
  } else {
    throw OidcError("the id_token has no audience (aud)");
  }
  if (std::find(audiences.begin(), audiences.end(), checks.client_id) == audiences.end()) {
    throw OidcError("the id_token is meant for another client than oidc.client_id (aud)");
  }
  const std::string* azp = text("azp");
  if (claims.contains("azp") && (!azp || *azp != checks.client_id)) {
    throw OidcError("the id_token was issued to another client than oidc.client_id (azp)");
  }
  if (audiences.size() > 1 && !azp) throw OidcError("the id_token names several audiences and no authorized party (azp)");

  double now = std::chrono::duration<double>(checks.now.time_since_epoch()).count();
  double skew = static_cast<double>(checks.skew.count());
  auto exp = number("exp");
  if (!exp) throw OidcError("the id_token has no expiry (exp)");
  if (!(now <= *exp + skew)) throw OidcError("the id_token has expired (exp)");
  auto iat = number("iat");
  if (!iat) throw OidcError("the id_token has no issue time (iat)");
  if (!(*iat <= now + skew)) throw OidcError("the id_token was issued in the future (iat): are the clocks right?");
  if (auto nbf = number("nbf"); nbf && !(*nbf <= now + skew)) throw OidcError("the id_token is not valid yet (nbf)");

  const std::string* nonce = text("nonce");
  if (!nonce || !auth::secrets_equal(*nonce, checks.nonce)) {
    throw OidcError("the id_token's nonce is not this sign-in's (nonce)");
  }
  const std::string* sub = text("sub");
  if (!sub || sub->empty() || sub->size() > 255) throw OidcError("the id_token has no subject (sub)");
}

std::string user_from_claims(const json& claims, std::string_view claim) {
  auto it = claims.find(claim);
  std::string name(claim);
  if (it == claims.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw OidcError("the id_token has no " + name + " claim (oidc.user_claim)");
  }
  if (claim == "email") {
    auto verified = claims.find("email_verified");
    if (verified != claims.end() && ((verified->is_boolean() && !verified->get<bool>()) ||
                                     (verified->is_string() && ascii_lowered(verified->get<std::string>()) == "false"))) {
      throw OidcError("the identity provider has not verified this e-mail address (email_verified)");
    }
  }
  const std::string& value = it->get_ref<const std::string&>();
  if (!valid_user_name(value)) {
    throw OidcError("the id_token's " + name + " is not a user name this site can have (1 to 64 of A-Z a-z 0-9 . _ @ -)");
  }
  return value;
}

// ----- HTTP to the provider -----

namespace {

struct Answer {
  long status = 0;
  std::string body{};
};

struct Sink {
  std::string body{};
  size_t limit = 0;
  bool too_large = false;
};

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * count;
  if (sink->body.size() + bytes > sink->limit) {
    sink->too_large = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  sink->body.append(data, bytes);
  return bytes;
}

// One request (GET, or POST of a form when `form` is given). Throws OidcUnavailable when the
// provider cannot be reached, OidcError when the answer is too large.
Answer fetch(const std::string& url, const std::string* form, const std::vector<std::string>& headers, size_t limit,
             std::chrono::milliseconds timeout) {
  const LibCurl* lib = nullptr;
  try {
    lib = &libcurl();
  } catch (const std::exception& e) {
    throw OidcUnavailable(std::string("libcurl cannot be used: ") + e.what());
  }
  std::unique_ptr<CURL, void (*)(CURL*)> curl(lib->easy_init(), lib->easy_cleanup);
  if (!curl) throw OidcUnavailable("curl_easy_init failed");
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = lib->slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(list, lib->slist_free_all);
  Sink sink;
  sink.limit = limit;
  CURL* c = curl.get();
  lib->easy_setopt(c, CURLOPT_URL, url.c_str());
  lib->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  lib->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  lib->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  lib->easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  lib->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  lib->easy_setopt(c, CURLOPT_USERAGENT, "breakwater-oidc");
  lib->easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  lib->easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  lib->easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limit));
  lib->easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
  if (auto host = url_host(url); host && is_loopback_host(*host)) lib->easy_setopt(c, CURLOPT_PROXY, "");
  if (form) {
    lib->easy_setopt(c, CURLOPT_POSTFIELDS, form->c_str());
    lib->easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
  }
  CURLcode rc = lib->easy_perform(c);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    throw OidcError("the identity provider's answer is larger than " + std::to_string(limit / 1024) + " KiB");
  }
  if (rc != CURLE_OK) throw OidcUnavailable(std::string("cannot reach the identity provider: ") + lib->easy_strerror(rc));
  Answer a;
  lib->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  a.body = std::move(sink.body);
  if (a.status >= 500 || a.status == 429) {
    throw OidcUnavailable("the identity provider answered HTTP " + std::to_string(a.status));
  }
  return a;
}

}  // namespace

struct OidcClient::State {
  std::mutex mutex;  // guards what follows; held while fetching, so one fetch at a time
  std::optional<Discovery> discovery;
  std::shared_ptr<const Jwks> jwks;
  std::chrono::steady_clock::time_point jwks_fetched{};

  static constexpr std::chrono::hours kJwksLifetime{1};
};

OidcClient::OidcClient(OidcOptions options) : options_(std::move(options)), state_(std::make_unique<State>()) {}
OidcClient::~OidcClient() = default;

namespace {

Discovery discovery_locked(const OidcOptions& options, std::optional<Discovery>& cached) {
  if (cached) return *cached;
  std::string base = options.issuer;
  while (base.ends_with('/')) base.pop_back();
  Answer a = fetch(base + "/.well-known/openid-configuration", nullptr, {"Accept: application/json"}, kMaxDocument,
                   options.http_timeout);
  if (a.status != 200) throw OidcError("the discovery document answered HTTP " + std::to_string(a.status));
  cached = parse_discovery(a.body, options.issuer);
  return *cached;
}

}  // namespace

Discovery OidcClient::discovery() {
  std::lock_guard lock(state_->mutex);
  return discovery_locked(options_, state_->discovery);
}

std::shared_ptr<const Jwks> OidcClient::jwks(bool refresh) {
  std::lock_guard lock(state_->mutex);
  auto now = std::chrono::steady_clock::now();
  if (!refresh && state_->jwks && now - state_->jwks_fetched < State::kJwksLifetime) return state_->jwks;
  Discovery d = discovery_locked(options_, state_->discovery);
  Answer a = fetch(d.jwks_uri, nullptr, {"Accept: application/json"}, kMaxDocument, options_.http_timeout);
  if (a.status != 200) throw OidcError("the provider's JWKS answered HTTP " + std::to_string(a.status));
  auto parsed = std::make_shared<const Jwks>(parse_jwks(a.body));
  if (parsed->keys.empty()) throw OidcError("the provider's JWKS holds no RS256 signing key");
  state_->jwks = parsed;
  state_->jwks_fetched = now;
  return parsed;
}

std::string OidcClient::authorization_url(const Discovery& d, std::string_view state, std::string_view nonce,
                                          std::string_view code_challenge) const {
  using html::encode_component;
  std::string url = d.authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + encode_component(options_.client_id) +
         "&redirect_uri=" + encode_component(options_.redirect_url) + "&scope=" + encode_component(options_.scopes) +
         "&state=" + encode_component(state) + "&nonce=" + encode_component(nonce) +
         "&code_challenge=" + encode_component(code_challenge) + "&code_challenge_method=S256";
  return url;
}

std::string OidcClient::exchange_code(std::string_view code, std::string_view code_verifier) {
  using html::encode_component;
  Discovery d = discovery();
  std::string form = "grant_type=authorization_code&code=" + encode_component(code) +
                     "&redirect_uri=" + encode_component(options_.redirect_url) +
                     "&code_verifier=" + encode_component(code_verifier);
  std::vector<std::string> headers = {"Accept: application/json", "Content-Type: application/x-www-form-urlencoded"};
  if (d.secret_in_post) {
    form += "&client_id=" + encode_component(options_.client_id) + "&client_secret=" + encode_component(options_.client_secret);
  } else {
    // RFC 6749 §2.3.1: both form-encoded, then base64.
    headers.push_back("Authorization: Basic " +
                      base64_standard(encode_component(options_.client_id) + ":" + encode_component(options_.client_secret)));
  }
  Answer a = fetch(d.token_endpoint, &form, headers, kMaxTokenAnswer, options_.http_timeout);
  json answer = json::parse(a.body, nullptr, false);
  if (a.status != 200) {
    std::string error = "HTTP " + std::to_string(a.status);
    if (answer.is_object() && answer.contains("error") && answer["error"].is_string()) {
      error = plain_word(answer["error"].get<std::string>());
    }
    throw OidcError("the identity provider refused the code (" + error + ")");
  }
  if (!answer.is_object() || !answer.contains("id_token") || !answer["id_token"].is_string()) {
    throw OidcError("the identity provider's token answer has no id_token");
  }
  return answer["id_token"].get<std::string>();
}

json OidcClient::verify_id_token(std::string_view id_token, std::string_view nonce, std::chrono::system_clock::time_point now) {
  Jws jws = parse_jws(id_token);
  auto keys = jwks(false);
  const RsaKey* key = keys->find(jws.kid);
  if (!key) {
    // A key rotated in since the JWKS was fetched: fetch it again, once.
    keys = jwks(true);
    key = keys->find(jws.kid);
  }
  if (!key) {
    throw OidcError(jws.kid ? "the id_token is signed with a key the provider does not list (kid)"
                            : "the id_token names no key (kid) and the provider lists several");
  }
  if (!verify_rs256(*key, jws.signing_input, jws.signature)) throw OidcError("the id_token's signature is not valid");
  check_claims(jws.claims, {options_.issuer, options_.client_id, std::string(nonce), now});
  return jws.claims;
}

}  // namespace oidc

// ----- the routes -----

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Flow {
  std::string state{}, nonce{}, verifier{}, next{};
  SteadyClock::time_point expires{};
};

// The flows begun and not yet come back, by the cookie's value (docs in the header).
class PendingFlows {
 public:
  static constexpr size_t kMax = 10000;
  static constexpr std::chrono::minutes kLifetime{10};

  void put(std::string id, Flow flow) {
    std::lock_guard lock(mutex_);
    if (flows_.size() >= kMax) {
      auto now = SteadyClock::now();
      std::erase_if(flows_, [&](const auto& entry) { return entry.second.expires <= now; });
    }
    if (flows_.size() >= kMax) {
      auto oldest = std::min_element(flows_.begin(), flows_.end(),
                                     [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
      flows_.erase(oldest);
    }
    flows_.insert_or_assign(std::move(id), std::move(flow));
  }

  // The flow, once: it is gone afterwards. nullopt when unknown or expired.
  std::optional<Flow> take(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = flows_.find(id);
    if (it == flows_.end()) return std::nullopt;
    Flow flow = std::move(it->second);
    flows_.erase(it);
    if (flow.expires <= SteadyClock::now()) return std::nullopt;
    return flow;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, Flow> flows_;
};

http::Response no_store(http::Response r) {
  std::erase_if(r.headers, [](const auto& h) { return h.first == "Cache-Control"; });
  r.headers.emplace_back("Cache-Control", "private, no-store");
  return r;
}

}  // namespace

struct OidcSignIn::Impl {
  Impl(OidcOptions o, SignInOptions s, const CallerAuth& a)
      : client(std::move(o)),
        sign_in(std::move(s)),
        auth(a),
        starts({sign_in.attempts_per_minute, sign_in.attempts_per_minute, 100000}),
        log(logger("web")) {}

  oidc::OidcClient client;
  SignInOptions sign_in;
  const CallerAuth& auth;
  http::RateLimiter starts;  // per client address
  PendingFlows flows;
  std::shared_ptr<spdlog::logger> log;

  const OidcOptions& options() const { return client.options(); }
  auth::AuthStore* store() const { return auth.store(); }

  std::string flow_cookie(std::string_view value, std::chrono::seconds max_age, const http::Request& request) const {
    return sign_in_cookie(kOidcCookie, value, max_age, request, sign_in, "/login/oidc/");
  }

  http::Response unavailable_here() const {
    return error_page(501, "Sign-in is not available",
                      {"This site keeps no accounts: they need the SQLite crash index (docs/security.md).",
                       "Every page shows public data only."});
  }

  http::Response provider_unavailable(const http::Request& request, const std::string& reason) const {
    log_fields(*log, spdlog::level::warn, "oidc provider unavailable",
               {{"reason", reason}, {"peer", http::client_address(request.peer)}});
    http::Response r = no_store(error_page(503, "Sign-in with " + options().label + " is not available now",
                                           {"The identity provider cannot be used right now: " + reason + ".",
                                            "Try again in a minute, or sign in with a password."}));
    r.headers.emplace_back("Retry-After", "60");
    r.headers.emplace_back("Set-Cookie", flow_cookie("", std::chrono::seconds(0), request));
    return r;
  }

  http::Response refuse(const http::Request& request, const std::string& reason, const std::string& user = {}) const {
    log_fields(*log, spdlog::level::info, "oidc sign-in refused",
               {{"reason", reason}, {"user", user}, {"peer", http::client_address(request.peer)}});
    http::Response r = no_store(error_page(403, "Sign-in with " + options().label + " failed",
                                           {"You are not signed in: " + reason + ".",
                                            "Start again from the sign-in page (/login/)."}));
    r.headers.emplace_back("Set-Cookie", flow_cookie("", std::chrono::seconds(0), request));
    return r;
  }

  http::Response start(const http::Request& request, const std::string& next) {
    oidc::Discovery discovery;
    try {
      discovery = client.discovery();
    } catch (const oidc::OidcUnavailable& e) {
      return provider_unavailable(request, e.what());
    } catch (const oidc::OidcError& e) {
      return provider_unavailable(request, e.what());
    }
    Flow flow;
    flow.state = auth::random_hex32();
    flow.nonce = auth::random_hex32();
    flow.verifier = random_base64url(32);  // 43 characters (RFC 7636 §4.1)
    flow.next = safe_next(next);
    flow.expires = SteadyClock::now() + PendingFlows::kLifetime;
    std::string challenge = oidc::base64url_encode(sha256(flow.verifier));
    std::string location = client.authorization_url(discovery, flow.state, flow.nonce, challenge);
    std::string id = auth::random_hex32();
    flows.put(id, std::move(flow));

    http::Response r;
    r.status = 303;
    r.headers = html_security_headers();
    r.headers.emplace_back("Location", std::move(location));
    r.headers.emplace_back("Cache-Control", "private, no-store");
    r.headers.emplace_back("Set-Cookie",
                           flow_cookie(id, std::chrono::duration_cast<std::chrono::seconds>(PendingFlows::kLifetime), request));
    return r;
  }

  http::Response callback(const http::Request& request, const std::map<std::string, std::string>& params,
                          const std::string& flow_id) {
    auto param = [&](const char* key) {
      auto it = params.find(key);
      return it == params.end() ? std::string() : it->second;
    };
    std::optional<Flow> flow;
    if (!flow_id.empty()) flow = flows.take(flow_id);
    if (!flow) {
      return refuse(request,
                    "this browser has no sign-in in progress (it took longer than 10 minutes, was finished "
                    "already, or the browser did not keep its cookie)");
    }
    if (!auth::secrets_equal(param("state"), flow->state)) {
      return refuse(request, "the identity provider's answer does not belong to this sign-in (state)");
    }
    if (params.contains("error")) {
      return refuse(request, "the identity provider did not sign you in (" + plain_word(param("error")) + ")");
    }
    std::string code = param("code");
    if (code.empty() || code.size() > 4096) return refuse(request, "the identity provider's answer has no code");

    std::string user;
    try {
      std::string id_token = client.exchange_code(code, flow->verifier);
      json claims = client.verify_id_token(id_token, flow->nonce, std::chrono::system_clock::now());
      user = oidc::user_from_claims(claims, options().user_claim);
    } catch (const oidc::OidcUnavailable& e) {
      return provider_unavailable(request, e.what());
    } catch (const oidc::OidcError& e) {
      return refuse(request, e.what());
    }

    try {
      auto found = store()->find_user(user);
      if (!found && options().allow_new_users) {
        try {
          // A password of 256 random bits nobody is told: this user signs in through the provider.
          store()->add_user(user, auth::random_hex32(), {});
          log_fields(*log, spdlog::level::info, "oidc user created", {{"user", user}});
        } catch (const auth::AuthError&) {
          // Made by a concurrent sign-in just now: look again below.
        }
        found = store()->find_user(user);
      }
      if (!found) {
        return refuse(request,
                      "there is no account named " + user +
                          " on this site (an administrator makes one with breakwater admin user add " + user + ")",
                      user);
      }
      if (found->disabled) return refuse(request, "the account " + user + " is disabled on this site", user);
      http::Response r = start_session(*store(), sign_in, request, user, flow->next, "oidc");
      r.headers.emplace_back("Set-Cookie", flow_cookie("", std::chrono::seconds(0), request));
      return r;
    } catch (const auth::AuthError& e) {
      return refuse(request, e.what(), user);
    } catch (const auth::AuthUnavailable& e) {
      log_fields(*log, spdlog::level::warn, "account store unavailable",
                 {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
      http::Response r = no_store(error_page(503, "Accounts unavailable", {"The account store cannot be used right now. Try again in a few seconds."}));
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
  }
};

OidcSignIn::OidcSignIn(OidcOptions options, SignInOptions sign_in, const CallerAuth& auth)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(sign_in), auth)) {}
OidcSignIn::~OidcSignIn() = default;

void OidcSignIn::add_routes(http::Server& server) {
  std::shared_ptr<Impl> im = impl_;
  server.route(http::Access::signed_in(), {"GET", "/login/oidc/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable_here();
                  auto decision = im->starts.take(http::client_address(req.peer), SteadyClock::now());
                  if (!decision.allowed) {
                    log_fields(*im->log, spdlog::level::warn, "oidc sign-in throttled", {{"peer", http::client_address(req.peer)}});
                    http::Response r = no_store(error_page(429, "Too many sign-in attempts", {"Wait a minute and try again."}));
                    r.headers.emplace_back("Retry-After", std::to_string(decision.retry_after.count()));
                    return r;
                  }
                  std::string next = http::parse_query(req.query)["next"];
                  return http::deferred([im, req, next] { return im->start(req, next); });
                }});
  server.route(http::Access::signed_in(), {"GET", "/login/oidc/callback", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  if (!im->store()) return im->unavailable_here();
                  return http::deferred([im, req, params = http::parse_query(req.query),
                                         flow = http::cookie_value(req, kOidcCookie).value_or("")] {
                    return im->callback(req, params, flow);
                  });
                }});
}

}  // namespace bw::web
