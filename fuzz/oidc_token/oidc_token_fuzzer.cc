// The OpenID Connect parsers (web/oidc.h) on hostile input: id_tokens (compact JWS), JWKS
// documents, discovery documents and base64url. Never crash or read out of bounds, and whatever
// is accepted keeps the promises: a JWS only with alg RS256 and a short kid, its signing input the
// token's first two parts; JWKS keys unique by kid, 2048-8192 bits, at most kMaxJwksKeys; a
// discovery document only for the expected issuer with https (or loopback) endpoints; base64url
// only in its canonical form.
// Input: first byte = mode (low two bits), the rest = the document. Mode 0: an id_token, then
// optionally '\n' and a JWKS to check its signature against, the claims checked for issuer
// "https://id.example.com", client "crash", nonce "n" at 2024-01-01T00:00:00Z. Mode 1: a JWKS.
// Mode 2: a discovery document for "https://id.example.com". Mode 3: base64url text.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "web/oidc.h"

namespace {

using namespace bw::web::oidc;

void fuzz_token(std::string_view input) {
  std::string_view token = input.substr(0, input.find('\n'));
  std::string_view jwks_text = token.size() < input.size() ? input.substr(token.size() + 1) : std::string_view();
  Jws jws;
  try {
    jws = parse_jws(token);
  } catch (const OidcError&) {
    return;
  }
  if (token.size() > kMaxIdToken) std::abort();
  // The signing input is the first two parts exactly, and the header says RS256.
  if (!token.starts_with(jws.signing_input) || token[jws.signing_input.size()] != '.') std::abort();
  size_t dot = jws.signing_input.find('.');
  if (dot == std::string::npos || jws.signing_input.find('.', dot + 1) != std::string::npos) std::abort();
  auto header = base64url_decode(jws.signing_input.substr(0, dot));
  if (!header) std::abort();
  auto parsed = nlohmann::json::parse(*header, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("alg") || parsed["alg"] != "RS256" || parsed.contains("crit")) std::abort();
  if (jws.kid && (jws.kid->empty() || jws.kid->size() > 256)) std::abort();
  if (!jws.claims.is_object() || jws.signature.empty()) std::abort();

  if (!jwks_text.empty()) {
    try {
      Jwks keys = parse_jwks(jwks_text);
      if (const RsaKey* key = keys.find(jws.kid)) verify_rs256(*key, jws.signing_input, jws.signature);
    } catch (const OidcError&) {
    }
  }
  ClaimChecks checks{"https://id.example.com", "crash", "n",
                     std::chrono::system_clock::time_point(std::chrono::seconds(1704067200))};
  try {
    check_claims(jws.claims, checks);
    if (jws.claims.at("iss") != "https://id.example.com") std::abort();
  } catch (const OidcError&) {
  }
  for (std::string_view claim : {"email", "preferred_username", "sub"}) {
    try {
      std::string user = user_from_claims(jws.claims, claim);
      if (user.empty() || user.size() > 64) std::abort();
    } catch (const OidcError&) {
    }
  }
}

void fuzz_jwks(std::string_view input) {
  Jwks keys;
  try {
    keys = parse_jwks(input);
  } catch (const OidcError&) {
    return;
  }
  if (keys.keys.size() > kMaxJwksKeys) std::abort();
  std::set<std::string> kids;
  for (const auto& k : keys.keys) {
    if (!k.key) std::abort();
    int bits = rsa_key_bits(*k.key);
    if (bits < 2048 || bits > 8192) std::abort();
    if (!k.kid.empty()) {
      if (!kids.insert(k.kid).second) std::abort();
      if (keys.find(k.kid) != k.key.get()) std::abort();
    }
    if (verify_rs256(*k.key, "data", "short")) std::abort();
  }
}

void fuzz_discovery(std::string_view input) {
  Discovery d;
  try {
    d = parse_discovery(input, "https://id.example.com");
  } catch (const OidcError&) {
    return;
  }
  if (d.issuer != "https://id.example.com") std::abort();
  for (const auto& url : {d.authorization_endpoint, d.token_endpoint, d.jwks_uri}) {
    if (!acceptable_url(url)) std::abort();
  }
}

void fuzz_base64url(std::string_view input) {
  if (auto decoded = base64url_decode(input)) {
    if (base64url_encode(*decoded) != input) std::abort();  // canonical only
  }
  if (base64url_decode(base64url_encode(input)) != std::string(input)) std::abort();
  acceptable_url(input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] & 3) {
    case 0:
      fuzz_token(input);
      break;
    case 1:
      fuzz_jwks(input);
      break;
    case 2:
      fuzz_discovery(input);
      break;
    default:
      fuzz_base64url(input);
      break;
  }
  return 0;
}
