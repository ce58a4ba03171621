// Signing in with OpenID Connect (web/oidc.h) against a small identity provider the test runs on
// loopback with http::Server: discovery, /authorize (approves at once: 302 to the redirect_uri with
// a code and the state, keeping the PKCE challenge and the nonce), /token (checks the client's
// credentials, that the code is known and unused, the redirect_uri, and S256(code_verifier) ==
// the challenge; answers an id_token signed with an RSA key made here with OpenSSL) and /jwks.
// Every flow is followed by hand over real HTTP and ends in a session that sees protected fields;
// each way a sign-in must be refused is made at the provider. The parsing functions are tested on
// their own with hostile input, and the [oidc] configuration's checks.
#include "web/oidc.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <mutex>

#include "auth/secrets.h"
#include "tests/test_server_options.h"
#include "web/html.h"
#include "web/marked_site_test_support.h"

namespace bw::web {
namespace {

using namespace site_test;
using Clock = std::chrono::system_clock;
using oidc::OidcError;

constexpr std::string_view kClientId = "breakwater-test";
// Characters that RFC 6749 §2.3.1 has form-encoded before the Basic header's base64.
constexpr std::string_view kClientSecret = "idp secret/+=&1";
constexpr std::string_view kRedirect = "https://crash.example.com/login/oidc/callback";
constexpr std::string_view kSite = "https://crash.example.com";

// ----- crypto for the provider, written apart from the code under test -----

std::string b64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return "";
  out.resize(static_cast<size_t>(n));
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) out.pop_back();
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), md, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), size);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t size = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

class TestKey {
 public:
  TestKey(std::string kid, unsigned bits) : kid_(std::move(kid)), key_(EVP_RSA_gen(bits), EVP_PKEY_free) {
    if (!key_) throw std::runtime_error("RSA key generation failed");
  }
  const std::string& kid() const { return kid_; }

  json jwk() const {
    return {{"kty", "RSA"}, {"kid", kid_}, {"use", "sig"}, {"alg", "RS256"}, {"n", b64url(number(OSSL_PKEY_PARAM_RSA_N))},
            {"e", b64url(number(OSSL_PKEY_PARAM_RSA_E))}};
  }

  std::string sign(std::string_view data) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t size = 0;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get());
    EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string sig(size, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    sig.resize(size);
    return sig;
  }

  // The public key as PEM: the "secret" of the HS256 key-confusion attack.
  std::string public_pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key_.get());
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  }

 private:
  std::string number(const char* name) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), name, &bn);
    std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
  }

  std::string kid_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_;
};

// Made once per test binary (a 2048-bit key takes a moment).
const TestKey& key_a() {
  static const TestKey k("key-a", 2048);
  return k;
}
const TestKey& key_b() {
  static const TestKey k("key-b", 2048);
  return k;
}
const TestKey& key_c() {
  static const TestKey k("key-c", 2048);
  return k;
}

int64_t unix_now() { return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count(); }

// ----- the identity provider -----

class FakeIdp {
 public:
  enum class Signing { kRs256, kBadSignature, kSwappedPayload, kNone, kHs256WithPublicKey };

  // What the provider does; the tests change it between flows (with()).
  struct Knobs {
    std::string email = "reader@example.com";
    Signing signing = Signing::kRs256;
    const TestKey* signer = &key_a();
    std::vector<const TestKey*> published = {&key_a()};
    std::function<void(json& header, json& claims)> edit{};  // applied to each id_token before signing
    std::string authorize_error{};                          // non-empty: /authorize answers this error
    bool post_only = false;                                 // the client secret in the body only
    std::string discovery_issuer{};                         // non-empty: discovery names this issuer
  };
  struct Counts {
    int discovery = 0, jwks = 0, token = 0, token_refused = 0, basic = 0, post = 0;
  };

  FakeIdp() : server_(test_support::small_server_options()) {
    server_.route({"GET", "/.well-known/openid-configuration", 1024, [this](const http::Request&) -> http::Reply {
                     std::lock_guard lock(mutex_);
                     ++counts_.discovery;
                     json methods = knobs_.post_only ? json::array({"client_secret_post"})
                                                     : json::array({"client_secret_basic", "client_secret_post"});
                     json doc = {{"issuer", knobs_.discovery_issuer.empty() ? issuer_ : knobs_.discovery_issuer},
                                 {"authorization_endpoint", issuer_ + "/authorize"},
                                 {"token_endpoint", issuer_ + "/token"},
                                 {"jwks_uri", issuer_ + "/jwks"},
                                 {"response_types_supported", {"code"}},
                                 {"subject_types_supported", {"public"}},
                                 {"id_token_signing_alg_values_supported", {"RS256"}},
                                 {"code_challenge_methods_supported", {"S256"}},
                                 {"token_endpoint_auth_methods_supported", methods}};
                     return http::Response::json(200, doc.dump());
                   }});
    server_.route({"GET", "/jwks", 1024, [this](const http::Request&) -> http::Reply {
                     std::lock_guard lock(mutex_);
                     ++counts_.jwks;
                     json keys = json::array();
                     for (const TestKey* k : knobs_.published) keys.push_back(k->jwk());
                     return http::Response::json(200, json{{"keys", keys}}.dump());
                   }});
    server_.route({"GET", "/authorize", 1024, [this](const http::Request& req) -> http::Reply { return authorize(req); }});
    server_.route({"POST", "/token", 16 * 1024, [this](const http::Request& req) -> http::Reply {
                     const std::string* header = req.header("Authorization");
                     return http::collected([this, authorization = header ? *header : std::string()](std::string body) {
                       return token(authorization, http::parse_query(body));
                     });
                   }});
    server_.start();
    std::lock_guard lock(mutex_);
    issuer_ = "http://127.0.0.1:" + std::to_string(server_.port());
  }
  ~FakeIdp() { server_.stop(); }

  const std::string& issuer() const { return issuer_; }
  uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }

  void with(const std::function<void(Knobs&)>& change) {
    std::lock_guard lock(mutex_);
    change(knobs_);
  }
  Counts counts() {
    std::lock_guard lock(mutex_);
    return counts_;
  }
  std::map<std::string, std::string> last_authorize() {
    std::lock_guard lock(mutex_);
    return last_authorize_;
  }
  std::string last_id_token() {
    std::lock_guard lock(mutex_);
    return last_id_token_;
  }

 private:
  struct Grant {
    std::string redirect_uri, challenge, nonce;
    bool used = false;
  };

  http::Response authorize(const http::Request& req) {
    auto q = http::parse_query(req.query);
    std::lock_guard lock(mutex_);
    last_authorize_ = q;
    if (q["response_type"] != "code" || q["client_id"] != kClientId || q["redirect_uri"] != kRedirect ||
        q["code_challenge_method"] != "S256" || q["code_challenge"].size() != 43 || q["state"].empty() ||
        q["nonce"].empty() || !contains(" " + q["scope"] + " ", " openid ")) {
      return http::Response::text(400, "bad authorization request");
    }
    std::string location = std::string(kRedirect) + "?";
    if (!knobs_.authorize_error.empty()) {
      location += "error=" + knobs_.authorize_error + "&error_description=The+user+said+no&state=" +
                  html::encode_component(q["state"]);
    } else {
      std::string code = "code-" + random_hex(16);
      grants_[code] = {q["redirect_uri"], q["code_challenge"], q["nonce"]};
      location += "code=" + code + "&state=" + html::encode_component(q["state"]);
    }
    http::Response r;
    r.status = 302;
    r.headers.emplace_back("Location", location);
    return r;
  }

  http::Response token(const std::string& authorization, std::map<std::string, std::string> form) {
    std::lock_guard lock(mutex_);
    ++counts_.token;
    auto refuse = [this](int status, const char* error) {
      ++counts_.token_refused;
      return http::Response::json(status, json{{"error", error}}.dump());
    };
    std::string id, secret;
    if (authorization.starts_with("Basic ")) {
      if (knobs_.post_only) return refuse(401, "invalid_client");
      std::string pair = base64_decode(authorization.substr(6));
      size_t colon = pair.find(':');
      if (colon == std::string::npos) return refuse(401, "invalid_client");
      id = http::percent_decode(pair.substr(0, colon), true);
      secret = http::percent_decode(pair.substr(colon + 1), true);
      ++counts_.basic;
    } else {
      id = form["client_id"];
      secret = form["client_secret"];
      ++counts_.post;
    }
    if (id != kClientId || secret != kClientSecret) return refuse(401, "invalid_client");
    if (form["grant_type"] != "authorization_code") return refuse(400, "unsupported_grant_type");
    auto grant = grants_.find(form["code"]);
    if (grant == grants_.end() || grant->second.used) return refuse(400, "invalid_grant");
    grant->second.used = true;  // a code works once (RFC 6749 §4.1.2)
    if (form["redirect_uri"] != grant->second.redirect_uri) return refuse(400, "invalid_grant");
    if (b64url(sha256(form["code_verifier"])) != grant->second.challenge) return refuse(400, "invalid_grant");
    last_id_token_ = id_token(grant->second.nonce);
    return http::Response::json(200, json{{"access_token", "at-" + random_hex(8)},
                                          {"token_type", "Bearer"},
                                          {"expires_in", 300},
                                          {"id_token", last_id_token_}}
                                         .dump());
  }

  std::string id_token(const std::string& nonce) {
    int64_t now = unix_now();
    json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", knobs_.signer->kid()}};
    json claims = {{"iss", issuer_},       {"sub", "sub-" + knobs_.email},   {"aud", kClientId},
                   {"exp", now + 300},     {"iat", now},                     {"nonce", nonce},
                   {"email", knobs_.email}, {"email_verified", true},        {"preferred_username", "reader"}};
    if (knobs_.signing == Signing::kNone) header["alg"] = "none";
    if (knobs_.signing == Signing::kHs256WithPublicKey) header["alg"] = "HS256";
    if (knobs_.edit) knobs_.edit(header, claims);
    std::string input = b64url(header.dump()) + "." + b64url(claims.dump());
    std::string signature;
    switch (knobs_.signing) {
      case Signing::kRs256:
        signature = knobs_.signer->sign(input);
        break;
      case Signing::kBadSignature:
        signature = knobs_.signer->sign(input);
        signature[signature.size() / 2] = static_cast<char>(signature[signature.size() / 2] ^ 0x01);
        break;
      case Signing::kSwappedPayload: {
        signature = knobs_.signer->sign(input);
        json other = claims;
        other["email"] = "reader@example.com";
        other["sub"] = "sub-reader@example.com";
        other["preferred_username"] = "admin";
        input = b64url(header.dump()) + "." + b64url(other.dump());
        break;
      }
      case Signing::kNone:
        break;
      case Signing::kHs256WithPublicKey:
        signature = hmac_sha256(knobs_.signer->public_pem(), input);
        break;
    }
    return input + "." + b64url(signature);
  }

  std::mutex mutex_;
  Knobs knobs_;
  Counts counts_;
  std::map<std::string, Grant> grants_;
  std::map<std::string, std::string> last_authorize_;
  std::string last_id_token_;
  std::string issuer_;
  http::Server server_;
};

// ----- the site with OpenID Connect configured -----

class OidcTest : public MarkedSiteTest {
 protected:
  void SetUp() override {
    idp_ = std::make_unique<FakeIdp>();
    MarkedSiteTest::SetUp();
    if (HasFatalFailure()) return;
    auto& store = *accounts_.owned;
    store.add_user("reader@example.com", "reader password", {"view_pii", "view_rawdump"});
    store.add_user("plain@example.com", "plain password", {});
    store.add_user("off@example.com", "off password", {"view_pii"});
    store.set_disabled("off@example.com", true);
    keep_secret(std::string(kClientSecret));
  }

  void TearDown() override {
    MarkedSiteTest::TearDown();
    idp_.reset();
  }

  virtual bool allow_new_users() const { return false; }
  virtual std::string attempts_per_minute() const { return "1000"; }

  std::vector<std::pair<std::string, std::string>> extra_config() override {
    return {{"oidc.issuer", idp_->issuer()},
            {"oidc.client_id", std::string(kClientId)},
            {"oidc.client_secret", std::string(kClientSecret)},
            {"oidc.redirect_url", std::string(kRedirect)},
            {"oidc.label", "Example ID"},
            {"oidc.allow_new_users", allow_new_users() ? "true" : "false"},
            {"web.signin_attempts_per_minute", attempts_per_minute()}};
  }

  // Checked by MarkedSiteTest::TearDown never to reach the log.
  void keep_secret(const std::string& secret) {
    if (!secret.empty()) secrets_.push_back(secret);
  }

  http::ClientResponse idp_get(const std::string& target) {
    http::Connection c("127.0.0.1", idp_->port());
    EXPECT_TRUE(c.send(http::make_request("GET", target, {}, "")));
    return c.read_response(30s);
  }

  struct Begun {
    http::ClientResponse answer;
    std::string cookie;     // bw_oidc
    std::string authorize;  // the provider's /authorize?... (path and query)
  };

  // GET /login/oidc/: the 303 to the provider and the flow's cookie.
  Begun begin(const std::string& next = "/profile/") {
    Begun b;
    b.answer = get("/login/oidc/?next=" + html::encode_component(next));
    EXPECT_EQ(b.answer.status, 303) << b.answer.body.substr(0, 500);
    b.cookie = set_cookie(b.answer, kOidcCookie).first;
    keep_secret(b.cookie);
    std::string location = b.answer.header("Location");
    EXPECT_TRUE(location.starts_with(idp_->issuer() + "/authorize?")) << location;
    if (location.starts_with(idp_->issuer())) b.authorize = location.substr(idp_->issuer().size());
    return b;
  }

  // The provider approves: the callback's path and query at this site.
  std::string approve(const Begun& b) {
    auto r = idp_get(b.authorize);
    EXPECT_EQ(r.status, 302) << r.body;
    auto sent = idp_->last_authorize();
    keep_secret(sent["state"]);
    keep_secret(sent["nonce"]);
    keep_secret(sent["code_challenge"]);
    std::string location = r.header("Location");
    EXPECT_TRUE(location.starts_with(std::string(kRedirect) + "?")) << location;
    auto query = http::parse_query(location.substr(std::min(location.find('?'), location.size()) + 1));
    keep_secret(query["code"]);
    return location.starts_with(kSite) ? location.substr(kSite.size()) : "/login/oidc/callback";
  }

  http::ClientResponse come_back(const std::string& target, const std::string& cookie) {
    Headers headers;
    if (!cookie.empty()) headers.emplace_back("Cookie", std::string(kOidcCookie) + "=" + cookie);
    auto r = get(target, headers);
    keep_secret(idp_->last_id_token());
    return r;
  }

  http::ClientResponse sign_in(const std::string& next = "/profile/") {
    Begun b = begin(next);
    return come_back(approve(b), b.cookie);
  }

  // A signed-in answer: 303 to `next` with a session cookie that works; the session's value.
  std::string expect_session(const http::ClientResponse& r, const std::string& next = "/profile/") {
    EXPECT_EQ(r.status, 303) << r.body.substr(0, 800);
    EXPECT_EQ(r.header("Location"), next);
    std::string session = set_cookie(r, kSessionCookie).first;
    EXPECT_TRUE(auth::is_well_formed_secret(session, auth::kSessionPrefix)) << everything(r).substr(0, 800);
    keep_secret(session);
    return session;
  }

  // A refused sign-in: a 403 page naming `reason`, no session, the flow cookie cleared, nothing
  // secret in the answer.
  void expect_refused(const http::ClientResponse& r, std::string_view reason) {
    EXPECT_EQ(r.status, 403) << r.body.substr(0, 800);
    EXPECT_TRUE(contains(r.body, html::escape(reason))) << "wanted \"" << reason << "\" in:\n" << r.body;
    EXPECT_TRUE(contains(r.body, "Sign-in with Example ID failed"));
    EXPECT_EQ(set_cookie(r, kSessionCookie).first, "");
    EXPECT_TRUE(contains(set_cookie(r, kOidcCookie).second, "Max-Age=0")) << everything(r).substr(0, 800);
    EXPECT_EQ(r.header("Cache-Control"), "private, no-store");
    for (const auto& secret : secrets_) EXPECT_FALSE(contains(everything(r), secret)) << "a secret is echoed";
    std::string token = idp_->last_id_token();
    if (!token.empty()) {
      EXPECT_FALSE(contains(everything(r), token.substr(0, 40)));
    }
  }

  Headers with_session(const std::string& session) { return {{"Cookie", std::string(kSessionCookie) + "=" + session}}; }

  std::unique_ptr<FakeIdp> idp_;
};

TEST_F(OidcTest, TheFormOffersTheProviderAndAFullSignInEndsInASessionThatSeesProtectedFields) {
  auto form = get("/login/?next=/search/");
  ASSERT_EQ(form.status, 200);
  EXPECT_TRUE(contains(form.body, "Sign in with Example ID")) << form.body;
  EXPECT_TRUE(contains(form.body, "href=\"/login/oidc/?next=%2Fsearch%2F\"")) << form.body;
  EXPECT_TRUE(contains(form.body, "name=\"password\"")) << "passwords still work beside it";

  std::string report = "/report/index/" + id_;
  Begun b = begin(report);
  EXPECT_EQ(b.answer.header("Cache-Control"), "private, no-store");
  std::string flow_cookie = set_cookie(b.answer, kOidcCookie).second;
  EXPECT_EQ(b.cookie.size(), 64u) << flow_cookie;
  for (std::string_view flag : {"HttpOnly", "SameSite=Lax", "Path=/login/oidc/", "Max-Age=600"}) {
    EXPECT_TRUE(contains(flow_cookie, flag)) << flow_cookie;
  }
  std::string callback = approve(b);
  // What the site asked the provider for.
  auto sent = idp_->last_authorize();
  EXPECT_EQ(sent["response_type"], "code");
  EXPECT_EQ(sent["client_id"], kClientId);
  EXPECT_EQ(sent["redirect_uri"], kRedirect);
  EXPECT_EQ(sent["scope"], "openid email profile");
  EXPECT_EQ(sent["code_challenge_method"], "S256");
  EXPECT_EQ(sent["state"].size(), 64u);
  EXPECT_EQ(sent["nonce"].size(), 64u);
  EXPECT_NE(sent["state"], sent["nonce"]);
  EXPECT_FALSE(contains(flow_cookie, sent["state"])) << "the cookie names the flow; it holds none of its secrets";
  EXPECT_FALSE(contains(b.answer.header("Location"), b.cookie));

  auto r = come_back(callback, b.cookie);
  std::string session = expect_session(r, report);
  std::string header = set_cookie(r, kSessionCookie).second;
  for (std::string_view flag : {"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"}) {
    EXPECT_TRUE(contains(header, flag)) << header;
  }
  EXPECT_TRUE(contains(set_cookie(r, kOidcCookie).second, "Max-Age=0")) << "the flow cookie is cleared";
  // The provider checked the client's secret (Basic, form-encoded) and the PKCE verifier.
  auto counts = idp_->counts();
  EXPECT_EQ(counts.token, 1);
  EXPECT_EQ(counts.token_refused, 0);
  EXPECT_EQ(counts.basic, 1);
  EXPECT_EQ(counts.discovery, 1);
  EXPECT_EQ(counts.jwks, 1);

  // The session is a session like any other: the protected fields of the report, the profile.
  auto page = get(report, with_session(session));
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(contains(page.body, marker("email")));
  EXPECT_TRUE(contains(page.body, "format=raw&amp;name=upload_file_minidump"));
  auto profile = get("/profile/", with_session(session));
  EXPECT_EQ(profile.status, 200);
  EXPECT_TRUE(contains(profile.body, "reader@example.com"));
  EXPECT_TRUE(contains(sink_->text(), "signed in user=reader@example.com method=oidc")) << sink_->text();

  // A second sign-in: fresh state, nonce and verifier; discovery and keys kept.
  auto second = sign_in();
  expect_session(second);
  auto again = idp_->last_authorize();
  EXPECT_NE(again["state"], sent["state"]);
  EXPECT_NE(again["nonce"], sent["nonce"]);
  EXPECT_NE(again["code_challenge"], sent["code_challenge"]);
  EXPECT_EQ(idp_->counts().discovery, 1);
  EXPECT_EQ(idp_->counts().jwks, 1);
  // A next that leaves the site is not followed.
  expect_session(sign_in("//evil.example/"), "/profile/");
}

TEST_F(OidcTest, AForgedStateIsRefusedBeforeTheCodeIsUsedAndEndsTheFlow) {
  Begun b = begin();
  std::string callback = approve(b);
  auto sent = idp_->last_authorize();
  std::string forged = callback;
  forged.replace(forged.find(sent["state"]), sent["state"].size(), std::string(64, 'a'));
  expect_refused(come_back(forged, b.cookie), "does not belong to this sign-in (state)");
  EXPECT_EQ(idp_->counts().token, 0) << "the code is never sent after a wrong state";
  // The flow is over: even the right answer now finds none.
  expect_refused(come_back(callback, b.cookie), "no sign-in in progress");
  // Without a state at all.
  Begun b2 = begin();
  std::string callback2 = approve(b2);
  expect_refused(come_back(callback2.substr(0, callback2.find("&state=")), b2.cookie), "(state)");
  EXPECT_EQ(idp_->counts().token, 0);
}

TEST_F(OidcTest, ACallbackWorksOnceAndAUsedCodeIsRefusedByTheProvider) {
  Begun b = begin();
  std::string callback = approve(b);
  expect_session(come_back(callback, b.cookie));
  // The same answer again (a replay, or the back button).
  expect_refused(come_back(callback, b.cookie), "no sign-in in progress");
  // The used code inside a new flow (its own state and cookie): the provider refuses it.
  Begun b2 = begin();
  std::string fresh = approve(b2);
  auto sent = idp_->last_authorize();
  auto old_code = http::parse_query(callback.substr(callback.find('?') + 1))["code"];
  std::string replay = "/login/oidc/callback?code=" + old_code + "&state=" + sent["state"];
  expect_refused(come_back(replay, b2.cookie), "the identity provider refused the code (invalid_grant)");
  EXPECT_EQ(idp_->counts().token_refused, 1);
  EXPECT_FALSE(contains(fresh, old_code));
}

TEST_F(OidcTest, ACallbackNeedsTheCookieOfItsOwnBrowser) {
  Begun b = begin();
  std::string callback = approve(b);
  // Another browser (no cookie, or another flow's) cannot finish this flow, and does not end it.
  expect_refused(come_back(callback, ""), "no sign-in in progress");
  expect_refused(come_back(callback, random_hex(32)), "no sign-in in progress");
  expect_refused(come_back(callback, std::string(3000, 'x')), "no sign-in in progress");
  Begun other = begin();
  expect_refused(come_back(callback, other.cookie), "(state)");
  EXPECT_EQ(idp_->counts().token, 0);
  // The browser that began it still can.
  expect_session(come_back(callback, b.cookie));
}

TEST_F(OidcTest, ABadSignatureIsRefused) {
  idp_->with([](FakeIdp::Knobs& k) { k.signing = FakeIdp::Signing::kBadSignature; });
  expect_refused(sign_in(), "the id_token's signature is not valid");
  // Another key's signature under a published kid.
  idp_->with([](FakeIdp::Knobs& k) {
    k.signing = FakeIdp::Signing::kRs256;
    k.signer = &key_c();
    k.edit = [](json& header, json&) { header["kid"] = "key-a"; };
  });
  expect_refused(sign_in(), "signature is not valid");
  // Another user's claims under a valid signature of the real ones.
  idp_->with([](FakeIdp::Knobs& k) {
    k.signer = &key_a();
    k.edit = nullptr;
    k.email = "plain@example.com";
    k.signing = FakeIdp::Signing::kSwappedPayload;  // plain's token, reader's claims
  });
  expect_refused(sign_in(), "signature is not valid");
  EXPECT_EQ(idp_->counts().token, 3);
  // Signed right: in.
  idp_->with([](FakeIdp::Knobs& k) { k.signing = FakeIdp::Signing::kRs256; });
  expect_session(sign_in());
}

TEST_F(OidcTest, AlgNoneAndHs256WithThePublicKeyAsSecretAreRefused) {
  idp_->with([](FakeIdp::Knobs& k) { k.signing = FakeIdp::Signing::kNone; });
  expect_refused(sign_in(), "is not signed (alg none)");
  idp_->with([](FakeIdp::Knobs& k) { k.signing = FakeIdp::Signing::kHs256WithPublicKey; });
  expect_refused(sign_in(), "signed with a shared secret (HS256)");
  idp_->with([](FakeIdp::Knobs& k) {
    k.signing = FakeIdp::Signing::kRs256;
    k.edit = [](json& header, json&) { header["alg"] = "RS512"; };
  });
  expect_refused(sign_in(), "algorithm (RS512) is not RS256");
  idp_->with([](FakeIdp::Knobs& k) { k.edit = [](json& header, json&) { header["crit"] = {"exp"}; }; });
  expect_refused(sign_in(), "critical extensions");
  EXPECT_EQ(idp_->counts().token, 4);
}

TEST_F(OidcTest, EveryClaimThatIsWrongIsRefusedNamingIt) {
  int64_t now = unix_now();
  struct Bad {
    std::string reason;
    std::function<void(json&)> edit;
  };
  std::vector<Bad> cases = {
      {"another issuer than oidc.issuer (iss)", [](json& c) { c["iss"] = "https://evil.example"; }},
      {"another issuer than oidc.issuer (iss)", [this](json& c) { c["iss"] = idp_->issuer() + "/"; }},
      {"another issuer than oidc.issuer (iss)", [](json& c) { c.erase("iss"); }},
      {"meant for another client than oidc.client_id (aud)", [](json& c) { c["aud"] = "someone-else"; }},
      {"meant for another client than oidc.client_id (aud)", [](json& c) { c["aud"] = {"someone-else", "other"}; }},
      {"has no audience (aud)", [](json& c) { c.erase("aud"); }},
      {"several audiences and no authorized party (azp)", [](json& c) { c["aud"] = {kClientId, "other"}; }},
      {"issued to another client than oidc.client_id (azp)", [](json& c) { c["azp"] = "other"; }},
      {"has expired (exp)", [now](json& c) { c["exp"] = now - 3600; }},
      {"has expired (exp)", [now](json& c) { c["exp"] = now - 90; }},
      {"has no expiry (exp)", [](json& c) { c.erase("exp"); }},
      {"exp is not a number", [now](json& c) { c["exp"] = std::to_string(now + 300); }},
      {"issued in the future (iat)", [now](json& c) { c["iat"] = now + 3600; }},
      {"has no issue time (iat)", [](json& c) { c.erase("iat"); }},
      {"not valid yet (nbf)", [now](json& c) { c["nbf"] = now + 3600; }},
      {"nonce is not this sign-in", [](json& c) { c["nonce"] = std::string(64, '0'); }},
      {"nonce is not this sign-in", [](json& c) { c.erase("nonce"); }},
      {"has no subject (sub)", [](json& c) { c.erase("sub"); }},
      {"has not verified this e-mail address", [](json& c) { c["email_verified"] = false; }},
      {"has no email claim", [](json& c) { c.erase("email"); }},
  };
  for (const auto& bad : cases) {
    idp_->with([&](FakeIdp::Knobs& k) { k.edit = [edit = bad.edit](json&, json& claims) { edit(claims); }; });
    SCOPED_TRACE(bad.reason);
    expect_refused(sign_in(), bad.reason);
  }
  // Inside the clock skew, and with several audiences and the right azp: accepted.
  idp_->with([now](FakeIdp::Knobs& k) {
    k.edit = [now](json&, json& c) {
      c["exp"] = now - 20;
      c["nbf"] = now + 20;
      c["aud"] = {"other", kClientId};
      c["azp"] = kClientId;
    };
  });
  expect_session(sign_in());
  EXPECT_TRUE(contains(sink_->text(), "oidc sign-in refused reason=the id_token has expired (exp)")) << sink_->text();
}

TEST_F(OidcTest, AnUnknownKidFetchesTheKeysAgainOnceForARotatedKey) {
  expect_session(sign_in());
  EXPECT_EQ(idp_->counts().jwks, 1);
  // The provider rotates to key B: the site has not seen it, fetches the keys again, and signs in.
  idp_->with([](FakeIdp::Knobs& k) {
    k.signer = &key_b();
    k.published = {&key_a(), &key_b()};
  });
  expect_session(sign_in());
  EXPECT_EQ(idp_->counts().jwks, 2);
  expect_session(sign_in());
  EXPECT_EQ(idp_->counts().jwks, 2) << "known now: no fetch";
  // A kid the provider does not list: fetched once more, then refused.
  idp_->with([](FakeIdp::Knobs& k) { k.signer = &key_c(); });
  expect_refused(sign_in(), "signed with a key the provider does not list (kid)");
  EXPECT_EQ(idp_->counts().jwks, 3);
  // No kid with several keys listed: no key to pick.
  idp_->with([](FakeIdp::Knobs& k) {
    k.signer = &key_b();
    k.edit = [](json& header, json&) { header.erase("kid"); };
  });
  expect_refused(sign_in(), "names no key (kid) and the provider lists several");
  // Key A withdrawn: tokens signed by it stop working once the keys are fetched again.
  idp_->with([](FakeIdp::Knobs& k) {
    k.edit = nullptr;
    k.published = {&key_b()};
    k.signer = &key_c();
  });
  expect_refused(sign_in(), "does not list (kid)");  // fetches the list without A
  idp_->with([](FakeIdp::Knobs& k) { k.signer = &key_a(); });
  expect_refused(sign_in(), "does not list (kid)");
}

TEST_F(OidcTest, UnknownAndDisabledLocalUsersAreRefused) {
  idp_->with([](FakeIdp::Knobs& k) { k.email = "stranger@example.com"; });
  expect_refused(sign_in(), "there is no account named stranger@example.com on this site");
  EXPECT_FALSE(accounts_.owned->find_user("stranger@example.com")) << "allow_new_users is off";
  idp_->with([](FakeIdp::Knobs& k) { k.email = "off@example.com"; });
  expect_refused(sign_in(), "the account off@example.com is disabled on this site");
  idp_->with([](FakeIdp::Knobs& k) { k.email = "Robert'); DROP TABLE auth_users;--"; });
  expect_refused(sign_in(), "is not a user name this site can have");
  // A user without permissions signs in and sees public data only.
  idp_->with([](FakeIdp::Knobs& k) { k.email = "plain@example.com"; });
  std::string session = expect_session(sign_in());
  auto page = get("/report/index/" + id_, with_session(session));
  EXPECT_EQ(page.status, 200);
  EXPECT_FALSE(contains(everything(page), marker_));
}

TEST_F(OidcTest, TheProvidersErrorIsShownAndNothingElseHappens) {
  idp_->with([](FakeIdp::Knobs& k) { k.authorize_error = "access_denied"; });
  Begun b = begin();
  std::string callback = approve(b);
  EXPECT_TRUE(contains(callback, "error=access_denied"));
  auto r = come_back(callback, b.cookie);
  expect_refused(r, "the identity provider did not sign you in (access_denied)");
  EXPECT_FALSE(contains(r.body, "The user said no")) << "error_description is not echoed";
  EXPECT_EQ(idp_->counts().token, 0);
  // A value that is not a plain word is not shown.
  Begun b2 = begin();
  approve(b2);
  auto state = idp_->last_authorize()["state"];
  auto odd = come_back("/login/oidc/callback?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=" + state, b2.cookie);
  expect_refused(odd, "did not sign you in (unknown)");
  EXPECT_FALSE(contains(odd.body, "<script>alert"));
  // A callback without a code.
  Begun b3 = begin();
  approve(b3);
  state = idp_->last_authorize()["state"];
  expect_refused(come_back("/login/oidc/callback?state=" + state, b3.cookie), "has no code");
  Begun b4 = begin();
  approve(b4);
  state = idp_->last_authorize()["state"];
  expect_refused(come_back("/login/oidc/callback?code=" + std::string(5000, 'c') + "&state=" + state, b4.cookie),
                 "has no code");
}

TEST_F(OidcTest, TheSecretGoesInTheBodyWhenTheProviderTakesOnlyThat) {
  idp_->with([](FakeIdp::Knobs& k) { k.post_only = true; });
  expect_session(sign_in());
  EXPECT_EQ(idp_->counts().post, 1);
  EXPECT_EQ(idp_->counts().basic, 0);
}

TEST_F(OidcTest, AProviderThatCannotBeUsedMakesSignInUnavailableNotBroken) {
  // Discovery naming another issuer: refused, and not kept (fetched again next time).
  idp_->with([](FakeIdp::Knobs& k) { k.discovery_issuer = "https://evil.example"; });
  auto r = get("/login/oidc/");
  EXPECT_EQ(r.status, 503) << r.body.substr(0, 500);
  EXPECT_TRUE(contains(r.body, "names another issuer than oidc.issuer")) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "60");
  EXPECT_EQ(set_cookie(r, kOidcCookie).first, "");
  idp_->with([](FakeIdp::Knobs& k) { k.discovery_issuer.clear(); });
  Begun b = begin();
  std::string callback = approve(b);
  EXPECT_EQ(idp_->counts().discovery, 2);
  // The provider goes away between the start and the callback: 503, no session.
  idp_->stop();
  auto down = come_back(callback, b.cookie);
  EXPECT_EQ(down.status, 503) << down.body.substr(0, 500);
  EXPECT_TRUE(contains(down.body, "cannot reach the identity provider")) << down.body;
  EXPECT_EQ(set_cookie(down, kSessionCookie).first, "");
  // The password form still works.
  EXPECT_EQ(get("/login/").status, 200);
}

// With oidc.allow_new_users: a person the provider vouches for gets an account without permissions.
class OidcNewUsersTest : public OidcTest {
 protected:
  bool allow_new_users() const override { return true; }
};

TEST_F(OidcNewUsersTest, ANewUserIsCreatedWithoutPermissions) {
  idp_->with([](FakeIdp::Knobs& k) { k.email = "newcomer@example.com"; });
  std::string session = expect_session(sign_in());
  auto user = accounts_.owned->find_user("newcomer@example.com");
  ASSERT_TRUE(user);
  EXPECT_TRUE(user->permissions.empty());
  EXPECT_FALSE(user->disabled);
  EXPECT_FALSE(contains(everything(get("/report/index/" + id_, with_session(session))), marker_));
  EXPECT_TRUE(contains(get("/profile/", with_session(session)).body, "None: you see public data only"));
  EXPECT_TRUE(contains(sink_->text(), "oidc user created user=newcomer@example.com"));
  // The second time it is the same account; a disabled one is still refused.
  expect_session(sign_in());
  EXPECT_EQ(accounts_.owned->list_users().size(), 4u);
  accounts_.owned->set_disabled("newcomer@example.com", true);
  expect_refused(sign_in(), "is disabled on this site");
  idp_->with([](FakeIdp::Knobs& k) { k.email = "two words@example.com"; });
  expect_refused(sign_in(), "is not a user name this site can have");
  EXPECT_EQ(accounts_.owned->list_users().size(), 4u);
}

// Starting sign-ins counts against the address's sign-in attempts.
class OidcThrottleTest : public OidcTest {
 protected:
  std::string attempts_per_minute() const override { return "3"; }
};

TEST_F(OidcThrottleTest, StartsBeyondTheSignInLimitAreThrottled) {
  for (int i = 0; i < 3; ++i) begin();
  auto r = get("/login/oidc/");
  EXPECT_EQ(r.status, 429);
  EXPECT_GE(std::stoi(r.header("Retry-After")), 1);
  EXPECT_EQ(set_cookie(r, kOidcCookie).first, "");
}

// ----- the parsers on their own -----

std::string jws(const json& header, const json& claims, std::string_view signature = "sig") {
  return b64url(header.dump()) + "." + b64url(claims.dump()) + "." + b64url(signature);
}

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const OidcError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(OidcParsing, Base64urlIsStrict) {
  EXPECT_EQ(oidc::base64url_encode(""), "");
  EXPECT_EQ(oidc::base64url_encode("f"), "Zg");
  EXPECT_EQ(oidc::base64url_encode("fo"), "Zm8");
  EXPECT_EQ(oidc::base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(oidc::base64url_encode("\xfb\xff"), "-_8");
  for (int n = 0; n < 70; ++n) {
    std::string bytes = random_hex(static_cast<size_t>(n)) + std::string("\xff\x00\xfe", 3);
    EXPECT_EQ(oidc::base64url_encode(bytes), b64url(bytes));
    EXPECT_EQ(oidc::base64url_decode(b64url(bytes)), bytes);
  }
  for (std::string_view bad : {"Zg=", "Zg==", "Z", "Zm9v!", "+/8", "Zh", "Zm9=", "Zm 9v", "Zm9vZ"}) {
    EXPECT_FALSE(oidc::base64url_decode(bad)) << bad;
  }
}

TEST(OidcParsing, OnlyWellFormedRs256TokensGetThrough) {
  json h = {{"alg", "RS256"}, {"kid", "k1"}};
  json c = {{"sub", "x"}};
  auto parsed = oidc::parse_jws(jws(h, c));
  EXPECT_EQ(parsed.kid, "k1");
  EXPECT_EQ(parsed.signature, "sig");
  EXPECT_EQ(parsed.claims, c);
  EXPECT_EQ(parsed.signing_input, b64url(h.dump()) + "." + b64url(c.dump()));
  EXPECT_FALSE(oidc::parse_jws(jws({{"alg", "RS256"}}, c)).kid);

  std::string good = jws(h, c);
  std::vector<std::pair<std::string, std::string>> bad = {
      {"", "three parts"},
      {"..", "header is not a JSON object"},
      {"e30!.e30.c2ln", "header is not base64url"},
      {good + ".x", "three parts"},
      {good.substr(0, good.rfind('.')), "three parts"},
      {good.substr(0, good.rfind('.') + 1), "no valid signature"},
      {"e30." + b64url(c.dump()) + ".c2ln", "names no algorithm"},
      {b64url("[1]") + "." + b64url(c.dump()) + ".c2ln", "header is not a JSON object"},
      {b64url("{\"alg\":") + "." + b64url(c.dump()) + ".c2ln", "header is not a JSON object"},
      {jws({{"alg", "none"}}, c, ""), "not signed (alg none)"},
      {jws({{"alg", "NONE"}}, c), "not signed (alg none)"},
      {jws({{"alg", "HS256"}}, c), "shared secret (HS256)"},
      {jws({{"alg", "HS512"}}, c), "shared secret (HS512)"},
      {jws({{"alg", "RS384"}}, c), "algorithm (RS384) is not RS256"},
      {jws({{"alg", "ES256"}}, c), "algorithm (ES256) is not RS256"},
      {jws({{"alg", "<b>x</b>"}}, c), "algorithm (unknown) is not RS256"},
      {jws({{"alg", 256}}, c), "names no algorithm"},
      {jws({{"alg", "RS256"}, {"crit", {"b64"}}}, c), "critical extensions"},
      {jws({{"alg", "RS256"}, {"kid", 7}}, c), "key id (kid)"},
      {jws({{"alg", "RS256"}, {"kid", ""}}, c), "key id (kid)"},
      {jws({{"alg", "RS256"}, {"kid", std::string(300, 'k')}}, c), "key id (kid)"},
      {jws(h, json::array()), "payload is not a JSON object"},
      {b64url(h.dump()) + "." + "e30=" + ".c2ln", "payload is not base64url"},
      {b64url(h.dump()) + ".e30.c2ln=", "no valid signature"},
      {jws(h, {{"pad", std::string(17000, 'p')}}), "longer than 16 KiB"},
      // Deep nesting within the size limit: parsed (iteratively) and refused for what it is.
      {jws(h, json::parse(std::string(1000, '[') + std::string(1000, ']'))), "payload is not a JSON object"},
  };
  for (const auto& c_case : bad) {  // (no structured binding: clang 14 cannot capture one)
    const std::string& token = c_case.first;
    std::string got = refusal([&] { oidc::parse_jws(token); });
    EXPECT_TRUE(contains(got, c_case.second)) << token.substr(0, 80) << " → " << got;
  }
}

TEST(OidcParsing, KeysThatAreNotRs256SigningKeysAreSkipped) {
  json a = key_a().jwk();
  json b = key_b().jwk();
  TestKey small("small", 1024);
  auto with = [](json k, const char* field, json value) {
    if (value.is_null()) {
      k.erase(field);
    } else {
      k[field] = value;
    }
    return k;
  };
  json doc = {{"keys",
               {a, with(b, "kid", "key-a") /* a duplicate kid */, small.jwk(), with(b, "use", "enc"), with(b, "alg", "RS512"),
                with(b, "kty", "EC"), with(b, "n", "not base64!"), with(b, "e", "AQ=="), with(b, "kid", 5),
                with(b, "key_ops", {"sign"}), json("a string"), with(b, "e", b64url(std::string("\x01", 1)))}}};
  auto jwks = oidc::parse_jwks(doc.dump());
  ASSERT_EQ(jwks.keys.size(), 1u);
  EXPECT_EQ(jwks.keys[0].kid, "key-a");
  EXPECT_EQ(oidc::rsa_key_bits(*jwks.keys[0].key), 2048);
  EXPECT_EQ(jwks.skipped, 11u);
  EXPECT_NE(jwks.find("key-a"), nullptr);
  EXPECT_EQ(jwks.find(std::nullopt), jwks.keys[0].key.get()) << "no kid: the only key";
  EXPECT_EQ(jwks.find("key-b"), nullptr);

  // A key without a kid, a leading zero byte in n, key_ops with verify: used.
  json plain = with(with(b, "kid", nullptr), "key_ops", {"verify"});
  plain["n"] = b64url(std::string(1, '\0') + *oidc::base64url_decode(plain["n"].get<std::string>()));
  auto two = oidc::parse_jwks(json{{"keys", {a, plain}}}.dump());
  ASSERT_EQ(two.keys.size(), 2u);
  EXPECT_EQ(two.find(std::nullopt), nullptr) << "no kid and two keys: none";
  // The signature check itself.
  std::string data = "header.payload";
  EXPECT_TRUE(oidc::verify_rs256(*two.keys[1].key, data, key_b().sign(data)));
  EXPECT_FALSE(oidc::verify_rs256(*two.keys[1].key, data, key_a().sign(data)));
  EXPECT_FALSE(oidc::verify_rs256(*two.keys[1].key, data + "x", key_b().sign(data)));
  EXPECT_FALSE(oidc::verify_rs256(*two.keys[1].key, data, key_b().sign(data).substr(1)));
  EXPECT_FALSE(oidc::verify_rs256(*two.keys[1].key, data, ""));

  for (const auto& c_case : std::vector<std::pair<std::string, std::string>>{
           {"", "not a JSON object"}, {"[]", "not a JSON object"}, {"{}", "no list of keys"},
           {"{\"keys\": {}}", "no list of keys"}, {std::string(300 * 1024, ' '), "larger than 256 KiB"}}) {
    const std::string& body = c_case.first;
    EXPECT_TRUE(contains(refusal([&] { oidc::parse_jwks(body); }), c_case.second)) << body.substr(0, 30);
  }
  // More keys than are looked at.
  json many = json::array();
  for (size_t i = 0; i < oidc::kMaxJwksKeys + 5; ++i) many.push_back(with(a, "kid", "k" + std::to_string(i)));
  auto capped = oidc::parse_jwks(json{{"keys", many}}.dump());
  EXPECT_EQ(capped.keys.size(), oidc::kMaxJwksKeys);
  EXPECT_EQ(capped.skipped, 5u);
}

TEST(OidcParsing, DiscoveryMustNameTheIssuerAndUsableEndpoints) {
  const std::string issuer = "https://id.example.com/realms/x";
  json good = {{"issuer", issuer},
               {"authorization_endpoint", issuer + "/auth"},
               {"token_endpoint", issuer + "/token"},
               {"jwks_uri", issuer + "/certs"}};
  auto d = oidc::parse_discovery(good.dump(), issuer);
  EXPECT_EQ(d.token_endpoint, issuer + "/token");
  EXPECT_FALSE(d.secret_in_post);
  auto changed = [&](const char* key, json value) {
    json doc = good;
    if (value.is_null()) {
      doc.erase(key);
    } else {
      doc[key] = value;
    }
    return doc.dump();
  };
  EXPECT_TRUE(oidc::parse_discovery(changed("token_endpoint_auth_methods_supported", {"client_secret_post"}), issuer).secret_in_post);
  for (const auto& c_case : std::vector<std::pair<std::string, std::string>>{
           {changed("issuer", issuer + "/"), "names another issuer"},
           {changed("issuer", "https://ID.example.com/realms/x"), "names another issuer"},
           {changed("issuer", nullptr), "has no issuer"},
           {changed("jwks_uri", nullptr), "has no jwks_uri"},
           {changed("jwks_uri", 5), "has no jwks_uri"},
           {changed("token_endpoint", "http://id.example.com/token"), "token_endpoint is not an https:// URL"},
           {changed("authorization_endpoint", "javascript:alert(1)"), "authorization_endpoint is not an https:// URL"},
           {changed("jwks_uri", "https://user@evil.example/certs"), "jwks_uri is not an https:// URL"},
           {changed("response_types_supported", {"id_token"}), "does not offer the code flow"},
           {changed("response_types_supported", "code"), "is not a list"},
           {changed("id_token_signing_alg_values_supported", {"HS256", "none"}), "does not sign id_tokens with RS256"},
           {changed("code_challenge_methods_supported", {"plain"}), "PKCE with S256"},
           {changed("token_endpoint_auth_methods_supported", {"private_key_jwt"}), "neither client_secret_basic"},
           {"[]", "not a JSON object"},
           {"{", "not a JSON object"},
           {std::string(300 * 1024, ' '), "larger than 256 KiB"}}) {
    const std::string& body = c_case.first;
    EXPECT_TRUE(contains(refusal([&] { oidc::parse_discovery(body, issuer); }), c_case.second)) << body.substr(0, 200);
  }
}

TEST(OidcParsing, UrlsAreHttpsOrLoopback) {
  for (std::string_view ok : {"https://id.example.com", "https://id.example.com:8443/a?b=c", "http://127.0.0.1:8080/x",
                              "http://localhost/", "http://[::1]:9/", "https://[2001:db8::1]/"}) {
    EXPECT_TRUE(oidc::acceptable_url(ok)) << ok;
  }
  for (std::string_view bad : {"", "http://id.example.com", "ftp://x", "https://", "https://:443/", "https://a b",
                               "https://x/#frag", "https://u:p@x/", "http://127.0.0.1.evil.example/",
                               "http://localhost:99999/", "https://x:/", "file:///etc/passwd", "HTTPS://x"}) {
    EXPECT_FALSE(oidc::acceptable_url(bad)) << bad;
  }
}

TEST(OidcParsing, TheUserClaimIsAUserNameThisSiteCanHave) {
  json c = {{"email", "a@example.com"}, {"preferred_username", "alice"}, {"sub", "248289761001"}};
  EXPECT_EQ(oidc::user_from_claims(c, "email"), "a@example.com");
  EXPECT_EQ(oidc::user_from_claims(c, "preferred_username"), "alice");
  EXPECT_EQ(oidc::user_from_claims(c, "sub"), "248289761001");
  c["email_verified"] = "false";
  EXPECT_TRUE(contains(refusal([&] { oidc::user_from_claims(c, "email"); }), "not verified"));
  EXPECT_EQ(oidc::user_from_claims(c, "preferred_username"), "alice") << "email_verified is about the email";
  c["email_verified"] = true;
  for (json bad : {json(""), json(5), json(std::string(65, 'a')), json("a b"), json("\xc3\xa9@x"), json(nullptr)}) {
    json d = c;
    d["email"] = bad;
    EXPECT_NE(refusal([&] { oidc::user_from_claims(d, "email"); }), "(accepted)") << bad.dump();
  }
}

TEST(OidcParsing, ClaimsAreCheckedWithASmallSkew) {
  auto now = Clock::now();
  int64_t t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json c = {{"iss", "https://id"}, {"aud", "me"}, {"sub", "s"}, {"nonce", "n"}, {"exp", t + 10}, {"iat", t}};
  oidc::ClaimChecks checks{"https://id", "me", "n", now};
  EXPECT_EQ(refusal([&] { oidc::check_claims(c, checks); }), "(accepted)");
  c["exp"] = t - 59;
  EXPECT_EQ(refusal([&] { oidc::check_claims(c, checks); }), "(accepted)");
  c["exp"] = t - 61;
  EXPECT_TRUE(contains(refusal([&] { oidc::check_claims(c, checks); }), "expired"));
  c["exp"] = 1e300;
  c["iat"] = t + 59;
  EXPECT_EQ(refusal([&] { oidc::check_claims(c, checks); }), "(accepted)");
  c["iat"] = t + 61;
  EXPECT_TRUE(contains(refusal([&] { oidc::check_claims(c, checks); }), "future"));
  c["iat"] = t;
  c["nonce"] = "N";
  EXPECT_TRUE(contains(refusal([&] { oidc::check_claims(c, checks); }), "nonce"));
  c["nonce"] = "n";
  c["aud"] = json::array();
  EXPECT_TRUE(contains(refusal([&] { oidc::check_claims(c, checks); }), "another client"));
  c["aud"] = {"me", 5};
  EXPECT_TRUE(contains(refusal([&] { oidc::check_claims(c, checks); }), "not a list of strings"));
  EXPECT_TRUE(contains(refusal([&] { oidc::check_claims(json::array(), checks); }), "not a JSON object"));
}

// ----- the [oidc] configuration -----

std::string config_error(std::vector<std::pair<std::string, std::string>> overrides) {
  Config::Sources sources;
  sources.overrides = std::move(overrides);
  try {
    OidcOptions::from_config(Config::load(sources));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(OidcConfig, OffByDefaultAndCheckedWhenOn) {
  EXPECT_FALSE(OidcOptions::from_config(Config::defaults()).enabled());
  std::vector<std::pair<std::string, std::string>> good = {{"oidc.issuer", "https://id.example.com"},
                                                           {"oidc.client_id", "crash"},
                                                           {"oidc.client_secret", "s"},
                                                           {"oidc.redirect_url", std::string(kRedirect)}};
  EXPECT_EQ(config_error(good), "(accepted)");
  auto with = [&](std::string key, std::string value) {
    auto o = good;
    o.emplace_back(std::move(key), std::move(value));
    return o;
  };
  auto without = [&](const std::string& key) {
    auto o = good;
    std::erase_if(o, [&](const auto& kv) { return kv.first == key; });
    return o;
  };
  EXPECT_TRUE(contains(config_error(with("oidc.issuer", "http://id.example.com")), "oidc.issuer must be an https://"));
  EXPECT_EQ(config_error(with("oidc.issuer", "http://127.0.0.1:5556/dex")), "(accepted)");
  EXPECT_TRUE(contains(config_error(without("oidc.client_id")), "oidc.client_id is needed"));
  EXPECT_TRUE(contains(config_error(without("oidc.client_secret")), "oidc.client_secret (or oidc.client_secret_file) is needed"));
  EXPECT_TRUE(contains(config_error(with("oidc.client_secret_file", "/x")), "not both"));
  EXPECT_TRUE(contains(config_error(with("oidc.redirect_url", "https://crash.example.com/callback")), "oidc.redirect_url must be"));
  EXPECT_TRUE(contains(config_error(with("oidc.redirect_url", "http://crash.example.com/login/oidc/callback")), "oidc.redirect_url must be"));
  EXPECT_TRUE(contains(config_error(with("oidc.redirect_url", std::string(kRedirect) + "?x=1")), "oidc.redirect_url must be"));
  EXPECT_TRUE(contains(config_error(with("oidc.scopes", "email profile")), "openid among them"));
  EXPECT_TRUE(contains(config_error(with("oidc.scopes", "openid \"x\"")), "openid among them"));
  EXPECT_EQ(config_error(with("oidc.scopes", "openid")), "(accepted)");
  EXPECT_TRUE(contains(config_error(with("oidc.user_claim", "name")), "oidc.user_claim must be"));
  EXPECT_TRUE(contains(config_error(with("oidc.label", "")), "oidc.label"));

  // The secret from a file, surrounding whitespace dropped.
  test_support::TempDir dir;
  auto file = dir.path() / "secret";
  std::ofstream(file) << "  from-a-file\n";
  auto from_file = without("oidc.client_secret");
  from_file.emplace_back("oidc.client_secret_file", file.string());
  Config::Sources sources;
  sources.overrides = from_file;
  EXPECT_EQ(OidcOptions::from_config(Config::load(sources)).client_secret, "from-a-file");
  std::ofstream(file) << "\n \n";
  EXPECT_TRUE(contains(config_error(from_file), "oidc.client_secret_file is empty"));
  from_file.back().second = (dir.path() / "missing").string();
  EXPECT_TRUE(contains(config_error(from_file), "oidc.client_secret_file cannot be read"));
}

}  // namespace
}  // namespace bw::web
