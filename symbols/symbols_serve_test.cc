// serve -> serve: two real `breakwater serve` processes on loopback.
// - Site A has no symbol configuration; `breakwater symbols add` puts the shared corpus's .sym
//   files into its store (the Linux system libraries stored under their soname, whose MODULE
//   record names the real file, are refused and say why; adding again skips everything).
// - Site B's only symbol source is its HTTP symbol supplier pointed at A's /symbols/. A crash
//   submitted to B before the symbols were added has no function names for its main module; the
//   same crash submitted after has them, exactly as A (which reads its store directly) has them.
// - A's /symbols/ answers GET, HEAD, gzip and 404 as symbol servers do.
// - Uploads over HTTP need a token with upload_symbols (the second test).
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "tests/e2e/child_process.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path kTestdata = BW_TESTDATA_DIR;
const std::string kBin = BW_BREAKWATER_BIN;
const std::string kDump = (kTestdata / "minidumps" / "minidump2.dmp").string();  // test_app.exe, x86
const std::string kTestAppPath = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";

struct Site {
  std::unique_ptr<e2e::ChildProcess> process;
  uint16_t port = 0;
  fs::path data;

  Site(const fs::path& dir, const std::string& name, std::vector<std::string> extra) : data(dir / name) {
    std::vector<std::string> argv = {kBin, "serve", "--data", data.string(), "--listen", "127.0.0.1:0",
                                     "--set", "processor.workers=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<e2e::ChildProcess>(argv, dir / name);
    if (!process->wait_for_output("breakwater serving on http://", 120s)) {
      ADD_FAILURE() << name << " did not start: " << process->err();
      return;
    }
    std::smatch m;
    std::string out = process->out();
    if (std::regex_search(out, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/"))) {
      port = static_cast<uint16_t>(std::stoi(m[1].str()));
    }
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }

  http::ClientResponse fetch(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {},
                             const std::string& method = "GET") const {
    http::Connection c("127.0.0.1", port);
    EXPECT_TRUE(c.send(http::make_request(method, target, headers, "")));
    return c.read_response(30s, method == "HEAD");
  }

  std::string submit(const fs::path& dir) const {
    auto r = e2e::run({kBin, "submit", base() + "/submit", kDump, "-a", "ProductName=SymbolsTest", "-a", "Version=1.0"},
                      dir / "submit");
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("CrashID=bp-([0-9a-f-]{36})"))) << r.out << r.err;
    return m.size() > 1 ? m[1].str() : "";
  }

  json wait_processed(const std::string& id) const {
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = fetch("/api/ProcessedCrash/?crash_id=" + id);
      if (r.status == 200) return json::parse(r.body);
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "crash " << id << " was not processed\n" << process->err().substr(0, 4000);
    return json::object();
  }
};

// Every frame of the crashing thread of a processed crash: "module!function" ("module!" when the
// frame has no function name).
std::vector<std::string> crashing_frames(const json& processed) {
  std::vector<std::string> out;
  const json& dump = processed.value("json_dump", json::object());
  const json& thread = dump.value("crashing_thread", json::object());
  for (const auto& frame : thread.value("frames", json::array())) {
    std::string module = frame.value("module", json()).is_string() ? frame["module"].get<std::string>() : "";
    std::string function = frame.value("function", json()).is_string() ? frame["function"].get<std::string>() : "";
    out.push_back(module + "!" + function);
  }
  return out;
}

int count_lines_starting(const std::string& text, const std::string& prefix) {
  int n = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (text.compare(at, prefix.size(), prefix) == 0) ++n;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return n;
}

TEST(SymbolsServe, ASiteServesItsStoreToAnotherSite) {
  test_support::TempDir dir;
  Site a(dir.path(), "a", {});
  ASSERT_NE(a.port, 0);
  // B remembers no 404 (negative_ttl=0s), so A's answers before the add do not linger.
  Site b(dir.path(), "b", {"--symbols-url", a.base() + "/symbols/", "--set", "symbols.negative_ttl=0s"});
  ASSERT_NE(b.port, 0);

  // Before: A has nothing, so B's crash has no names for test_app.exe.
  EXPECT_EQ(a.fetch("/symbols/" + kTestAppPath).status, 404);
  json before = b.wait_processed(b.submit(dir.path()));
  auto before_frames = crashing_frames(before);
  ASSERT_FALSE(before_frames.empty()) << before.dump().substr(0, 2000);
  EXPECT_EQ(before_frames[0], "test_app.exe!") << "a name without symbols?";

  // `breakwater symbols add` into A: the corpus, laid out as a store.
  auto added = e2e::run({kBin, "symbols", "add", (kTestdata / "symbols").string(), "--data", a.data.string()},
                        dir.path() / "add");
  int n_added = count_lines_starting(added.out, "added ");
  int n_refused = count_lines_starting(added.out, "refused ");
  int n_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kTestdata / "symbols")) n_files += e.path().extension() == ".sym";
  EXPECT_EQ(n_added + n_refused, n_files) << added.out;
  EXPECT_GT(n_added, n_files / 2) << added.out;
  EXPECT_NE(added.out.find("added    " + kTestAppPath), std::string::npos) << added.out;
  // The refusals are the system libraries stored under their soname (libc.so.6 for libc-2.32.so).
  std::istringstream lines(added.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("refused ")) {
      EXPECT_NE(line.find("the MODULE record says"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(added.exit_code, n_refused > 0 ? 1 : 0) << added.out << added.err;
  EXPECT_NE(added.out.find(std::to_string(n_added) + " added, 0 replaced, 0 skipped, " + std::to_string(n_refused) + " refused"),
            std::string::npos) << added.out;

  // Adding again is a no-op for every stored file.
  auto again = e2e::run({kBin, "symbols", "add", (kTestdata / "symbols").string(), "--data", a.data.string()},
                        dir.path() / "again");
  EXPECT_EQ(count_lines_starting(again.out, "skipped "), n_added) << again.out;
  EXPECT_EQ(count_lines_starting(again.out, "added "), 0) << again.out;

  // A serves them: GET plain and gzip, HEAD, 404, code-id redirect.
  std::string sym = bw::fs::read_file(kTestdata / "symbols" / kTestAppPath);
  auto get = a.fetch("/symbols/" + kTestAppPath);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, sym);
  auto gz = a.fetch("/symbols/" + kTestAppPath, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), sym.size() / 3);
  auto head = a.fetch("/symbols/" + kTestAppPath, {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("Content-Length"), std::to_string(sym.size()));
  EXPECT_EQ(head.header("ETag"), get.header("ETag"));
  EXPECT_EQ(a.fetch("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF2/test_app.sym").status, 404);
  EXPECT_EQ(a.fetch("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF2/test_app.sym", {}, "HEAD").status, 404);
  EXPECT_EQ(a.fetch("/symbols/../x/x.sym").status, 400);
  auto redirect = a.fetch("/symbols/imm32.dll/3A0E994430000/imm32.dll");
  EXPECT_EQ(redirect.status, 302);
  EXPECT_EQ(redirect.header("Location"), "/symbols/imm32.pdb/265BCB59F6886A8F9F482A4A4903527B1/imm32.sym");

  // After: B fetches from A and names test_app.exe's frames, as A does from its own store.
  json after_b = b.wait_processed(b.submit(dir.path()));
  json after_a = a.wait_processed(a.submit(dir.path()));
  auto frames_b = crashing_frames(after_b);
  auto frames_a = crashing_frames(after_a);
  ASSERT_GE(frames_b.size(), 3u) << after_b.dump().substr(0, 2000);
  EXPECT_EQ(frames_b[0], "test_app.exe!`anonymous namespace'::CrashFunction");
  EXPECT_EQ(frames_b[1], "test_app.exe!main");
  EXPECT_EQ(frames_b[2], "test_app.exe!__tmainCRTStartup");
  EXPECT_EQ(frames_b, frames_a);
  EXPECT_NE(after_b.value("signature", ""), before.value("signature", ""));
  EXPECT_EQ(after_b.value("signature", ""), after_a.value("signature", ""));
  // B downloaded it into its own cache; nothing went into B's store.
  EXPECT_TRUE(fs::is_regular_file(b.data / "symbols-cache" / kTestAppPath));
  EXPECT_FALSE(fs::exists(b.data / "symbols"));
}

// A crash without symbols is listed by /api/MissingSymbols/ (JSON, CSV) and /symbols/missing/.
// A user with upload_symbols sends the corpus to a running site with `breakwater symbols upload`
// (one zip, Tecken's POST /symbols/upload, Auth-Token); symupload v1's form with the token as the
// basic-auth password and in ?token= stores too. A token without the permission, a revoked one,
// and no token are refused before anything is stored, and no token is ever logged. The crash is
// then healed: reprocessed by itself with its real signature in storage, search and the report
// page, and off the missing list.
TEST(SymbolsServe, UploadsOverHttpNeedATokenWithUploadSymbolsAndHealCrashes) {
  test_support::TempDir dir;
  Site a(dir.path(), "a", {});
  ASSERT_NE(a.port, 0);
  const std::string data = a.data.string();
  fs::path password = dir.path() / "password.txt";
  bw::fs::write_file_synced(password, "correct horse battery staple\n");
  auto token_for = [&](const std::string& user, const std::vector<std::string>& permissions) {
    std::vector<std::string> add = {kBin, "admin", "user", "add", user, "--password-file", password.string(), "--data", data};
    for (const auto& p : permissions) {
      add.push_back("--permission");
      add.push_back(p);
    }
    auto added = e2e::run(add, dir.path() / ("user-" + user));
    EXPECT_EQ(added.exit_code, 0) << added.out << added.err;
    auto made = e2e::run({kBin, "admin", "token", "create", "--user", user, "--label", "upload", "--data", data},
                         dir.path() / ("token-" + user));
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
    std::string out = made.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out.substr(out.rfind('\n') + 1);
  };
  const std::string builder = token_for("builder", {"upload_symbols"});
  const std::string reader = token_for("reader", {"view_pii"});
  ASSERT_EQ(builder.size(), 68u);

  // A crash processed with no symbols at all: the missing-symbols API, CSV and page list its
  // main module with the crash counted.
  const std::string crash = a.submit(dir.path());
  json before = a.wait_processed(crash);
  ASSERT_EQ(crashing_frames(before).at(0), "test_app.exe!");
  auto test_app_row = [](const json& missing) {
    if (!missing.is_object() || !missing.contains("hits")) return json();
    for (const auto& m : missing["hits"]) {
      if (m["debug_file"] == "test_app.pdb") return m;
    }
    return json();
  };
  json missing;
  for (int i = 0; i < 100 && test_app_row(missing).is_null(); ++i) {  // the index follows the processor
    missing = json::parse(a.fetch("/api/MissingSymbols/?days=1").body);
    if (test_app_row(missing).is_null()) std::this_thread::sleep_for(100ms);
  }
  json row = test_app_row(missing);
  ASSERT_FALSE(row.is_null()) << missing.dump();
  EXPECT_EQ(row["debug_id"], "5A9832E5287241C1838ED98914E9B7FF1");
  EXPECT_EQ(row["code_file"], "test_app.exe");
  EXPECT_EQ(row["crashes"], 1);
  auto csv = a.fetch("/api/MissingSymbols/?days=1&format=csv");
  EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_NE(csv.body.find("test_app.pdb,5A9832E5287241C1838ED98914E9B7FF1,test_app.exe,"), std::string::npos) << csv.body;
  auto page = a.fetch("/symbols/missing/?days=1");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find(kTestAppPath), std::string::npos) << "the page names the path to upload it under";

  // No permission, no token: exit code 2, nothing stored.
  auto refused = e2e::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base(), "--token", reader},
                          dir.path() / "upload-reader");
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("upload_symbols"), std::string::npos) << refused.out;
  EXPECT_EQ(a.fetch("/symbols/" + kTestAppPath).status, 404);
  auto anonymous = e2e::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base()},
                            dir.path() / "upload-anonymous");
  EXPECT_EQ(anonymous.exit_code, 2);

  // The builder's upload: every corpus .sym, each under the path its MODULE record names.
  int n_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kTestdata / "symbols")) n_files += e.path().extension() == ".sym";
  auto uploaded = e2e::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base(), "--token", builder},
                           dir.path() / "upload-builder");
  ASSERT_EQ(uploaded.exit_code, 0) << uploaded.out << uploaded.err;
  json summary = json::parse(uploaded.out);
  EXPECT_EQ(summary["files"], n_files);
  EXPECT_EQ(summary["added"].size(), static_cast<size_t>(n_files)) << uploaded.out;
  EXPECT_TRUE(summary["refused"].empty()) << uploaded.out;
  EXPECT_NE(uploaded.err.find("100%"), std::string::npos) << "progress: " << uploaded.err;
  EXPECT_EQ(a.fetch("/symbols/" + kTestAppPath).body, bw::fs::read_file(kTestdata / "symbols" / kTestAppPath));

  // Healing: the crash that missed test_app.pdb is reprocessed by itself, its signature
  // regenerated, and the index follows: it has names now and is off the missing-symbols list.
  json healed;
  for (int i = 0; i < 600; ++i) {
    healed = a.wait_processed(crash);
    if (crashing_frames(healed).at(0) != "test_app.exe!") break;
    std::this_thread::sleep_for(100ms);
  }
  auto frames = crashing_frames(healed);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[0], "test_app.exe!`anonymous namespace'::CrashFunction");
  EXPECT_EQ(frames[1], "test_app.exe!main");
  EXPECT_NE(healed.value("signature", ""), before.value("signature", ""));
  EXPECT_EQ(healed.value("processor_ruleset", ""), "default") << healed.value("processor_notes", json()).dump();
  for (int i = 0; i < 100; ++i) {
    missing = json::parse(a.fetch("/api/MissingSymbols/?days=1").body);
    if (test_app_row(missing).is_null()) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(test_app_row(missing).is_null()) << missing.dump();
  json indexed = json::parse(a.fetch("/api/SuperSearch/?uuid=" + crash + "&_columns=signature").body);
  ASSERT_EQ(indexed["hits"].size(), 1u) << indexed.dump();
  EXPECT_EQ(indexed["hits"][0]["signature"], healed["signature"]);
  auto report = a.fetch("/report/index/" + crash);
  EXPECT_EQ(report.status, 200);
  EXPECT_NE(report.body.find("CrashFunction"), std::string::npos) << "the report page shows the named frames";
  EXPECT_NE(a.fetch("/symbols/uploads/").body.find(kTestAppPath), std::string::npos);
  auto again = e2e::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base() + "/symbols/upload",
                         "--token", builder},
                        dir.path() / "upload-again");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["skipped"].size(), static_cast<size_t>(n_files));

  // symupload v1, byte for byte: basic auth (the token as password), then ?token=.
  const std::string imm32 = bw::fs::read_file(kTestdata / "symbols" / "imm32.pdb/265BCB59F6886A8F9F482A4A4903527B1/imm32.sym");
  std::string body;
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"os", "windows"}, {"cpu", "x86"}, {"debug_file", "imm32.pdb"}, {"code_file", "imm32.pdb"},
           {"debug_identifier", "265BCB59F6886A8F9F482A4A4903527B1"}}) {
    body += "--XyZ\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  }
  body += "--XyZ\r\nContent-Disposition: form-data; name=\"symbol_file\"; filename=\"imm32.sym\"\r\n"
          "Content-Type: application/octet-stream\r\n\r\n" + imm32 + "\r\n--XyZ--\r\n";
  auto post = [&](const std::string& target, std::vector<std::pair<std::string, std::string>> headers) {
    headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    http::Connection c("127.0.0.1", a.port);
    EXPECT_TRUE(c.send(http::make_request("POST", target, headers, body)));
    return c.read_response(60s);
  };
  // base64("symupload:" + builder) by hand: the alphabet, 3 bytes to 4 characters.
  auto base64 = [](const std::string& in) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < in.size(); i += 3) {
      uint32_t n = static_cast<unsigned char>(in[i]) << 16;
      if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
      if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
      out += alphabet[(n >> 18) & 63];
      out += alphabet[(n >> 12) & 63];
      out += i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=';
      out += i + 2 < in.size() ? alphabet[n & 63] : '=';
    }
    return out;
  };
  auto basic = post("/symbols/upload", {{"Authorization", "Basic " + base64("symupload:" + builder)}});
  EXPECT_EQ(basic.status, 200) << basic.body;
  EXPECT_EQ(json::parse(basic.body)["skipped"].size(), 1u) << basic.body;
  auto query = post("/symbols/upload?token=" + builder, {});
  EXPECT_EQ(query.status, 200) << query.body;
  EXPECT_EQ(post("/symbols/upload", {}).status, 401);
  EXPECT_EQ(post("/symbols/upload?token=" + reader, {}).status, 403);
  EXPECT_EQ(post("/symbols/upload", {{"Authorization", "Basic " + base64("x:bwt_nonsense")}}).status, 403);

  // No token was logged.
  for (const std::string& t : {builder, reader}) {
    EXPECT_EQ(a.process->out().find(t.substr(4)), std::string::npos);
    EXPECT_EQ(a.process->err().find(t.substr(4)), std::string::npos);
  }
}

}  // namespace
}  // namespace bw::symbols
