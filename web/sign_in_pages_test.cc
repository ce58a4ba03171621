// Signing in to the web pages (web/sign_in_pages.h) over real HTTP with the real SQLite account
// store: the form and its CSRF cookie, the session cookie's flags, wrong passwords and throttling,
// protected fields on the report page for a signed-in view_pii user only, the profile page making
// and revoking tokens, sign-out, one-time sign-in links, and hostile input.
#include "web/sign_in_pages.h"

#include <regex>

#include "auth/secrets.h"
#include "auth/sqlite_auth_store.h"
#include "web/html.h"
#include "web/marked_site_test_support.h"

namespace bw::web {
namespace {

using namespace site_test;
using Clock = std::chrono::system_clock;

std::string hidden_value(const std::string& page, const std::string& name) {
  std::smatch m;
  std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  return std::regex_search(page, m, re) ? m[1].str() : "";
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + k + "=" + html::encode_component(v);
  return out;
}

class SignInPagesTest : public MarkedSiteTest {
 protected:
  void SetUp() override {
    MarkedSiteTest::SetUp();
    accounts_.owned->add_user("reader", "reader password", {"view_pii", "view_rawdump"});
    accounts_.owned->add_user("plain", "plain password", {});
    secrets_.push_back("reader password");
    secrets_.push_back("plain password");
  }

  http::ClientResponse request(const std::string& method, const std::string& target, Headers headers,
                               const std::string& body = "") {
    if (!body.empty()) headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    http::Connection c("127.0.0.1", server_->port());
    EXPECT_TRUE(c.send(http::make_request(method, target, headers, body)));
    return c.read_response(30s);
  }

  // The sign-in form's CSRF value and cookie.
  std::string login_csrf() {
    auto form = request("GET", "/login/", {});
    EXPECT_EQ(form.status, 200);
    std::string csrf = hidden_value(form.body, "csrf");
    EXPECT_EQ(set_cookie(form, kLoginCookie).first, csrf);
    EXPECT_EQ(csrf.size(), 64u);
    return csrf;
  }

  http::ClientResponse post_login(const std::string& user, const std::string& password, const std::string& next = "",
                                  Headers extra = {}) {
    std::string csrf = login_csrf();
    extra.emplace_back("Cookie", std::string(kLoginCookie) + "=" + csrf);
    return request("POST", "/login/", extra,
                   form_encode({{"username", user}, {"password", password}, {"csrf", csrf}, {"next", next}}));
  }

  // Signs in; the session cookie's value.
  std::string sign_in(const std::string& user, const std::string& password) {
    auto r = post_login(user, password, "/profile/");
    EXPECT_EQ(r.status, 303) << r.body.substr(0, 300);
    std::string session = set_cookie(r, kSessionCookie).first;
    EXPECT_TRUE(auth::is_well_formed_secret(session, auth::kSessionPrefix)) << everything(r);
    secrets_.push_back(session);
    return session;
  }

  Headers with_session(const std::string& session) { return {{"Cookie", std::string(kSessionCookie) + "=" + session}}; }
};

TEST_F(SignInPagesTest, SigningInSetsASessionCookieWithTheRightFlags) {
  auto r = post_login("reader", "reader password", "/report/index/" + id_);
  ASSERT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.header("Location"), "/report/index/" + id_);
  auto [session, header] = set_cookie(r, kSessionCookie);
  EXPECT_TRUE(contains(header, "HttpOnly")) << header;
  EXPECT_TRUE(contains(header, "SameSite=Lax")) << header;
  EXPECT_TRUE(contains(header, "Path=/")) << header;
  EXPECT_TRUE(contains(header, "Max-Age=1209600")) << header;
  EXPECT_FALSE(contains(header, "Secure")) << "plain http on loopback: " << header;
  secrets_.push_back(session);
  // Behind a TLS proxy the cookie is Secure.
  auto tls = post_login("reader", "reader password", "", {{"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(tls.status, 303);
  EXPECT_TRUE(contains(set_cookie(tls, kSessionCookie).second, "; Secure")) << set_cookie(tls, kSessionCookie).second;
  EXPECT_EQ(tls.header("Location"), "/profile/");
  secrets_.push_back(set_cookie(tls, kSessionCookie).first);
  // Signed in, the form sends the user on.
  auto again = request("GET", "/login/?next=/search/", with_session(session));
  EXPECT_EQ(again.status, 303);
  EXPECT_EQ(again.header("Location"), "/search/");
  // Without [oidc] the form offers no identity provider and its routes do not exist.
  auto form = request("GET", "/login/", {});
  EXPECT_FALSE(contains(form.body, "Sign in with")) << form.body;
  EXPECT_FALSE(contains(form.body, "/login/oidc/"));
  EXPECT_EQ(request("GET", "/login/oidc/", {}).status, 404);
  EXPECT_EQ(request("GET", "/login/oidc/callback?code=a&state=b", {}).status, 404);
}

TEST_F(SignInPagesTest, WrongPasswordsUnknownNamesAndDisabledUsersGetTheSameRefusal) {
  accounts_.owned->add_user("off", "off password", {"view_pii"});
  accounts_.owned->set_disabled("off", true);
  for (auto [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"reader", "wrong password"}, {"nobody", "reader password"}, {"off", "off password"}, {"", ""},
           {std::string(5000, 'u'), std::string(5000, 'p')}, {"reader\n", "reader password"}}) {
    auto r = post_login(user, password);
    EXPECT_EQ(r.status, 403) << user.substr(0, 20);
    EXPECT_TRUE(contains(r.body, "Wrong user name or password.")) << user.substr(0, 20);
    EXPECT_EQ(set_cookie(r, kSessionCookie).first, "") << user.substr(0, 20);
    if (!password.empty()) {
      EXPECT_FALSE(contains(r.body, password)) << "a password is echoed";
    }
  }
}

TEST_F(SignInPagesTest, AFormWithoutTheRightCsrfOrFromAnotherSiteIsRefused) {
  std::string csrf = login_csrf();
  std::string body = form_encode({{"username", "reader"}, {"password", "reader password"}, {"csrf", csrf}});
  // No cookie (another site's form cannot send ours), a different cookie, another Origin.
  for (const Headers& headers : {Headers{}, Headers{{"Cookie", std::string(kLoginCookie) + "=" + std::string(64, 'a')}},
                                 Headers{{"Cookie", std::string(kLoginCookie) + "=" + csrf}, {"Origin", "http://evil.example"}}}) {
    auto r = request("POST", "/login/", headers, body);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(set_cookie(r, kSessionCookie).first, "");
  }
  // The same origin is fine.
  // (The test client sends Host: localhost.)
  auto ok = request("POST", "/login/", {{"Cookie", std::string(kLoginCookie) + "=" + csrf}, {"Origin", "http://localhost"}},
                    body);
  EXPECT_EQ(ok.status, 303) << ok.body.substr(0, 300);
  secrets_.push_back(set_cookie(ok, kSessionCookie).first);
}

TEST_F(SignInPagesTest, BruteForceIsThrottledWithRetryAfter) {
  int throttled = 0;
  for (int i = 0; i < 14; ++i) {
    auto r = post_login("reader", "guess " + std::to_string(i));
    if (r.status == 429) {
      ++throttled;
      EXPECT_GE(std::stoi(r.header("Retry-After")), 1);
      EXPECT_TRUE(contains(r.body, "Too many sign-in attempts"));
    } else {
      EXPECT_EQ(r.status, 403);
    }
  }
  EXPECT_GE(throttled, 3) << "10 attempts a minute by default";
  // Even the right password waits now.
  EXPECT_EQ(post_login("reader", "reader password").status, 429);
}

TEST_F(SignInPagesTest, TheReportPageShowsProtectedFieldsToASignedInViewPiiUserOnly) {
  std::string reader = sign_in("reader", "reader password");
  std::string plain = sign_in("plain", "plain password");
  auto seen = request("GET", "/report/index/" + id_, with_session(reader));
  ASSERT_EQ(seen.status, 200);
  EXPECT_TRUE(contains(seen.body, marker("unknown"))) << "an undeclared annotation, for view_pii";
  EXPECT_TRUE(contains(seen.body, marker("email")));
  EXPECT_TRUE(contains(seen.body, "format=raw&amp;name=upload_file_minidump")) << "the dump link, for view_rawdump";
  EXPECT_EQ(seen.header("Cache-Control"), "private, no-store");
  EXPECT_EQ(seen.header("Vary"), "Cookie");
  for (const Headers& h : {with_session(plain), Headers{}, with_session("bws_" + std::string(64, '0')),
                           with_session(std::string(3000, 'x'))}) {
    auto r = request("GET", "/report/index/" + id_, h);
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(contains(everything(r), marker_));
    EXPECT_FALSE(contains(r.body, "format=raw"));
  }
  // The session also opens the GET API (the browser's own calls), never a POST endpoint.
  auto api = request("GET", "/api/RawCrash/?crash_id=" + id_, with_session(reader));
  EXPECT_TRUE(contains(api.body, marker("unknown")));
  Headers post = with_session(reader);
  auto reprocess = request("POST", "/api/Reprocessing/", post, "crash_ids=" + id_);
  EXPECT_EQ(reprocess.status, 403) << "a cookie never authorises a POST to the API";
}

TEST_F(SignInPagesTest, TheProfileMakesAndRevokesTokensThatWorkOnTheApi) {
  EXPECT_EQ(request("GET", "/profile/", {}).header("Location"), "/login/?next=/profile/");
  std::string session = sign_in("reader", "reader password");
  auto profile = request("GET", "/profile/", with_session(session));
  ASSERT_EQ(profile.status, 200);
  EXPECT_TRUE(contains(profile.body, "view_pii") && contains(profile.body, "view_rawdump"));
  std::string csrf = hidden_value(profile.body, "csrf");
  ASSERT_EQ(csrf.size(), 64u);

  auto made = request("POST", "/profile/tokens/", with_session(session),
                      form_encode({{"csrf", csrf}, {"label", "ci <script>"}, {"days", "7"}, {"permission", "view_pii"}}));
  ASSERT_EQ(made.status, 200) << made.body.substr(0, 500);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(made.body, m, std::regex("bwt_[0-9a-f]{64}")));
  std::string token = m.str();
  secrets_.push_back(token);
  EXPECT_EQ(made.header("Cache-Control"), "private, no-store");
  EXPECT_FALSE(contains(made.body, "<script>")) << "the label is escaped";
  auto api = request("GET", "/api/ProcessedCrash/?crash_id=" + id_, {{"Auth-Token", token}});
  EXPECT_TRUE(contains(api.body, marker("email"))) << "the new token carries view_pii";
  auto list = request("GET", "/profile/", with_session(session));
  EXPECT_FALSE(contains(list.body, token)) << "shown once only";
  EXPECT_TRUE(contains(list.body, token.substr(0, 8)));

  // A permission the user lacks, no permission, a bad day count: 400, nothing made.
  for (const auto& fields : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"csrf", csrf}, {"permission", "admin"}}, {{"csrf", csrf}}, {{"csrf", csrf}, {"permission", "view_pii"}, {"days", "0"}},
           {{"csrf", csrf}, {"permission", "view_pii"}, {"days", "99999999999"}}}) {
    EXPECT_EQ(request("POST", "/profile/tokens/", with_session(session), form_encode(fields)).status, 400);
  }
  EXPECT_EQ(accounts_.owned->list_tokens("reader").size(), 1u);
  // Without the CSRF value: refused.
  EXPECT_EQ(request("POST", "/profile/tokens/", with_session(session), "permission=view_pii").status, 403);

  // Revoking: only one's own token, with the CSRF value.
  int64_t id = accounts_.owned->list_tokens("reader").front().id;
  std::string other = make_token("someone", {"view_pii"});
  int64_t other_id = accounts_.owned->list_tokens("someone").front().id;
  EXPECT_EQ(request("POST", "/profile/tokens/revoke/", with_session(session),
                    form_encode({{"csrf", csrf}, {"id", std::to_string(other_id)}})).status, 404);
  EXPECT_EQ(accounts_.owned->check_token(other, Clock::now()).result, auth::TokenCheck::Result::kValid);
  EXPECT_EQ(request("POST", "/profile/tokens/revoke/", with_session(session), "id=" + std::to_string(id)).status, 403);
  auto revoked = request("POST", "/profile/tokens/revoke/", with_session(session),
                         form_encode({{"csrf", csrf}, {"id", std::to_string(id)}}));
  EXPECT_EQ(revoked.status, 303);
  EXPECT_EQ(request("GET", "/api/ProcessedCrash/?crash_id=" + id_, {{"Auth-Token", token}}).status, 403);
}

TEST_F(SignInPagesTest, SigningOutNeedsTheCsrfValueAndEndsTheSession) {
  std::string session = sign_in("reader", "reader password");
  std::string csrf = hidden_value(request("GET", "/profile/", with_session(session)).body, "csrf");
  EXPECT_EQ(request("POST", "/logout/", with_session(session), "csrf=" + std::string(64, 'b')).status, 403);
  EXPECT_EQ(request("GET", "/profile/", with_session(session)).status, 200) << "a forged sign-out changes nothing";
  auto out = request("POST", "/logout/", with_session(session), "csrf=" + csrf);
  EXPECT_EQ(out.status, 303);
  EXPECT_TRUE(contains(set_cookie(out, kSessionCookie).second, "Max-Age=0"));
  EXPECT_EQ(request("GET", "/profile/", with_session(session)).status, 303);
  EXPECT_FALSE(contains(request("GET", "/report/index/" + id_, with_session(session)).body, marker_));
}

TEST_F(SignInPagesTest, AOneTimeLinkSignsInOnceAndTheFirstStartMakesItsAdmin) {
  // The store has users (the fixture's), so the first start makes none.
  EXPECT_FALSE(first_start_admin_link(*accounts_.owned));
  std::string path = signin_link_path(*accounts_.owned, "reader");
  secrets_.push_back(path.substr(12));
  auto r = request("GET", path, {});
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.header("Location"), "/profile/");
  std::string session = set_cookie(r, kSessionCookie).first;
  secrets_.push_back(session);
  EXPECT_EQ(request("GET", "/profile/", with_session(session)).status, 200);
  EXPECT_EQ(request("GET", path, {}).status, 403) << "once only";
  for (std::string bad : {std::string("/login/once/"), "/login/once/bwt_" + std::string(64, 'a'), "/login/once/" + std::string(3000, 'a')}) {
    EXPECT_EQ(request("GET", bad, {}).status, 403) << bad.substr(0, 40);
  }
}

TEST(FirstStart, AnEmptyStoreGetsAnAdminWithEveryPermissionAndALink) {
  test_support::TempDir dir;
  auto store = auth::open_sqlite_auth_store(dir.path() / "a.sqlite");
  auto link = first_start_admin_link(*store);
  ASSERT_TRUE(link);
  EXPECT_TRUE(link->starts_with("/login/once/bwl_"));
  auto admin = store->find_user("admin");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->permissions.size(), auth::all_permissions().size());
  EXPECT_EQ(store->redeem_signin_link(link->substr(12), Clock::now()), std::optional<std::string>("admin"));
  EXPECT_FALSE(first_start_admin_link(*store)) << "only the first start";
}

}  // namespace
}  // namespace bw::web
