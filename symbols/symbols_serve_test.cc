// serve -> serve: two real `breakwater serve` processes on loopback.
// - Site A has no symbol configuration; `breakwater symbols add` puts the shared corpus's .sym
//   files into its store (the Linux system libraries stored under their soname, whose MODULE
//   record names the real file, are refused and say why; adding again skips everything).
// - Site B's only symbol source is its HTTP symbol supplier pointed at A's /symbols/. A crash
//   submitted to B before the symbols were added has no function names for its main module; the
//   same crash submitted after has them, exactly as A (which reads its store directly) has them.
// - A's /symbols/ answers GET, HEAD, gzip and 404 as symbol servers do.
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

}  // namespace
}  // namespace bw::symbols
