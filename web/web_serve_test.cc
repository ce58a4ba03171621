// The web app inside a real `breakwater serve` (real collector, FS storage, queue, processors),
// over real HTTP:
// - protected data never leaks: crashes submitted with unique markers in URL, Email, Comments,
//   an annotation nobody declared public and an extra dump; every route the web app adds is
//   fetched (accepted and deferred crash, before and after processing) and no marker appears in
//   any status line, header or body. The markers are checked to be in storage first, so the test
//   fails if they were simply never stored.
// - a deferred crash viewed on the web is processed by itself (priority queue), without a reload
//   loop: the status endpoint turns to "processed" and the page becomes the report.
// - an API token made with `breakwater admin user add` / `admin token create` against the same
//   data folder while serve runs returns the markers (ProcessedCrash, RawCrash, the dump, a
//   protected-field filter) and nothing without it; revoked with the CLI it is refused at once;
//   it never appears in serve's output.
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/random.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "index/fields.h"
#include "storage/factory.h"
#include "tests/child_process/child_process.h"
#include "web/static_assets.h"

namespace bw::web {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path kTestdata = BW_TESTDATA_DIR;
const std::string kBin = BW_BREAKWATER_BIN;

std::string random_hex() {
  unsigned char bytes[8];
  bw::random_bytes(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) {
    out += "0123456789abcdef"[b >> 4];
    out += "0123456789abcdef"[b & 15];
  }
  return out;
}

class WebServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test_support::TempDir();
    marker_ = "mk" + random_hex();
    // Keep Email in storage (the collector drops it by default) so the web app is what hides it;
    // defer one product so a crash waits to be viewed.
    std::ofstream(dir_->path() / "breakwater.toml") << R"([collector]
removed_fields = []

[[collector.throttle_rules]]
name = "defer_test_product"
key = "ProductName"
condition = "equals"
value = "DeferMe"
result = "DEFER"
)";
    serve_ = new test_support::ChildProcess({kBin, "serve", "--config", (dir_->path() / "breakwater.toml").string(), "--data",
                                    (dir_->path() / "var").string(), "--listen", "127.0.0.1:0", "--symbols-path",
                                    (kTestdata / "symbols").string(), "--set", "processor.workers=1"},
                                   dir_->path() / "serve");
    ASSERT_TRUE(serve_->wait_for_output("breakwater serving on http://", 120s)) << serve_->err();
    std::smatch m;
    std::string out = serve_->out();
    ASSERT_TRUE(std::regex_search(out, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/")));
    port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
  }
  static void TearDownTestSuite() {
    delete serve_;
    delete dir_;
  }

  static std::string marker(const std::string& what) { return marker_ + "-" + what; }

  // Submits linux_inline.dmp plus a memory_report dump, with markers in every protected place.
  static std::string submit(const std::string& product) {
    fs::path extra_dump = dir_->path() / ("memory-report-" + product + ".bin");
    std::ofstream(extra_dump) << "memory report bytes " << marker("dump");
    auto r = test_support::run({kBin, "submit", "http://127.0.0.1:" + std::to_string(port_) + "/submit",
                       (kTestdata / "minidumps" / "linux_inline.dmp").string(), "memory_report=" + extra_dump.string(),
                       "-a", "ProductName=" + product, "-a", "Version=1.0", "-a",
                       "URL=https://" + marker("url") + ".example/page", "-a", "Email=" + marker("email") + "@example.com",
                       "-a", "UnknownSecret=" + marker("unknown"), "-a", "Throttleable=1",
                       // Comments on the deferred crash would make the collector accept it.
                       "-a", product == "DeferMe" ? "Notes=public notes" : "Comments=" + marker("comments")},
                      dir_->path() / ("submit-" + product));
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("CrashID=bp-([0-9a-f-]{36})"))) << r.out << r.err;
    return m.size() > 1 ? m[1].str() : "";
  }

  static http::ClientResponse get(const std::string& target) {
    http::Connection c("127.0.0.1", port_);
    EXPECT_TRUE(c.send(http::make_request("GET", target, {}, "")));
    return c.read_response(30s);
  }

  // Waits until primary storage has the raw crash (the crash mover moves it from the buffer).
  static void wait_stored(const std::string& id) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (get("/api/RawCrash/?crash_id=" + id).status == 200) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "crash " << id << " never reached primary storage";
  }

  static std::string wait_state(const std::string& id, const std::string& want, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string state;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = get("/report/status/" + id);
      if (r.status == 200) state = json::parse(r.body).value("state", "");
      if (state == want) return state;
      std::this_thread::sleep_for(100ms);
    }
    return state;
  }

  // Every route the web app adds, for one crash.
  static std::vector<std::string> routes_for(const std::string& id) {
    std::vector<std::string> targets = {
        "/report/index/" + id, "/report/index/bp-" + id, "/report/index/" + id + "/", "/report/status/" + id,
        "/api/ProcessedCrash/?crash_id=" + id, "/api/ProcessedCrash/?crash_id=bp-" + id,
        "/api/RawCrash/?crash_id=" + id, "/api/RawCrash/?crash_id=" + id + "&format=meta",
        "/api/RawCrash/?crash_id=" + id + "&format=raw&name=memory_report",
        "/api/RawCrash/?crash_id=" + id + "&format=raw&name=upload_file_minidump", "/", "/report/index/x",
        "/api/RawCrash/?crash_id=x", "/no/such/page"};
    for (const auto& asset : static_assets()) targets.emplace_back(asset.path);
    // The JSON API over the crash index, asking for every field in every way.
    std::string every_field;
    for (const auto& f : index::FieldCatalogue::builtin()->all()) every_field += (every_field.empty() ? "" : ",") + f.name;
    for (const std::string& query :
         {"uuid=" + id + "&_columns=" + every_field, "_columns=" + every_field + "&_facets=" + every_field,
          std::string("_aggs.product=url&_aggs.signature=user_comments&_histogram.date=email&_facets=_cardinality.url"),
          "url=" + marker("url"), "email=~" + marker("email"), "user_comments=~" + marker("comments")}) {
      targets.push_back("/api/SuperSearch/?" + query);
      targets.push_back("/api/SuperSearchUnredacted/?" + query);
    }
    targets.insert(targets.end(), {"/api/SuperSearchFields/", "/api/TopCrashers/?product=BreakwaterTest",
                                   "/api/TopCrashers/?product=DeferMe&days=28"});
    return targets;
  }

  static void expect_no_marker(const std::vector<std::string>& targets) {
    for (const auto& target : targets) {
      auto r = get(target);
      EXPECT_NE(r.status, 0) << target;
      std::string everything = std::to_string(r.status) + "\n" + r.body;
      for (const auto& [k, v] : r.headers) everything += "\n" + k + ": " + v;
      EXPECT_EQ(everything.find(marker_), std::string::npos) << target << " leaks a protected value";
    }
  }

  // The markers really are stored: otherwise "no marker in any answer" would prove nothing.
  static void expect_markers_stored(const std::string& id_text, bool processed) {
    Config::Sources sources;
    sources.overrides = {{"server.data", (dir_->path() / "var").string()}};
    auto storage = storage::make_primary_storage(Config::load(sources));
    auto id = *CrashId::parse(id_text);
    std::string raw = storage->get_raw_crash(id).dump();
    for (const char* what : {"url", "email", "unknown"}) EXPECT_NE(raw.find(marker(what)), std::string::npos) << what;
    EXPECT_NE(storage->get_dump(id, "memory_report").find(marker("dump")), std::string::npos);
    if (processed) {
      json p = storage->get_processed(id);
      EXPECT_NE(p.value("url", "").find(marker("url")), std::string::npos);
      EXPECT_NE(p.value("email", "").find(marker("email")), std::string::npos);
    }
  }

  static inline test_support::TempDir* dir_ = nullptr;
  static inline test_support::ChildProcess* serve_ = nullptr;
  static inline uint16_t port_ = 0;
  static inline std::string marker_;
};

TEST_F(WebServeTest, NoRouteLeaksProtectedDataOfAProcessedCrash) {
  std::string id = submit("BreakwaterTest");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(wait_state(id, "processed", 60s), "processed");
  expect_markers_stored(id, true);
  // Processed means indexed: the crash is found by Super Search.
  json found;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = get("/api/SuperSearch/?uuid=" + id);
    ASSERT_EQ(r.status, 200) << r.body;
    found = json::parse(r.body);
    if (found["total"] == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(found["total"], 1) << found.dump();
  EXPECT_EQ(found["hits"][0]["uuid"], id);
  EXPECT_EQ(found["hits"][0]["product"], "BreakwaterTest");
  {
    Config::Sources sources;
    sources.overrides = {{"server.data", (dir_->path() / "var").string()}};
    auto storage = storage::make_primary_storage(Config::load(sources));
    EXPECT_NE(storage->get_processed(*CrashId::parse(id)).value("user_comments", "").find(marker("comments")), std::string::npos);
  }
  auto page = get("/report/index/" + id);
  ASSERT_EQ(page.status, 200);
  // The real walk of linux_inline.dmp with the corpus symbols: names, files and lines.
  EXPECT_NE(page.body.find("func()"), std::string::npos) << page.body.substr(0, 2000);
  EXPECT_NE(page.body.find("linux_inline.cpp:27"), std::string::npos);
  expect_no_marker(routes_for(id));
}

TEST_F(WebServeTest, DeferredCrashIsProcessedWhenViewedAndLeaksNothing) {
  std::string id = submit("DeferMe");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(id[29], '1') << "the throttle rule did not defer " << id;
  wait_stored(id);
  // Nothing processes a deferred crash until someone asks for it.
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(get("/api/ProcessedCrash/?crash_id=" + id).status, 404);
  expect_markers_stored(id, false);
  // Fetches the pending page (which asks for priority processing) among the routes.
  auto pending = get("/report/index/" + id);
  ASSERT_EQ(pending.status, 200);
  EXPECT_NE(pending.body.find("id=\"pending\""), std::string::npos);
  expect_no_marker(routes_for(id));

  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_state(id, "processed", 30s), "processed");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  EXPECT_LT(took, 10s) << "priority processing took " << took.count() << " ms";
  auto report = get("/report/index/" + id);
  EXPECT_NE(report.body.find("func()"), std::string::npos);
  EXPECT_EQ(report.body.find("id=\"pending\""), std::string::npos);
  expect_markers_stored(id, true);
  expect_no_marker(routes_for(id));
}

TEST_F(WebServeTest, ApiTokenMadeWithTheCliSeesProtectedDataAndOnlyWithIt) {
  std::string id = submit("TokenTest");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(wait_state(id, "processed", 60s), "processed");
  expect_markers_stored(id, true);

  // An account and a token made with the CLI against the same data folder, while serve runs.
  std::string data = (dir_->path() / "var").string();
  fs::path password = dir_->path() / "password.txt";
  std::ofstream(password) << "correct horse battery staple\n";
  auto added = test_support::run({kBin, "admin", "user", "add", "triage", "--permission", "view_pii", "--permission",
                         "view_rawdump", "--password-file", password.string(), "--data", data},
                        dir_->path() / "user-add");
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  auto made = test_support::run({kBin, "admin", "token", "create", "--user", "triage", "--label", "web_serve_test", "--data", data},
                       dir_->path() / "token-create");
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  std::string out = made.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string token = out.substr(out.rfind('\n') + 1);
  ASSERT_EQ(token.size(), 68u) << made.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(made.out, m, std::regex("^token ([0-9]+) for triage"))) << made.out;
  std::string token_id = m[1].str();

  auto with_token = [&](const std::string& target, const std::string& value) {
    http::Connection c("127.0.0.1", port_);
    EXPECT_TRUE(c.send(http::make_request("GET", target, {{"Auth-Token", value}}, "")));
    return c.read_response(30s);
  };
  std::string processed = "/api/ProcessedCrash/?crash_id=" + id;
  std::string raw = "/api/RawCrash/?crash_id=" + id;
  std::string dump = "/api/RawCrash/?crash_id=" + id + "&format=raw&name=memory_report";
  // Every crash of this suite carries the same markers: the filter on the protected field is
  // narrowed to this crash.
  std::string filter = "/api/SuperSearch/?uuid=" + id + "&url=~" + marker("url") + "&_columns=uuid,url,email";

  // Without the token: nothing protected.
  expect_no_marker({processed, raw, dump, filter, "/api/SuperSearchUnredacted/?uuid=" + id + "&_columns=url"});

  // With it: the markers, and the dump byte for byte.
  auto p = with_token(processed, token);
  ASSERT_EQ(p.status, 200) << p.body.substr(0, 300);
  EXPECT_EQ(p.header("Cache-Control"), "private, no-store");
  json pc = json::parse(p.body);
  EXPECT_NE(pc.value("url", "").find(marker("url")), std::string::npos) << p.body.substr(0, 300);
  EXPECT_NE(pc.value("email", "").find(marker("email")), std::string::npos);
  EXPECT_NE(pc.value("user_comments", "").find(marker("comments")), std::string::npos);
  auto r = with_token(raw, token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).value("UnknownSecret", ""), marker("unknown"));
  auto d = with_token(dump, token);
  ASSERT_EQ(d.status, 200) << d.body.substr(0, 300);
  {
    Config::Sources sources;
    sources.overrides = {{"server.data", data}};
    auto storage = storage::make_primary_storage(Config::load(sources));
    EXPECT_EQ(d.body, storage->get_dump(*CrashId::parse(id), "memory_report"));
  }
  EXPECT_EQ(d.header("Content-Disposition"), "attachment; filename=\"" + id + "-memory_report.dmp\"");
  json found;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = with_token(filter, token);
    ASSERT_EQ(s.status, 200) << s.body;
    found = json::parse(s.body);
    if (found["total"] == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(found["total"], 1) << found.dump();
  EXPECT_EQ(found["hits"][0]["uuid"], id);
  EXPECT_NE(found["hits"][0].value("url", "").find(marker("url")), std::string::npos);
  // The filter really filters: a URL the crash does not have finds nothing.
  auto other = with_token("/api/SuperSearch/?uuid=" + id + "&url=~elsewhere.example", token);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(json::parse(other.body)["total"], 0);
  EXPECT_EQ(with_token("/api/SuperSearchUnredacted/?uuid=" + id + "&_columns=url", token).status, 200);

  // Pages stay anonymous whatever the header.
  auto page = with_token("/report/index/" + id, token);
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find(marker_), std::string::npos);

  // Revoked with the CLI: refused at once, by the running server.
  auto revoked = test_support::run({kBin, "admin", "token", "revoke", token_id, "--data", data}, dir_->path() / "token-revoke");
  ASSERT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;
  auto refused = with_token(processed, token);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(json::parse(refused.body)["error"], "the Auth-Token has been revoked");
  EXPECT_EQ(refused.body.find(marker_), std::string::npos);

  // The token was never logged or echoed.
  EXPECT_EQ(serve_->out().find(token), std::string::npos);
  EXPECT_EQ(serve_->err().find(token), std::string::npos);
  EXPECT_EQ(serve_->err().find(token.substr(4)), std::string::npos);
}

}  // namespace
}  // namespace bw::web
