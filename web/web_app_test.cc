// The web app over real HTTP on loopback (http::Server), on real file-system crash storage and
// the embedded queue: report, pending, redirects, error pages, the JSON API, static files.
#include "web/web_app.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "storage/factory.h"
#include "tests/test_server_options.h"
#include "web/static_assets.h"
#include "web/web_test_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json read_json(const std::string& path) { return json::parse(fs::read_file(path)); }

using test::contains;

class WebAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    consumer_ = queue::open_crash_queue(queue::QueueSettings::from_config(site_.config));
    app_ = std::make_unique<WebApp>(site_.config, *site_.storage, *site_.queue);
    http::ServerOptions opts = test_support::small_server_options();
    server_ = std::make_unique<http::Server>(opts);
    // An exact route of another part, as the collector's /submit is under serve.
    server_->route({"POST", "/submit", 1024, [](const http::Request&) -> http::Reply { return http::Response::text(200, "ok"); }});
    app_->add_routes(*server_);
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    app_.reset();
  }

  http::ClientResponse get(const std::string& target, const std::string& method = "GET") {
    return test::request_to(server_->port(), target, method);
  }

  // A stored raw crash with one dump; returns its id.
  CrashId store_raw(ThrottleResult throttle, json raw) {
    CrashId id = CrashId::generate(throttle);
    raw["uuid"] = id.str();
    raw["submitted_timestamp"] = "2026-01-02T03:04:05.000000+00:00";
    raw["version"] = 2;
    raw["metadata"] = {{"payload", "multipart"}, {"collector_notes", json::array({"removed Email from raw crash"})}};
    site_.storage->save_raw_crash(id, raw, {{"upload_file_minidump", std::string("MDMP secret dump bytes")}});
    return id;
  }

  json processed_for(const CrashId& id) {
    json dump = read_json(std::string(BW_TESTDATA_DIR) + "/expected/rust-minidump/pipeline-inlines-macos-segv.json");
    return {{"uuid", id.str()},
            {"signature", "sadness_generator::raise_segfault"},
            {"product", "BreakwaterTest"},
            {"version", "1.0"},
            {"url", "https://private.example/secret-url"},
            {"email", "secret-email@example.com"},
            {"user_comments", "secret comment"},
            {"crashing_thread", 0},
            {"success", true},
            {"mdsw_status_string", "OK"},
            {"json_dump", dump}};
  }

  test_support::TempDir dir_;
  test::SiteParts site_{dir_, {{"web.public_annotations", "SiteExtra"}}};
  std::unique_ptr<queue::CrashQueue> consumer_;
  std::unique_ptr<WebApp> app_;
  std::unique_ptr<http::Server> server_;
};

const json kAnnotations = {{"ProductName", "BreakwaterTest"},
                           {"Version", "1.0"},
                           {"SiteExtra", "declared public by the site"},
                           {"URL", "https://private.example/secret-url"},
                           {"Email", "secret-email@example.com"},
                           {"Comments", "secret comment"},
                           {"UnknownThing", "secret unknown"}};

TEST_F(WebAppTest, ReportPageShowsTheProcessedCrashAndNothingProtected) {
  CrashId id = store_raw(ThrottleResult::kAccept, kAnnotations);
  site_.storage->save_processed(id, processed_for(id));
  auto r = get("/report/index/" + id.str());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(contains(r.header("Content-Security-Policy"), "script-src 'self'"));
  EXPECT_TRUE(contains(r.body, "sadness_generator::raise_segfault"));
  EXPECT_TRUE(contains(r.body, "sadness-generator/src/lib.rs:133"));
  EXPECT_TRUE(contains(r.body, "declared public by the site"));
  EXPECT_TRUE(contains(r.body, static_asset("style.css").path));
  for (const char* secret : {"secret-url", "secret-email", "secret comment", "secret unknown", "secret dump"}) {
    EXPECT_FALSE(contains(r.body, secret)) << secret;
  }
  // HEAD answers the same status without a body.
  EXPECT_EQ(get("/report/index/" + id.str(), "HEAD").status, 200);
}

TEST_F(WebAppTest, PrefixAndTrailingSlashRedirectToTheBareId) {
  CrashId id = store_raw(ThrottleResult::kAccept, kAnnotations);
  for (const std::string& target : {"/report/index/" + id.with_prefix(), "/report/index/" + id.str() + "/"}) {
    auto r = get(target);
    EXPECT_EQ(r.status, 301) << target;
    EXPECT_EQ(r.header("Location"), "/report/index/" + id.str());
  }
}

TEST_F(WebAppTest, ErrorPages) {
  auto malformed = get("/report/index/not-a-crash-id<script>");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(contains(malformed.body, "Not a crash id"));
  EXPECT_TRUE(contains(malformed.body, "not-a-crash-id&lt;script&gt;"));
  EXPECT_FALSE(contains(malformed.body, "<script>"));
  EXPECT_EQ(get("/report/index/").status, 400);
  EXPECT_EQ(get("/report/index/bp-xyz").status, 400);

  auto unknown = get("/report/index/" + CrashId::generate(ThrottleResult::kAccept).str());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(contains(unknown.body, "Crash not found"));

  auto nowhere = get("/no/such/page");
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_TRUE(contains(nowhere.body, "Page not found"));
  EXPECT_EQ(nowhere.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/").status, 404);
  // Exact routes of other parts still answer.
  http::Connection c("127.0.0.1", server_->port());
  c.send(http::make_request("POST", "/submit", {}, "x"));
  EXPECT_EQ(c.read_response().body, "ok");
}

TEST_F(WebAppTest, CorruptProcessedCrashIsA500Page) {
  CrashId id = store_raw(ThrottleResult::kAccept, kAnnotations);
  site_.storage->save_processed(id, processed_for(id));
  auto roots = storage::storage_roots(site_.config);
  std::filesystem::path file = roots.processed / id.date_folder() / "name" / id.str().substr(0, 2) /
                               id.str().substr(2, 2) / id.str() / "processed_crash.json.gz";
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  std::ofstream(file, std::ios::trunc) << "not gzip at all";
  auto r = get("/report/index/" + id.str());
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(contains(r.body, "Server error"));
  EXPECT_EQ(get("/api/ProcessedCrash/?crash_id=" + id.str()).status, 500);
}

TEST_F(WebAppTest, PendingCrashIsPushedToPriorityOncePerMinuteAndTurnsIntoTheReport) {
  CrashId id = store_raw(ThrottleResult::kDefer, kAnnotations);
  for (int i = 0; i < 3; ++i) {
    auto r = get("/report/index/" + id.str());
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(contains(r.body, "id=\"pending\""));
    EXPECT_TRUE(contains(r.body, static_asset("pending.js").path));
    EXPECT_FALSE(contains(r.body, "http-equiv"));  // no meta refresh
    auto s = get("/report/status/" + id.str());
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(json::parse(s.body)["state"], "pending");
  }
  // Six views and polls, one message on the priority queue, none on the others.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (app_->priority_requests().publishes_done() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(app_->priority_requests().publishes_done(), 1u);
  auto delivery = consumer_->consume(1s);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->queue, queue::QueueKind::kPriority);
  EXPECT_EQ(delivery->message.id, id);
  consumer_->ack(*delivery);
  EXPECT_FALSE(consumer_->consume(100ms));

  // Processed: the status flips and the page is the report.
  site_.storage->save_processed(id, processed_for(id));
  EXPECT_EQ(json::parse(get("/report/status/" + id.str()).body)["state"], "processed");
  auto r = get("/report/index/" + id.str());
  EXPECT_TRUE(contains(r.body, "sadness_generator::raise_segfault"));
  EXPECT_FALSE(contains(r.body, "id=\"pending\""));
}

TEST_F(WebAppTest, StatusErrors) {
  EXPECT_EQ(get("/report/status/nope").status, 400);
  auto unknown = get("/report/status/" + CrashId::generate(ThrottleResult::kAccept).str());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.header("Content-Type"), "application/json");
}

TEST_F(WebAppTest, ProcessedCrashApiReturnsPublicFieldsOnly) {
  CrashId id = store_raw(ThrottleResult::kAccept, kAnnotations);
  EXPECT_EQ(get("/api/ProcessedCrash/?crash_id=" + id.str()).status, 404);  // stored, not processed
  site_.storage->save_processed(id, processed_for(id));
  for (const std::string& given : {id.str(), id.with_prefix()}) {
    auto r = get("/api/ProcessedCrash/?crash_id=" + given);
    ASSERT_EQ(r.status, 200) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["signature"], "sadness_generator::raise_segfault");
    EXPECT_TRUE(body.contains("json_dump"));
    EXPECT_FALSE(body.contains("url"));
    EXPECT_FALSE(body.contains("email"));
    EXPECT_FALSE(body.contains("user_comments"));
    EXPECT_FALSE(contains(r.body, "secret"));
  }
}

TEST_F(WebAppTest, RawCrashApiReturnsPublicAnnotationsOnlyAndNoDumps) {
  CrashId id = store_raw(ThrottleResult::kAccept, kAnnotations);
  auto r = get("/api/RawCrash/?crash_id=" + id.str());
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["ProductName"], "BreakwaterTest");
  EXPECT_EQ(body["SiteExtra"], "declared public by the site");
  EXPECT_EQ(body["uuid"], id.str());
  EXPECT_FALSE(contains(r.body, "secret"));
  EXPECT_EQ(get("/api/RawCrash/?crash_id=" + id.str() + "&format=meta").status, 200);

  auto dump = get("/api/RawCrash/?crash_id=" + id.str() + "&format=raw&name=upload_file_minidump");
  EXPECT_EQ(dump.status, 403);
  EXPECT_EQ(json::parse(dump.body)["error"], "dumps need the view_rawdump permission");
  EXPECT_FALSE(contains(dump.body, "secret"));
  EXPECT_EQ(get("/api/RawCrash/?crash_id=" + id.str() + "&format=zip").status, 400);
}

TEST_F(WebAppTest, ApiErrorsAsCrashStatsAnswersThem) {
  for (const char* path : {"/api/ProcessedCrash/", "/api/RawCrash/"}) {
    auto missing = get(path);
    EXPECT_EQ(missing.status, 400) << path;
    EXPECT_TRUE(json::parse(missing.body)["errors"]["crash_id"].is_array()) << missing.body;
    EXPECT_EQ(get(std::string(path) + "?crash_id=").status, 400);
    EXPECT_EQ(get(std::string(path) + "?crash_id=xyz").status, 400);
    auto unknown = get(std::string(path) + "?crash_id=" + CrashId::generate(ThrottleResult::kAccept).str());
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(json::parse(unknown.body)["error"], "crash not found");
  }
}

TEST_F(WebAppTest, StaticFilesAreServedWithLongCacheLifetimes) {
  for (const char* name : {"style.css", "pending.js"}) {
    const auto& asset = static_asset(name);
    auto r = get(std::string(asset.path));
    ASSERT_EQ(r.status, 200) << name;
    EXPECT_EQ(r.body, asset.body);
    EXPECT_EQ(r.header("Content-Type"), asset.content_type);
    EXPECT_TRUE(contains(r.header("Cache-Control"), "max-age=31536000")) << name;
    // The URL holds a hash of the content.
    EXPECT_TRUE(asset.path.starts_with("/static/")) << asset.path;
    EXPECT_EQ(asset.path.size(), std::string_view("/static/").size() + asset.name.size() + 17) << asset.path;
  }
  EXPECT_EQ(get("/static/style.css").status, 404);
}

TEST_F(WebAppTest, HostileAnnotationsAreEscapedAndCut) {
  json raw = kAnnotations;
  raw["ProductName"] = "<script>alert(1)</script>";
  raw["Version"] = "\"><img src=x onerror=alert(1)>";
  raw["Notes"] = std::string(1 << 20, 'N');
  CrashId id = store_raw(ThrottleResult::kAccept, raw);
  json processed = processed_for(id);
  processed["product"] = raw["ProductName"];
  processed["version"] = raw["Version"];
  processed["app_notes"] = raw["Notes"];
  site_.storage->save_processed(id, processed);
  auto r = get("/report/index/" + id.str());
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(contains(r.body, "<script>alert"));
  EXPECT_FALSE(contains(r.body, "<img"));
  EXPECT_TRUE(contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(r.body, "1048576 bytes in all"));
  EXPECT_LT(r.body.size(), 512u * 1024u);
}

}  // namespace
}  // namespace bw::web
