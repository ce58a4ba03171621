// The permission matrix (docs/security.md "How each promise is tested"): every route of a whole
// site (the web app, the sign-in pages, the symbols service, the collector and the health routes
// on one server, as `serve` puts them) x every kind of caller: anonymous, a user without rights,
// a user holding each permission, an expired token, a revoked token, a disabled user's token,
// and signed-in sessions (without rights, with every permission, of a disabled user).
//
// For each pair the test knows the status to expect from the route's declared access
// (http::Access) and how the route reads credentials, and greps the whole answer (status,
// headers, body) for the crash's planted markers: they appear exactly when the caller holds the
// permission that reveals them, never otherwise; no token or session secret is ever echoed; no
// marker or secret reaches the log. A route without a declared access, or without a case here,
// fails the test: a new route cannot land without deciding who may use it.
#include <map>
#include <set>

#include "auth/auth_store.h"
#include "collector/service.h"
#include "http/health.h"
#include "symbols/symbol_store.h"
#include "web/marked_site_test_support.h"
#include "web/symbols_service.h"

namespace bw::web {
namespace {

using namespace site_test;
using Kind = http::Access::Kind;
using Clock = std::chrono::system_clock;

// Which credentials a route reads.
enum class Reads {
  kNothing,    // neither (static files, health, public pages)
  kTokenOnly,  // the Auth-Token header only (POST endpoints, uploads)
  kSession,    // the session cookie only (pages)
  kBoth,       // the Auth-Token, else the session cookie (GET API)
};

struct CallerKind {
  std::string name;
  std::string token;                   // Auth-Token value; empty: none
  bool token_valid = true;             // false: expired, revoked, owner disabled
  std::string session_user;            // a fresh session of this user for each request; empty: none
  std::string fixed_session;           // or this session (a disabled user's, made before disabling)
  auth::PermissionSet permissions{};   // what a valid token or session carries
};

struct Case {
  std::string target;
  int ok = 200;            // the status for a caller the route lets in
  int anonymous = 0;       // kRequires / kSignedIn: a caller whose credentials the route did not accept
  int refused = 403;       // kRequires: a caller whose accepted credentials lack the permission
  std::string reveals{};   // the permission that makes markers appear in the answer
  std::string needs{};     // this case needs a permission although the route is kByPermission (dumps)
  std::string body{};
  std::string content_type{};
  bool csrf = false;       // a session's form: carries its CSRF token
};

struct RouteCases {
  Reads reads;
  std::vector<Case> cases;
};

class RouteMatrixTest : public MarkedSiteTest {
 protected:
  void add_more_routes(http::Server& server) override {
    symbol_store_ = std::make_unique<symbols::SymbolStore>(dir_.path() / "symbols");
    symbols_ = std::make_unique<SymbolsService>(*config_, *symbol_store_, index_.get(), queue_.get(), accounts_.accounts);
    symbols_->add_routes(server);
    collector_ = std::make_unique<collector::CollectorService>(*config_);
    collector_->add_routes(server);
    http::add_health_routes(server, {"{}", {[this] { return app_->health_problems(); }}});
  }

  void TearDown() override {
    MarkedSiteTest::TearDown();
    symbols_.reset();
    collector_.reset();
  }

  // Every kind of caller, with its users and tokens made in the site's store.
  std::vector<CallerKind> callers() {
    auto& store = *accounts_.owned;
    const auto& all_list = auth::all_permissions();
    auth::PermissionSet all(all_list.begin(), all_list.end());
    std::vector<CallerKind> out;
    out.push_back({"anonymous", "", true, "", "", {}});
    out.push_back({"token without rights", make_token("norights", {}), true, "", "", {}});
    for (const auto& p : all_list) {
      out.push_back({"token with " + p, make_token("holder-" + p, {p}), true, "", "", {p}});
    }
    out.push_back({"expired token", make_token("everything", all, {}, 90, Clock::now() - std::chrono::hours(24 * 91)),
                   false, "", "", {}});
    std::string revoked = make_token("everything", all);
    store.revoke_token(store.list_tokens("everything").front().id);
    out.push_back({"revoked token", revoked, false, "", "", {}});
    std::string disabled_token = make_token("gone", all);
    std::string disabled_session = store.create_session("gone", std::chrono::minutes(60), Clock::now()).secret;
    secrets_.push_back(disabled_session);
    store.set_disabled("gone", true);
    out.push_back({"disabled user's token", disabled_token, false, "", "", {}});
    out.push_back({"session without rights", "", true, "norights", "", {}});
    out.push_back({"session with every permission", "", true, "everything", "", all});
    out.push_back({"disabled user's session", "", true, "", disabled_session, {}});
    return out;
  }

  // Every route of the site, by "METHOD path" (" prefix" for a prefix route).
  std::map<std::string, RouteCases> cases() {
    std::string sym = "/symbols/upload/v2/v1/";
    std::string id = id_;
    std::map<std::string, RouteCases> c;
    // Pages: the session cookie only.
    c["GET /report/index/ prefix"] = {Reads::kSession, {{"/report/index/" + id, 200, 0, 403, "view_pii"}}};
    c["GET /report/status/ prefix"] = {Reads::kNothing, {{"/report/status/" + id}}};
    c["GET / "] = {Reads::kNothing, {{"/"}}};
    c["GET / prefix"] = {Reads::kNothing, {{"/no/such/page", 404}}};
    c["GET /search/ "] = {Reads::kNothing, {{"/search/?product=TokenTest&_columns=uuid"}}};
    c["GET /search "] = {Reads::kNothing, {{"/search?product=TokenTest", 301}}};
    c["GET /topcrashers/ "] = {Reads::kNothing, {{"/topcrashers/?product=TokenTest"}}};
    c["GET /topcrashers "] = {Reads::kNothing, {{"/topcrashers?product=TokenTest"}}};
    c["GET /signature/ "] = {Reads::kNothing, {{"/signature/?signature=nothing"}}};
    c["GET /signature "] = {Reads::kNothing, {{"/signature?signature=nothing"}}};
    c["GET /status/ "] = {Reads::kNothing, {{"/status/"}}};
    c["GET /status "] = {Reads::kNothing, {{"/status", 301}}};
    c["GET /api/ "] = {Reads::kNothing, {{"/api/"}}};
    c["GET /api "] = {Reads::kNothing, {{"/api", 301}}};
    c["GET /symbols/missing/ "] = {Reads::kNothing, {{"/symbols/missing/"}}};
    c["GET /symbols/missing "] = {Reads::kNothing, {{"/symbols/missing"}}};
    c["GET /symbols/uploads/ "] = {Reads::kNothing, {{"/symbols/uploads/"}}};
    c["GET /symbols/uploads "] = {Reads::kNothing, {{"/symbols/uploads"}}};
    c["GET /symbols/ prefix"] = {Reads::kNothing, {{"/symbols/xul.pdb/0123456789ABCDEF0123456789ABCDEF1/xul.sym", 404}}};
    // The JSON API: the Auth-Token, else the session.
    c["GET /api/ProcessedCrash/ "] = {Reads::kBoth, {{"/api/ProcessedCrash/?crash_id=" + id, 200, 0, 403, "view_pii"}}};
    c["GET /api/RawCrash/ "] = {
        Reads::kBoth,
        {{"/api/RawCrash/?crash_id=" + id, 200, 0, 403, "view_pii"},
         {"/api/RawCrash/?crash_id=" + id + "&format=raw&name=memory_report", 200, 403, 403, "view_rawdump", "view_rawdump"}}};
    c["GET /api/SuperSearch/ "] = {
        Reads::kBoth, {{"/api/SuperSearch/?uuid=" + id + "&_columns=uuid,url,email,user_comments,Flavor", 200, 0, 403, "view_pii"}}};
    c["GET /api/SuperSearchUnredacted/ "] = {
        Reads::kBoth, {{"/api/SuperSearchUnredacted/?uuid=" + id + "&_columns=uuid,url,email,Flavor", 200, 403, 403, "view_pii"}}};
    c["GET /api/SuperSearchFields/ "] = {Reads::kBoth, {{"/api/SuperSearchFields/"}}};
    c["GET /api/MissingSymbols/ "] = {Reads::kBoth, {{"/api/MissingSymbols/"}}};
    c["GET /api/TopCrashers/ "] = {Reads::kBoth, {{"/api/TopCrashers/?product=TokenTest"}}};
    c["POST /api/Reprocessing/ "] = {Reads::kTokenOnly, {{"/api/Reprocessing/", 200, 403, 403, "", "", "crash_ids=" + id,
                                                          "application/x-www-form-urlencoded"}}};
    c["POST /api/PriorityJob/ "] = {Reads::kTokenOnly, {{"/api/PriorityJob/", 200, 403, 403, "", "", "crash_ids=" + id,
                                                         "application/x-www-form-urlencoded"}}};
    // Signing in: the session cookie only.
    c["GET /login/ "] = {Reads::kSession, {{"/login/", 303, 200}}};
    c["POST /login/ "] = {Reads::kSession, {{"/login/", 403, 403, 403, "", "", "username=nobody&password=wrongwrong&csrf=x",
                                             "application/x-www-form-urlencoded"}}};
    c["GET /login/once/ prefix"] = {Reads::kSession, {{"/login/once/bwl_" + std::string(64, 'a'), 403, 403}}};
    c["POST /logout/ "] = {Reads::kSession, {{"/logout/", 303, 303, 403, "", "", "", "application/x-www-form-urlencoded", true}}};
    c["GET /profile/ "] = {Reads::kSession, {{"/profile/", 200, 303}}};
    c["POST /profile/tokens/ "] = {Reads::kSession, {{"/profile/tokens/", 400, 303, 403, "", "", "label=x&days=5",
                                                      "application/x-www-form-urlencoded", true}}};
    c["POST /profile/tokens/revoke/ "] = {Reads::kSession, {{"/profile/tokens/revoke/", 404, 303, 403, "", "", "id=999999",
                                                             "application/x-www-form-urlencoded", true}}};
    // Symbol uploads: a token only (header, basic auth or ?token=; the header here).
    for (std::string path : {"/symbols/upload", "/symbols/upload/"}) {
      c["POST " + path + " "] = {Reads::kTokenOnly,
                                 {{path, 400, 401, 403, "", "", "MODULE Linux x86_64 not-a-debug-id\n", "text/plain"}}};
    }
    c["GET " + sym + "symbols/ prefix"] = {
        Reads::kTokenOnly, {{sym + "symbols/xul.pdb/0123456789ABCDEF0123456789ABCDEF1:checkStatus", 200, 401}}};
    c["POST " + sym + "uploads prefix"] = {Reads::kTokenOnly, {{sym + "uploads:create", 200, 401, 403, "", "", "", "application/json"}}};
  // The key handed out by uploads:create is the credential; a token is not read.
  c["PUT " + sym + "uploads/ prefix"] = {Reads::kNothing, {{sym + "uploads/nosuchkey", 404, 404, 404, "", "", "x", "text/plain"}}};
    // The collector and health: no credentials.
    c["POST /submit "] = {Reads::kNothing, {{"/submit", 400, 0, 403, "", "", "not a form", "text/plain"}}};
    for (std::string path : {"/__lbheartbeat__", "/__version__", "/__heartbeat__", "/metrics"}) {
      c["GET " + path + " "] = {Reads::kNothing, {{path}}};
    }
    return c;
  }

  // What `caller` amounts to at a route that reads `reads`: nullopt when its token is refused
  // (403), else the permissions and whether it is signed in.
  struct Effective {
    bool refused = false;
    bool accepted = false;  // the route accepted a credential (a valid token or session)
    bool signed_in = false;
    auth::PermissionSet permissions{};
  };
  static Effective effective(const CallerKind& caller, Reads reads) {
    bool reads_token = reads == Reads::kTokenOnly || reads == Reads::kBoth;
    bool reads_session = reads == Reads::kSession || reads == Reads::kBoth;
    if (reads_token && !caller.token.empty()) {
      if (!caller.token_valid) return {true, false, false, {}};
      return {false, true, false, caller.permissions};
    }
    if (reads_session && !caller.session_user.empty()) return {false, true, true, caller.permissions};
    return {};  // a disabled user's session is not accepted: anonymous
  }

  std::unique_ptr<symbols::SymbolStore> symbol_store_;
  std::unique_ptr<SymbolsService> symbols_;
  std::unique_ptr<collector::CollectorService> collector_;
};

TEST_F(RouteMatrixTest, EveryRouteTimesEveryCallerGetsItsStatusAndNoProtectedValue) {
  auto all_cases = cases();
  auto kinds = callers();
  auto& store = *accounts_.owned;
  std::set<std::string> covered;
  size_t requests = 0;
  for (const auto& route : server_->routes()) {
    std::string key = route.method + " " + route.path + (route.prefix ? " prefix" : " ");
    ASSERT_NE(route.access.kind, Kind::kUndeclared) << key << " declares no access (http::Access)";
    // The embedded static files (names change with their content): each is public.
    if (route.path.starts_with("/static/")) all_cases[key] = {Reads::kNothing, {{route.path}}};
    auto found = all_cases.find(key);
    ASSERT_NE(found, all_cases.end()) << key << " has no case in the permission matrix: add one";
    covered.insert(key);
    const RouteCases& rc = found->second;
    for (const Case& c : rc.cases) {
      bool saw_marker = false;
      for (const CallerKind& caller : kinds) {
        std::string what = key + " " + c.target + " as " + caller.name;
        Headers headers;
        std::string session = caller.fixed_session, csrf = "x";
        if (!caller.session_user.empty()) {
          auto made = store.create_session(caller.session_user, std::chrono::minutes(10), Clock::now());
          session = made.secret;
          csrf = made.csrf;
          secrets_.push_back(session);
        }
        if (!caller.token.empty()) headers.emplace_back("Auth-Token", caller.token);
        if (!session.empty()) headers.emplace_back("Cookie", std::string(kSessionCookie) + "=" + session);
        if (!c.content_type.empty()) headers.emplace_back("Content-Type", c.content_type);
        std::string body = c.body;
        if (c.csrf) body += std::string(body.empty() ? "" : "&") + "csrf=" + csrf;

        http::Connection conn("127.0.0.1", server_->port());
        ASSERT_TRUE(conn.send(http::make_request(route.method, c.target, headers, body)))
            << what;
        auto r = conn.read_response(30s);
        ++requests;

        // The status the declaration and the credentials call for.
        Effective e = effective(caller, rc.reads);
        std::string needs = !c.needs.empty() ? c.needs : route.access.permission;
        int expected = c.ok;
        if (e.refused) {
          expected = 403;
        } else if (!needs.empty()) {
          expected = e.permissions.contains(needs) ? c.ok : (e.accepted ? c.refused : c.anonymous);
        } else if (route.access.kind == Kind::kSignedIn) {
          expected = e.signed_in ? c.ok : c.anonymous;
        }
        EXPECT_EQ(r.status, expected) << what << ": " << r.body.substr(0, 300);

        // Markers exactly for the permission that reveals them.
        bool shows = contains(everything(r), marker_);
        bool may = !c.reveals.empty() && !e.refused && e.permissions.contains(c.reveals);
        if (!may) {
          EXPECT_FALSE(shows) << what << " shows a protected value: " << r.body.substr(0, 300);
        }
        saw_marker = saw_marker || (shows && may);
        for (const auto& secret : {caller.token, session}) {
          if (!secret.empty()) {
            EXPECT_FALSE(contains(everything(r), secret)) << what << " echoes a secret";
          }
        }
        // Answers that depend on the caller are never kept by a shared cache.
        if (e.accepted && r.status == 200) {
          EXPECT_TRUE(contains(r.header("Cache-Control"), "no-store")) << what << ": " << r.header("Cache-Control");
        }
      }
      // The planted values really come out for whoever may see them: otherwise "no marker"
      // above would prove nothing.
      if (!c.reveals.empty()) {
        EXPECT_TRUE(saw_marker) << key << " " << c.target << " never showed the markers";
      }
    }
  }
  for (const auto& [key, rc] : all_cases) {
    EXPECT_TRUE(covered.contains(key)) << key << " is in the matrix but no route has it (renamed?)";
  }
  EXPECT_GT(requests, 500u);
}

}  // namespace
}  // namespace bw::web
