// How fast the file-system crash storage saves, claims and walks crashes.
//   bench_storage [--benchmark_filter=...] [--bench_dir=DIR]   (default: the system temp folder)
// Results and the command used: docs/benchmarks.md, section "Storage".
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "core/fs_util.h"
#include "storage/fs_crash_storage.h"

namespace {

namespace fsys = std::filesystem;
using bw::CrashId;
using bw::storage::FileSystemRawCrashStorage;

fsys::path g_base = fsys::temp_directory_path();
constexpr size_t kDumpBytes = 256 << 10;  // a typical minidump is 100 KiB..1 MiB

std::string dump_bytes() {
  std::mt19937 rng(1);
  std::string out(kDumpBytes, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

class Scratch {
 public:
  Scratch() : path_(g_base / ("bw-bench-" + bw::fs::unique_temp_name())) { fsys::create_directories(path_); }
  ~Scratch() { fsys::remove_all(path_); }
  const fsys::path& path() const { return path_; }

 private:
  fsys::path path_;
};

const nlohmann::json kRaw = {{"ProductName", "Firefox"}, {"Version", "128.0"}, {"BuildID", "20240701000000"},
                             {"ReleaseChannel", "release"}, {"Throttleable", "1"}};

// Peer: the three files of a crash written and fsync'd, plus the folder fsync, nothing else.
void BM_PlainDurableWrite(benchmark::State& state) {
  Scratch scratch;
  auto dump = dump_bytes();
  auto raw = kRaw.dump();
  size_t n = 0;
  for (auto _ : state) {
    auto dir = scratch.path() / std::to_string(n++);
    fsys::create_directory(dir);
    bw::fs::write_file_synced(dir / "raw_crash.json", raw);
    bw::fs::write_file_synced(dir / "upload_file_minidump.dump", dump);
    bw::fs::write_file_synced(dir / "dump_names.json", "[\"upload_file_minidump\"]");
    bw::fs::fsync_path(dir);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDumpBytes));
}
BENCHMARK(BM_PlainDurableWrite)->UseRealTime();

// save_raw_crash with the dump in memory (temporary folder, fsyncs, rename, date link).
void BM_SaveRawCrashBytes(benchmark::State& state) {
  Scratch scratch;
  FileSystemRawCrashStorage store(scratch.path());
  auto dump = dump_bytes();
  for (auto _ : state) {
    auto id = CrashId::generate(bw::ThrottleResult::kAccept);
    store.save_raw_crash(id, kRaw, {{"upload_file_minidump", dump}});
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDumpBytes));
}
BENCHMARK(BM_SaveRawCrashBytes)->UseRealTime();
BENCHMARK(BM_SaveRawCrashBytes)->UseRealTime()->Threads(4);

// save_raw_crash with the dump already in a file (as the collector streams it): hard-linked.
void BM_SaveRawCrashFile(benchmark::State& state) {
  Scratch scratch;
  FileSystemRawCrashStorage store(scratch.path() / "root");
  auto source = scratch.path() / "incoming.dump";
  bw::fs::write_file_synced(source, dump_bytes());
  for (auto _ : state) {
    auto id = CrashId::generate(bw::ThrottleResult::kAccept);
    store.save_raw_crash(id, kRaw, {{"upload_file_minidump", source}});
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SaveRawCrashFile)->UseRealTime();

// claim + read + confirm + remove per crash, as the crash mover does, with a backlog of
// state.range(0) crashes.
void BM_ClaimConfirmRemove(benchmark::State& state) {
  Scratch scratch;
  FileSystemRawCrashStorage store(scratch.path());
  const auto backlog = static_cast<int>(state.range(0));
  for (int i = 0; i < backlog; ++i) {
    store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {{"upload_file_minidump", std::string(100, 'm')}});
  }
  for (auto _ : state) {
    auto id = store.claim_new_crash();
    if (!id) {
      state.SkipWithError("backlog ran out");
      break;
    }
    benchmark::DoNotOptimize(store.get_raw_crash(*id));
    store.confirm_new_crash(*id);
    store.remove(*id);
    // Keep the backlog constant (not timed).
    state.PauseTiming();
    store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {{"upload_file_minidump", std::string(100, 'm')}});
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClaimConfirmRemove)->Arg(100)->Arg(1000)->UseRealTime();

// claim + confirm alone (no fsync on this path), backlog of state.range(0) crashes.
void BM_ClaimConfirm(benchmark::State& state) {
  Scratch scratch;
  FileSystemRawCrashStorage store(scratch.path());
  const auto backlog = static_cast<int>(state.range(0));
  for (int i = 0; i < backlog; ++i) store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {});
  for (auto _ : state) {
    auto id = store.claim_new_crash();
    if (!id) {
      state.SkipWithError("backlog ran out");
      break;
    }
    store.confirm_new_crash(*id);
    state.PauseTiming();
    store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {});
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClaimConfirm)->Arg(100)->Arg(1000)->Arg(10000)->UseRealTime();

// The crash mover's claim: a batch of 100 (claim_new_crashes) + confirm each, backlog of
// state.range(0) crashes; items are crashes, so it compares per crash with BM_ClaimConfirm.
void BM_ClaimBatchConfirm(benchmark::State& state) {
  Scratch scratch;
  FileSystemRawCrashStorage store(scratch.path());
  const auto backlog = static_cast<int>(state.range(0));
  for (int i = 0; i < backlog; ++i) store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {});
  int64_t crashes = 0;
  for (auto _ : state) {
    auto ids = store.claim_new_crashes(100);
    if (ids.size() != 100) {
      state.SkipWithError("backlog ran out");
      break;
    }
    for (const auto& id : ids) store.confirm_new_crash(id);
    crashes += static_cast<int64_t>(ids.size());
    state.PauseTiming();
    for (size_t i = 0; i < ids.size(); ++i) store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {});
    state.ResumeTiming();
  }
  state.SetItemsProcessed(crashes);
}
BENCHMARK(BM_ClaimBatchConfirm)->Arg(1000)->Arg(10000)->UseRealTime();

// new_crashes(100) over a backlog of state.range(0) crashes.
void BM_NewCrashesListing(benchmark::State& state) {
  Scratch scratch;
  FileSystemRawCrashStorage store(scratch.path());
  for (int i = 0; i < state.range(0); ++i) {
    store.save_raw_crash(CrashId::generate(bw::ThrottleResult::kAccept), kRaw, {});
  }
  for (auto _ : state) benchmark::DoNotOptimize(store.new_crashes(100));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NewCrashesListing)->Arg(1000)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--bench_dir=", 12) == 0) g_base = argv[i] + 12;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
