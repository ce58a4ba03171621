// Signing in with OpenID Connect (docs/security.md "Signing in with OpenID Connect"): the
// authorization code flow with PKCE (S256) against the site's identity provider, ending in a
// Breakwater session exactly like a password sign-in (web/sign_in_pages.h start_session).
//
// Routes (only when oidc.issuer is set; both http::Access::signed_in):
//   GET /login/oidc/[?next=/path]  303 to the provider's authorization_endpoint with
//        response_type=code, client_id, redirect_uri, scope, state, nonce, code_challenge (base64url
//        SHA-256 of a fresh verifier) and code_challenge_method=S256; sets the cookie `bw_oidc`
//        (HttpOnly, SameSite=Lax so that it comes back with the provider's redirect, Path=/login/oidc/,
//        10 minutes) naming this flow. Each start is a sign-in attempt of the client's address
//        (web.signin_attempts_per_minute; 429 with Retry-After beyond). The provider cannot be
//        reached or its discovery document is wrong → 503 page (the reason logged).
//   GET /login/oidc/callback?code=...&state=...  the cookie's flow (used once: gone afterwards),
//        its state compared in constant time, the provider's `error` parameter, the code exchanged
//        at the token_endpoint with the verifier (client_secret_basic, or client_secret_post when
//        the provider offers only that), the id_token verified (verify_id_token), the user claim
//        mapped to an enabled local user (or a new user without permissions, when
//        oidc.allow_new_users), then a session (start_session) and 303 to `next`. Every refusal is
//        a 403 page naming the reason; the provider unreachable (or answering 5xx) is a 503 page.
//        The flow cookie is cleared either way.
//
// Where the flow's secrets live: state, nonce, PKCE verifier and `next` stay in this process's
// memory, keyed by the cookie's value (32 random bytes, hex), for 10 minutes, at most 10,000 flows
// (when full, expired flows and then the oldest are dropped). The cookie holds nothing but that
// key, so it cannot be edited into another flow, and a flow is taken out of the map by its first
// callback, so a callback cannot be replayed. The callback must reach the process that started the
// flow (one web process, or sticky sessions).
//
// id_token checks (verify_id_token; every failure names its reason, never the token):
// - JWS compact serialisation, at most 16 KiB, three base64url parts (strict: no padding, no
//   other characters, canonical), a JSON object header and payload.
// - "alg" exactly RS256: "none", HS* (a public key used as an HMAC secret) and everything else are
//   refused before any key is looked at; a "crit" header is refused.
// - The signature (RSASSA-PKCS1-v1_5 SHA-256, OpenSSL EVP) by the JWKS key with the header's
//   "kid" (no kid: the JWKS's only key). Keys: kty RSA, use sig (or none), alg RS256 (or none),
//   2048-8192 bits. An unknown kid fetches the JWKS again once (a rotated key); the JWKS is also
//   fetched again when it is more than an hour old.
// - iss equal to oidc.issuer; aud holding client_id (several audiences need azp == client_id; azp,
//   when present, must be client_id); exp in the future, iat not in the future, nbf (when present)
//   not in the future, each with 60 s of clock skew; nonce equal to the flow's (constant time);
//   sub present.
// - The user claim (oidc.user_claim: email, preferred_username or sub) a string that is a valid
//   local user name (1-64 of [A-Za-z0-9._@-]); for email, email_verified must not be false.
//
// Discovery: <issuer>/.well-known/openid-configuration (any trailing '/' of the issuer dropped),
// fetched on the first sign-in and kept for the process's life once it is valid: "issuer" equal to
// oidc.issuer exactly; authorization_endpoint, token_endpoint and jwks_uri https:// URLs (http://
// only on loopback: 127.0.0.1, localhost, [::1]); RS256 among the signing algorithms and "code"
// among the response types when the document lists them.
// Outgoing HTTP (libcurl): http and https only, no redirects followed, 10 s per request, answers
// bounded (discovery and JWKS 256 KiB, token 64 KiB); TLS certificates verified; a loopback URL
// never goes through a proxy.
//
// Ownership and threads: OidcSignIn borrows the CallerAuth (and its store), which must outlive
// the server's routes. Handlers run on the worker pool, concurrently; the client's caches and the
// flow map are locked. The parsing functions are pure (fuzz/oidc_token).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/server.h"
#include "web/caller_auth.h"
#include "web/sign_in_pages.h"

namespace bw {
class Config;
}

namespace bw::web {

inline constexpr std::string_view kOidcCookie = "bw_oidc";

struct OidcOptions {
  std::string issuer{};  // oidc.issuer; empty: off
  std::string client_id{};
  std::string client_secret{};  // oidc.client_secret or the content of oidc.client_secret_file
  std::string redirect_url{};   // https://crash.example.com/login/oidc/callback
  std::string scopes = "openid email profile";
  std::string user_claim = "email";  // email, preferred_username or sub
  bool allow_new_users = false;
  std::string label = "SSO";
  std::chrono::milliseconds http_timeout{10'000};  // each request to the provider

  bool enabled() const { return !issuer.empty(); }
  // The [oidc] section. Throws ConfigError naming the key: with an issuer, client_id, a secret
  // (client_secret or client_secret_file, not both; the file readable and not empty), a
  // redirect_url ending in /login/oidc/callback, scopes holding openid, a known user_claim, and
  // issuer and redirect_url https:// (http:// only on loopback).
  static OidcOptions from_config(const Config& config);
};

namespace oidc {

// A refusal (a forged, expired or misdirected token; a provider answer that cannot be used). The
// message is a sentence safe to show and log: it never holds a token or a secret.
class OidcError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The provider cannot be reached now (network, timeout, 5xx): try again later.
class OidcUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr size_t kMaxIdToken = 16 * 1024;
inline constexpr size_t kMaxDocument = 256 * 1024;  // discovery, JWKS
inline constexpr size_t kMaxTokenAnswer = 64 * 1024;
inline constexpr size_t kMaxJwksKeys = 50;

// base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);
// Strict: only [A-Za-z0-9_-], no '=', a length that is not 1 mod 4, unused bits zero; nullopt
// otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

// https://host..., or http:// to 127.0.0.1, localhost or [::1]; no whitespace, controls or
// fragment; at most 2048 bytes.
bool acceptable_url(std::string_view url);

struct Discovery {
  std::string issuer{}, authorization_endpoint{}, token_endpoint{}, jwks_uri{};
  bool secret_in_post = false;  // the provider takes client_secret_post only
};
// A discovery document's JSON. Throws OidcError naming what is wrong.
Discovery parse_discovery(std::string_view body, std::string_view expected_issuer);

// An RSA public key (OpenSSL EVP_PKEY).
class RsaKey;
int rsa_key_bits(const RsaKey& key);
// RSASSA-PKCS1-v1_5 with SHA-256 over `data`.
bool verify_rs256(const RsaKey& key, std::string_view data, std::string_view signature);

struct JwksKey {
  std::string kid{};  // empty: the key has none
  std::shared_ptr<const RsaKey> key{};
};
struct Jwks {
  std::vector<JwksKey> keys{};
  size_t skipped = 0;  // keys that are not RS256 signing keys (or malformed), or beyond kMaxJwksKeys
  // The key named `kid`; with no kid, the only key (nullptr when there are several or none).
  const RsaKey* find(const std::optional<std::string>& kid) const;
};
// A JWKS document's JSON ({"keys": [...]}). Throws OidcError when it is not one; keys that cannot
// be used are skipped (counted), duplicate kids after the first too.
Jwks parse_jwks(std::string_view body);

struct Jws {
  std::optional<std::string> kid{};
  std::string signing_input{};  // the first two parts as received: what the signature covers
  std::string signature{};      // decoded
  nlohmann::json claims{};      // the payload: a JSON object
};
// A compact JWS whose alg is RS256, its signature not yet checked. Throws OidcError.
Jws parse_jws(std::string_view token);

struct ClaimChecks {
  std::string issuer{}, client_id{}, nonce{};
  std::chrono::system_clock::time_point now{};
  std::chrono::seconds skew{60};
};
// Throws OidcError naming the first claim that fails (list in the header comment).
void check_claims(const nlohmann::json& claims, const ClaimChecks& checks);
// The local user name in `claim` (email, preferred_username, sub). Throws OidcError.
std::string user_from_claims(const nlohmann::json& claims, std::string_view claim);

// The provider's side: discovery, JWKS, the code exchange and id_token verification.
class OidcClient {
 public:
  explicit OidcClient(OidcOptions options);
  ~OidcClient();
  OidcClient(const OidcClient&) = delete;
  OidcClient& operator=(const OidcClient&) = delete;

  const OidcOptions& options() const { return options_; }
  // The discovery document (fetched once, then kept). Throws OidcUnavailable (cannot fetch) or
  // OidcError (not a valid document for oidc.issuer).
  Discovery discovery();
  // Where to send the browser.
  std::string authorization_url(const Discovery& discovery, std::string_view state, std::string_view nonce,
                                std::string_view code_challenge) const;
  // The id_token the token endpoint gives for `code`. OidcError when it refuses the code (its
  // error code named when it is a plain word), OidcUnavailable when it cannot be reached.
  std::string exchange_code(std::string_view code, std::string_view code_verifier);
  // The claims of a verified id_token (parse_jws, the JWKS key, check_claims).
  nlohmann::json verify_id_token(std::string_view id_token, std::string_view nonce,
                                 std::chrono::system_clock::time_point now);

 private:
  std::shared_ptr<const Jwks> jwks(bool refresh);

  struct State;
  OidcOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace oidc

class OidcSignIn {
 public:
  OidcSignIn(OidcOptions options, SignInOptions sign_in, const CallerAuth& auth);
  ~OidcSignIn();
  OidcSignIn(const OidcSignIn&) = delete;
  OidcSignIn& operator=(const OidcSignIn&) = delete;

  void add_routes(http::Server& server);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bw::web
