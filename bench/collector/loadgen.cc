// collector_loadgen: N connections, each a thread with a blocking keep-alive socket, sending the
// same gzip'd multipart crash again and again for a fixed time; prints throughput and latency as
// one JSON line. The crash: annotations like Firefox's plus a dump that is part random and part
// zeros, sized so the gzip'd body is about --body-kb KiB.
//
//   collector_loadgen --port P [--connections 64] [--seconds 20] [--body-kb 400]
//                     [--method POST|PUT] [--path /submit] [--per-connection-path]
//
// PUT with --per-connection-path sends to <path>/c<N>, for nginx's DAV handler (the peer).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/collector/crash_body.h"
#include "collector/submit_client.h"
#include "http/client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  uint16_t port = 0;
  int connections = 64;
  int seconds = 20;
  int body_kb = 400;
  std::string method = "POST";
  std::string path = "/submit";
  bool per_connection_path = false;
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--port") o.port = static_cast<uint16_t>(std::stoi(next()));
    else if (a == "--connections") o.connections = std::stoi(next());
    else if (a == "--seconds") o.seconds = std::stoi(next());
    else if (a == "--body-kb") o.body_kb = std::stoi(next());
    else if (a == "--method") o.method = next();
    else if (a == "--path") o.path = next();
    else if (a == "--per-connection-path") o.per_connection_path = true;
    else throw std::runtime_error("unknown argument " + a);
  }
  if (o.port == 0) throw std::runtime_error("--port is required");
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  Options o = parse_args(argc, argv);
  auto [boundary, body] = bench::make_crash(o.body_kb);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> errors{0}, ok{0};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      std::string target = o.per_connection_path ? o.path + "/c" + std::to_string(c) : o.path;
      std::string request = bw::http::make_request(
          o.method, target,
          {{"Content-Type", "multipart/form-data; boundary=" + boundary}, {"Content-Encoding", "gzip"},
           {"User-Agent", "collector_loadgen"}},
          body);
      std::vector<double> mine;
      std::unique_ptr<bw::http::Connection> conn;
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = Clock::now();
        try {
          if (!conn) conn = std::make_unique<bw::http::Connection>("127.0.0.1", o.port);
          if (!conn->send(request)) throw std::runtime_error("send failed");
          auto res = conn->read_response(std::chrono::seconds(120));
          if (res.status < 200 || res.status >= 300) {
            errors.fetch_add(1);
          } else {
            ok.fetch_add(1);
            mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          }
          if (res.header("Connection") == "close") conn.reset();
        } catch (const std::exception&) {
          errors.fetch_add(1);
          conn.reset();
        }
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));  // the measurement window itself
  stop = true;
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  nlohmann::json out = {{"connections", o.connections},
                        {"body_bytes", body.size()},
                        {"seconds", seconds},
                        {"ok", ok.load()},
                        {"errors", errors.load()},
                        {"per_second", static_cast<double>(ok.load()) / seconds},
                        {"p50_ms", pct(0.50)},
                        {"p99_ms", pct(0.99)}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "collector_loadgen: %s\n", e.what());
  return 2;
}
