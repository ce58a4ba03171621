// Soak (hardening issue): `breakwater serve` under a bounded mix of well-formed uploads from many
// clients and slow, malformed and oversized requests. Afterwards: the server is up, every crash it
// answered CrashID= for is stored byte-identical and processed, and its anonymous memory came back
// to the baseline measured after a warm-up. BW_SOAK_SECONDS sets the length (default 60).
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "collector/submit_client.h"
#include "core/config.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "storage/factory.h"
#include "tests/child_process/child_process.h"

namespace bw::e2e {

using test_support::ChildProcess;
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const fs::path kTestdata = BW_TESTDATA_DIR;
const std::string kBin = BW_BREAKWATER_BIN;

// A line of /proc/<pid>/status in bytes ("VmRSS", "RssAnon", "RssFile"), 0 if absent.
uint64_t status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

uint64_t rss_bytes(pid_t pid) { return status_bytes(pid, "VmRSS"); }

struct Sent {
  std::string id;
  std::string dump;
};

class Soak {
 public:
  Soak(uint16_t port, std::vector<std::string> dumps) : port_(port), dumps_(std::move(dumps)) {}

  http::ClientResponse post(const std::string& bytes, std::chrono::milliseconds timeout = 60s) {
    http::Connection c("127.0.0.1", port_, 10s);
    c.send(bytes);
    return c.read_response(timeout);
  }

  // One well-formed crash, as curl -F sends it; remembers what the server answered for.
  void good_upload(std::mt19937& rng) {
    const std::string& dump = dumps_[rng() % dumps_.size()];
    json ann = {{"ProductName", "Soak"}, {"Version", std::to_string(rng() % 5)}, {"Throttleable", "0"}};
    std::string body = collector::build_multipart_body("soakboundary", ann, false, {{"upload_file_minidump", dump}});
    auto r = post(http::make_request("POST", "/submit", {{"Content-Type", "multipart/form-data; boundary=soakboundary"}}, body));
    if (r.status != 200 || r.body.rfind("CrashID=bp-", 0) != 0) {
      failures_.fetch_add(1);
      return;
    }
    std::lock_guard lock(mu_);
    sent_.push_back({r.body.substr(11, 36), dump});
  }

  // Malformed requests of every kind the hardening issue lists; each must get a 4xx or 5xx other
  // than 500, or a close, and never take the server down.
  void bad_request(std::mt19937& rng) {
    std::string head = "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n";
    std::vector<std::string> kinds = {
        head + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: " + std::string(70'000, 'a') + "\r\n\r\n",
        head + "Transfer-Encoding: gzip, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST /submit HTTP/1.1\r\nContent-Length: 1\r\n\r\na",
        head + "Content-Length: 40\r\n\r\n--b\r\nContent-Disposition: form-data\r\n\r\n",
        head + "Content-Encoding: gzip\r\nContent-Length: 10\r\n\r\nnot gzip!!",
        "GARBAGE\r\n\r\n",
        std::string(5000, '\xff'),
    };
    const auto& bytes = kinds[rng() % kinds.size()];
    try {
      auto r = post(bytes, 30s);
      if (r.status == 500 || r.status == 200) unexpected_.fetch_add(1);
    } catch (const std::runtime_error&) {
      // closed without an answer (garbage that is not a request): fine
    }
  }

  // Body over the 25 MiB limit at full speed: 413 before it is all read.
  void oversized() {
    std::string h = "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                    "Content-Length: 40000000\r\n\r\n";
    try {
      auto r = post(h + std::string(1 << 20, 'x'), 30s);
      if (r.status != 413) unexpected_.fetch_add(1);
    } catch (const std::runtime_error&) {
      unexpected_.fetch_add(1);
    }
  }

  // A body trickled at ~20 bytes/s: shed or timed out (408), never served forever.
  void slow_upload(const std::atomic<bool>& stop) {
    try {
      http::Connection c("127.0.0.1", port_, 10s);
      c.send("POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n");
      auto until = Clock::now() + 20s;
      while (!stop && Clock::now() < until) {
        if (!c.send("xx")) break;
        std::this_thread::sleep_for(100ms);
      }
      auto r = c.read_response(30s);
      if (r.status != 408 && r.status != 503) unexpected_.fetch_add(1);
    } catch (const std::runtime_error&) {
    }
  }

  std::vector<Sent> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  int failures() const { return failures_; }
  int unexpected() const { return unexpected_; }

 private:
  uint16_t port_;
  std::vector<std::string> dumps_;
  std::mutex mu_;
  std::vector<Sent> sent_;
  std::atomic<int> failures_{0}, unexpected_{0};
};

TEST(Soak, MixedTrafficLosesNothingAndMemoryComesBack) {
  int seconds = 60;
  if (const char* env = std::getenv("BW_SOAK_SECONDS")) seconds = std::max(5, std::atoi(env));
  test_support::TempDir temp;
  const fs::path& dir = temp.path();
  // The index's SQLite page cache is a bound the index fills as it grows (64 MiB by default; the
  // soak indexes 15,000-26,000 crashes, more on a faster machine): set small, so that memory
  // above the baseline measures what the load left behind, not how far the cache got.
  ChildProcess serve({kBin, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0", "--set",
                      "index.sqlite_cache_size=8MiB", "--set",
                      "processor.workers=2", "--set", "http.max_connections=64", "--set", "http.body_rate_grace=2s",
                      "--set", "http.header_timeout=5s", "--set", "http.read_timeout=5s", "--set", "http.access_log=false"},
                     dir / "serve");
  ASSERT_TRUE(serve.wait_for_output("http://", 120s)) << serve.err();
  std::smatch m;
  std::string out = serve.out();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("http://[0-9.]+:([0-9]+)/")));
  auto port = static_cast<uint16_t>(std::stoi(m[1].str()));

  // Small and medium corpus dumps (the large ones make a soak a benchmark).
  std::vector<std::string> dumps;
  for (const auto& e : fs::directory_iterator(kTestdata / "minidumps")) {
    if (e.path().extension() == ".dmp" && fs::file_size(e.path()) < 200'000) dumps.push_back(bw::fs::read_file(e.path()));
  }
  ASSERT_FALSE(dumps.empty());
  Soak soak(port, dumps);

  Config::Sources sources;
  sources.overrides = {{"server.data", (dir / "data").string()}};
  auto storage = storage::make_primary_storage(Config::load(sources));
  auto wait_processed = [&](const std::vector<Sent>& sent, std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    size_t done = 0;
    for (const auto& s : sent) {
      auto id = CrashId::parse(s.id);
      if (!id) continue;
      for (;;) {
        try {
          storage->get_processed(*id);
          ++done;
          break;
        } catch (const storage::CrashNotFound&) {
          if (Clock::now() > deadline) return done;
          std::this_thread::sleep_for(50ms);
        }
      }
    }
    return done;
  };

  // Warm-up, then the baseline.
  std::mt19937 rng(7);
  for (int i = 0; i < 30; ++i) soak.good_upload(rng);
  ASSERT_EQ(wait_processed(soak.sent(), 300s), soak.sent().size());
  std::this_thread::sleep_for(2s);
  // Anonymous memory (heap, stacks) is what a leak grows. The mapped index and queue files are
  // page cache the kernel may drop at any time and grow with the data, not with a leak.
  uint64_t baseline = status_bytes(serve.pid(), "RssAnon");
  uint64_t baseline_rss = rss_bytes(serve.pid());

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(100 + t);
      while (!stop) soak.good_upload(r);
    });
  }
  threads.emplace_back([&] {
    std::mt19937 r(200);
    while (!stop) soak.bad_request(r);
  });
  threads.emplace_back([&] {
    while (!stop) {
      soak.oversized();
      std::this_thread::sleep_for(200ms);
    }
  });
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (!stop) soak.slow_upload(stop);
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();

  // Up and answering.
  http::Connection c("127.0.0.1", port, 10s);
  c.send(http::make_request("GET", "/__heartbeat__", {}, ""));
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(soak.failures(), 0);
  EXPECT_EQ(soak.unexpected(), 0);

  // Every answered crash: stored byte-identical and processed.
  auto sent = soak.sent();
  EXPECT_GT(sent.size(), static_cast<size_t>(seconds));
  // Processed first: then the crash mover has moved each one into primary storage.
  EXPECT_EQ(wait_processed(sent, 600s), sent.size());
  for (const auto& s : sent) {
    auto id = CrashId::parse(s.id);
    ASSERT_TRUE(id) << s.id;
    ASSERT_EQ(storage->get_dump(*id, "upload_file_minidump"), s.dump) << s.id;
  }

  // Memory back near the baseline once the load is gone.
  std::this_thread::sleep_for(5s);
  uint64_t after = status_bytes(serve.pid(), "RssAnon");
  std::cout << "soak: " << sent.size() << " crashes in " << seconds << " s; anonymous memory baseline "
            << (baseline >> 20) << " MiB, after " << (after >> 20) << " MiB (RSS " << (baseline_rss >> 20) << " -> "
            << (rss_bytes(serve.pid()) >> 20) << " MiB, of which mapped files "
            << (status_bytes(serve.pid(), "RssFile") >> 20) << " MiB)" << std::endl;
  // Slack: 64 MiB (allocator caches, thread stacks); sanitizer builds set more, since ASan keeps
  // freed memory in its own caches (BW_SOAK_RSS_SLACK_MB).
  uint64_t slack = 64ull << 20;
  if (const char* env = std::getenv("BW_SOAK_RSS_SLACK_MB")) slack = std::strtoull(env, nullptr, 10) << 20;
  EXPECT_LE(after, baseline + std::max<uint64_t>(slack, baseline / 2));
  EXPECT_EQ(WEXITSTATUS(serve.stop()), 0) << serve.err().substr(0, 4000);
}

}  // namespace
}  // namespace bw::e2e
