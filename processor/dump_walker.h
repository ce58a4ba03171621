// Walking one dump file into rust-minidump's JSON (`json_dump`), in process or in a worker.
//
// `walk_dump_file` is the one place that turns a dump file into a WalkResult; the stack-walking
// worker processes (stackwalk_worker.h) and InProcessDumpWalker both call it, so what a worker
// returns is exactly what `breakwater stackwalk --json` prints for the same dump and symbols.
//
// Statuses (`mdsw_status_string` in the processed crash; also json_dump.status):
//   OK                       walked; json_dump is the walker's document
//   EMPTY_MINIDUMP           the dump file is empty (a status, not an error of the processor)
//   ERROR_INVALID_MINIDUMP   the reader refused the file (bad header or stream directory)
//   ERROR_TIMEOUT            the worker took longer than the timeout and was killed
//   ERROR_WORKER_CRASHED     the worker died (signal or unexpected exit) on this dump
//   ERROR_OUT_OF_MEMORY      the worker ran out of its memory limit on this dump
//   ERROR_WORKER_PROTOCOL    the worker answered something that is not a valid result
//   ERROR_STACKWALKER        the stack-walking library threw (a bug: the dump is kept for it)
// Every status but OK comes with a note saying why.
//
// Thread safety: DumpWalker implementations may be called from many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "symbols/symbol_supplier.h"

namespace bw::processor {

inline constexpr const char* kStatusOk = "OK";
inline constexpr const char* kStatusEmpty = "EMPTY_MINIDUMP";
inline constexpr const char* kStatusInvalid = "ERROR_INVALID_MINIDUMP";
inline constexpr const char* kStatusNoThreadList = "ERROR_NO_THREAD_LIST";  // stackwalk::ProcessState::status
inline constexpr const char* kStatusTimeout = "ERROR_TIMEOUT";
inline constexpr const char* kStatusCrashed = "ERROR_WORKER_CRASHED";
inline constexpr const char* kStatusOutOfMemory = "ERROR_OUT_OF_MEMORY";
inline constexpr const char* kStatusProtocol = "ERROR_WORKER_PROTOCOL";
inline constexpr const char* kStatusWalkerError = "ERROR_STACKWALKER";

struct WalkRequest {
  std::filesystem::path dump;
  // Test hook for the worker ("stackwalk_hang", "stackwalk_crash", "stackwalk_oom",
  // "stackwalk_slow"); honoured
  // only by workers started with test hooks enabled.
  std::string test_hook;
};

struct WalkResult {
  std::string status = kStatusOk;
  nlohmann::json json_dump;  // the walker's document when OK, else {"status": status}
  std::vector<std::string> notes;
  uint64_t symbol_hits = 0;    // symbol cache hits and misses during this walk
  uint64_t symbol_misses = 0;
  bool ok() const { return status == kStatusOk; }
};

// A failed walk: json_dump {"status": status} and one note.
WalkResult failed_walk(const std::string& status, std::string note);

// Walks `dump` with `supplier` (may be null: no symbols). Never throws for bad dumps; an empty
// file is EMPTY_MINIDUMP, a file the reader refuses is ERROR_INVALID_MINIDUMP.
WalkResult walk_dump_file(const std::filesystem::path& dump, symbols::SymbolSupplier* supplier);

class DumpWalker {
 public:
  virtual ~DumpWalker() = default;
  virtual WalkResult walk(const WalkRequest& request) = 0;
};

// Walks in the calling process with one shared caching symbol supplier. For tests, tools and
// benchmarks; the processor uses the isolated WorkerPool. Ignores test hooks.
class InProcessDumpWalker final : public DumpWalker {
 public:
  explicit InProcessDumpWalker(const symbols::SymbolOptions& options);
  WalkResult walk(const WalkRequest& request) override;

 private:
  std::unique_ptr<symbols::CachingSymbolSupplier> supplier_;
};

}  // namespace bw::processor
