// A typed builder of synthetic minidumps for tests (in the spirit of rust-minidump's
// `minidump-synth`): system info, threads with their CPU context and stack memory, modules with
// CodeView records, memory regions and an exception, written in the on-disk layouts the reader in
// minidump/ parses. Library `bw_test_minidump_synth`.
//
// Contract:
// - Values in, bytes out: `SynthMinidump::bytes()` lays out a complete, valid minidump (header,
//   streams, directory) from what was added; the builder keeps no reference to its arguments and
//   may be reused or copied. Streams are written only for what was added (no thread → no thread
//   list, no module → no module list).
// - Contexts are the full per-CPU layouts (x86 716 bytes, amd64 1232, arm 368, arm64 912) with
//   context flags that carry the CPU bit and "integer + control" sets, so the reader marks every
//   general-purpose register valid.
// - When `cpu()` is not called, the system info's CPU is that of the first thread's context;
//   `os()` defaults to Windows. The system info stream is always written.
// - `Stack` builds stack memory word by word with labels (forward references allowed); an
//   undefined label is a test bug and throws std::logic_error from `bytes()`/`address_of()`.
// - Thread safety: none needed (a value type used by one test).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "minidump/cpu_context.h"
#include "minidump/minidump.h"

namespace bw::testing::synth {

using minidump::Cpu;
using minidump::Os;

// ---- CPU contexts: the registers a walker reads, everything else zero. ----

struct X86Context {
  uint32_t eip = 0, esp = 0, ebp = 0;
  uint32_t ebx = 0, esi = 0, edi = 0, eax = 0, ecx = 0, edx = 0;
  uint32_t eflags = 0;
};

struct Amd64Context {
  uint64_t rip = 0, rsp = 0, rbp = 0;
  uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0;
  uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
};

struct ArmContext {
  std::array<uint32_t, 13> r{};  // r0..r12 (r7 is the iOS frame pointer, r11 the others')
  uint32_t sp = 0, lr = 0, pc = 0;
  uint32_t cpsr = 0;
};

struct Arm64Context {
  std::array<uint64_t, 29> x{};  // x0..x28
  uint64_t fp = 0, lr = 0, sp = 0, pc = 0;
  uint32_t cpsr = 0;
};

using Context = std::variant<X86Context, Amd64Context, ArmContext, Arm64Context>;

// The CPU a context belongs to.
Cpu cpu_of(const Context& context);
// The on-disk bytes of a context (what a thread or exception stream points at).
std::vector<uint8_t> context_bytes(const Context& context);

// ---- Stack memory. ----

// Memory starting at `base`, appended to in order. Words are 4 or 8 bytes (the CPU's pointer
// size given at construction); `word(label)` stores the address a label has (now or later).
class Stack {
 public:
  Stack(uint64_t base, unsigned word_size);

  // A pointer-sized word.
  Stack& word(uint64_t value);
  // A pointer-sized word holding the address of `label` (resolved when the bytes are taken).
  Stack& word(const std::string& label);
  Stack& words(size_t count, uint64_t value);
  Stack& u8(uint8_t value);
  Stack& u32(uint32_t value);
  Stack& u64(uint64_t value);
  // Names the current end of the stack.
  Stack& mark(const std::string& label);

  uint64_t base() const { return base_; }
  unsigned word_size() const { return word_size_; }
  uint64_t here() const { return base_ + data_.size(); }
  uint64_t address_of(const std::string& label) const;
  std::vector<uint8_t> bytes() const;

 private:
  struct Fixup {
    size_t offset;
    std::string label;
  };
  uint64_t base_;
  unsigned word_size_;
  std::vector<uint8_t> data_;
  std::map<std::string, uint64_t> labels_;
  std::vector<Fixup> fixups_;
};

// ---- Modules. ----

// A PDB 7.0 ("RSDS") record: the reader's debug id is the GUID (data1-3 little-endian, then the
// eight data4 bytes) in uppercase hex followed by the age in hex.
struct Pdb70 {
  std::array<uint8_t, 16> guid{};
  uint32_t age = 0;
  std::string pdb_path{};  // its base name is the debug file
};

// An ELF build-id record (Breakpad's CodeView ELF signature 0x4270454c): the debug id is the
// first 16 bytes of the build id as a GUID, plus "0"; the debug file is the code file's base name.
struct ElfBuildId {
  std::vector<uint8_t> build_id{};
};

using CodeView = std::variant<std::monostate, Pdb70, ElfBuildId>;

struct Module {
  uint64_t base = 0;
  uint32_t size = 0;
  std::string name{};  // the code file, e.g. "C:\\Windows\\System32\\kernel32.dll"
  CodeView codeview{};
  uint32_t timestamp = 0;
  uint32_t checksum = 0;
};

// ---- Threads, memory, exception. ----

struct Thread {
  uint32_t id = 0;
  Context context{};
  std::optional<Stack> stack{};  // none: the thread has no stack memory
};

struct MemoryRegion {
  uint64_t base = 0;
  std::vector<uint8_t> bytes{};
};

struct Exception {
  uint32_t thread_id = 0;
  uint32_t code = 0;
  uint32_t flags = 0;
  uint64_t address = 0;
  std::vector<uint64_t> parameters{};  // at most 15 are written
  std::optional<Context> context{};  // the thread's context when absent
};

class SynthMinidump {
 public:
  SynthMinidump& cpu(Cpu cpu);
  SynthMinidump& os(Os os);
  SynthMinidump& module(Module module);
  SynthMinidump& thread(Thread thread);
  SynthMinidump& memory(MemoryRegion region);
  SynthMinidump& exception(Exception exception);

  std::vector<uint8_t> bytes() const;
  // bytes() read back by the reader; throws std::runtime_error if the reader rejects them.
  minidump::Minidump read() const;

 private:
  std::optional<Cpu> cpu_;
  Os os_ = Os::kWindows;
  std::vector<Module> modules_;
  std::vector<Thread> threads_;
  std::vector<MemoryRegion> memory_;
  std::optional<Exception> exception_;
};

}  // namespace bw::testing::synth
