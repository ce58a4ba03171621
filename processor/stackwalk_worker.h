// The stack-walking worker process: the other end of WorkerPool (worker_pool.h).
//
// `run_stackwalk_worker` reads the hello from `in_fd` (symbol options, whether test hooks are
// on), builds one caching symbol supplier it keeps for its whole life (that is what keeps parsed
// symbols warm between crashes), answers {"ready": true}, then walks one dump per request with
// walk_dump_file and writes the result, until `in_fd` reaches end of file (exit code 0).
// It runs under the memory limit the pool set; running out of memory exits with
// kWorkerOutOfMemoryExit so the pool can say so. Protocol errors exit with kWorkerProtocolExit.
//
// Test hooks (only when the hello enables them, i.e. processor.test_hooks): "stackwalk_hang"
// never answers, "stackwalk_crash" dies of SIGSEGV, "stackwalk_oom" allocates until memory runs out,
// "stackwalk_slow" waits 10 s and then walks normally.
// Thread safety: single-threaded; the process does nothing else.
#pragma once

namespace bw::processor {

inline constexpr int kWorkerOutOfMemoryExit = 86;
inline constexpr int kWorkerProtocolExit = 87;

int run_stackwalk_worker(int in_fd, int out_fd);

}  // namespace bw::processor
