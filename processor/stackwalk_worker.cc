#include "processor/stackwalk_worker.h"

#include <unistd.h>

#include <csignal>
#include <memory>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "core/log.h"
#include "processor/worker_protocol.h"

namespace bw::processor {
namespace {

[[noreturn]] void hang() {
  while (true) ::pause();
}

[[noreturn]] void crash() {
  std::signal(SIGSEGV, SIG_DFL);
  std::raise(SIGSEGV);
  std::_Exit(139);  // raise returned (a sanitizer swallowed the signal): still die
}

// Grows until the allocator fails, touching every page so the memory is really used.
[[noreturn]] void exhaust_memory() {
  std::vector<std::unique_ptr<char[]>> blocks;
  while (true) {
    constexpr size_t kBlock = size_t{64} << 20;
    blocks.emplace_back(new char[kBlock]);
    std::memset(blocks.back().get(), 1, kBlock);
  }
}

}  // namespace

int run_stackwalk_worker(int in_fd, int out_fd) {
  auto log = bw::logger("stackwalk-worker");
  if (out_fd == STDOUT_FILENO) {
    // Keep the protocol on a private descriptor and point stdout at stderr, so a stray print
    // from any library cannot corrupt the frames.
    int protocol = ::dup(STDOUT_FILENO);
    if (protocol >= 0 && ::dup2(STDERR_FILENO, STDOUT_FILENO) >= 0) out_fd = protocol;
  }
  FrameDecoder decoder;
  std::string frame, why;
  if (read_frame(in_fd, decoder, std::nullopt, &frame) != ReadStatus::kFrame) return kWorkerProtocolExit;
  auto hello = decode_hello(frame, &why);
  if (!hello) {
    log->error("bad hello from the processor: {}", why);
    return kWorkerProtocolExit;
  }
  try {
    auto supplier = symbols::make_symbol_supplier(hello->symbols);
    if (!write_all(out_fd, encode_frame(encode_ready()))) return kWorkerProtocolExit;
    while (true) {
      ReadStatus status = read_frame(in_fd, decoder, std::nullopt, &frame);
      if (status == ReadStatus::kEof) return 0;
      if (status != ReadStatus::kFrame) return kWorkerProtocolExit;
      auto request = decode_request(frame, &why);
      if (!request) {
        log->error("bad request from the processor: {}", why);
        return kWorkerProtocolExit;
      }
      if (hello->test_hooks) {
        if (request->test_hook == "stackwalk_hang") hang();
        if (request->test_hook == "stackwalk_crash") crash();
        if (request->test_hook == "stackwalk_oom") exhaust_memory();
        // Slow but successful: keeps a crash in flight long enough to kill its processor.
        if (request->test_hook == "stackwalk_slow") std::this_thread::sleep_for(std::chrono::seconds(10));
      }
      uint64_t hits = supplier->hits(), misses = supplier->misses();
      WalkResult result;
      try {
        result = walk_dump_file(request->dump, supplier.get());
      } catch (const std::bad_alloc&) {
        throw;
      } catch (const std::exception& e) {
        result = failed_walk(kStatusWalkerError, std::string("the stack walker failed: ") + e.what());
      }
      result.symbol_hits = supplier->hits() - hits;
      result.symbol_misses = supplier->misses() - misses;
      if (!write_all(out_fd, encode_frame(encode_result(result)))) return kWorkerProtocolExit;
    }
  } catch (const std::bad_alloc&) {
    // Over the memory limit: this process's heap is no longer trustworthy; the pool replaces it.
    std::_Exit(kWorkerOutOfMemoryExit);
  } catch (const std::exception& e) {
    log->error("stack-walking worker failed: {}", e.what());
    return kWorkerProtocolExit;
  }
}

}  // namespace bw::processor
