// A site with one crash carrying unique markers in every protected place, served over real HTTP
// on loopback with the real parts (file-system crash storage, a SQLite crash index and the SQLite
// account store in the same file, opened by web::open_accounts as serve does), all in a temporary
// folder; every line the web and http loggers write is captured. Shared by the tests that prove
// who sees what: web/api_token_test.cc (API tokens) and web/route_matrix_test.cc (every route x
// every kind of caller).
#pragma once

#include <strings.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include "core/config.h"
#include "core/log.h"
#include "core/random.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "index/test_crashes.h"
#include "storage/factory.h"
#include "web/caller_auth.h"
#include "web/web_app.h"
#include "web/web_test_support.h"

namespace bw::web::site_test {

using nlohmann::json;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

using test::contains;

inline std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  bw::random_bytes(b.data(), b.size());
  std::string out;
  for (unsigned char c : b) {
    out += "0123456789abcdef"[c >> 4];
    out += "0123456789abcdef"[c & 15];
  }
  return out;
}

// The value of cookie `name` in a Set-Cookie header of `r` ("" when not set), and the header.
inline std::pair<std::string, std::string> set_cookie(const http::ClientResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != 10 || strncasecmp(k.c_str(), "Set-Cookie", 10) != 0) continue;
    std::string prefix = std::string(name) + "=";
    if (v.starts_with(prefix)) return {v.substr(prefix.size(), v.find(';') - prefix.size()), v};
  }
  return {"", ""};
}

// Everything an answer says: status line, headers and body.
inline std::string everything(const http::ClientResponse& r) {
  std::string all = std::to_string(r.status) + "\n" + r.body;
  for (const auto& [k, v] : r.headers) all += "\n" + k + ": " + v;
  return all;
}

// Every line logged while it is installed, on the loggers the web app and the server use.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    text_.append(msg.payload.data(), msg.payload.size());
    text_ += '\n';
  }
  void flush_() override {}

 private:
  std::string text_;
};


class MarkedSiteTest : public ::testing::Test {
 protected:
  // More routes on the same server before it starts (the route matrix adds the rest of a site).
  virtual void add_more_routes(http::Server&) {}
  // More configuration ("section.key", value) for the site (OpenID Connect tests: [oidc]).
  virtual std::vector<std::pair<std::string, std::string>> extra_config() { return {}; }

  void SetUp() override {
    marker_ = "tk" + random_hex(8);
    Config::Sources sources;
    // Flavor is a declared site annotation that stays protected (not :public).
    sources.overrides = {{"server.data", dir_.path().string()}, {"index.annotations", "Flavor:string"}};
    for (auto& kv : extra_config()) sources.overrides.push_back(std::move(kv));
    config_ = std::make_unique<Config>(Config::load(sources));
    storage_ = storage::make_primary_storage(*config_);
    queue_ = queue::open_crash_queue(queue::QueueSettings::from_config(*config_));
    index_ = index::open_crash_index(*config_);
    accounts_ = open_accounts(*config_);
    ASSERT_NE(accounts_.accounts.store, nullptr);

    plant_crash();

    sink_ = std::make_shared<CaptureSink>();
    for (const char* part : {"web", "http"}) logger(part)->sinks().push_back(sink_);

    app_ = std::make_unique<WebApp>(*config_, *storage_, *queue_, index_.get(), accounts_.accounts);
    http::ServerOptions opts;
    opts.io_threads = 1;
    opts.worker_threads = 4;
    opts.access_log = true;  // the access log must not show a token either
    server_ = std::make_unique<http::Server>(opts);
    app_->add_routes(*server_);
    add_more_routes(*server_);
    server_->start();
  }

  void TearDown() override {
    if (!server_) return;  // SetUp failed
    server_->stop();
    app_.reset();
    for (const char* part : {"web", "http"}) {
      auto& sinks = logger(part)->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    }
    // No token made in the test ever reached the log; a marker neither.
    std::string log = sink_->text();
    EXPECT_TRUE(contains(log, "request method=GET")) << "the access log was not captured:\n" << log;
    for (const auto& secret : secrets_) EXPECT_FALSE(contains(log, secret)) << "a token was logged:\n" << log;
    EXPECT_FALSE(contains(log, marker_)) << "a protected value was logged:\n" << log;
  }

  std::string marker(const std::string& what) const { return marker_ + "-" + what; }

  // One crash, stored (raw, two dumps, processed) and indexed, with a marker in every protected place.
  void plant_crash() {
    index::test_data::GeneratorOptions gen;
    gen.seed = 7;
    gen.end = std::chrono::system_clock::now();
    gen.days = 1;
    auto crash = index::test_data::CrashGenerator(gen).next();
    json processed = crash.processed;
    json raw = crash.raw;
    id_ = processed["uuid"].get<std::string>();
    processed["product"] = "TokenTest";
    processed["url"] = "https://" + marker("url") + ".example/page";
    processed["email"] = marker("email") + "@example.com";
    processed["user_comments"] = "it broke " + marker("comments");
    raw["ProductName"] = "TokenTest";
    raw["URL"] = processed["url"];
    raw["Email"] = processed["email"];
    raw["Comments"] = processed["user_comments"];
    raw["UnknownSecret"] = marker("unknown");
    raw["Flavor"] = marker("flavor");
    raw["uuid"] = id_;
    raw["submitted_timestamp"] = processed["date_processed"];
    raw["version"] = 2;
    raw["metadata"] = {{"payload", "multipart"}};
    processed["raw_crash"] = raw;
    minidump_ = "MDMP" + std::string("\0\x01\xff minidump ", 14) + random_hex(16);
    dump_ = std::string("memory report \0\xfe\xff ", 19) + marker("dump") + std::string(3000, '\x7f');
    CrashId id = *CrashId::parse(id_);
    storage_->save_raw_crash(id, raw, {{"upload_file_minidump", minidump_}, {"memory_report", dump_}});
    storage_->save_processed(id, processed);
    index_->upsert(processed, raw);

    // The markers are really there: otherwise "no marker in any answer" would prove nothing.
    ASSERT_TRUE(contains(storage_->get_raw_crash(id).dump(), marker("unknown")));
    ASSERT_EQ(storage_->get_dump(id, "memory_report"), dump_);
    json hit = index_->search({{"uuid", id_}, {"_columns", "url,email,user_comments,Flavor"}}, {"view_pii"});
    ASSERT_EQ(hit["total"], 1) << hit.dump();
    ASSERT_TRUE(contains(hit.dump(), marker("url")) && contains(hit.dump(), marker("flavor"))) << hit.dump();
  }

  // A user with `permissions` and a token of theirs holding `token_permissions` (all of the
  // user's when empty).
  std::string make_token(const std::string& user, const auth::PermissionSet& permissions,
                         const auth::PermissionSet& token_permissions = {}, int days = 90,
                         std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    auto& store = *accounts_.owned;
    if (!store.find_user(user)) store.add_user(user, "correct horse battery", permissions);
    std::string secret = store.create_token(user, "test", token_permissions, days, now).secret;
    secrets_.push_back(secret);
    return secret;
  }

  http::ClientResponse get(const std::string& target, const Headers& headers = {}) {
    http::Connection c("127.0.0.1", server_->port());
    EXPECT_TRUE(c.send(http::make_request("GET", target, headers, "")));
    return c.read_response(30s);
  }
  http::ClientResponse get(const std::string& target, const std::string& token) {
    return get(target, Headers{{"Auth-Token", token}});
  }

  std::string processed_url() const { return "/api/ProcessedCrash/?crash_id=" + id_; }
  std::string raw_url() const { return "/api/RawCrash/?crash_id=" + id_ + "&format=meta"; }
  std::string dump_url(const std::string& name = "memory_report") const {
    return "/api/RawCrash/?crash_id=" + id_ + "&format=raw&name=" + name;
  }
  std::string search_url() const {
    return "/api/SuperSearch/?uuid=" + id_ + "&_columns=uuid,url,email,user_comments,Flavor&_facets=email,Flavor";
  }
  std::string unredacted_url() const {
    return "/api/SuperSearchUnredacted/?uuid=" + id_ + "&_columns=uuid,url,email,user_comments,Flavor";
  }
  // A filter on a protected field (contains the URL marker).
  std::string filter_url() const { return "/api/SuperSearch/?url=~" + marker("url") + "&_columns=uuid,url"; }

  // Every API answer that could carry a marker, for one caller.

  json expect_json(const http::ClientResponse& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body.substr(0, 500);
    EXPECT_EQ(r.header("Content-Type"), "application/json") << what;
    return json::parse(r.body);
  }

  // A refused token: 403 {"error": reason} on every API route, private, the reason exact.

  std::string id_;
  std::string marker_;
  std::string minidump_, dump_;
  std::vector<std::string> secrets_;
  test_support::TempDir dir_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<storage::FileSystemCrashStorage> storage_;
  std::unique_ptr<queue::CrashQueue> queue_;
  std::unique_ptr<index::CrashIndex> index_;
  OpenedAccounts accounts_;
  std::shared_ptr<CaptureSink> sink_;
  std::unique_ptr<WebApp> app_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace bw::web::site_test
