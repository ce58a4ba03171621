// Stack frames as the walker produces them and the output formats print them.
//
// A frame is either a real frame (a register context recovered by some method, tagged with its
// trust) or an inline frame (a function inlined into the real frame that follows it, found through
// INLINE records). Frames are plain values. Addresses are absolute (process addresses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minidump/cpu_context.h"

namespace bw::stackwalk {

// How a frame was found, from most to least trustworthy (plus inline).
enum class FrameTrust : uint8_t {
  kNone,
  kScan,          // a return address found by scanning the stack
  kCfiScan,       // STACK WIN evaluation, then a scan for a better return address (x86)
  kFramePointer,  // the frame-pointer chain
  kCfi,           // STACK CFI rules or a STACK WIN program
  kPrewalked,
  kContext,       // the thread's (or exception's) context
  kInline,        // an inlined call inside the next real frame
  kLeaf,          // amd64 Windows: a leaf function's return simulated from the top of the stack
};

// rust-minidump's JSON spelling: "none", "scan", "cfi_scan", "frame_pointer", "cfi", "prewalked",
// "context", "inline". kLeaf has no rust-minidump spelling and is written as "scan".
std::string_view trust_json_name(FrameTrust trust);
// Breakpad's "Found by: ..." text.
std::string_view trust_description(FrameTrust trust);

struct StackFrame {
  FrameTrust trust = FrameTrust::kNone;
  // The registers known in this frame; inline frames carry none.
  minidump::CpuContext context;
  // The address symbolized: the instruction pointer for the context frame, else the return address
  // minus 1 (x86, amd64), 2 (arm) or 4 (arm64), so it falls inside the call instruction.
  uint64_t instruction = 0;
  // The instruction pointer as recovered (Breakpad's ReturnAddress()); equals `instruction` for
  // the context frame and for inline frames.
  uint64_t return_address = 0;

  // Index into the dump's module list of the module containing `instruction`.
  std::optional<size_t> module_index;
  // Indices into the unloaded module list, when no loaded module contains the address.
  std::vector<size_t> unloaded_module_indices;

  // Symbol information; function_name empty when unknown.
  std::string function_name;
  uint64_t function_base = 0;  // absolute address of the function (or of the inlined range)
  bool has_source = false;
  std::string source_file;
  uint32_t source_line = 0;
  uint64_t source_line_base = 0;  // absolute address where the line record starts
  uint32_t parameter_size = 0;

  bool is_inline() const { return trust == FrameTrust::kInline; }
};

// One thread's walk.
struct CallStack {
  uint32_t thread_id = 0;
  std::string thread_name;
  std::vector<StackFrame> frames;  // innermost first; inline frames precede their real frame
  // Why the walk stopped early or could not start ("no context", "no stack memory"); empty when
  // it ended normally.
  std::string note;
  std::optional<uint32_t> last_error_value;
};

}  // namespace bw::stackwalk
