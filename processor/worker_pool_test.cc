// The isolated stack-walking workers: same output as in process, reuse, and every way a worker
// can go wrong (hang, crash, memory, garbage, killed from outside, cannot start).
#include "processor/worker_pool.h"

#include <signal.h>

#include <thread>

#include <gtest/gtest.h>

#include "processor/rule.h"
#include "processor/test_util.h"

namespace bw::processor {
namespace {

namespace t = testing;
using namespace std::chrono_literals;

WorkerPoolOptions options(size_t processes = 1) {
  WorkerPoolOptions o;
  o.command = {BW_TEST_WORKER};
  o.processes = processes;
  o.timeout = 60s;
  o.symbols = t::corpus_symbols();
  o.test_hooks = true;
  return o;
}

WalkRequest dump(const std::string& name, std::string hook = "") {
  return {t::kTestdata / "minidumps" / (name + ".dmp"), std::move(hook)};
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(WorkerPool, WalksExactlyAsInProcess) {
  WorkerPool pool(options());
  for (const char* name : {"linux_inline", "firefox-windows-x86_64", "minidump2"}) {
    WalkResult w = pool.walk(dump(name));
    ASSERT_TRUE(w.ok()) << name << " " << w.status;
    auto supplier = symbols::make_symbol_supplier(t::corpus_symbols());
    WalkResult direct = walk_dump_file(dump(name).dump, supplier.get());
    EXPECT_EQ(w.json_dump, direct.json_dump) << name;
    EXPECT_EQ(w.notes, direct.notes) << name;
  }
  EXPECT_EQ(pool.restarts(), 0u);
}

TEST(WorkerPool, ReusesWorkersSoSymbolsStayWarm) {
  WorkerPool pool(options());
  WalkResult first = pool.walk(dump("linux_inline"));
  auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  WalkResult second = pool.walk(dump("linux_inline"));
  EXPECT_EQ(pool.worker_pids(), pids);
  EXPECT_GT(first.symbol_misses, 0u);
  EXPECT_GT(second.symbol_hits, 0u);  // the module parsed for the first walk was kept
  EXPECT_LT(second.symbol_misses, first.symbol_misses);
}

TEST(WorkerPool, HangingWorkerIsKilledAtTheDeadlineAndReplaced) {
  auto o = options();
  o.timeout = 2s;
  WorkerPool pool(o);
  ASSERT_TRUE(pool.walk(dump("linux_inline")).ok());
  pid_t before = pool.worker_pids().at(0);
  auto start = std::chrono::steady_clock::now();
  WalkResult r = pool.walk(dump("linux_inline", "stackwalk_hang"));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, kStatusTimeout);
  EXPECT_EQ(r.json_dump, nlohmann::json({{"status", kStatusTimeout}}));
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("longer than 2s"), std::string::npos) << r.notes[0];
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 60s);  // bounded by the timeout, with room for a loaded machine
  EXPECT_FALSE(alive(before));
  EXPECT_EQ(pool.restarts(), 1u);
  WalkResult after = pool.walk(dump("linux_inline"));
  EXPECT_TRUE(after.ok());
  EXPECT_NE(pool.worker_pids().at(0), before);
}

TEST(WorkerPool, CrashingWorkerIsReportedAndReplaced) {
  WorkerPool pool(options());
  WalkResult r = pool.walk(dump("linux_inline", "stackwalk_crash"));
  EXPECT_EQ(r.status, kStatusCrashed);
  ASSERT_EQ(r.notes.size(), 1u);
  // A plain build dies of SIGSEGV; under AddressSanitizer the sanitizer reports and exits.
  EXPECT_TRUE(r.notes[0].find("signal 11") != std::string::npos || r.notes[0].find("exited with code") != std::string::npos)
      << r.notes[0];
  EXPECT_EQ(pool.restarts(), 1u);
  EXPECT_TRUE(pool.walk(dump("linux_inline")).ok());
}

TEST(WorkerPool, WorkerOverItsMemoryLimitIsReportedAndReplaced) {
  if (!worker_memory_limit_supported()) GTEST_SKIP() << "no RLIMIT_AS under AddressSanitizer";
  auto o = options();
  o.memory_limit = uint64_t{1} << 30;
  WorkerPool pool(o);
  WalkResult r = pool.walk(dump("linux_inline", "stackwalk_oom"));
  EXPECT_EQ(r.status, kStatusOutOfMemory) << (r.notes.empty() ? "" : r.notes[0]);
  EXPECT_EQ(pool.restarts(), 1u);
  // Real dumps still walk under the limit.
  EXPECT_TRUE(pool.walk(dump("firefox-linux-x86_64")).ok());
}

TEST(WorkerPool, HooksAreIgnoredUnlessEnabled) {
  auto o = options();
  o.test_hooks = false;
  o.timeout = 30s;
  WorkerPool pool(o);
  EXPECT_TRUE(pool.walk(dump("linux_inline", "stackwalk_crash")).ok());
  EXPECT_TRUE(pool.walk(dump("linux_inline", "stackwalk_hang")).ok());
  EXPECT_EQ(pool.restarts(), 0u);
}

TEST(WorkerPool, WorkerKilledWhileIdleIsReplacedWithoutFailingTheDump) {
  WorkerPool pool(options());
  ASSERT_TRUE(pool.walk(dump("linux_inline")).ok());
  pid_t pid = pool.worker_pids().at(0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // Whether the pool notices on write (EPIPE) or on read (EOF) depends on timing; either way the
  // pool carries on and the next walk after that works.
  WalkResult r = pool.walk(dump("linux_inline"));
  if (!r.ok()) {
    EXPECT_EQ(r.status, kStatusCrashed);
  }
  EXPECT_TRUE(pool.walk(dump("linux_inline")).ok());
  EXPECT_GE(pool.restarts(), 1u);
}

TEST(WorkerPool, GarbageFromAWorkerIsAProtocolError) {
  auto o = options();
  // Says it is ready, then answers the first request with a frame that is not a result.
  o.command = {"/bin/bash", "-c", R"(printf '\x0e\x00\x00\x00{"ready":true}\x05\x00\x00\x00hello'; exec sleep 60)"};
  WorkerPool pool(o);
  WalkResult r = pool.walk(dump("linux_inline"));
  EXPECT_EQ(r.status, kStatusProtocol);
  EXPECT_EQ(pool.restarts(), 1u);
  EXPECT_TRUE(pool.worker_pids().empty());
}

TEST(WorkerPool, WorkerThatCannotStartIsATransientError) {
  auto o = options();
  o.command = {"/nonexistent/breakwater", "stackwalk-worker"};
  WorkerPool pool(o);
  EXPECT_THROW(pool.walk(dump("linux_inline")), TransientProcessingError);
  o.command = {"/bin/true"};
  WorkerPool exits(o);
  EXPECT_THROW(exits.walk(dump("linux_inline")), TransientProcessingError);
}

TEST(WorkerPool, ServesManyThreadsWithFewerWorkers) {
  WorkerPool pool(options(2));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 3; ++j) {
        WalkResult r = pool.walk(dump("linux_inline"));
        if (r.ok()) {
          ++ok;
        } else {
          ADD_FAILURE() << r.status << ": " << (r.notes.empty() ? "" : r.notes[0]);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, 12);
  EXPECT_LE(pool.worker_pids().size(), 2u);
}

TEST(WorkerPool, DestructorReapsEveryWorker) {
  std::vector<pid_t> pids;
  {
    WorkerPool pool(options(2));
    std::thread a([&] { pool.walk(dump("linux_inline")); });
    std::thread b([&] { pool.walk(dump("minidump2")); });
    a.join();
    b.join();
    pids = pool.worker_pids();
    ASSERT_FALSE(pids.empty());
  }
  for (pid_t p : pids) EXPECT_FALSE(alive(p)) << p;
}

}  // namespace
}  // namespace bw::processor
