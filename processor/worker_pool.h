// Stack walking isolated in long-lived worker processes (docs/design.md §8).
//
// WorkerPool keeps up to `processes` workers, each a child started with fork+exec of `command`
// (normally `breakwater stackwalk-worker`; a test executable in tests) speaking the protocol of
// worker_protocol.h on its stdin/stdout (socket pairs). A worker lives across many dumps, so its parsed symbols
// stay warm. Each walk borrows an idle worker (waiting for one when all are busy), starting it
// if needed; a worker is started lazily and replaced lazily after it dies.
//
// Isolation: every worker runs with an address-space limit (RLIMIT_AS = memory_limit; not applied
// in AddressSanitizer builds, whose shadow memory needs terabytes of address space), dies with the
// processor (PR_SET_PDEATHSIG; workers are forked by a pool-owned thread, since the death signal
// follows the forking thread), and gets a hard deadline per dump. A worker that misses the
// deadline is killed (SIGKILL) and the walk returns ERROR_TIMEOUT; one that dies returns
// ERROR_WORKER_CRASHED (with the signal or exit code) or ERROR_OUT_OF_MEMORY; one that answers
// garbage is killed and returns ERROR_WORKER_PROTOCOL. In every case the worker is reaped, counted
// in bw_processor_worker_restarts_total{reason}, and replaced on the next walk; the caller (the
// processor) carries on.
//
// Errors: `walk` throws TransientProcessingError when a worker cannot be started at all (bad
// command, exec failure, no ready answer within start_timeout): that is not the crash's fault.
// Thread safety: `walk` may be called from any number of threads; the destructor must not run
// while walks are in progress. Ownership: the pool owns its children and reaps them all in its
// destructor (closing their stdin, then SIGKILL after a grace period).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "processor/dump_walker.h"
#include "processor/worker_protocol.h"

namespace bw::processor {

struct WorkerPoolOptions {
  std::vector<std::string> command;  // argv; command[0] is the executable's path
  size_t processes = 1;
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  uint64_t memory_limit = 0;  // bytes of address space per worker; 0 = unlimited
  symbols::SymbolOptions symbols;
  bool test_hooks = false;
  std::chrono::milliseconds start_timeout{std::chrono::seconds(30)};
};

// Whether RLIMIT_AS is applied in this build (false under AddressSanitizer).
bool worker_memory_limit_supported();

class WorkerPool final : public DumpWalker {
 public:
  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  WalkResult walk(const WalkRequest& request) override;

  // Workers killed or found dead (any reason) since the pool started.
  uint64_t restarts() const { return restarts_.load(); }
  // Process ids of the workers alive now (for tests and logs).
  std::vector<pid_t> worker_pids() const;

 private:
  struct Worker {
    pid_t pid = -1;
    int to = -1;    // the worker's stdin
    int from = -1;  // the worker's stdout
    bool busy = false;
    FrameDecoder decoder;
  };
  size_t acquire();
  void release(size_t index);
  void start(Worker& w);
  // Kills (if `kill_first`) and reaps the worker, returning its wait status description; counts
  // a restart with `reason`.
  std::string retire(Worker& w, bool kill_first, const std::string& reason, int* exit_code = nullptr,
                     bool* signalled = nullptr);
  WalkResult walk_on(Worker& w, const WalkRequest& request);
  // Runs `fork_child` on the spawner thread. PR_SET_PDEATHSIG fires when the *thread* that forked
  // a child exits, so children are forked by one thread that lives as long as the pool, never by
  // the (possibly short-lived) threads that call walk.
  pid_t fork_on_spawner(const std::function<pid_t()>& fork_child);
  void spawner_loop();

  WorkerPoolOptions options_;
  std::vector<Worker> workers_;  // fixed size: references stay valid
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::atomic<uint64_t> restarts_{0};

  std::mutex spawn_mu_;
  std::condition_variable spawn_cv_;
  std::deque<std::function<void()>> spawn_jobs_;
  bool spawn_stop_ = false;
  std::thread spawner_;
};

}  // namespace bw::processor
