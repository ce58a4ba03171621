// One measurement per process, so each run is cold in memory (the OS page cache aside):
//   symbols_bench parse FILE.sym CACHE   first parse: wall time and peak RSS; then writes CACHE
//                                        (CACHE "-": no cache file, e.g. to profile the parse alone)
//   symbols_bench load CACHE FILE.sym    reload from the cache file: wall and CPU time of the load,
//                                        then of a probe of 16,000 lookups + CFI lookups spread over
//                                        the module (which pays the lazy block checks it causes)
//   symbols_bench verify CACHE FILE.sym  load, then check every block (what an eager check costs)
//   symbols_bench check FILE.sym         the check-only pass (check_sym_file, what the symbol store
//                                        runs before storing a file): wall and CPU time, peak RSS
// Prints one line of key=value pairs; run_symbols_bench.sh repeats and takes medians.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "symbols/module_symbols.h"

namespace {

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Lookups spread over the module, so a load that skipped work would be caught paying later.
uint64_t probe(const bw::symbols::ModuleSymbols& m) {
  uint64_t found = 0;
  for (uint64_t off = 0x1000; off < 0x40000000; off += 0x10001) {
    if (m.lookup(off)) ++found;
    if (m.find_cfi(off)) ++found;
  }
  return found;
}

// User + system CPU seconds of this process so far: on a shared, loaded machine this is the
// figure that says what the work costs, wall time says what a user waited.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  using clock = std::chrono::steady_clock;
  if (argc != 4 && !(argc == 3 && std::strcmp(argv[1], "check") == 0)) {
    std::fprintf(stderr,
                 "usage: %s parse FILE.sym CACHE|- | load CACHE FILE.sym | verify CACHE FILE.sym | check FILE.sym\n",
                 argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  std::string error;
  if (mode == "check") {
    double c0 = cpu_seconds();
    auto t0 = clock::now();
    auto checked = bw::symbols::check_sym_file(argv[2], &error);
    auto t1 = clock::now();
    double cpu = cpu_seconds() - c0;
    if (!checked) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    std::printf("mode=check seconds=%.3f cpu_seconds=%.3f peak_rss_mb=%.1f lines=%llu bad_lines=%llu\n",
                std::chrono::duration<double>(t1 - t0).count(), cpu, peak_rss_mb(),
                static_cast<unsigned long long>(checked->lines),
                static_cast<unsigned long long>(checked->bad_lines));
    return 0;
  }
  if (mode == "parse") {
    double c0 = cpu_seconds();
    auto t0 = clock::now();
    auto m = bw::symbols::ModuleSymbols::parse_file(argv[2], &error);
    auto t1 = clock::now();
    double cpu = cpu_seconds() - c0;
    if (!m) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    double rss = peak_rss_mb();
    auto stamp = bw::symbols::stamp_of(argv[2]);
    auto t2 = clock::now();
    if (std::strcmp(argv[3], "-") != 0 && !m->write_cache(argv[3], *stamp, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    auto t3 = clock::now();
    double c4 = cpu_seconds();
    uint64_t found = probe(*m);
    double probe_cpu = cpu_seconds() - c4;
    std::printf("mode=parse seconds=%.3f cpu_seconds=%.3f peak_rss_mb=%.1f memory_mb=%.1f write_cache_seconds=%.3f "
                "functions=%zu lines=%zu publics=%zu cfi=%zu bad_lines=%llu probe=%llu probe_cpu_seconds=%.4f\n",
                std::chrono::duration<double>(t1 - t0).count(), cpu, rss,
                static_cast<double>(m->memory_bytes()) / 1048576.0,
                std::chrono::duration<double>(t3 - t2).count(), m->function_count(), m->line_count(),
                m->public_count(), m->cfi_init_count(),
                static_cast<unsigned long long>(m->stats().bad_lines),
                static_cast<unsigned long long>(found), probe_cpu);
    return 0;
  }
  if (mode == "load") {
    auto stamp = bw::symbols::stamp_of(argv[3]);
    double c0 = cpu_seconds();
    auto t0 = clock::now();
    auto m = bw::symbols::ModuleSymbols::load_cache(argv[2], stamp, &error);
    auto t1 = clock::now();
    double cpu = cpu_seconds() - c0;
    if (!m) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    double load_rss = peak_rss_mb();
    double c1 = cpu_seconds();
    auto t2 = clock::now();
    uint64_t found = probe(*m);
    auto t3 = clock::now();
    double probe_cpu = cpu_seconds() - c1;
    std::printf("mode=load seconds=%.4f cpu_seconds=%.4f load_rss_mb=%.1f probe_seconds=%.4f "
                "probe_cpu_seconds=%.4f peak_rss_mb=%.1f cache_mb=%.1f probe=%llu damaged=%d\n",
                std::chrono::duration<double>(t1 - t0).count(), cpu, load_rss,
                std::chrono::duration<double>(t3 - t2).count(), probe_cpu, peak_rss_mb(),
                static_cast<double>(m->memory_bytes()) / 1048576.0, static_cast<unsigned long long>(found),
                m->damage_detected() ? 1 : 0);
    return 0;
  }
  if (mode == "verify") {
    auto stamp = bw::symbols::stamp_of(argv[3]);
    double c0 = cpu_seconds();
    auto t0 = clock::now();
    auto m = bw::symbols::ModuleSymbols::load_cache(argv[2], stamp, &error);
    bool ok = m && m->verify_cache();
    auto t1 = clock::now();
    double cpu = cpu_seconds() - c0;
    if (!m) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    std::printf("mode=verify seconds=%.4f cpu_seconds=%.4f peak_rss_mb=%.1f intact=%d\n",
                std::chrono::duration<double>(t1 - t0).count(), cpu, peak_rss_mb(), ok ? 1 : 0);
    return ok ? 0 : 1;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
