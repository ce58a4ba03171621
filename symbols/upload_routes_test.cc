// Symbol uploads over a real HTTP server on loopback (upload_routes.h): Tecken's zip upload,
// symupload v1's form and symupload v2's calls, byte for byte as those clients send them. The
// authorizer here is a table of two tokens; the real one (web/upload_auth.h) is tested with real
// accounts in web/api_token_test.cc and through `breakwater serve` in symbols_serve_test.cc.
#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "http/server.h"
#include "symbols/symbol_routes.h"
#include "symbols/upload_client.h"
#include "symbols/upload_routes.h"
#include "tests/test_server_options.h"
#include "tests/zip/zip_writer.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using bw::test_support::TempDir;
using Headers = std::vector<std::pair<std::string, std::string>>;

const fs::path kCorpus = fs::path(BW_TESTDATA_DIR) / "symbols";
const std::string kTestAppPath = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";
const std::string kImm32Path = "imm32.pdb/265BCB59F6886A8F9F482A4A4903527B1/imm32.sym";

std::string corpus(const std::string& path) { return bw::fs::read_file(kCorpus / path); }

struct FormPart {
  std::string name;
  std::string value;
  std::string filename{};  // empty: a plain field
};

std::string form(const std::vector<FormPart>& parts, const std::string& boundary = "----bwtestboundary") {
  std::string body;
  for (const auto& p : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"\r\nContent-Type: application/octet-stream";
    body += "\r\n\r\n" + p.value + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

class UploadRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override {
    if (server_) server_->stop();
  }

  void start(UploadRouteOptions options) {
    if (server_) server_->stop();
    http::ServerOptions o = test_support::small_server_options();
    server_ = std::make_unique<http::Server>(o);
    add_symbol_routes(*server_, store_);
    options.scratch_dir = scratch_;
    options.on_stored = [this](const StoreResult& r) { stored_.push_back(r.path); };
    add_symbol_upload_routes(
        *server_, store_,
        [](const http::Request& req) -> std::variant<std::string, http::Response> {
          std::string token;
          if (const std::string* h = req.header("Auth-Token")) token = *h;
          for (const auto& [k, v] : http::parse_query_pairs(req.query)) {
            if (k == "token" || k == "key") token = v;
          }
          if (token.empty()) return http::Response::json(401, R"({"error":"no token"})");
          if (token == "alice-token") return std::string("alice");
          if (token == "bob-token") return std::string("bob");
          return http::Response::json(403, R"({"error":"unknown token"})");
        },
        options);
    server_->start();
  }

  http::ClientResponse send(const std::string& method, const std::string& target, const Headers& headers,
                            const std::string& body) {
    http::Connection c("127.0.0.1", server_->port());
    EXPECT_TRUE(c.send(http::make_request(method, target, headers, body)));
    return c.read_response(60s);
  }
  http::ClientResponse post_form(const std::string& target, const std::vector<FormPart>& parts, Headers headers = {}) {
    headers.emplace_back("Content-Type", "multipart/form-data; boundary=----bwtestboundary");
    return send("POST", target, headers, form(parts));
  }
  std::string zip_of(const std::vector<bw::test_support::ZipEntrySpec>& entries) {
    fs::path p = tmp_.path() / "made.zip";
    bw::test_support::write_zip(p, entries);
    return bw::fs::read_file(p);
  }
  // The scratch files of a request are removed when its handler goes, just after the answer is
  // sent: wait a little for that.
  bool scratch_empty() const {
    for (int i = 0; i < 500; ++i) {
      if (!fs::exists(scratch_) || fs::is_empty(scratch_)) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::string served(const std::string& path) { return send("GET", "/symbols/" + path, {}, "").body; }

  TempDir tmp_;
  SymbolStore store_{tmp_.path() / "symbols"};
  fs::path scratch_ = tmp_.path() / "scratch";
  std::unique_ptr<http::Server> server_;
  std::vector<std::string> stored_;
};

TEST_F(UploadRoutesTest, TeckenZipUploadIsStoredAndServed) {
  std::string zip = zip_of({{kTestAppPath, corpus(kTestAppPath)}, {kImm32Path, corpus(kImm32Path)}, {"junk.txt", "x"}});
  auto r = post_form("/symbols/upload", {{"symbols.zip", zip, "symbols.zip"}}, {{"Auth-Token", "alice-token"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  auto summary = nlohmann::json::parse(r.body);
  EXPECT_EQ(summary["files"], 3);
  EXPECT_EQ(summary["added"].size(), 2u);
  ASSERT_EQ(summary["refused"].size(), 1u);
  EXPECT_EQ(summary["refused"][0]["file"], "junk.txt");
  EXPECT_EQ(served(kTestAppPath), corpus(kTestAppPath));
  EXPECT_EQ(served(kImm32Path), corpus(kImm32Path));
  EXPECT_EQ(stored_.size(), 2u);

  // The whole body as the zip (curl --data-binary), the trailing-slash URL: all skipped now.
  r = send("POST", "/symbols/upload/", {{"Auth-Token", "alice-token"}, {"Content-Type", "application/zip"}}, zip);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["skipped"].size(), 2u);
  EXPECT_EQ(stored_.size(), 2u);
  EXPECT_TRUE(scratch_empty()) << "scratch files are removed";
}

TEST_F(UploadRoutesTest, AnUploadWhereEveryFileIsRefusedIs400WithTheReasons) {
  std::string zip = zip_of({{"../evil.sym", corpus(kImm32Path)}, {"other.pdb/265BCB59F6886A8F9F482A4A4903527B1/other.sym",
                                                                  corpus(kImm32Path)}});
  auto r = send("POST", "/symbols/upload", {{"Auth-Token", "alice-token"}}, zip);
  ASSERT_EQ(r.status, 400) << r.body;
  auto summary = nlohmann::json::parse(r.body);
  EXPECT_EQ(summary["refused"].size(), 2u);
  EXPECT_TRUE(store_.list().empty());

  r = send("POST", "/symbols/upload", {{"Auth-Token", "alice-token"}}, "this is neither a zip nor a .sym");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("neither a zip"), std::string::npos) << r.body;
  r = send("POST", "/symbols/upload", {{"Auth-Token", "alice-token"}}, std::string("PK\x03\x04garbage", 11));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not a"), std::string::npos) << r.body;
  r = post_form("/symbols/upload", {{"comment", "no file here"}}, {{"Auth-Token", "alice-token"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("no file"), std::string::npos) << r.body;
  r = send("POST", "/symbols/upload", {{"Auth-Token", "alice-token"}, {"Content-Type", "image/png"}}, "x");
  EXPECT_EQ(r.status, 415);
  EXPECT_TRUE(scratch_empty());
}

// The token is judged on the head: a refused upload is answered before its body is read, and no
// 100 Continue invites the client to send it.
TEST_F(UploadRoutesTest, RefusedUploadsAreAnsweredBeforeTheBody) {
  for (const auto& [headers, status] : std::vector<std::pair<Headers, int>>{
           {{}, 401}, {{{"Auth-Token", "wrong"}}, 403}}) {
    http::Connection c("127.0.0.1", server_->port());
    std::string head = "POST /symbols/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/zip\r\n"
                       "Content-Length: 1000000000\r\nExpect: 100-continue\r\n";
    for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
    ASSERT_TRUE(c.send(head + "\r\n"));
    auto r = c.read_response(10s);
    EXPECT_EQ(r.status, status);
    EXPECT_TRUE(scratch_empty());
  }
  EXPECT_TRUE(store_.list().empty());
}

TEST_F(UploadRoutesTest, UploadsOverTheLimitAre413) {
  UploadRouteOptions small;
  small.max_upload_bytes = 1000;
  start(small);
  auto r = send("POST", "/symbols/upload", {{"Auth-Token", "alice-token"}}, std::string(5000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("max_upload_size"), std::string::npos) << r.body;
  // Chunked, so the size is only known while reading.
  r = send("POST", "/symbols/upload", {{"Auth-Token", "alice-token"}, {"Transfer-Encoding", "chunked"}},
           http::chunk_encode(std::string(5000, 'x'), 700));
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(scratch_empty());
}

// symupload v1 (Breakpad's sym_upload_v1): the .sym in symbol_file, the module's identity in
// fields; the token in the URL since symupload sends no header. symupload needs a 200.
TEST_F(UploadRoutesTest, SymuploadV1FormIsStoredUnderItsDeclaredIdentity) {
  auto v1 = [&](const std::string& debug_file, const std::string& debug_id) {
    return post_form("/symbols/upload?token=alice-token",
                     {{"version", "1.0"}, {"os", "windows"}, {"cpu", "x86"}, {"debug_file", debug_file},
                      {"code_file", debug_file}, {"debug_identifier", debug_id},
                      {"symbol_file", corpus(kTestAppPath), "test_app.sym"}});
  };
  auto r = v1("test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["added"][0]["path"], kTestAppPath);
  EXPECT_EQ(served(kTestAppPath), corpus(kTestAppPath));
  r = v1("test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["skipped"].size(), 1u);

  r = v1("test_app.pdb", "00000000000000000000000000000000A");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("MODULE record says"), std::string::npos) << r.body;
  r = v1("../test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(store_.list().size(), 1u);
}

// symupload v2 (Breakpad's sym-upload-v2): checkStatus, create, PUT to the upload URL, complete;
// answers matched with the regexes symupload uses.
TEST_F(UploadRoutesTest, SymuploadV2StoresThroughItsThreeCalls) {
  const std::string base = "/symbols/upload/v2/v1/";
  const std::string check = base + "symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1:checkStatus?key=alice-token";
  std::smatch m;
  auto status = send("GET", check, {}, "");
  ASSERT_EQ(status.status, 200) << status.body;
  ASSERT_TRUE(std::regex_search(status.body, m, std::regex("\"status\": \"([^\"]+)\"")));
  EXPECT_EQ(m[1], "MISSING");

  auto create = send("POST", base + "uploads:create?key=alice-token", {}, "");
  ASSERT_EQ(create.status, 200) << create.body;
  ASSERT_TRUE(std::regex_search(create.body, m, std::regex("\"uploadUrl\": \"([^\"]+)\"")));
  const std::string upload_url = m[1];
  ASSERT_TRUE(std::regex_search(create.body, m, std::regex("\"uploadKey\": \"([^\"]+)\"")));
  const std::string key = m[1];
  const std::string origin = "http://localhost";  // make_request's Host header
  EXPECT_EQ(upload_url, origin + base + "uploads/" + key);

  const std::string put_path = upload_url.substr(origin.size());
  auto put = send("PUT", put_path, {}, corpus(kTestAppPath));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(send("PUT", base + "uploads/0123456789abcdef0123456789abcdef", {}, "x").status, 404);

  // Another uploader cannot complete alice's upload.
  const std::string body =
      "{ symbol_id: {debug_file: \"test_app.pdb\", debug_id: \"5A9832E5287241C1838ED98914E9B7FF1\" }, "
      "symbol_upload_type: \"BREAKPAD\" }";
  auto stolen = send("POST", base + "uploads/" + key + ":complete?key=bob-token", {{"Content-Type", "application/son"}}, body);
  EXPECT_EQ(stolen.status, 403) << stolen.body;

  auto complete = send("POST", base + "uploads/" + key + ":complete?key=alice-token", {{"Content-Type", "application/son"}}, body);
  ASSERT_EQ(complete.status, 200) << complete.body;
  ASSERT_TRUE(std::regex_search(complete.body, m, std::regex("\"result\": \"([^\"]+)\"")));
  EXPECT_EQ(m[1], "OK");
  EXPECT_EQ(served(kTestAppPath), corpus(kTestAppPath));
  EXPECT_EQ(send("POST", base + "uploads/" + key + ":complete?key=alice-token", {}, body).status, 404)
      << "a completed key is gone";

  status = send("GET", check, {}, "");
  ASSERT_TRUE(std::regex_search(status.body, m, std::regex("\"status\": \"([^\"]+)\"")));
  EXPECT_EQ(m[1], "FOUND");

  // The same file again (symupload -f): DUPLICATE_DATA.
  create = send("POST", base + "uploads:create?key=alice-token", {}, "");
  ASSERT_TRUE(std::regex_search(create.body, m, std::regex("\"uploadKey\": \"([^\"]+)\"")));
  const std::string key2 = m[1];
  ASSERT_EQ(send("PUT", base + "uploads/" + key2, {}, corpus(kTestAppPath)).status, 200);
  complete = send("POST", base + "uploads/" + key2 + ":complete?key=alice-token", {}, body);
  ASSERT_TRUE(std::regex_search(complete.body, m, std::regex("\"result\": \"([^\"]+)\"")));
  EXPECT_EQ(m[1], "DUPLICATE_DATA");

  // A file that is not what the completion says is refused.
  create = send("POST", base + "uploads:create?key=alice-token", {}, "");
  ASSERT_TRUE(std::regex_search(create.body, m, std::regex("\"uploadKey\": \"([^\"]+)\"")));
  const std::string key3 = m[1];
  ASSERT_EQ(send("PUT", base + "uploads/" + key3, {}, corpus(kImm32Path)).status, 200);
  complete = send("POST", base + "uploads/" + key3 + ":complete?key=alice-token", {}, body);
  EXPECT_EQ(complete.status, 400);
  EXPECT_NE(complete.body.find("MODULE record says"), std::string::npos) << complete.body;

  EXPECT_EQ(send("POST", base + "uploads:create", {}, "").status, 401);
  EXPECT_EQ(send("GET", base + "symbols/a.pdb/ABC:checkStatus?key=nope", {}, "").status, 403);
}

// The client side (upload_client.h): a folder packed as a store, sent with Auth-Token; 503s are
// retried with growing waits, a 4xx is not.
TEST(UploadClient, PacksAFolderAndRetriesWhatIsWorthRetrying) {
  TempDir tmp;
  const fs::path flat = tmp.path() / "syms";
  fs::create_directories(flat);
  bw::fs::write_file_synced(flat / "a.sym", corpus(kTestAppPath));
  bw::fs::write_file_synced(flat / "b.sym", corpus(kImm32Path));
  bw::fs::write_file_synced(flat / "junk.sym", "not a symbol file\n");
  std::vector<std::string> left_out;
  size_t packed = 0;
  fs::path zip = pack_symbols(flat, tmp.path(), [&](const fs::path& f, const std::string&) { left_out.push_back(f.filename()); },
                              &packed);
  EXPECT_EQ(packed, 2u);
  EXPECT_EQ(left_out, std::vector<std::string>{"junk.sym"});

  std::atomic<int> calls{0};
  std::atomic<int> fail_first{2};
  std::atomic<int> final_status{201};
  std::string last_token, last_body;
  std::mutex seen;
  http::ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.access_log = false;
  http::Server server(o);
  class Collect final : public http::BodyHandler {
   public:
    Collect(std::function<http::Response(std::string)> done) : done_(std::move(done)) {}
    std::optional<http::Response> on_body(std::string_view piece) override {
      body_.append(piece);
      return std::nullopt;
    }
    http::Response on_complete() override { return done_(std::move(body_)); }

   private:
    std::function<http::Response(std::string)> done_;
    std::string body_;
  };
  server.route({"POST", "/symbols/upload", uint64_t{1} << 30, [&](const http::Request& req) -> http::Reply {
                  std::string token = req.header("Auth-Token") ? *req.header("Auth-Token") : "";
                  return std::make_unique<Collect>([&, token](std::string body) {
                    ++calls;
                    std::lock_guard lock(seen);
                    last_token = token;
                    last_body = std::move(body);
                    if (fail_first-- > 0) return http::Response::text(503, "busy");
                    return http::Response::json(final_status, R"({"refused":[]})");
                  });
                }});
  server.start();
  std::vector<std::chrono::seconds> waits;
  UploadRequest request;
  request.url = upload_url("http://127.0.0.1:" + std::to_string(server.port()) + "/");
  EXPECT_EQ(request.url, "http://127.0.0.1:" + std::to_string(server.port()) + "/symbols/upload");
  request.token = "bwt_test";
  request.sleep = [&](std::chrono::seconds s) { waits.push_back(s); };
  uint64_t last_sent = 0;
  request.progress = [&](uint64_t sent, uint64_t) { last_sent = std::max(last_sent, sent); };
  UploadResponse r = post_upload(zip, request);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(waits, (std::vector<std::chrono::seconds>{std::chrono::seconds(1), std::chrono::seconds(2)}));
  EXPECT_EQ(last_token, "bwt_test");
  EXPECT_EQ(last_body, bw::fs::read_file(zip)) << "the zip arrives byte for byte";
  EXPECT_EQ(last_sent, fs::file_size(zip));

  // A 4xx is the answer, not retried; every attempt failing ends with the last answer.
  fail_first = 0;
  final_status = 400;
  calls = 0;
  r = post_upload(zip, request);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(calls, 1);
  fail_first = 100;
  calls = 0;
  request.attempts = 3;
  r = post_upload(zip, request);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(calls, 3);
  server.stop();
  EXPECT_THROW(post_upload(zip, request), std::runtime_error) << "nothing listening: every attempt fails";
}

}  // namespace
}  // namespace bw::symbols
