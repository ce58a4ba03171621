// Processing a whole minidump: every thread walked, the crash summarized, symbol use recorded.
//
// process_minidump() borrows the Minidump (the ProcessState points into it: keep the dump alive
// while the state is used) and asks the symbol supplier for a module's symbols the first time a
// frame or a stack scan touches that module, as Breakpad and rust-minidump do, so modules no frame
// reaches are never fetched. Thread safety: one ProcessState per call; the supplier must be
// thread-safe only if several calls share it. Errors: the dump has already been read; a thread
// without context or stack gets fewer frames and a note, never an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "minidump/minidump.h"
#include "stackwalk/frame.h"
#include "stackwalk/walker.h"
#include "symbols/symbol_supplier.h"

namespace bw::stackwalk {

// What became of one module's symbols.
struct ModuleSymbolState {
  bool looked_up = false;  // some frame or stack scan asked for them
  bool in_frames = false;  // some frame of the output lies in this module
  symbols::SymbolStatus status = symbols::SymbolStatus::kNotFound;
  std::string detail;
  bool loaded() const {
    return looked_up && (status == symbols::SymbolStatus::kFound || status == symbols::SymbolStatus::kCorrupt);
  }
  // Asked for (by a frame or a stack scan) and not found.
  bool missing() const { return looked_up && !loaded(); }
  bool corrupt() const { return looked_up && status == symbols::SymbolStatus::kCorrupt; }
};

struct ThreadState {
  CallStack stack;
  // Breakpad leaves out the thread that wrote the dump (BreakpadInfo's dump thread); it is kept
  // here, without frames, and flagged.
  bool is_dump_thread = false;
  // The walk started from the exception's context (this is the crashing thread).
  bool used_exception_context = false;
};

struct ProcessOptions {
  WalkLimits limits;
};

struct ProcessState {
  const minidump::Minidump* dump = nullptr;
  // The status Breakpad's and Socorro's tools give: "OK", or "ERROR_NO_THREAD_LIST" when the dump
  // has no readable thread list (truncated, or a count that does not fit the stream): Breakpad's
  // PROCESS_ERROR_NO_THREAD_LIST. Such a dump is not a successful walk.
  std::string status = "OK";
  std::vector<ThreadState> threads;  // in the dump's thread-list order
  // Index into `threads` of the crashing thread (the exception's thread), if any.
  std::optional<size_t> crashing_thread;
  // Index into `threads` of the thread Breakpad marks "(crashed)": the crashing thread, else the
  // BreakpadInfo requesting thread.
  std::optional<size_t> requesting_thread;
  std::vector<ModuleSymbolState> module_symbols;  // parallel to dump->modules()
  std::vector<std::string> notes;  // problems met while processing (for processor notes)
};

// Walks every thread. `supplier` may be null (no symbols at all).
ProcessState process_minidump(const minidump::Minidump& dump, symbols::SymbolSupplier* supplier,
                              const ProcessOptions& options = {});

}  // namespace bw::stackwalk
