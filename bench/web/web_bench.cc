// Web page speed (docs/benchmarks.md, "Web pages").
//
//   bench_web BREAKWATER (--index-sqlite FILE | --index-url URL) [--runs R] [--only page,page]
//
// Starts `BREAKWATER serve` on a temporary data folder over an existing crash index (the SQLite
// file `bench_index --backend sqlite --keep` leaves, or a PostgreSQL URL) with the corpus'
// symbols, submits one real crash (firefox-windows-x86_64.dmp with its annotations) and waits
// until it is processed, then GETs each page R times (after 2 warm-up requests) over loopback,
// one request at a time on a fresh connection, as a browser's first request would. Prints median,
// p99 (nearest rank) and min/max of the time from sending the request to having the whole answer,
// and fails if a page answers anything but 200.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "tests/child_process/child_process.h"

namespace fs = std::filesystem;
using namespace bw;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kTestdata = BW_TESTDATA_DIR;

struct Options {
  std::string breakwater;
  std::string index_sqlite, index_url;
  int runs = 30;
  std::set<std::string> only;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_web: " << why
            << "\nusage: bench_web BREAKWATER (--index-sqlite FILE | --index-url URL) [--runs R] [--only p1,p2]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--index-sqlite") {
      o.index_sqlite = value();
    } else if (a == "--index-url") {
      o.index_url = value();
    } else if (a == "--runs") {
      o.runs = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--only") {
      std::stringstream s(value());
      for (std::string p; std::getline(s, p, ',');) o.only.insert(p);
    } else if (!a.starts_with("--") && o.breakwater.empty()) {
      o.breakwater = a;
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.breakwater.empty()) usage("give the breakwater binary");
  if (o.index_sqlite.empty() == o.index_url.empty()) usage("give one of --index-sqlite and --index-url");
  if (!o.index_sqlite.empty() && !fs::exists(o.index_sqlite)) usage("no such index file: " + o.index_sqlite);
  return o;
}

// One GET on a fresh connection: status and milliseconds until the whole answer was read.
std::pair<int, double> timed_get(uint16_t port, const std::string& target) {
  auto t0 = Clock::now();
  http::Connection c("127.0.0.1", port);
  if (!c.send(http::make_request("GET", target, {}, ""))) return {0, 0};
  auto r = c.read_response(60s);
  return {r.status, std::chrono::duration<double, std::milli>(Clock::now() - t0).count()};
}

std::string percent_encode(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

// Annotations of the corpus crash as `-a key=value` arguments: strings as they are, other values
// as JSON text (multipart fields are text).
std::vector<std::string> annotation_args(const fs::path& json_file) {
  std::ifstream in(json_file);
  nlohmann::json annotations = nlohmann::json::parse(in);
  std::vector<std::string> args;
  for (const auto& [key, value] : annotations.items()) {
    args.push_back("-a");
    args.push_back(key + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  fs::path dir = fs::temp_directory_path() / ("bw-web-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int rc = 0;
  {
    std::vector<std::string> args = {o.breakwater, "serve", "--data", (dir / "data").string(), "--listen",
                                     "127.0.0.1:0", "--symbols-path", (kTestdata / "symbols").string(),
                                     // Page speed, not the per-address rate limit, is measured here.
                                     "--set", "web.api_requests_per_minute=0"};
    if (!o.index_url.empty()) {
      args.insert(args.end(), {"--index-url", o.index_url});
    } else {
      args.insert(args.end(), {"--set", "index.sqlite_path=" + fs::absolute(o.index_sqlite).string()});
    }
    test_support::ChildProcess serve(args, dir / "serve");
    if (!serve.wait_for_output("http://", 300s)) {
      std::cerr << "serve did not start: " << serve.err() << "\n";
      return 1;
    }
    std::smatch m;
    std::string out = serve.out();
    std::regex_search(out, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/"));
    uint16_t port = static_cast<uint16_t>(std::stoi(m[1].str()));

    // One real, symbolicated crash for the report page.
    std::vector<std::string> submit = {o.breakwater, "submit", "http://127.0.0.1:" + m[1].str() + "/submit",
                                       (kTestdata / "minidumps" / "firefox-windows-x86_64.dmp").string()};
    for (auto& a : annotation_args(kTestdata / "annotations" / "firefox-windows-x86_64.json")) submit.push_back(a);
    auto r = test_support::run(submit, dir / "submit");
    std::smatch id_match;
    if (!std::regex_search(r.out, id_match, std::regex("CrashID=bp-([0-9a-f-]{36})"))) {
      std::cerr << "submit failed: " << r.out << r.err << "\n";
      return 1;
    }
    std::string id = id_match[1].str();
    auto deadline = Clock::now() + 120s;
    while (true) {
      http::Connection c("127.0.0.1", port);
      c.send(http::make_request("GET", "/report/status/" + id, {}, ""));
      auto s = c.read_response(10s);
      if (s.status == 200 && s.body.find("\"processed\"") != std::string::npos) break;
      if (Clock::now() > deadline) {
        std::cerr << "crash " << id << " was not processed\n";
        return 1;
      }
      std::this_thread::sleep_for(20ms);
    }

    // The top signature of index/test_crashes.h (14.5 % of the crashes: the biggest page).
    const std::string top_signature = "js::gc::Arena::finalize";
    const std::vector<std::pair<std::string, std::string>> pages = {
        {"home", "/"},
        {"search_facets", "/search/?product=Firefox&_facets=signature&_facets=version&_facets=platform"},
        {"topcrashers", "/topcrashers/?product=Firefox&days=7"},
        {"signature", "/signature/?signature=" + percent_encode(top_signature)},
        {"report", "/report/index/" + id},
        {"api_supersearch", "/api/SuperSearch/?product=Firefox&_facets=signature"},
    };
    std::printf("%-16s %10s %10s %21s  (ms, %d runs, one request at a time)\n", "page", "p50", "p99", "min-max", o.runs);
    for (const auto& [name, target] : pages) {
      if (!o.only.empty() && !o.only.count(name)) continue;
      std::vector<double> ms;
      int bad_status = 0;
      for (int i = 0; i < o.runs + 2; ++i) {
        auto [status, t] = timed_get(port, target);
        if (status != 200) bad_status = status;
        if (i >= 2) ms.push_back(t);
      }
      if (bad_status != 0) {
        std::printf("%-16s answered %d: %s\n", name.c_str(), bad_status, target.c_str());
        rc = 1;
        continue;
      }
      std::sort(ms.begin(), ms.end());
      size_t p99 = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(ms.size()))) - 1;
      std::printf("%-16s %10.2f %10.2f %10.2f-%-10.2f\n", name.c_str(), ms[ms.size() / 2], ms[p99], ms.front(),
                  ms.back());
    }
    serve.stop();
  }
  fs::remove_all(dir);
  return rc;
}
