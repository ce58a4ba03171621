// serve -> serve: two real `breakwater serve` processes on loopback.
// - Site A has no symbol configuration; `breakwater symbols add` puts the shared corpus's .sym
//   files into its store (the Linux system libraries stored under their soname, whose MODULE
//   record names the real file, are refused and say why; adding again skips everything).
// - Site B's only symbol source is its HTTP symbol supplier pointed at A's /symbols/. A crash
//   submitted to B before the symbols were added has no function names for its main module; the
//   same crash submitted after has them, exactly as A (which reads its store directly) has them.
// - A's /symbols/ answers GET, HEAD, gzip and 404 as symbol servers do.
// - Uploads over HTTP need a token with upload_symbols (the second test).
// - A zip of more than 1 GiB, one of its .sym files over 400 MB, is uploaded while the server's
//   peak resident memory stays far below the size of that file (the third test).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "symbols/upload_client.h"
#include "tests/zip/zip_writer.h"
#include "tests/child_process/child_process.h"

// Sanitizer builds: ASan's shadow memory and quarantine make resident sizes meaningless.
#if defined(BW_SANITIZE_BUILD) || defined(__SANITIZE_ADDRESS__)
#define BW_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define BW_TEST_SANITIZED 1
#endif
#endif

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
  std::unique_ptr<test_support::ChildProcess> process;
  uint16_t port = 0;
  fs::path data;

  Site(const fs::path& dir, const std::string& name, std::vector<std::string> extra) : data(dir / name) {
    std::vector<std::string> argv = {kBin, "serve", "--data", data.string(), "--listen", "127.0.0.1:0",
                                     "--set", "processor.workers=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<test_support::ChildProcess>(argv, dir / name);
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
    auto r = test_support::run({kBin, "submit", base() + "/submit", kDump, "-a", "ProductName=SymbolsTest", "-a", "Version=1.0"},
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

// A new user of `site` holding `permissions` (made with `breakwater admin user add`) and a token
// for it (`breakwater admin token create`): the token.
std::string make_token(const Site& site, const fs::path& dir, const std::string& user,
                       const std::vector<std::string>& permissions) {
  const std::string data = site.data.string();
  fs::path password = dir / "password.txt";
  bw::fs::write_file_synced(password, "correct horse battery staple\n");
  std::vector<std::string> add = {kBin, "admin", "user", "add", user, "--password-file", password.string(), "--data", data};
  for (const auto& p : permissions) {
    add.push_back("--permission");
    add.push_back(p);
  }
  auto added = test_support::run(add, dir / ("user-" + user));
  EXPECT_EQ(added.exit_code, 0) << added.out << added.err;
  auto made = test_support::run({kBin, "admin", "token", "create", "--user", user, "--label", "upload", "--data", data},
                       dir / ("token-" + user));
  EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
  std::string out = made.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') + 1);
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
  auto added = test_support::run({kBin, "symbols", "add", (kTestdata / "symbols").string(), "--data", a.data.string()},
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
  auto again = test_support::run({kBin, "symbols", "add", (kTestdata / "symbols").string(), "--data", a.data.string()},
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
  const std::string builder = make_token(a, dir.path(), "builder", {"upload_symbols"});
  const std::string reader = make_token(a, dir.path(), "reader", {"view_pii"});
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
  auto refused = test_support::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base(), "--token", reader},
                          dir.path() / "upload-reader");
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("upload_symbols"), std::string::npos) << refused.out;
  EXPECT_EQ(a.fetch("/symbols/" + kTestAppPath).status, 404);
  auto anonymous = test_support::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base()},
                            dir.path() / "upload-anonymous");
  EXPECT_EQ(anonymous.exit_code, 2);

  // The builder's upload: every corpus .sym, each under the path its MODULE record names.
  int n_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kTestdata / "symbols")) n_files += e.path().extension() == ".sym";
  auto uploaded = test_support::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base(), "--token", builder},
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
  auto again = test_support::run({kBin, "symbols", "upload", (kTestdata / "symbols").string(), a.base() + "/symbols/upload",
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

// A valid synthetic .sym of exactly `size` bytes, made as it is read: MODULE, INFO CODE_ID and 50
// FILE records, then functions as dump_syms writes them (a FUNC of 0x40 bytes, its 16 line
// records, a PUBLIC, a STACK CFI INIT and two STACK CFI), then one INFO line (a record parsers
// pass over) that pads the file to its size. Line records are most of it, as in real files, so
// its compact form is about 0.8x its size.
class SyntheticSym {
 public:
  SyntheticSym(std::string debug_file, std::string debug_id, uint64_t size)
      : debug_file_(std::move(debug_file)), debug_id_(std::move(debug_id)), size_(size) {}

  size_t read(char* buffer, size_t capacity) {
    size_t n = 0;
    while (n < capacity) {
      if (at_ == pending_.size()) {
        pending_.clear();
        at_ = 0;
        if (made_ == size_) break;
        next_lines();
      }
      size_t take = std::min(capacity - n, pending_.size() - at_);
      std::copy_n(pending_.data() + at_, take, buffer + n);
      at_ += take;
      n += take;
    }
    return n;
  }

 private:
  static void hex(std::string& out, uint64_t v) {
    char digits[16];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v != 0);
    while (n > 0) out += digits[--n];
  }
  static void dec(std::string& out, uint64_t v) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) out += digits[--n];
  }

  void next_lines() {
    size_t before = pending_.size();
    uint64_t left = size_ - made_;
    if (made_ == 0) {
      pending_ += "MODULE Linux x86_64 " + debug_id_ + " " + debug_file_ + "\nINFO CODE_ID " +
                  debug_id_.substr(0, 16) + "\n";
      for (int f = 0; f < 50; ++f) pending_ += "FILE " + std::to_string(f) + " /build/src/synthetic/file_" + std::to_string(f) + ".cc\n";
    } else if (left > 4096) {
      uint64_t address = 0x1000 + function_ * 0x40;
      pending_ += "FUNC ";
      hex(pending_, address);
      pending_ += " 40 0 synthetic::Function";
      dec(pending_, function_);
      pending_ += "(int, char const*)\n";
      for (uint64_t i = 0; i < 16; ++i) {
        hex(pending_, address + i * 4);
        pending_ += " 4 ";
        dec(pending_, 1 + (function_ * 7 + i) % 100000);
        pending_ += ' ';
        dec(pending_, (function_ + i) % 50);
        pending_ += '\n';
      }
      pending_ += "PUBLIC ";
      hex(pending_, address);
      pending_ += " 0 synthetic_public_";
      dec(pending_, function_);
      pending_ += "\nSTACK CFI INIT ";
      hex(pending_, address);
      pending_ += " 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^\nSTACK CFI ";
      hex(pending_, address + 1);
      pending_ += " .cfa: $rsp 16 + $rbp: .cfa -16 + ^\nSTACK CFI ";
      hex(pending_, address + 4);
      pending_ += " .cfa: $rbp 16 +\n";
      ++function_;
    } else if (left >= 17) {
      pending_ += "INFO GENERATOR " + std::string(left - 16, 'x') + "\n";
    } else {
      pending_.append(left, '\n');
    }
    made_ += pending_.size() - before;
  }

  std::string debug_file_, debug_id_;
  uint64_t size_;
  uint64_t made_ = 0;
  uint64_t function_ = 0;
  std::string pending_;
  size_t at_ = 0;
};

// Peak resident memory of a process (VmHWM), in KiB; 0 when it cannot be read.
uint64_t peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  }
  return 0;
}

// Upload memory: a zip of more than 1 GiB (stored entries, so the file is as big as the .sym files
// in it) holding one .sym of 420 MB and 34 of 20 MB, sent in one request to a real `breakwater
// serve` by the upload client. Everything must be added, and the server's peak resident memory
// over its whole life must stay under 96 MiB + 8 MiB per core (add_zip checks one entry per core
// at once, each with its own few MiB of buffers): 112 MiB on a 2-core machine, where it measured
// 27 MiB. The body and entries stream through fixed buffers and each .sym is checked with
// check_sym_file; checking by a full parse, as before, built the 420 MB file's module (about
// 320 MB) and this test measured a peak of 370 MiB.
TEST(SymbolsServe, AGigabyteZipUploadKeepsServerMemoryBounded) {
#ifdef BW_TEST_SANITIZED
  GTEST_SKIP() << "sanitizer build: shadow memory and the allocator's quarantine make resident sizes meaningless";
#endif
  const uint64_t kBoundKiB = (96 + 8 * uint64_t{std::max(1u, std::thread::hardware_concurrency())}) * 1024;
  constexpr uint64_t kBigSym = 420'000'000;
  constexpr uint64_t kSmallSym = 20'000'000;
  constexpr int kSmallCount = 34;
  auto started = std::chrono::steady_clock::now();
  test_support::TempDir dir;

  struct Module {
    std::string debug_file, debug_id;
    uint64_t size = 0;
    std::string path() const { return debug_file + "/" + debug_id + "/" + debug_file + ".sym"; }
  };
  std::vector<Module> modules;
  for (int i = 0; i <= kSmallCount; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "5EED%028X0", 0x1000 + i);
    modules.push_back({"libsynthetic" + std::to_string(i) + ".so", id, i == 0 ? kBigSym : kSmallSym});
  }
  std::vector<test_support::ZipStreamedEntry> entries;
  for (const Module& m : modules) {
    test_support::ZipStreamedEntry e;
    e.name = m.path();
    e.size = m.size;
    e.open = [m] {
      auto sym = std::make_shared<SyntheticSym>(m.debug_file, m.debug_id, m.size);
      return [sym](char* buffer, size_t capacity) { return sym->read(buffer, capacity); };
    };
    entries.push_back(std::move(e));
  }
  const fs::path zip = dir.path() / "symbols.zip";
  test_support::write_zip_streamed(zip, entries);
  const uint64_t zip_bytes = fs::file_size(zip);
  ASSERT_GE(zip_bytes, uint64_t{1} << 30);
  auto zipped = std::chrono::steady_clock::now();

  Site a(dir.path(), "a", {});
  ASSERT_NE(a.port, 0);
  const std::string builder = make_token(a, dir.path(), "builder", {"upload_symbols"});
  const uint64_t peak_before = peak_rss_kib(a.process->pid());
  ASSERT_GT(peak_before, 0u);

  UploadRequest request;
  request.url = upload_url(a.base());
  request.token = builder;
  request.attempts = 1;
  UploadResponse response = post_upload(zip, request);
  auto uploaded = std::chrono::steady_clock::now();
  const uint64_t peak_after = peak_rss_kib(a.process->pid());
  fs::remove(zip);

  EXPECT_EQ(response.status, 201) << response.body.substr(0, 4000);
  json summary = json::parse(response.body, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << response.body.substr(0, 4000);
  EXPECT_EQ(summary["files"], modules.size());
  ASSERT_EQ(summary["added"].size(), modules.size()) << response.body.substr(0, 4000);
  EXPECT_TRUE(summary["replaced"].empty());
  EXPECT_TRUE(summary["skipped"].empty());
  EXPECT_TRUE(summary["refused"].empty()) << summary["refused"].dump();
  uint64_t added_bytes = 0;
  for (const auto& f : summary["added"]) added_bytes += f["bytes"].get<uint64_t>();
  EXPECT_EQ(added_bytes, kBigSym + kSmallCount * kSmallSym);
  // The big one is in the store whole: its gzip trailer's ISIZE is the .sym's size (mod 2^32).
  {
    std::ifstream stored(a.data / "symbols" / (modules[0].path() + ".gz"), std::ios::binary | std::ios::ate);
    ASSERT_TRUE(stored) << "not stored: " << modules[0].path();
    stored.seekg(-4, std::ios::end);
    unsigned char isize[4] = {};
    stored.read(reinterpret_cast<char*>(isize), 4);
    EXPECT_EQ(isize[0] | isize[1] << 8 | isize[2] << 16 | uint64_t{isize[3]} << 24, kBigSym);
  }

  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::cout << "zip " << zip_bytes << " bytes written in " << seconds(zipped - started) << " s; upload "
            << seconds(uploaded - zipped) << " s (server start included); server peak RSS " << peak_before / 1024
            << " MiB before the upload, " << peak_after / 1024 << " MiB after (bound " << kBoundKiB / 1024 << " MiB)\n";
  RecordProperty("server_peak_rss_kib", std::to_string(peak_after));
  EXPECT_LT(peak_after, kBoundKiB) << "the server's peak resident memory during a 1 GiB upload";
}

}  // namespace
}  // namespace bw::symbols
