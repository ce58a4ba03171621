// The collector over real HTTP on loopback, storing into the real FileSystemRawCrashStorage:
// every row of the docs/design.md §3 response table, the payload forms real clients send, limits,
// memory bounds, concurrency and slow clients.
#include "collector/collector.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <set>
#include <thread>

#include "collector/gzip_stream.h"
#include "collector/submit_client.h"
#include "collector/test_support.h"
#include "core/fs_util.h"
#include "core/metrics.h"
#include "http/client.h"
#include "http/health.h"
#include "storage/fs_crash_storage.h"

#if defined(__SANITIZE_ADDRESS__)
#define BW_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BW_TEST_ASAN 1
#endif
#endif
#ifdef BW_TEST_ASAN
// ASan keeps freed memory in a quarantine (256 MiB by default) that counts as resident; a small
// one keeps the peak-RSS assertions about the collector's own buffers meaningful.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=4"; }
#endif

namespace bw::collector {
namespace {

using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The real storage, with a switch that makes saves fail (the "storage failed" row).
class SwitchableStorage : public storage::CrashStorage {
 public:
  explicit SwitchableStorage(storage::CrashStorage& inner) : inner_(inner) {}
  std::atomic<bool> fail{false};
  void save_raw_crash(const CrashId& id, const nlohmann::json& raw, const std::vector<storage::DumpInput>& dumps) override {
    if (fail) throw storage::TransientStorageError("disk unplugged (test)");
    inner_.save_raw_crash(id, raw, dumps);
  }
  void save_processed(const CrashId& id, const nlohmann::json& p) override { inner_.save_processed(id, p); }
  nlohmann::json get_raw_crash(const CrashId& id) override { return inner_.get_raw_crash(id); }
  std::vector<std::string> get_dump_names(const CrashId& id) override { return inner_.get_dump_names(id); }
  std::string get_dump(const CrashId& id, const std::string& n) override { return inner_.get_dump(id, n); }
  storage::DumpFiles get_dumps_as_files(const CrashId& id) override { return inner_.get_dumps_as_files(id); }
  nlohmann::json get_processed(const CrashId& id) override { return inner_.get_processed(id); }
  bool has_raw_crash(const CrashId& id) override { return inner_.has_raw_crash(id); }
  void remove(const CrashId& id) override { inner_.remove(id); }
  std::vector<CrashId> new_crashes(size_t limit) override { return inner_.new_crashes(limit); }
  std::optional<CrashId> claim_new_crash(std::chrono::seconds lease) override { return inner_.claim_new_crash(lease); }
  void confirm_new_crash(const CrashId& id) override { inner_.confirm_new_crash(id); }
  void release_new_crash(const CrashId& id) override { inner_.release_new_crash(id); }

 private:
  storage::CrashStorage& inner_;
};

std::string hex_of(const unsigned char* d, unsigned len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
  return hex_of(d, len);
}

class CollectorHttpTest : public ::testing::Test {
 protected:
  void start(const std::function<void(CollectorOptions&)>& tweak = {}, http::ServerOptions server_options = {}) {
    root_ = dir_.path() / "collector";
    staging_ = dir_.path() / "staging";
    fs_storage_ = std::make_unique<storage::FileSystemRawCrashStorage>(root_);
    storage_ = std::make_unique<SwitchableStorage>(*fs_storage_);
    CollectorOptions o;
    o.storage_root = root_;
    o.staging_dir = staging_;
    o.heartbeat_min_free = 1 << 20;
    if (tweak) tweak(o);
    collector_ = std::make_unique<Collector>(o, *storage_);
    server_options.listen = "127.0.0.1:0";
    server_options.access_log = false;
    server_options.worker_threads = 16;
    server_ = std::make_unique<http::Server>(server_options);
    collector_->add_routes(*server_);
    http::add_health_routes(*server_, {"{}", {[this] { return collector_->health_problems(); }}});
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  http::ClientResponse post(const std::string& body, const Headers& headers) {
    http::Connection c("127.0.0.1", server_->port());
    c.send(http::make_request("POST", "/submit", headers, body));
    return c.read_response(120s);
  }
  http::ClientResponse post_multipart(const std::string& body, Headers extra = {}, const std::string& boundary = "BB") {
    extra.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
    return post(body, extra);
  }
  std::string url(const std::string& query = "") const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/submit" + query;
  }
  // The id in a "CrashID=bp-<id>\n" answer, or a test failure.
  CrashId id_of(const http::ClientResponse& r) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.rfind("CrashID=bp-", 0), 0u) << r.body;
    EXPECT_EQ(r.body.back(), '\n');
    auto id = CrashId::parse(r.body.substr(8, 3 + 36));
    if (!id) throw std::runtime_error("no crash id in '" + r.body + "'");
    return *id;
  }
  size_t stored() { return fs_storage_->new_crashes(100'000).size(); }
  size_t staged() { return testing::count_files(staging_); }

  testing::TempDir dir_;
  std::filesystem::path root_, staging_;
  std::unique_ptr<storage::FileSystemRawCrashStorage> fs_storage_;
  std::unique_ptr<SwitchableStorage> storage_;
  std::unique_ptr<Collector> collector_;
  std::unique_ptr<http::Server> server_;
};

const nlohmann::json kAnnotations = {{"ProductName", "Firefox"},
                                     {"Version", "120.0"},
                                     {"ReleaseChannel", "release"},
                                     {"Email", "someone@example.com"}};
const std::string kDump = "MDMP\x93\xa7" + std::string(5000, '\x42');

std::string body_of(const nlohmann::json& ann = kAnnotations, bool json = false,
                    std::vector<std::pair<std::string, std::string>> dumps = {{"upload_file_minidump", kDump}}) {
  return build_multipart_body("BB", ann, json, dumps);
}

TEST_F(CollectorHttpTest, AcceptedCrashIsStoredWithCollectorFields) {
  start();
  auto r = post_multipart(body_of(kAnnotations, false, {{"upload_file_minidump", kDump}, {"memory_report", "{\"m\":1}"}}),
                          {{"User-Agent", "Crashpad/0.8"}});
  auto id = id_of(r);
  EXPECT_EQ(id.throttle(), ThrottleResult::kAccept);
  ASSERT_TRUE(fs_storage_->has_raw_crash(id));
  auto raw = fs_storage_->get_raw_crash(id);
  EXPECT_EQ(raw["ProductName"], "Firefox");
  EXPECT_EQ(raw["Version"], "120.0");
  EXPECT_FALSE(raw.contains("Email"));  // a default removed field
  EXPECT_EQ(raw["uuid"], id.str());
  EXPECT_EQ(raw["version"], 2);
  EXPECT_EQ(raw["submitted_timestamp"].get<std::string>().substr(0, 2), "20");
  const auto& m = raw["metadata"];
  EXPECT_EQ(m["payload"], "multipart");
  EXPECT_EQ(m["payload_compressed"], "0");
  EXPECT_GT(m["payload_size"].get<uint64_t>(), kDump.size());
  EXPECT_EQ(m["user_agent"], "Crashpad/0.8");
  EXPECT_EQ(m["throttle_rule"], "default");
  EXPECT_EQ(m["dump_checksums"]["upload_file_minidump"], sha256_hex(kDump));
  EXPECT_EQ(m["dump_checksums"]["memory_report"], sha256_hex("{\"m\":1}"));
  EXPECT_NE(m["collector_notes"].dump().find("removed Email"), std::string::npos) << m;
  EXPECT_EQ(fs_storage_->get_dump(id, "upload_file_minidump"), kDump);
  EXPECT_EQ(fs_storage_->get_dump(id, "memory_report"), "{\"m\":1}");
  EXPECT_EQ(staged(), 0u);
}

TEST_F(CollectorHttpTest, DeferredRejectedAndFakeAccepted) {
  start([](CollectorOptions& o) {
    auto rule = [](const char* name, const char* channel, ThrottleAction a) {
      ThrottleRule r;
      r.name = name;
      r.key = "ReleaseChannel";
      r.condition = ThrottleRule::Condition::kEquals;
      r.value = channel;
      r.result = a;
      return r;
    };
    o.throttle_rules.push_back(rule("nightly_deferred", "nightly", ThrottleAction::kDefer));
    o.throttle_rules.push_back(rule("no_esr", "esr", ThrottleAction::kReject));
    o.throttle_rules.push_back(rule("beta_fake", "beta", ThrottleAction::kFakeAccept));
  });
  auto ann = kAnnotations;
  ann["ReleaseChannel"] = "nightly";
  auto deferred = id_of(post_multipart(body_of(ann)));
  EXPECT_EQ(deferred.throttle(), ThrottleResult::kDefer);
  EXPECT_EQ(fs_storage_->get_raw_crash(deferred)["metadata"]["throttle_rule"], "nightly_deferred");

  ann["ReleaseChannel"] = "esr";
  auto r = post_multipart(body_of(ann));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Discarded=rule_no_esr");

  ann["ReleaseChannel"] = "beta";
  auto fake = id_of(post_multipart(body_of(ann)));
  EXPECT_FALSE(fs_storage_->has_raw_crash(fake));

  // Hand-submitted crashes are accepted before any configured rule.
  ann["ReleaseChannel"] = "esr";
  ann["Throttleable"] = "0";
  auto hand = id_of(post_multipart(body_of(ann)));
  EXPECT_EQ(fs_storage_->get_raw_crash(hand)["metadata"]["throttle_rule"], "is_hand_submitted");
  EXPECT_EQ(stored(), 2u);
  EXPECT_EQ(staged(), 0u);
}

TEST_F(CollectorHttpTest, ProductKeysAreCheckedWhenASiteSetsThem) {
  const std::string key = "k3y-for-firefox-0123456789";
  start([&](CollectorOptions& o) { o.product_keys = {{"Firefox", key}}; });
  auto refused = [&](const std::string& query, const nlohmann::json& ann) {
    http::Connection c("127.0.0.1", server_->port());
    c.send(http::make_request("POST", "/submit" + query, {{"Content-Type", "multipart/form-data; boundary=BB"}}, body_of(ann)));
    return c.read_response(60s);
  };
  for (std::string query : {std::string(), std::string("?key="), "?key=" + key.substr(1), "?key=" + key + "x",
                            "?key=" + std::string(5000, 'k'), std::string("?key=%00")}) {
    auto r = refused(query, kAnnotations);
    EXPECT_EQ(r.status, 403) << query.substr(0, 40);
    EXPECT_EQ(r.body, "Discarded=bad_product_key");
  }
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(staged(), 0u);
  auto ok = id_of(refused("?key=" + key, kAnnotations));
  EXPECT_EQ(fs_storage_->get_raw_crash(ok).dump().find(key), std::string::npos) << "the key is not stored";
  // A product without a key is open unless the site requires one.
  auto other = kAnnotations;
  other["ProductName"] = "Thunderbird";
  id_of(refused("", other));
  // Crashpad names the product in the query string: the key applies the same.
  auto no_product = kAnnotations;
  no_product.erase("ProductName");
  EXPECT_EQ(refused("?product=Firefox", no_product).status, 403);
  id_of(refused("?product=Firefox&key=" + key, no_product));
  EXPECT_EQ(stored(), 3u);
}

TEST_F(CollectorHttpTest, RequiredProductKeysRefuseProductsWithoutOne) {
  start([](CollectorOptions& o) {
    o.product_keys = {{"Firefox", "0123456789abcdef"}};
    o.require_product_key = true;
  });
  auto other = kAnnotations;
  other["ProductName"] = "Thunderbird";
  EXPECT_EQ(post_multipart(body_of(other)).status, 403);
  auto none = kAnnotations;
  none.erase("ProductName");
  EXPECT_EQ(post_multipart(body_of(none)).status, 403);
  EXPECT_EQ(stored(), 0u);
}

TEST_F(CollectorHttpTest, MalformedRowsOfTheTable) {
  start();
  auto expect = [&](const http::ClientResponse& r, int status, const std::string& body) {
    EXPECT_EQ(r.status, status) << body;
    EXPECT_EQ(r.body, body);
    EXPECT_EQ(r.header("Content-Type").rfind("text/plain", 0), 0u);
  };
  std::string good = body_of();
  expect(post(good, {}), 400, "Discarded=malformed_no_content_type");
  expect(post(good, {{"Content-Type", "application/x-www-form-urlencoded"}}), 400, "Discarded=malformed_wrong_content_type");
  expect(post(good, {{"Content-Type", "multipart/form-data"}}), 400, "Discarded=malformed_no_boundary");
  expect(post_multipart(""), 400, "Discarded=malformed_no_content_length");
  expect(post_multipart(http::chunk_encode("", 10), {{"Transfer-Encoding", "chunked"}}), 400,
         "Discarded=malformed_no_content_length");
  expect(post_multipart(good, {{"Content-Encoding", "gzip"}}), 400, "Discarded=malformed_bad_gzip");
  std::string json_head = "--BB\r\nContent-Disposition: form-data; name=\"extra\"\r\nContent-Type: application/json\r\n\r\n";
  expect(post_multipart(json_head + "{\"a\": \r\n--BB--\r\n"), 400, "Discarded=malformed_invalid_json");
  expect(post_multipart(json_head + "\"just a string\"\r\n--BB--\r\n"), 400, "Discarded=malformed_invalid_json_value");
  expect(post_multipart(good.substr(0, good.size() - 20)), 400, "Discarded=malformed_invalid_payload_structure");
  expect(post_multipart("garbage without any boundary"), 400, "Discarded=malformed_invalid_payload_structure");
  expect(post_multipart(body_of(nlohmann::json::object())), 400, "Discarded=malformed_no_annotations");
  expect(post_multipart(body_of(kAnnotations, false, {{"bad-name", "x"}})), 400, "Discarded=malformed_invalid_dump_name");
  expect(post_multipart(body_of(kAnnotations, false, {{"dump_names", "x"}})), 400, "Discarded=malformed_invalid_dump_name");
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(staged(), 0u);
}

// Hardening finding 2: more dumps than storage keeps got a 500 (so clients resent it forever and
// the storage-failure metric fired). It is a permanent 400 now, and nothing is stored.
TEST_F(CollectorHttpTest, MoreDumpsThanStorageKeepsIsRefusedForGood) {
  start();
  auto failures = [] {
    auto text = metrics::Registry::global().exposition();
    auto at = text.find("\nbw_collector_storage_failures_total ");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at + 1) - at);
  };
  std::string failures_before = failures();
  std::vector<std::pair<std::string, std::string>> dumps;
  for (int i = 0; i < 257; ++i) dumps.emplace_back("d" + std::to_string(i), "x");
  auto r = post_multipart(body_of(kAnnotations, false, dumps));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Discarded=too_many_dumps");
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(staged(), 0u);
  dumps.pop_back();  // exactly the limit is fine
  auto id = id_of(post_multipart(body_of(kAnnotations, false, dumps)));
  EXPECT_EQ(fs_storage_->get_dump_names(id).size(), 256u);
  EXPECT_EQ(failures(), failures_before);
}

// Hardening finding 7: one unusual value in the JSON part cost the client its whole crash.
TEST_F(CollectorHttpTest, JsonValuesAStrictParserRefusesKeepTheCrash) {
  start();
  std::string json_head = "--BB\r\nContent-Disposition: form-data; name=\"extra\"\r\nContent-Type: application/json\r\n\r\n";
  std::string dump_part = "--BB\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"d.dmp\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n" + kDump + "\r\n";
  auto body = dump_part + json_head +
              R"({"ProductName":"Firefox","Huge":1e999999,"Lone":"a\ud800b","Version":"1","Version":"2"})" "\r\n--BB--\r\n";
  auto id = id_of(post_multipart(body));
  auto raw = fs_storage_->get_raw_crash(id);
  EXPECT_EQ(raw["ProductName"], "Firefox");
  EXPECT_EQ(raw["Huge"], "1e999999");
  EXPECT_EQ(raw["Lone"], "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(raw["Version"], "2");
  std::string notes = raw["metadata"]["collector_notes"].dump();
  EXPECT_NE(notes.find("'Huge' is out of range"), std::string::npos) << notes;
  EXPECT_NE(notes.find("unpaired UTF-16 surrogate"), std::string::npos) << notes;
  EXPECT_NE(notes.find("JSON key 'Version' sent twice"), std::string::npos) << notes;
  EXPECT_EQ(fs_storage_->get_dump(id, "upload_file_minidump"), kDump);
}

TEST_F(CollectorHttpTest, InvalidUtf8InTheQueryStringIsNoted) {
  start();
  http::Connection c("127.0.0.1", server_->port());
  c.send(http::make_request("POST", "/submit?product=Fire%FFfox&guid=abc", {{"Content-Type", "multipart/form-data; boundary=BB"}},
                            body_of(nlohmann::json{{"Version", "1"}})));
  auto id = id_of(c.read_response());
  auto raw = fs_storage_->get_raw_crash(id);
  EXPECT_EQ(raw["ProductName"], "Fire\xEF\xBF\xBD" "fox");
  EXPECT_NE(raw["metadata"]["collector_notes"].dump().find("query parameter 'product' had invalid UTF-8"), std::string::npos);
}

TEST_F(CollectorHttpTest, TooLargeCompressedOrInflated) {
  start([](CollectorOptions& o) {
    o.max_body_size = 100'000;
    o.max_decompressed_size = 300'000;
  });
  std::string big = body_of(kAnnotations, false, {{"upload_file_minidump", std::string(200'000, 'x')}});
  // Known from Content-Length.
  auto r = post_multipart(big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "Discarded=too_large");
  // Counted while a chunked body streams in.
  r = post_multipart(http::chunk_encode(big, 8192), {{"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "Discarded=too_large");
  // Small when compressed, too big inflated.
  std::string inflates = gzip_compress(body_of(kAnnotations, false, {{"upload_file_minidump", std::string(400'000, 'x')}}));
  ASSERT_LT(inflates.size(), 100'000u);
  r = post_multipart(inflates, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "Discarded=too_large");
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(staged(), 0u);
}

TEST_F(CollectorHttpTest, StorageFailureIs500WithEmptyBody) {
  start();
  storage_->fail = true;
  auto r = post_multipart(body_of());
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "");
  storage_->fail = false;
  id_of(post_multipart(body_of()));  // and it recovers
  EXPECT_EQ(stored(), 1u);
  EXPECT_EQ(staged(), 0u);
}

TEST_F(CollectorHttpTest, MultipartMixed) {
  start();
  std::string body = "--mixed\r\nContent-Disposition: attachment; name=\"ProductName\"\r\nContent-Type: text/plain\r\n\r\n"
                     "Thunderbird\r\n--mixed\r\nContent-Disposition: attachment; name=\"upload_file_minidump\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n" +
                     kDump + "\r\n--mixed--\r\n";
  auto id = id_of(post(body, {{"Content-Type", "multipart/mixed; boundary=mixed"}}));
  EXPECT_EQ(fs_storage_->get_raw_crash(id)["ProductName"], "Thunderbird");
  EXPECT_EQ(fs_storage_->get_dump(id, "upload_file_minidump"), kDump);
}

TEST_F(CollectorHttpTest, JsonExtraPlusTextPartsAndQueryString) {
  start();
  nlohmann::json extra = {{"ProductName", "Firefox"}, {"StackTraces", {{"status", "OK"}}}, {"BuildID", "20231101"}};
  std::string body = "--BB\r\nContent-Disposition: form-data; name=\"extra\"\r\nContent-Type: application/json\r\n\r\n" +
                     extra.dump() + "\r\n--BB\r\nContent-Disposition: form-data; name=\"Comments\"\r\n\r\nit broke\r\n" +
                     "--BB\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"x.dmp\"\r\n\r\n" +
                     kDump + "\r\n--BB--\r\n";
  http::Connection c("127.0.0.1", server_->port());
  c.send(http::make_request("POST", "/submit?product=Electron&version=27.0.1&guid=abc-123",
                            {{"Content-Type", "multipart/form-data; boundary=BB"}}, body));
  auto id = id_of(c.read_response());
  auto raw = fs_storage_->get_raw_crash(id);
  EXPECT_EQ(raw["metadata"]["payload"], "json");
  EXPECT_EQ(raw["StackTraces"]["status"], "OK");
  EXPECT_EQ(raw["Comments"], "it broke");
  EXPECT_EQ(raw["ProductName"], "Firefox");  // the annotation wins over the query string
  EXPECT_EQ(raw["Version"], "27.0.1");
  EXPECT_EQ(raw["guid"], "abc-123");
  EXPECT_EQ(raw["metadata"]["throttle_rule"], "has_comments");
}

TEST_F(CollectorHttpTest, QueryStringAloneCountsAsAnnotations) {
  start();
  std::string body = build_multipart_body("BB", nlohmann::json::object(), false, {{"upload_file_minidump", kDump}});
  http::Connection c("127.0.0.1", server_->port());
  c.send(http::make_request("POST", "/submit?product=App&version=1.0", {{"Content-Type", "multipart/form-data; boundary=BB"}}, body));
  auto raw = fs_storage_->get_raw_crash(id_of(c.read_response()));
  EXPECT_EQ(raw["ProductName"], "App");
}

TEST_F(CollectorHttpTest, ChunkedAndGzipLikeCrashpad) {
  start();
  std::string dump(300'000, '\0');
  for (size_t i = 0; i < dump.size(); ++i) dump[i] = static_cast<char>((i * 7919) >> 3);
  std::string body = gzip_compress(body_of(kAnnotations, false, {{"upload_file_minidump", dump}}));
  auto id = id_of(post_multipart(http::chunk_encode(body, 4000),
                                 {{"Transfer-Encoding", "chunked"}, {"Content-Encoding", "gzip"}}));
  auto raw = fs_storage_->get_raw_crash(id);
  EXPECT_EQ(raw["metadata"]["payload_compressed"], "1");
  EXPECT_EQ(raw["metadata"]["payload_size"], body.size());
  EXPECT_EQ(fs_storage_->get_dump(id, "upload_file_minidump"), dump);

  // The same through the libcurl client (chunked + gzip), and a large body that makes libcurl
  // send Expect: 100-continue.
  auto file = dir_.path() / "dump.dmp";
  fs::write_file_synced(file, dump);
  SubmitRequest req;
  req.url = url();
  req.dumps = {{"upload_file_minidump", file}};
  req.annotations = {{"ProductName", "Firefox"}};
  req.gzip = req.chunked = true;
  auto res = submit_crash(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(fs_storage_->get_dump(*CrashId::parse(res.body.substr(8, 39)), "upload_file_minidump"), dump);
  fs::write_file_synced(file, std::string(3u << 20, 'd'));
  req.gzip = req.chunked = false;
  res = submit_crash(req);
  EXPECT_EQ(res.status, 200) << res.body;
}

TEST_F(CollectorHttpTest, GzipBombIs413NothingStoredMemoryBounded) {
  start();  // defaults: 25 MiB compressed, 250 MiB inflated
  std::string bomb_body;
  {
    // A gzip of 400 MiB of zeros wrapped as the dump of an otherwise valid crash: prefix and suffix
    // are gzip members of their own (concatenated members are one stream).
    std::string head = "--BB\r\nContent-Disposition: form-data; name=\"ProductName\"\r\n\r\nFirefox\r\n"
                       "--BB\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"d\"\r\n\r\n";
    bomb_body = gzip_compress(head) + testing::gzip_of_zeros(400ull << 20) + gzip_compress("\r\n--BB--\r\n");
  }
  ASSERT_LT(bomb_body.size(), 25u << 20);
  testing::reset_peak_rss();
  auto r = post_multipart(bomb_body, {{"Content-Encoding", "gzip"}});
  uint64_t growth = testing::peak_rss_growth();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "Discarded=too_large");
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(staged(), 0u);
  EXPECT_LT(growth, 64u << 20) << "peak RSS grew by " << (growth >> 20) << " MiB";
}

TEST_F(CollectorHttpTest, HundredMegabyteDumpWithSmallMemory) {
  start([](CollectorOptions& o) { o.max_body_size = 200u << 20; });
  const uint64_t dump_size = 100u << 20;
  std::string head = "--BB\r\nContent-Disposition: form-data; name=\"ProductName\"\r\n\r\nFirefox\r\n"
                     "--BB\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"d\"\r\n\r\n";
  std::string tail = "\r\n--BB--\r\n";
  std::string piece(1 << 20, '\0');
  EVP_MD_CTX* sha = EVP_MD_CTX_new();
  EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
  testing::reset_peak_rss();
  http::Connection c("127.0.0.1", server_->port());
  c.send("POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: " +
         std::to_string(head.size() + dump_size + tail.size()) + "\r\n\r\n" + head);
  for (uint64_t sent = 0, n = 0; sent < dump_size; sent += piece.size(), ++n) {
    for (size_t i = 0; i < piece.size(); i += 4096) piece[i] = static_cast<char>(n + i);  // not all alike
    EVP_DigestUpdate(sha, piece.data(), piece.size());
    ASSERT_TRUE(c.send(piece));
  }
  c.send(tail);
  auto id = id_of(c.read_response(300s));
  uint64_t growth = testing::peak_rss_growth();
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(sha, d, &len);
  EVP_MD_CTX_free(sha);
  std::string hex = hex_of(d, len);
  auto raw = fs_storage_->get_raw_crash(id);
  EXPECT_EQ(raw["metadata"]["dump_checksums"]["upload_file_minidump"], hex);
  auto files = fs_storage_->get_dumps_as_files(id);
  EXPECT_EQ(std::filesystem::file_size(files.paths().at("upload_file_minidump")), dump_size);
  // The client's 1 MiB piece and the server's buffers; nowhere near the dump's 100 MiB.
  EXPECT_LT(growth, 32u << 20) << "peak RSS grew by " << (growth >> 20) << " MiB";
  EXPECT_EQ(staged(), 0u);
}

TEST_F(CollectorHttpTest, TwoHundredConcurrentUploads) {
  start();
  constexpr int kUploads = 200;
  std::vector<std::thread> threads;
  std::vector<std::string> answers(kUploads);
  std::atomic<int> ready{0};
  for (int i = 0; i < kUploads; ++i) {
    threads.emplace_back([&, i] {
      auto ann = kAnnotations;
      ann["Index"] = std::to_string(i);
      std::string body = body_of(ann, false, {{"upload_file_minidump", kDump + std::to_string(i)}});
      try {
        http::Connection c("127.0.0.1", server_->port(), 60s);
        // All 200 connections are open before any request goes out.
        ready.fetch_add(1);
        while (ready.load() < kUploads) std::this_thread::yield();
        c.send(http::make_request("POST", "/submit", {{"Content-Type", "multipart/form-data; boundary=BB"}}, body));
        answers[i] = c.read_response(300s).body;
      } catch (const std::exception& e) {
        ready.fetch_add(1);
        answers[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (int i = 0; i < kUploads; ++i) {
    ASSERT_EQ(answers[i].rfind("CrashID=bp-", 0), 0u) << i << ": " << answers[i];
    auto id = *CrashId::parse(answers[i].substr(8, 39));
    ids.insert(id.str());
    EXPECT_EQ(fs_storage_->get_raw_crash(id)["Index"], std::to_string(i));
    EXPECT_EQ(fs_storage_->get_dump(id, "upload_file_minidump"), kDump + std::to_string(i));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kUploads));
  EXPECT_EQ(stored(), static_cast<size_t>(kUploads));
}

TEST_F(CollectorHttpTest, SlowClientIsTimedOutOthersUnaffected) {
  http::ServerOptions so;
  so.read_timeout = 1s;
  so.header_timeout = 1s;
  so.io_threads = 1;  // one I/O thread: the stalled client must not hold it
  start({}, so);
  std::string body = body_of();
  http::Connection slow("127.0.0.1", server_->port());
  slow.send("POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, body.size() / 2));
  // It stops sending. Others come and go meanwhile.
  for (int i = 0; i < 10; ++i) id_of(post_multipart(body));
  // Generous bound for a loaded machine; the timeout is 1 s.
  EXPECT_TRUE(slow.wait_closed(30s));
  EXPECT_EQ(stored(), 10u);
  // The half-received dump is removed once the server has dropped the request, which can be a
  // moment after the client sees the close: wait for it (bounded).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (staged() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(staged(), 0u);
}

TEST_F(CollectorHttpTest, HeartbeatAndMetrics) {
  start();
  http::Connection c("127.0.0.1", server_->port());
  c.send(http::make_request("GET", "/__heartbeat__", {}, ""));
  EXPECT_EQ(c.read_response().status, 200);
  id_of(post_multipart(body_of()));
  c.send(http::make_request("GET", "/metrics", {}, ""));
  auto m = c.read_response().body;
  for (const char* name : {"bw_collector_stored_total", "bw_collector_received_bytes_total",
                           "bw_collector_throttle_results_total{result=\"accept\"}", "bw_collector_request_duration_seconds",
                           "bw_collector_in_flight_requests", "bw_http_requests_total"}) {
    EXPECT_NE(m.find(name), std::string::npos) << name;
  }
  server_->stop();
  server_.reset();
  // A disk-space floor above what the disk has: unhealthy, with the reason.
  start([](CollectorOptions& o) { o.heartbeat_min_free = ~0ull; });
  http::Connection c2("127.0.0.1", server_->port());
  c2.send(http::make_request("GET", "/__heartbeat__", {}, ""));
  auto r = c2.read_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("free on the collector storage"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace bw::collector
