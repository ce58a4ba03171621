// Processor benchmarks (docs/benchmarks.md, "Processor").
//
//   processor_bench throughput BREAKWATER [PASSES]
//     Every corpus dump with its annotations in MemoryCrashStorage, processed by the full default
//     ruleset on one thread with one stack-walking worker process (`BREAKWATER stackwalk-worker`,
//     as in production). One warm-up pass fills the worker's symbol cache, then PASSES passes are
//     timed. Reports crashes/s of wall time and crashes per CPU-second (this process and the
//     worker), i.e. per core, which stays meaningful on a loaded machine.
//   processor_bench latency BREAKWATER [CRASHES]
//     Starts an idle `BREAKWATER serve` (temporary data folder, corpus symbols), then one at a time
//     posts a crash with `BREAKWATER submit` and waits for its processed crash to appear in
//     storage. Reports median and p90 of submit-to-processed (client start included).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "core/fs_util.h"
#include "core/config.h"
#include "processor/crash_pipeline.h"
#include "processor/rules.h"
#include "processor/worker_pool.h"
#include "signature/signature_generator.h"
#include "storage/factory.h"
#include "storage/memory_crash_storage.h"
#include "tests/child_process/child_process.h"

namespace stdfs = std::filesystem;
using namespace bw;
using namespace std::chrono_literals;

namespace {

const stdfs::path kTestdata = BW_TESTDATA_DIR;

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double proc_cpu_seconds(pid_t pid) {
  // utime and stime (fields 14, 15) of /proc/<pid>/stat, in clock ticks.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int throughput(const std::string& breakwater, int passes) {
  storage::MemoryCrashStorage storage;
  std::vector<CrashId> ids;
  for (const auto& e : stdfs::directory_iterator(kTestdata / "minidumps")) {
    if (e.path().extension() != ".dmp") continue;
    std::string name = e.path().stem().string();
    nlohmann::json raw = {{"ProductName", "Bench"}, {"Version", "1.0"}};
    stdfs::path extra = kTestdata / "annotations" / (name + ".json");
    if (stdfs::exists(extra)) raw = nlohmann::json::parse(bw::fs::read_file(extra));
    auto id = CrashId::generate(ThrottleResult::kAccept);
    raw["submitted_timestamp"] = "2026-01-01T00:00:00+00:00";
    storage.save_raw_crash(id, raw, {{"upload_file_minidump", e.path()}});
    ids.push_back(id);
  }
  processor::WorkerPoolOptions o;
  o.command = {breakwater, "stackwalk-worker"};
  o.processes = 1;
  o.symbols.paths = {kTestdata / "symbols"};
  processor::WorkerPool pool(o);
  auto generator = signature::SignatureGenerator::builtin();
  processor::RuleDependencies deps{&pool, &generator, 500};
  processor::CrashPipeline pipeline(storage, processor::make_ruleset(processor::default_rule_names(), deps),
                                    processor::make_ruleset({"signature"}, deps));
  for (const auto& id : ids) pipeline.process(id, queue::Ruleset::kDefault);  // warm-up
  pid_t worker = pool.worker_pids().at(0);
  double cpu0 = cpu_seconds(RUSAGE_SELF) + proc_cpu_seconds(worker);
  auto t0 = std::chrono::steady_clock::now();
  size_t failed = 0;
  for (int p = 0; p < passes; ++p) {
    for (const auto& id : ids) failed += pipeline.process(id, queue::Ruleset::kDefault).value("success", false) ? 0 : 1;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds(RUSAGE_SELF) + proc_cpu_seconds(worker) - cpu0;
  size_t n = ids.size() * static_cast<size_t>(passes);
  std::printf("crashes=%zu passes=%d failed=%zu wall_s=%.2f cpu_s=%.2f crashes_per_s=%.1f crashes_per_cpu_s=%.1f\n", n,
              passes, failed, wall, cpu, static_cast<double>(n) / wall, static_cast<double>(n) / cpu);
  return 0;
}

int latency(const std::string& breakwater, int crashes) {
  stdfs::path dir = stdfs::temp_directory_path() / ("bw-processor-bench-" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  int rc = 0;
  {
    test_support::ChildProcess serve({breakwater, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0",
                             "--symbols-path", (kTestdata / "symbols").string()},
                            dir / "serve");
    if (!serve.wait_for_output("http://", 120s)) {
      std::cerr << "serve did not start: " << serve.err() << "\n";
      return 1;
    }
    std::smatch m;
    std::string out = serve.out();
    std::regex_search(out, m, std::regex("http://([0-9.]+:[0-9]+)/"));
    std::string url = "http://" + m[1].str() + "/submit";
    Config::Sources sources;
    sources.overrides = {{"server.data", (dir / "data").string()}};
    auto storage = storage::make_primary_storage(Config::load(sources));
    std::vector<double> ms;
    const char* dumps[] = {"linux_inline", "minidump2", "firefox-linux-x86_64", "linux-mini"};
    for (int i = 0; i < crashes && rc == 0; ++i) {
      std::string dump = dumps[i % 4];
      auto t0 = std::chrono::steady_clock::now();
      auto r = test_support::run({breakwater, "submit", url, (kTestdata / "minidumps" / (dump + ".dmp")).string(), "-a",
                         "ProductName=Bench", "-a", "Version=1.0"},
                        dir / "submit");
      std::smatch id_match;
      if (!std::regex_search(r.out, id_match, std::regex("CrashID=bp-([0-9a-f-]{36})"))) {
        std::cerr << "submit failed: " << r.out << r.err << "\n";
        rc = 1;
        break;
      }
      auto id = *CrashId::parse(id_match[1].str());
      while (true) {
        try {
          storage->get_processed(id);
          break;
        } catch (const storage::CrashNotFound&) {
          if (std::chrono::steady_clock::now() - t0 > 120s) {
            std::cerr << "crash " << id.str() << " was not processed\n";
            rc = 1;
            break;
          }
          std::this_thread::sleep_for(2ms);
        }
      }
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      std::this_thread::sleep_for(200ms);  // idle between crashes
    }
    std::sort(ms.begin(), ms.end());
    if (!ms.empty()) {
      std::printf("crashes=%zu median_ms=%.0f p90_ms=%.0f min_ms=%.0f max_ms=%.0f\n", ms.size(), ms[ms.size() / 2],
                  ms[ms.size() * 9 / 10], ms.front(), ms.back());
    }
    serve.stop();
  }
  stdfs::remove_all(dir);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: processor_bench throughput|latency BREAKWATER [N]\n";
    return 2;
  }
  std::string mode = argv[1];
  int n = argc > 3 ? std::atoi(argv[3]) : 0;
  if (mode == "throughput") return throughput(argv[2], n > 0 ? n : 5);
  if (mode == "latency") return latency(argv[2], n > 0 ? n : 40);
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
