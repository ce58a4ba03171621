// Frame normalization: turns one stack frame into the short, stable text a signature is made of.
//
// A frame becomes, in order of preference:
//   - its function name, normalized: C++ loses argument lists, return types, cv- and
//     ref-qualifiers and compiler suffixes, templates collapse to `<T>`, operators (`operator<`,
//     `operator()`, `operator new[]`, conversion operators) stay intact and MSVC's
//     `` `anonymous namespace' `` becomes `(anonymous namespace)`; Rust loses its `::h<16 hex>`
//     hash, turbofish generics (`::<u8>`) and other generic details (`Vec<T>`), keeping
//     `<X as Trait>` and `<impl Trait for X>` qualifiers; Objective-C names are kept whole;
//   - else `<source file basename>#<line>`;
//   - else `<module>@0x<module offset>` (unsymbolized code in a known module);
//   - else `@0x<address>` (code outside every module: JIT, garbage).
// Offsets are written in lowercase hex without padding, whatever the stack walker produced.
//
// Every function here accepts arbitrary bytes, never throws for bad input and runs in time linear
// in the input (nesting deeper than a fixed limit is collapsed, not recursed into).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bw::signature {

// One frame of a stack, as the stack walker reported it (rust-minidump's JSON field names).
// Inlined frames are separate Frames (see crash_input.h), innermost first.
struct Frame {
  std::string function;  // empty when there are no symbols for it
  std::string module;    // file name of the module the frame's code is in; empty if none
  std::string file;      // source file; empty if unknown
  std::optional<uint64_t> line;
  std::optional<uint64_t> module_offset;
  std::optional<uint64_t> offset;  // absolute instruction address
  int index = 0;                   // frame number in the thread (inlined frames share their caller's)
  bool inlined = false;
};

enum class FrameKind {
  kFunction,  // normalized function name
  kFileLine,  // file#line
  kModule,    // module@0xoffset: unsymbolized, in a known module
  kAddress,   // @0xaddress: not in any module
  kUnknown,   // nothing at all to go on: "??"
};

struct NormalizedFrame {
  std::string text;
  FrameKind kind = FrameKind::kUnknown;
  std::string module;  // for kModule: the module name, used to collapse runs of frames
};

NormalizedFrame normalize_frame(const Frame& frame);

std::string normalize_cpp_function(std::string_view name);
std::string normalize_rust_function(std::string_view name);
// Whether a function name should be read as Rust: its source file is a .rs file, or the name has
// Rust-only features (hash suffix, closures, `<X as Trait>`, `<impl ...>`).
bool is_rust_function(std::string_view function, std::string_view file);

// The file name of a source path, after unwrapping VCS-qualified paths such as
// `hg:hg.mozilla.org/mozilla-central:dom/base/Element.cpp:<rev>` → `Element.cpp`.
std::string source_file_name(std::string_view path);

// "0x" + lowercase hex, no padding.
std::string hex_offset(uint64_t value);

}  // namespace bw::signature
