// End to end through real `breakwater` processes (issue 6, "Must show"):
// - `breakwater serve --symbols-path <corpus symbols>`: every corpus dump posted as a client would
//   (gzip'd multipart, Firefox annotations as a JSON part) comes out processed, its json_dump
//   equal to `breakwater stackwalk --json` on the same dump, with signature, product, version, os
//   and cpu filled; the two unreadable dumps are recorded as failed.
// - a dump that makes the stack-walking worker hang (or crash) is recorded as failed within the
//   timeout and the processor keeps going.
// - separate collector, crashmover and two processors on a private RabbitMQ broker: a processor
//   SIGKILLed in the middle of a crash loses nothing, the other one processes it.
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "storage/factory.h"
#include "tests/rabbitmq/rabbitmq_server.h"
#include "tests/child_process/child_process.h"

namespace bw::e2e {

using test_support::ChildProcess;
using test_support::run;
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path kTestdata = BW_TESTDATA_DIR;
const std::string kBin = BW_BREAKWATER_BIN;
constexpr size_t kMaxFrames = 500;  // processor.max_frames default

using test_support::TempDir;

std::vector<std::string> corpus_dumps() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kTestdata / "minidumps")) {
    if (e.path().extension() == ".dmp") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The processor's truncation, written independently: threads over 500 frames keep 250 + 250.
void truncate_like_processor(json& dump) {
  auto cut = [](json& thread) {
    if (!thread.is_object() || !thread.contains("frames") || thread["frames"].size() <= kMaxFrames) return;
    json& f = thread["frames"];
    json kept = json::array();
    for (size_t i = 0; i < kMaxFrames / 2; ++i) kept.push_back(f[i]);
    for (size_t i = f.size() - kMaxFrames / 2; i < f.size(); ++i) kept.push_back(f[i]);
    f = kept;
    thread["truncated"] = true;
  };
  if (dump.contains("threads")) {
    for (auto& t : dump["threads"]) cut(t);
  }
  if (dump.contains("crashing_thread")) cut(dump["crashing_thread"]);
}

// `breakwater stackwalk --json` on a dump; nullopt when it says the dump cannot be read.
std::optional<json> stackwalk_json(const std::string& dump, const fs::path& logs) {
  auto r = run({kBin, "stackwalk", "--json", "--symbols-path", (kTestdata / "symbols").string(),
                (kTestdata / "minidumps" / (dump + ".dmp")).string()},
               logs / ("stackwalk-" + dump));
  if (r.exit_code == 1) return std::nullopt;
  EXPECT_EQ(r.exit_code, 0) << dump << ": " << r.err;
  return json::parse(r.out);
}

// Posts one dump as a client would; returns the crash id the collector answered.
std::string submit(const std::string& url, const std::string& dump, const fs::path& logs,
                   const std::vector<std::string>& annotations = {}) {
  std::vector<std::string> argv = {kBin, "submit", url, (kTestdata / "minidumps" / (dump + ".dmp")).string(), "--gzip"};
  fs::path extra = kTestdata / "annotations" / (dump + ".json");
  if (fs::exists(extra)) {
    argv.insert(argv.end(), {"--json-extra", "--annotations-file", extra.string()});
  } else {
    argv.insert(argv.end(), {"-a", "ProductName=BreakwaterTest", "-a", "Version=1.0"});
  }
  for (const auto& a : annotations) argv.insert(argv.end(), {"-a", a});
  auto r = run(argv, logs / ("submit-" + dump));
  std::smatch m;
  static const std::regex id_re("CrashID=bp-([0-9a-f-]{36})");
  EXPECT_TRUE(std::regex_search(r.out, m, id_re)) << dump << ": " << r.out << r.err;
  return m.size() > 1 ? m[1].str() : std::string();
}

// "http://HOST:PORT/" printed by serve and collector.
std::string listen_url(ChildProcess& p) {
  EXPECT_TRUE(p.wait_for_output("http://", 120s)) << p.err();
  std::smatch m;
  std::string out = p.out();
  static const std::regex re("http://([0-9.]+:[0-9]+)/");
  if (!std::regex_search(out, m, re)) return "";
  return "http://" + m[1].str();
}

class Processed {
 public:
  explicit Processed(const fs::path& data) {
    Config::Sources sources;
    sources.overrides = {{"server.data", data.string()}};
    storage_ = storage::make_primary_storage(Config::load(sources));
  }
  // The processed crash, once it exists (nullopt at the deadline).
  std::optional<json> wait(const std::string& id_text, std::chrono::seconds timeout) {
    auto id = CrashId::parse(id_text);
    if (!id) return std::nullopt;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        return storage_->get_processed(*id);
      } catch (const storage::CrashNotFound&) {
        std::this_thread::sleep_for(100ms);
      }
    }
    return std::nullopt;
  }

 private:
  std::unique_ptr<storage::FileSystemCrashStorage> storage_;
};

std::string annotation(const std::string& dump, const char* key, const std::string& fallback) {
  fs::path extra = kTestdata / "annotations" / (dump + ".json");
  if (!fs::exists(extra)) return fallback;
  std::ifstream in(extra);
  json j = json::parse(in);
  return j.value(key, fallback);
}

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string query_encode(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// GET on the served web port: status and parsed JSON body (null when not JSON).
std::pair<int, json> get_json(const std::string& base_url, const std::string& target) {
  static const std::regex re("http://([0-9.]+):([0-9]+)");
  std::smatch m;
  if (!std::regex_search(base_url, m, re)) return {0, nullptr};
  http::Connection c(m[1].str(), static_cast<uint16_t>(std::stoi(m[2].str())));
  if (!c.send(http::make_request("GET", target, {}, ""))) return {0, nullptr};
  auto r = c.read_response(30s);
  return {r.status, json::parse(r.body, nullptr, false)};
}

std::vector<std::string> serve_argv(const fs::path& data, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kBin, "serve", "--data", data.string(), "--listen", "127.0.0.1:0",
                                   "--symbols-path", (kTestdata / "symbols").string(),
                                   "--set", "processor.workers=2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

TEST(ServeEndToEnd, EveryCorpusDumpComesOutProcessedLikeStackwalk) {
  TempDir dir;
  ChildProcess serve(serve_argv(dir.path() / "data"), dir.path() / "serve");
  std::string base = listen_url(serve);
  std::string url = base + "/submit";
  std::map<std::string, std::string> ids;
  for (const auto& dump : corpus_dumps()) ids[dump] = submit(url, dump, dir.path());
  Processed processed(dir.path() / "data");
  for (const auto& [dump, id] : ids) {
    SCOPED_TRACE(dump);
    auto p = processed.wait(id, 600s);
    ASSERT_TRUE(p) << "not processed: " << id << "\n" << serve.err().substr(0, 4000);
    EXPECT_EQ((*p)["uuid"], id);
    // Findable by its signature within a second of being processed (the processor indexes right
    // after saving), and served by /api/ProcessedCrash/.
    {
      std::string signature = p->value("signature", "");
      std::string target = "/api/SuperSearch/?signature=" + query_encode("=" + signature) +
                           "&uuid=" + query_encode(id) + "&_columns=uuid&_columns=signature";
      auto deadline = std::chrono::steady_clock::now() + 1s;
      std::pair<int, json> found;
      do {
        found = get_json(base, target);
        if (found.first == 200 && found.second.value("total", 0) == 1) break;
        std::this_thread::sleep_for(20ms);
      } while (std::chrono::steady_clock::now() < deadline);
      EXPECT_EQ(found.first, 200) << found.second.dump();
      ASSERT_EQ(found.second.value("total", 0), 1) << target << " answered " << found.second.dump();
      EXPECT_EQ(found.second["hits"][0]["uuid"], id);
      EXPECT_EQ(found.second["hits"][0]["signature"], signature);
      auto [status, body] = get_json(base, "/api/ProcessedCrash/?crash_id=" + id);
      EXPECT_EQ(status, 200);
      EXPECT_EQ(body.value("uuid", ""), id);
      EXPECT_EQ(body.value("signature", ""), signature);
    }
    auto expected = stackwalk_json(dump, dir.path());
    if (!expected) {
      // An unreadable dump (the fuzzer finds) is recorded as a failed processing with the reason.
      EXPECT_EQ((*p)["success"], false);
      EXPECT_EQ((*p)["mdsw_status_string"], "ERROR_INVALID_MINIDUMP");
      EXPECT_TRUE((*p)["signature"].is_string());
      continue;
    }
    truncate_like_processor(*expected);
    if ((*expected)["status"] != "OK") {
      // Readable, but not a dump that can be walked (no thread list): the same status, failed.
      EXPECT_EQ((*p)["mdsw_status_string"], (*expected)["status"]);
      EXPECT_EQ((*p)["json_dump"], *expected);
      EXPECT_EQ((*p)["success"], false);
      continue;
    }
    EXPECT_EQ((*p)["mdsw_status_string"], "OK") << (*p)["processor_notes"].dump();
    EXPECT_EQ((*p)["json_dump"], *expected);
    EXPECT_EQ((*p)["success"], true) << (*p)["processor_notes"].dump();
    EXPECT_FALSE((*p)["signature"].get<std::string>().empty());
    EXPECT_EQ((*p)["product"], annotation(dump, "ProductName", "BreakwaterTest"));
    EXPECT_EQ((*p)["version"], annotation(dump, "Version", "1.0"));
    EXPECT_EQ((*p)["os_name"], (*expected)["system_info"]["os"]);
    EXPECT_TRUE((*p)["os_name"].is_string());
    EXPECT_EQ((*p)["cpu_arch"], (*expected)["system_info"]["cpu_arch"]);
    EXPECT_TRUE((*p)["cpu_arch"].is_string());
  }
  EXPECT_EQ(WEXITSTATUS(serve.stop()), 0) << serve.err().substr(0, 4000);
}

TEST(ServeEndToEnd, HangingOrCrashingWalkerIsRecordedAsFailedAndProcessingGoesOn) {
  TempDir dir;
  ChildProcess serve(serve_argv(dir.path() / "data", {"--set", "processor.test_hooks=true", "--set",
                                                    "processor.stackwalk_timeout=5s", "--set", "processor.workers=1"}),
                     dir.path() / "serve");
  std::string url = listen_url(serve) + "/submit";
  Processed processed(dir.path() / "data");
  auto start = std::chrono::steady_clock::now();
  std::string hung = submit(url, "linux_inline", dir.path(), {"BreakwaterTestHook=stackwalk_hang"});
  std::string crashed = submit(url, "linux_inline", dir.path(), {"BreakwaterTestHook=stackwalk_crash"});
  std::string normal = submit(url, "linux_inline", dir.path());

  auto p = processed.wait(hung, 300s);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["success"], false);
  EXPECT_EQ((*p)["mdsw_status_string"], "ERROR_TIMEOUT");
  bool noted = false;
  for (const auto& n : (*p)["processor_notes"]) noted |= n.get<std::string>().find("longer than 5s") != std::string::npos;
  EXPECT_TRUE(noted) << (*p)["processor_notes"].dump();
  // Recorded within the timeout plus what a loaded machine needs to submit and move it.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 120s);

  auto c = processed.wait(crashed, 300s);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)["success"], false);
  EXPECT_EQ((*c)["mdsw_status_string"], "ERROR_WORKER_CRASHED");

  auto n = processed.wait(normal, 300s);
  ASSERT_TRUE(n);
  EXPECT_EQ((*n)["success"], true);
  EXPECT_TRUE(serve.running());
  EXPECT_EQ(WEXITSTATUS(serve.stop()), 0);
}

TEST(ClusterEndToEnd, SigkilledProcessorLosesNothingOnRabbitMq) {
  if (!bw::testing::RabbitMqServer::available()) GTEST_SKIP() << "rabbitmq-server is not installed";
  bw::testing::RabbitMqServer broker;
  TempDir dir;
  fs::path data = dir.path() / "data";
  std::vector<std::string> common = {"--data", data.string(), "--queue-url", broker.url()};
  auto with = [&](std::vector<std::string> argv) {
    argv.insert(argv.end(), common.begin(), common.end());
    return argv;
  };
  ChildProcess collector(with({kBin, "collector", "--listen", "127.0.0.1:0"}), dir.path() / "collector");
  std::string url = listen_url(collector) + "/submit";
  ChildProcess mover(with({kBin, "crashmover", "--listen", "127.0.0.1:0"}), dir.path() / "crashmover");
  {
    // The mover alone answers the same health routes as in serve, on its own listener.
    static const std::regex listen_re("crash mover started.*listen=([0-9.]+:[0-9]+)");
    std::smatch m;
    std::string log;
    for (auto until = std::chrono::steady_clock::now() + 120s; std::chrono::steady_clock::now() < until;) {
      log = mover.err() + mover.out();
      if (std::regex_search(log, m, listen_re)) break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_FALSE(m.empty()) << log;
    auto [status, heartbeat] = get_json("http://" + m[1].str(), "/__heartbeat__");
    EXPECT_EQ(status, 200) << heartbeat.dump();
  }
  auto processor_argv = with({kBin, "processor", "--listen", "127.0.0.1:0", "--symbols-path",
                              (kTestdata / "symbols").string(), "--set", "processor.workers=1", "--set",
                              "processor.test_hooks=true", "--set", "queue.prefetch=1"});
  auto first = std::make_unique<ChildProcess>(processor_argv, dir.path() / "processor-a");

  // A crash whose walk takes 10 s: it is in flight in the first processor when that one dies.
  std::string slow = submit(url, "firefox-linux-x86_64", dir.path(), {"BreakwaterTestHook=stackwalk_slow"});
  auto deadline = std::chrono::steady_clock::now() + 300s;
  while (first->children().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  auto workers = first->children();
  ASSERT_FALSE(workers.empty()) << "the first processor never started walking\n" << first->err();

  ChildProcess second(processor_argv, dir.path() / "processor-b");
  first->kill_now();
  // Its stack-walking worker dies with it (PR_SET_PDEATHSIG).
  for (pid_t w : workers) {
    auto until = std::chrono::steady_clock::now() + 30s;
    while (::kill(w, 0) == 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
    EXPECT_NE(::kill(w, 0), 0) << "worker " << w << " outlived its processor";
  }
  std::vector<std::string> others;
  for (const char* dump : {"linux_inline", "minidump2", "firefox-windows-x86_64"}) others.push_back(submit(url, dump, dir.path()));

  Processed processed(data);
  auto p = processed.wait(slow, 300s);
  ASSERT_TRUE(p) << second.err().substr(0, 4000);
  EXPECT_EQ((*p)["success"], true) << (*p)["processor_notes"].dump();
  EXPECT_EQ((*p)["mdsw_status_string"], "OK");
  EXPECT_NE(second.err().find(slow), std::string::npos) << "the second processor did not process the crash";
  for (const auto& id : others) {
    auto o = processed.wait(id, 300s);
    ASSERT_TRUE(o) << id;
    EXPECT_EQ((*o)["success"], true);
  }
  EXPECT_EQ(WEXITSTATUS(second.stop()), 0);
  mover.stop();
  collector.stop();
}

}  // namespace
}  // namespace bw::e2e
