// Internal to stackwalk/: the walker shared by walker.cc (the CPU-independent loop, CFI and
// scanning) and walker_<cpu>.cc (each CPU's caller-finding methods). Not part of the
// library's interface; include walker.h instead. Contract, thread safety and errors: as
// walker.h says for walk_stack().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "stackwalk/postfix_evaluator.h"
#include "stackwalk/walker.h"

namespace bw::stackwalk::walker_detail {

using minidump::Amd64Reg;
using minidump::Arm64Reg;
using minidump::ArmReg;
using minidump::CpuContext;
using minidump::Cpu;
using minidump::X86Reg;

constexpr size_t idx(X86Reg r) { return static_cast<size_t>(r); }
constexpr size_t idx(Amd64Reg r) { return static_cast<size_t>(r); }
constexpr size_t idx(ArmReg r) { return static_cast<size_t>(r); }
constexpr size_t idx(Arm64Reg r) { return static_cast<size_t>(r); }

// A frame's registers as postfix variables ("$rsp", "x29", "sp"...): valid registers only.
class ContextVariables final : public VariableSource {
 public:
  explicit ContextVariables(const CpuContext& context) : context_(context) {}
  std::optional<uint64_t> lookup(std::string_view name) const override { return context_.get(name); }

 private:
  const CpuContext& context_;
};

// Stack memory as the evaluator's word reader.
class StackReader final : public WordReader {
 public:
  explicit StackReader(const minidump::MemoryRegion* stack) : stack_(stack) {}
  std::optional<uint64_t> read_word(uint64_t address, unsigned word_bytes) const override {
    if (stack_ == nullptr) return std::nullopt;
    return stack_->read_pointer(address, word_bytes);
  }

 private:
  const minidump::MemoryRegion* stack_;
};

// How a CFI row's results map onto a CPU's registers: registers the rules do not mention keep
// the callee's value when they are callee-saved.
struct CfiRegister {
  size_t index;
  bool callee_saved;
};

// STACK WIN information for an x86 frame: the record, or only a parameter size from FUNC/PUBLIC.
struct WinInfo {
  bool full = false;  // a STACK WIN record was found
  symbols::WinFrameInfo record;
  bool has_parameter_size = false;
  uint32_t parameter_size = 0;
};

class Walker {
 public:
  Walker(const minidump::Minidump& dump, const ModuleMap& modules, const minidump::MemoryRegion* stack,
         SymbolSource& symbols, const WalkLimits& limits)
      : dump_(dump), modules_(modules), reader_(stack), symbols_(symbols), limits_(limits) {
    const auto& si = dump.system_info();
    windows_ = si && si->os == minidump::Os::kWindows;
    ios_ = si && si->os == minidump::Os::kIos;
  }

  std::vector<StackFrame> walk(const CpuContext& context);

 private:
  std::optional<uint64_t> read(uint64_t address) const { return reader_.read_word(address & mask_, word_); }
  // How far below a return address its call instruction lies (at least partly).
  unsigned caller_adjustment() const { return cpu_ == Cpu::kArm ? 2 : cpu_ == Cpu::kArm64 ? 4 : 1; }
  static bool non_canonical(uint64_t p) { return p > 0x7fffffffffffULL && p < 0xffff800000000000ULL; }
  const symbols::ModuleSymbols* symbols_at(const StackFrame& f, uint64_t* base);
  // Breakpad's "does this look like code": inside a module, and inside a function of it when the
  // module has symbols.
  bool address_seems_valid(uint64_t address);
  // Scans `words` + 1 words from `start` for a plausible return address.
  bool scan_for_return_address(uint64_t start, unsigned words, uint64_t* location, uint64_t* ip);
  // A caller's context starts as a copy of the callee's values with none marked valid: the
  // methods then set what they recover, and a later frame-pointer attempt sees the same stale
  // values Breakpad's would.
  static CpuContext derived_context(const StackFrame& last);
  unsigned scan_words_for(const StackFrame& last) const;
  bool terminate(uint64_t caller_ip, uint64_t caller_sp, uint64_t callee_sp, bool first_unwind) const;
  std::optional<StackFrame> caller(bool scan_allowed);
  std::optional<symbols::CfiRules> cfi_for(const StackFrame& f);
  // Evaluates a CFI row: the caller's registers by name, plus ".cfa" and ".ra". nullopt when the
  // row lacks .cfa or .ra or any rule cannot be evaluated.
  std::optional<Variables> evaluate_cfi(const StackFrame& last, const symbols::CfiRules& rules);
  // The caller's value for a register named by its CFI spelling, looking through aliases.
  std::optional<uint64_t> cfi_value(const Variables& caller, const CpuContext& shape, size_t index);
  std::optional<StackFrame> caller_by_cfi(const StackFrame& last, const std::vector<CfiRegister>& map,
                                          size_t pc, size_t sp);
  std::optional<StackFrame> arm_scan(const StackFrame& last, size_t pc, size_t sp);

  // ---- amd64 (walker_amd64.cc) ----
  std::optional<StackFrame> caller_amd64(bool scan_allowed);
  std::optional<StackFrame> amd64_frame_pointer(const StackFrame& last);
  std::optional<StackFrame> amd64_leaf(const StackFrame& last);
  std::optional<StackFrame> amd64_scan(const StackFrame& last);

  // ---- arm64 (walker_arm64.cc) ----
  void compute_ptrauth_mask();
  uint64_t strip_ptrauth(uint64_t p) const;
  std::optional<StackFrame> caller_arm64(bool scan_allowed);
  // When the walk reached this frame by CFI that did not recover lr, but the frame-pointer chain
  // agrees with it, take lr from the chain.
  void correct_lr_by_frame_pointer(StackFrame& last);
  std::optional<StackFrame> arm64_frame_pointer();

  // ---- arm (walker_arm.cc) ----
  std::optional<StackFrame> caller_arm(bool scan_allowed);
  // iOS keeps the frame pointer in r7: [r7] = caller's r7, [r7 + 4] = return address.
  std::optional<StackFrame> arm_frame_pointer(const StackFrame& last);

  // ---- x86 (walker_x86.cc) ----
  WinInfo win_info_for(const StackFrame& f);
  std::optional<StackFrame> caller_x86(bool scan_allowed);
  std::optional<StackFrame> x86_ebp_chain(bool scan_allowed);
  std::optional<StackFrame> x86_stack_win(bool scan_allowed);

  const minidump::Minidump& dump_;
  const ModuleMap& modules_;
  StackReader reader_;
  SymbolSource& symbols_;
  WalkLimits limits_;
  bool windows_ = false;
  bool ios_ = false;
  Cpu cpu_ = Cpu::kUnknown;
  unsigned word_ = 0;
  uint64_t mask_ = ~0ULL;
  uint64_t ptrauth_mask_ = ~0ULL;
  std::vector<StackFrame> real_;
  std::vector<WinInfo> win_;
};

}  // namespace bw::stackwalk::walker_detail
