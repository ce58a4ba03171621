// The stack walker: from a thread's context and stack memory to a list of frames.
//
// For each CPU the caller of a frame is found by the first method that works, as the established
// tools (Breakpad, rust-minidump) do it:
//   x86:   STACK WIN (frame data / FPO program strings), then STACK CFI, then the %ebp chain
//          (falling back to scanning when %ebp points outside the stack);
//   amd64: STACK CFI, then (Windows, context frame only) a simulated return from a leaf
//          function, then the %rbp chain (not on Windows), then scanning;
//   arm:   STACK CFI, then the r7 chain on iOS, then scanning;
//   arm64: STACK CFI, then the x29 chain, then scanning.
// A caller is symbolized at its return address − 1 (x86, amd64), − 2 (arm), − 4 (arm64). The walk
// stops when no method finds a caller, when the caller's instruction pointer is below 4096, when
// the stack pointer does not grow (it may stay equal on the first unwind), or at the frame limit.
// Scanning accepts only a word that points into a loaded module, and, when that module has
// symbols, into one of its functions; scanned frames are counted against their own limit. On x86
// the word below a scanned return address becomes the caller's %ebp only when it is plausible
// (above its own slot, at most 128 KiB away); otherwise %ebp is kept, as Breakpad does.
// Implementation: walker.cc (the loop, CFI, scanning), walker_<cpu>.cc (each CPU's methods).
//
// Thread safety: a walk uses only its arguments; SymbolSource calls come from the walking thread.
// Errors: none are thrown; unreadable memory or missing symbols just end or shorten the walk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "minidump/minidump.h"
#include "stackwalk/frame.h"
#include "stackwalk/module_map.h"
#include "symbols/module_symbols.h"

namespace bw::stackwalk {

// What the walker asks of symbols. Implemented by the processor over a symbol supplier.
class SymbolSource {
 public:
  virtual ~SymbolSource() = default;
  // The symbols of module `module_index` of the dump (loaded on first use), or nullptr when they
  // are missing or unusable.
  virtual const symbols::ModuleSymbols* symbols_for(size_t module_index) = 0;
};

struct WalkLimits {
  // Frames per thread, inline frames included. (Breakpad's documented default is 1024, yet the
  // Breakpad that made the corpus outputs walks past it: 1297 frames on firefox-android-arm.)
  size_t max_frames = 16384;
  // Frames found by scanning after which scanning is no longer tried.
  size_t max_scanned_frames = 16384;
  // Words scanned for a return address above the stack pointer: for the caller of the context
  // frame, and for later frames.
  unsigned context_scan_words = 160;
  unsigned scan_words = 40;
};

// Walks one thread. `stack` is the thread's saved stack memory (nullptr if missing: only the
// context frame is produced).
// `modules` is the dump's module map (built once per dump).
std::vector<StackFrame> walk_stack(const minidump::Minidump& dump, const ModuleMap& modules,
                                   const minidump::CpuContext& context, const minidump::MemoryRegion* stack,
                                   SymbolSource& symbols, const WalkLimits& limits = {});

// Fills a frame's module and symbol fields from `frame.instruction` and returns the frames of the
// calls inlined at that address, innermost first (they are printed before `frame`).
std::vector<StackFrame> symbolize_frame(const minidump::Minidump& dump, const ModuleMap& modules,
                                        SymbolSource& symbols, StackFrame& frame);

}  // namespace bw::stackwalk
