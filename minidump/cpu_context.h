// CPU contexts (register sets) read from minidumps, and the register sets a stack walker builds
// for caller frames.
//
// Contract:
// - A `CpuContext` is a tagged value: `cpu()` says which architecture it is (x86, amd64, arm,
//   arm64) and the general-purpose registers are stored by a per-CPU index (the enums below, in
//   the display order rust-minidump and Breakpad print them). Each register has a validity bit:
//   a context read from a dump has every general-purpose register valid; a caller frame built by
//   a walker starts empty and gains registers as they are recovered.
// - Registers are also looked up by name as Breakpad symbol files spell them: with or without a
//   leading '$' ("$eip", "eip", "$rsp", "pc", "sp", "x29", "fp", "lr", "r11", "efl"/"eflags"...).
// - Values are plain data; no reference to the dump is kept. Thread safety: as for any value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace bw::minidump {

enum class Cpu : uint8_t {
  kUnknown,
  kX86,
  kAmd64,
  kArm,
  kArm64,
  kPpc,
  kPpc64,
  kSparc,
  kMips,
  kMips64,
  kRiscv,
  kRiscv64,
};

// Breakpad's / rust-minidump's name: "x86", "amd64", "arm", "arm64", "ppc", "ppc64", "sparc",
// "mips", "mips64", "riscv", "riscv64", "unknown".
std::string_view cpu_name(Cpu cpu);

// Register indices per CPU, in display order.
enum class X86Reg : uint8_t { kEip, kEsp, kEbp, kEbx, kEsi, kEdi, kEax, kEcx, kEdx, kEflags, kCount };
enum class Amd64Reg : uint8_t {
  kRax, kRdx, kRcx, kRbx, kRsi, kRdi, kRbp, kRsp,
  kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15, kRip, kCount
};
// r11 is the ARM frame pointer (r7 on iOS), r13 = sp, r14 = lr, r15 = pc.
enum class ArmReg : uint8_t {
  kR0, kR1, kR2, kR3, kR4, kR5, kR6, kR7, kR8, kR9, kR10, kR11, kR12, kSp, kLr, kPc, kCount
};
// x29 = fp, x30 = lr.
enum class Arm64Reg : uint8_t {
  kX0, kX1, kX2, kX3, kX4, kX5, kX6, kX7, kX8, kX9, kX10, kX11, kX12, kX13, kX14, kX15,
  kX16, kX17, kX18, kX19, kX20, kX21, kX22, kX23, kX24, kX25, kX26, kX27, kX28,
  kFp, kLr, kSp, kPc, kCount
};

class CpuContext {
 public:
  static constexpr size_t kMaxRegisters = 33;

  // Which on-disk layout a context came from (Breakpad has two arm64 layouts).
  enum class Layout : uint8_t { kNone, kX86, kAmd64, kArm, kArm64, kArm64Old };

  CpuContext() = default;
  // A context of `cpu` with no valid register (what a walker fills in for a caller frame).
  // Cpu must be one of x86, amd64, arm, arm64; any other gives a context with no registers.
  explicit CpuContext(Cpu cpu);

  Cpu cpu() const { return cpu_; }
  Layout layout() const { return layout_; }
  // The context_flags field as stored in the dump (0 for built contexts).
  uint64_t context_flags() const { return context_flags_; }
  // 4 or 8 (0 for an unknown CPU).
  unsigned pointer_size() const;

  // General-purpose registers, in display order.
  size_t register_count() const;
  std::string_view register_name(size_t index) const;  // "eip", "rip", "r0", "x0", "fp", "lr", "sp", "pc"
  // Accepts display names, Breakpad CFI/STACK WIN names ("$eip"), and aliases ("efl", "x29",
  // "x30", "r13", "r14", "r15", "fp" on arm = r11). nullopt for a name this CPU does not have.
  std::optional<size_t> register_index(std::string_view name) const;

  bool is_valid(size_t index) const { return index < kMaxRegisters && ((valid_ >> index) & 1U) != 0; }
  uint64_t valid_mask() const { return valid_; }
  bool all_valid() const;
  // The stored value (0 if never set). Values of 32-bit CPUs are kept zero-extended.
  uint64_t value(size_t index) const { return index < kMaxRegisters ? regs_[index] : 0; }
  // The value if the name is known and the register valid.
  std::optional<uint64_t> get(std::string_view name) const;
  // Sets and marks valid; truncates to the pointer size. False for an unknown name / index.
  bool set(std::string_view name, uint64_t value);
  bool set(size_t index, uint64_t value);
  void invalidate(size_t index);
  void invalidate_all() { valid_ = 0; }

  // Typed access.
  uint64_t value(X86Reg r) const { return value(static_cast<size_t>(r)); }
  uint64_t value(Amd64Reg r) const { return value(static_cast<size_t>(r)); }
  uint64_t value(ArmReg r) const { return value(static_cast<size_t>(r)); }
  uint64_t value(Arm64Reg r) const { return value(static_cast<size_t>(r)); }

  // Index of the instruction pointer / stack pointer / frame pointer for this CPU (nullopt for
  // unknown CPUs). The arm frame pointer is r11 (callers on iOS use r7 by name).
  std::optional<size_t> instruction_pointer_index() const;
  std::optional<size_t> stack_pointer_index() const;
  std::optional<size_t> frame_pointer_index() const;
  uint64_t instruction_pointer() const;
  uint64_t stack_pointer() const;
  uint64_t frame_pointer() const;

  // Extra state kept from the dump for display; not used for walking.
  // x86/amd64: eflags is a GPR above; segment registers (cs, ds, es, fs, gs, ss).
  struct Segments {
    uint16_t cs = 0, ds = 0, es = 0, fs = 0, gs = 0, ss = 0;
    friend bool operator==(const Segments&, const Segments&) = default;
  };
  const Segments& segments() const { return segments_; }
  // arm/arm64: the cpsr; arm64: fpsr, fpcr.
  uint32_t cpsr() const { return cpsr_; }

  // Parses a context of the given on-disk layout from `bytes` (which may be larger than the
  // layout: extra bytes such as the x86/amd64 XSAVE area are ignored). nullopt if too small.
  static std::optional<CpuContext> parse(Layout layout, std::span<const uint8_t> bytes);
  // Picks the layout for a context stream of `bytes` in a dump whose system info says `hint`
  // (kUnknown if there is none), the way Breakpad does: by the context flags' CPU bits and the
  // size. nullopt if no known layout fits.
  static std::optional<Layout> detect_layout(std::span<const uint8_t> bytes, Cpu hint);
  // Size of the fixed part of each layout, in bytes.
  static size_t layout_size(Layout layout);

  friend bool operator==(const CpuContext&, const CpuContext&) = default;

 private:
  Cpu cpu_ = Cpu::kUnknown;
  Layout layout_ = Layout::kNone;
  uint64_t context_flags_ = 0;
  uint64_t valid_ = 0;
  std::array<uint64_t, kMaxRegisters> regs_{};
  Segments segments_{};
  uint32_t cpsr_ = 0;
};

}  // namespace bw::minidump
