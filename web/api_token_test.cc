// API tokens on the JSON API (web/caller_auth.h, docs/security.md "API tokens") over real HTTP on
// loopback, with the real parts: file-system crash storage, a SQLite crash index and the SQLite
// account store in the same file (opened by web::open_accounts, as serve does), all in a
// temporary folder. One crash carries unique markers in URL, Email, Comments, an undeclared
// annotation, a declared protected annotation and an extra dump; the test first checks that the
// markers really are stored and indexed, then proves who sees what:
// - no token: no marker anywhere (status line, headers, body);
// - a view_pii token: markers in ProcessedCrash, RawCrash, SuperSearch columns and facets,
//   SuperSearchUnredacted, and a filter on a protected field finds the crash;
// - a token without view_pii: no marker, SuperSearchUnredacted 403 naming view_pii;
// - dumps only with view_rawdump, byte for byte;
// - revoked, expired, disabled-owner tokens refused; a permission revoked from the owner after
//   the token was made narrows it at once; malformed header values are 403 JSON and the server
//   goes on; pages ignore the header; the token never appears in an answer or the log;
// - the token check runs on the worker pool, never on the I/O thread.
#include "web/caller_auth.h"

#include <future>
#include <sstream>
#include <thread>

#include "tests/test_server_options.h"
#include "web/marked_site_test_support.h"

namespace bw::web {
namespace {

using namespace site_test;

class ApiTokenTest : public MarkedSiteTest {
 protected:
  std::vector<std::string> api_targets() const {
    return {processed_url(), "/api/RawCrash/?crash_id=" + id_, raw_url(), dump_url(), dump_url("upload_file_minidump"),
            search_url(), unredacted_url(), filter_url(), "/api/SuperSearchFields/", "/api/TopCrashers/?product=TokenTest"};
  }


  void expect_no_marker(const std::vector<std::string>& targets, const Headers& headers) {
    for (const auto& target : targets) {
      auto r = get(target, headers);
      EXPECT_NE(r.status, 0) << target;
      EXPECT_FALSE(contains(everything(r), marker_)) << target << " leaks a protected value: " << r.body.substr(0, 300);
    }
  }

  // The answer to a request with a token: never cached, never shared, never echoing it.
  void expect_private(const http::ClientResponse& r, const std::string& token, const std::string& what) {
    EXPECT_EQ(r.header("Cache-Control"), "private, no-store") << what;
    EXPECT_EQ(r.header("Vary"), "Auth-Token, Cookie") << what;
    if (!token.empty()) {
      EXPECT_FALSE(contains(everything(r), token)) << what << " echoes the token";
    }
  }


  void expect_refused(const std::string& token, const std::string& reason, const std::string& what) {
    for (const auto& target : api_targets()) {
      auto r = get(target, token);
      json body = expect_json(r, 403, what + " " + target);
      EXPECT_EQ(body, (json{{"error", reason}})) << what << " " << target;
      expect_private(r, token, what + " " + target);
      EXPECT_FALSE(contains(everything(r), marker_)) << what << " " << target;
    }
  }

  void expect_sees_markers(const std::string& token, const std::string& what) {
    auto p = get(processed_url(), token);
    json pc = expect_json(p, 200, what);
    expect_private(p, token, what);
    EXPECT_EQ(pc["url"], "https://" + marker("url") + ".example/page") << what;
    EXPECT_EQ(pc["email"], marker("email") + "@example.com") << what;
    EXPECT_EQ(pc["user_comments"], "it broke " + marker("comments")) << what;
    EXPECT_EQ(pc["raw_crash"]["UnknownSecret"], marker("unknown")) << what;

    auto r = get(raw_url(), token);
    json rc = expect_json(r, 200, what);
    expect_private(r, token, what);
    EXPECT_EQ(rc["UnknownSecret"], marker("unknown")) << what;
    EXPECT_EQ(rc["Flavor"], marker("flavor")) << what;
    EXPECT_EQ(rc["URL"], pc["url"]) << what;
    EXPECT_EQ(rc["Comments"], pc["user_comments"]) << what;
    EXPECT_EQ(rc["ProductName"], "TokenTest") << what;

    for (const auto& target : {search_url(), unredacted_url()}) {
      auto s = get(target, token);
      json found = expect_json(s, 200, what + " " + target);
      expect_private(s, token, what);
      ASSERT_EQ(found["total"], 1) << found.dump();
      EXPECT_EQ(found["hits"][0]["url"], pc["url"]) << target;
      EXPECT_EQ(found["hits"][0]["email"], pc["email"]) << target;
      EXPECT_EQ(found["hits"][0]["user_comments"], pc["user_comments"]) << target;
      EXPECT_EQ(found["hits"][0]["Flavor"], marker("flavor")) << target;
    }
    json facets = json::parse(get(search_url(), token).body)["facets"];
    EXPECT_EQ(facets["email"][0]["term"], pc["email"]) << facets.dump();
    EXPECT_EQ(facets["Flavor"][0]["term"], marker("flavor")) << facets.dump();

    // A filter on a protected field finds the crash.
    json filtered = expect_json(get(filter_url(), token), 200, what + " filter");
    ASSERT_EQ(filtered["total"], 1) << filtered.dump();
    EXPECT_EQ(filtered["hits"][0]["uuid"], id_);
    json none = expect_json(get("/api/SuperSearch/?email=nobody-" + marker_ + "@example.com", token), 200, what);
    EXPECT_EQ(none["total"], 0) << none.dump();
  }

  // A caller without view_pii: no marker; the protected filter refused like an unknown field;
  // SuperSearchUnredacted refused naming view_pii.
  void expect_redacted(const Headers& headers, const std::string& what) {
    std::vector<std::string> targets = {processed_url(), raw_url(), search_url(), unredacted_url(), filter_url(),
                                        "/api/SuperSearchFields/"};
    expect_no_marker(targets, headers);
    auto p = get(processed_url(), headers);
    json pc = expect_json(p, 200, what);
    EXPECT_FALSE(pc.contains("url") || pc.contains("email") || pc.contains("user_comments")) << what;
    EXPECT_EQ(pc["product"], "TokenTest") << what;
    json rc = expect_json(get(raw_url(), headers), 200, what);
    EXPECT_FALSE(rc.contains("UnknownSecret") || rc.contains("URL") || rc.contains("Flavor")) << what;
    EXPECT_EQ(rc["ProductName"], "TokenTest") << what;
    json ss = expect_json(get(search_url(), headers), 200, what);
    EXPECT_EQ(ss["total"], 1) << what;
    EXPECT_FALSE(ss["hits"][0].contains("url")) << what;
    json filtered = expect_json(get(filter_url(), headers), 400, what);
    EXPECT_TRUE(filtered["errors"]["url"].is_array()) << filtered.dump();
    json unredacted = expect_json(get(unredacted_url(), headers), 403, what);
    EXPECT_EQ(unredacted["error"], "SuperSearchUnredacted needs the view_pii permission; use /api/SuperSearch/") << what;
  }

};

TEST_F(ApiTokenTest, WithoutATokenNoMarkerComesOut) {
  expect_no_marker(api_targets(), {});
  expect_redacted({}, "anonymous");
  auto dump = get(dump_url());
  EXPECT_EQ(expect_json(dump, 403, "anonymous dump"), (json{{"error", "dumps need the view_rawdump permission"}}));
  // Anonymous answers may be cached, but not handed to a token holder.
  for (const auto& target : api_targets()) {
    auto r = get(target);
    EXPECT_EQ(r.header("Vary"), "Auth-Token, Cookie") << target;
    EXPECT_EQ(r.header("Cache-Control"), "no-cache") << target;
  }
}

TEST_F(ApiTokenTest, ViewPiiTokenSeesProtectedFieldsEverywhere) {
  std::string token = make_token("triage", {"view_pii"});
  expect_sees_markers(token, "view_pii token");
  // view_pii alone does not download dumps.
  auto dump = get(dump_url(), token);
  EXPECT_EQ(expect_json(dump, 403, "view_pii dump"), (json{{"error", "dumps need the view_rawdump permission"}}));
  expect_private(dump, token, "view_pii dump");
  // The header name is case-insensitive, as every HTTP header's.
  auto lower = get(processed_url(), Headers{{"auth-token", token}});
  EXPECT_TRUE(contains(lower.body, marker("email")));
}

TEST_F(ApiTokenTest, TokenWithoutViewPiiSeesNoMarker) {
  // The owner holds view_pii, the token was made without it.
  std::string narrow = make_token("holder", {"view_pii", "view_rawdump"}, {"view_rawdump"});
  expect_redacted({{"Auth-Token", narrow}}, "view_rawdump-only token");
  // A valid token with no permission at all is anonymous with private answers.
  std::string empty = make_token("nobody", {});
  expect_redacted({{"Auth-Token", empty}}, "token without permissions");
  expect_private(get(processed_url(), empty), empty, "token without permissions");
}

TEST_F(ApiTokenTest, DumpsOnlyWithViewRawdumpByteForByte) {
  std::string token = make_token("dumper", {"view_rawdump"});
  auto r = get(dump_url(), token);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.body, dump_);
  EXPECT_EQ(r.body, storage_->get_dump(*CrashId::parse(id_), "memory_report"));
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.header("Content-Disposition"), "attachment; filename=\"" + id_ + "-memory_report.dmp\"");
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  expect_private(r, token, "dump");

  // No name: the minidump, as crash-stats.
  auto minidump = get("/api/RawCrash/?crash_id=bp-" + id_ + "&format=raw", token);
  ASSERT_EQ(minidump.status, 200);
  EXPECT_EQ(minidump.body, minidump_);
  EXPECT_EQ(minidump.header("Content-Disposition"), "attachment; filename=\"" + id_ + "-upload_file_minidump.dmp\"");

  json unknown = expect_json(get(dump_url("no_such_dump"), token), 404, "unknown dump");
  EXPECT_EQ(unknown["error"], "crash " + id_ + " has no dump named no_such_dump");
  json bad = expect_json(get(dump_url("..%2Fraw_crash"), token), 400, "bad dump name");
  EXPECT_TRUE(bad["errors"]["name"].is_array()) << bad.dump();
  json missing = expect_json(get("/api/RawCrash/?crash_id=" + CrashId::generate(ThrottleResult::kAccept).str() +
                                 "&format=raw&name=memory_report", token),
                             404, "unknown crash");
  EXPECT_EQ(missing["error"], "crash not found");
  // Without view_rawdump: 403 whoever asks.
  EXPECT_EQ(get(dump_url()).status, 403);
  EXPECT_EQ(get(dump_url(), make_token("reader", {"view_pii"})).status, 403);
  // The download is logged with its owner, not the token.
  EXPECT_TRUE(contains(sink_->text(), "dump downloaded")) << sink_->text();
}

TEST_F(ApiTokenTest, RevokedExpiredAndDisabledOwnerTokensAreRefused) {
  std::string revoked = make_token("rita", {"view_pii", "view_rawdump"});
  auto& store = *accounts_.owned;
  expect_sees_markers(revoked, "before revoking");
  ASSERT_TRUE(store.revoke_token(store.list_tokens("rita").front().id));
  expect_refused(revoked, "the Auth-Token has been revoked", "revoked");

  auto now = std::chrono::system_clock::now();
  std::string expired = make_token("ed", {"view_pii", "view_rawdump"}, {}, 1, now - 25h);
  expect_refused(expired, "the Auth-Token has expired", "expired");

  std::string owned = make_token("dora", {"view_pii", "view_rawdump"});
  expect_sees_markers(owned, "enabled owner");
  store.set_disabled("dora", true);
  expect_refused(owned, "the Auth-Token's user is disabled", "disabled owner");
  store.set_disabled("dora", false);
  expect_sees_markers(owned, "enabled again");

  std::string unknown = "bwt_" + random_hex(32);
  secrets_.push_back(unknown);
  expect_refused(unknown, "the Auth-Token is unknown", "unknown");
  EXPECT_TRUE(contains(sink_->text(), "Auth-Token refused")) << sink_->text();
}

TEST_F(ApiTokenTest, PermissionRevokedFromTheOwnerNarrowsTheTokenAtOnce) {
  std::string token = make_token("olga", {"view_pii", "view_rawdump"});
  auto& store = *accounts_.owned;
  expect_sees_markers(token, "before");
  store.revoke("olga", {"view_pii"});
  expect_redacted({{"Auth-Token", token}}, "view_pii revoked from the owner");
  EXPECT_EQ(get(dump_url(), token).body, dump_);  // view_rawdump kept
  store.revoke("olga", {"view_rawdump"});
  EXPECT_EQ(get(dump_url(), token).status, 403);
  // Granting the owner a permission back gives it back to the token (the token was made with it).
  store.grant("olga", {"view_pii"});
  expect_sees_markers(token, "granted again");
}

TEST_F(ApiTokenTest, MalformedHeaderValuesAre403JsonAndTheServerGoesOn) {
  std::string valid = make_token("mal", {"view_pii"});
  const std::string malformed_reason = "the Auth-Token is not a Breakwater token (bwt_ and 64 hex digits)";
  std::string hex64 = random_hex(32);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"10 KB", std::string(10 * 1024, 'a')},
      {"10 KB with the prefix", "bwt_" + std::string(10 * 1024, 'f')},
      {"non-ASCII", "bwt_\xc3\xa9\xe2\x82\xac" + hex64.substr(0, 59)},
      {"non-UTF-8", "bwt_\xff\xfe" + hex64.substr(0, 62)},
      {"63 hex digits", "bwt_" + hex64.substr(0, 63)},
      {"65 hex digits", "bwt_" + hex64 + "0"},
      {"uppercase hex", "bwt_" + std::string(64, 'A')},
      {"a scheme before it", "Bearer " + valid},
      {"a label after it", valid + "-label"},
      {"SQL", "bwt_' OR 1=1 --"},
      {"percent-encoded", "bwt_%00" + hex64.substr(0, 61)},
  };
  for (const auto& [what, value] : cases) {
    for (const auto& target : {processed_url(), search_url(), dump_url(), std::string("/api/SuperSearchFields/")}) {
      auto r = get(target, Headers{{"Auth-Token", value}});
      json body = expect_json(r, 403, what + " " + target);
      EXPECT_EQ(body, (json{{"error", malformed_reason}})) << what;
      expect_private(r, "", what);
      EXPECT_FALSE(contains(everything(r), marker_)) << what;
      if (value.size() > 8) {
        EXPECT_FALSE(contains(r.body, value.substr(4))) << what << ": the value is echoed";
      }
    }
  }
  // Two Auth-Token headers: refused, whichever is valid.
  auto twice = get(processed_url(), Headers{{"Auth-Token", valid}, {"Auth-Token", "bwt_" + hex64}});
  EXPECT_EQ(expect_json(twice, 403, "two headers"), (json{{"error", "give one Auth-Token header, not 2"}}));
  EXPECT_FALSE(contains(everything(twice), valid));
  // The server is still serving, anonymous and token callers alike.
  EXPECT_EQ(get(processed_url()).status, 200);
  expect_sees_markers(valid, "after the malformed values");
}

TEST_F(ApiTokenTest, PagesIgnoreTheToken) {
  std::string token = make_token("pages", {"view_pii", "view_rawdump"});
  for (const auto& target : {"/report/index/" + id_, "/report/status/" + id_}) {
    auto r = get(target, token);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_FALSE(contains(everything(r), marker_)) << target;
    EXPECT_FALSE(contains(everything(r), token)) << target;
  }
}

// An AuthStore whose check_token blocks until released (the SQLite store cannot be made to).
class BlockingAuthStore final : public auth::AuthStore {
 public:
  auth::User add_user(std::string_view, std::string_view, const auth::PermissionSet&) override { throw std::logic_error("unused"); }
  std::vector<auth::User> list_users() override { throw std::logic_error("unused"); }
  std::optional<auth::User> find_user(std::string_view) override { throw std::logic_error("unused"); }
  void set_disabled(std::string_view, bool) override { throw std::logic_error("unused"); }
  void set_password(std::string_view, std::string_view) override { throw std::logic_error("unused"); }
  std::optional<auth::User> check_password(std::string_view, std::string_view) override { throw std::logic_error("unused"); }
  auth::Group add_group(std::string_view, const auth::PermissionSet&) override { throw std::logic_error("unused"); }
  std::vector<auth::Group> list_groups() override { throw std::logic_error("unused"); }
  void delete_group(std::string_view) override { throw std::logic_error("unused"); }
  bool add_member(std::string_view, std::string_view) override { throw std::logic_error("unused"); }
  bool remove_member(std::string_view, std::string_view) override { throw std::logic_error("unused"); }
  auth::CreatedToken create_token(std::string_view, std::string_view, const auth::PermissionSet&, int,
                                  std::chrono::system_clock::time_point) override {
    throw std::logic_error("unused");
  }
  std::vector<auth::TokenInfo> list_tokens(std::optional<std::string_view>) override { throw std::logic_error("unused"); }
  bool revoke_token(int64_t) override { throw std::logic_error("unused"); }
  auth::PermissionSet edit_user_permissions(std::string_view, const PermissionEdit&) override {
    throw std::logic_error("unused");
  }
  auth::PermissionSet edit_group_permissions(std::string_view, const PermissionEdit&) override {
    throw std::logic_error("unused");
  }
  auth::CreatedSession create_session(std::string_view, std::chrono::minutes,
                                      std::chrono::system_clock::time_point) override {
    throw std::logic_error("unused");
  }
  std::optional<auth::Session> check_session(std::string_view, std::chrono::system_clock::time_point) override {
    throw std::logic_error("unused");
  }
  bool end_session(std::string_view) override { throw std::logic_error("unused"); }
  int end_sessions_of(std::string_view) override { throw std::logic_error("unused"); }
  std::string create_signin_link(std::string_view, std::chrono::minutes, std::chrono::system_clock::time_point) override {
    throw std::logic_error("unused");
  }
  std::optional<std::string> redeem_signin_link(std::string_view, std::chrono::system_clock::time_point) override {
    throw std::logic_error("unused");
  }
  auth::TokenCheck check_token(std::string_view, std::chrono::system_clock::time_point) override {
    entered.set_value();
    release.get_future().wait();
    auth::TokenCheck c;
    c.result = auth::TokenCheck::Result::kValid;
    c.user = "blocked";
    c.permissions = {"view_pii"};
    return c;
  }

  std::promise<void> entered;
  std::promise<void> release;
};

TEST_F(ApiTokenTest, TheTokenCheckRunsOnTheWorkerPool) {
  BlockingAuthStore blocking;
  WebApp app(*config_, *storage_, *queue_, index_.get(), Accounts{&blocking, ""});
  http::ServerOptions opts = test_support::small_server_options(true);
  http::Server server(opts);
  app.add_routes(server);
  server.start();
  auto fetch = [&](const std::string& target, const Headers& headers) {
    http::Connection c("127.0.0.1", server.port());
    EXPECT_TRUE(c.send(http::make_request("GET", target, headers, "")));
    return c.read_response(30s);
  };
  auto pending = std::async(std::launch::async, [&] { return fetch(processed_url(), {{"Auth-Token", "bwt_x"}}); });
  ASSERT_EQ(blocking.entered.get_future().wait_for(10s), std::future_status::ready);
  // The one I/O thread is free while the check is blocked.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(fetch("/api/SuperSearchFields/", {}).status, 200);
  EXPECT_EQ(fetch("/api/SuperSearchUnredacted/", {}).status, 403);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  blocking.release.set_value();
  auto r = pending.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, marker("email")));
  server.stop();
}

// POST /api/Reprocessing/ and /api/PriorityJob/ (web/reprocessing_api.h): only a token holding
// reprocess_crashes queues anything; ids are checked all or nothing; each lands on its queue with
// its ruleset.
TEST_F(ApiTokenTest, ReprocessingNeedsReprocessCrashesAndQueuesTheCrashes) {
  auto post = [&](const std::string& target, const std::string& body, Headers headers) {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    http::Connection c("127.0.0.1", server_->port());
    EXPECT_TRUE(c.send(http::make_request("POST", target, headers, body)));
    return c.read_response(30s);
  };
  auto drain = [&] {
    std::vector<queue::Delivery> got;
    while (auto d = queue_->consume(200ms)) {
      got.push_back(*d);
      queue_->ack(*d);
    }
    return got;
  };
  const std::string reprocessor = make_token("reprocessor", {"reprocess_crashes"});
  const std::string viewer = make_token("viewer", {"view_pii"});

  auto anonymous = post("/api/Reprocessing/", "crash_ids=" + id_, {});
  EXPECT_EQ(anonymous.status, 403);
  EXPECT_TRUE(contains(anonymous.body, "reprocess_crashes")) << anonymous.body;
  EXPECT_EQ(post("/api/Reprocessing/", "crash_ids=" + id_, {{"Auth-Token", viewer}}).status, 403);
  EXPECT_EQ(post("/api/PriorityJob/", "crash_ids=" + id_, {{"Auth-Token", viewer}}).status, 403);
  EXPECT_TRUE(drain().empty()) << "a refused request queued something";

  // All or nothing: one unknown or malformed id and nothing is queued.
  const std::string unknown = "00000000-0000-0000-0000-000000260101";
  auto bad = post("/api/Reprocessing/", "crash_ids=" + id_ + "&crash_ids=" + unknown, {{"Auth-Token", reprocessor}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(contains(bad.body, "crash not found: " + unknown)) << bad.body;
  bad = post("/api/Reprocessing/", "crash_ids=" + id_ + "&crash_ids=nonsense", {{"Auth-Token", reprocessor}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(contains(bad.body, "not a crash id: nonsense")) << bad.body;
  EXPECT_EQ(post("/api/Reprocessing/", "", {{"Auth-Token", reprocessor}}).status, 400);
  EXPECT_TRUE(drain().empty());

  auto ok = post("/api/Reprocessing/", "crash_ids=bp-" + id_ + "&crash_ids=" + id_ + "%3Aregenerate_signature",
                 {{"Auth-Token", reprocessor}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "true");
  EXPECT_EQ(ok.header("Cache-Control"), "private, no-store");
  auto queued = drain();
  ASSERT_EQ(queued.size(), 2u);
  for (const auto& d : queued) {
    EXPECT_EQ(d.queue, queue::QueueKind::kReprocessing);
    EXPECT_EQ(d.message.id.str(), id_);
  }
  EXPECT_NE(queued[0].message.ruleset, queued[1].message.ruleset) << "one default, one regenerate_signature";

  ok = post("/api/PriorityJob/", "crash_ids=" + id_, {{"Auth-Token", reprocessor}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  queued = drain();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].queue, queue::QueueKind::kPriority);
  // GET is not how these are called: 405 naming POST.
  auto wrong = get("/api/Reprocessing/?crash_ids=" + id_, reprocessor);
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "POST");
  EXPECT_TRUE(drain().empty());
}

TEST_F(ApiTokenTest, WithoutAnAccountStoreEveryTokenIsRefusedSayingWhy) {
  // A server given no store (Accounts{}: tools and tests that serve without accounts) refuses
  // every token, saying so, and still serves anonymous callers.
  Accounts none;
  ASSERT_EQ(none.store, nullptr);
  ASSERT_FALSE(none.unavailable.empty());

  WebApp app(*config_, *storage_, *queue_, index_.get(), none);
  http::ServerOptions opts = test_support::small_server_options(true);
  http::Server server(opts);
  app.add_routes(server);
  server.start();
  std::string token = make_token("nostore", {"view_pii"});
  for (const auto& target : api_targets()) {
    http::Connection c("127.0.0.1", server.port());
    ASSERT_TRUE(c.send(http::make_request("GET", target, {{"Auth-Token", token}}, "")));
    auto r = c.read_response(30s);
    EXPECT_EQ(expect_json(r, 403, target), (json{{"error", none.unavailable}})) << target;
    EXPECT_FALSE(contains(everything(r), marker_)) << target;
  }
  http::Connection c("127.0.0.1", server.port());
  ASSERT_TRUE(c.send(http::make_request("GET", processed_url(), {}, "")));
  EXPECT_EQ(c.read_response(30s).status, 200);
  server.stop();
}

TEST(ApiTokenAccounts, APostgresIndexHasItsAccountStoreInItsOwnDatabase) {
  // open_accounts opens the store of index.url's database (auth/postgres_auth_store.h, tested on
  // a real server in auth_test): a server that cannot be reached is a failure to start, as the
  // index's own, not a site without accounts.
  test_support::TempDir dir;
  Config::Sources sources;
  sources.overrides = {{"server.data", dir.path().string()},
                       {"index.url", "postgresql://user:pass@127.0.0.1:1/none"}};
  EXPECT_THROW(open_accounts(Config::load(sources)), auth::AuthUnavailable);
}

}  // namespace
}  // namespace bw::web
