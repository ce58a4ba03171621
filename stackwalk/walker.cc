#include "stackwalk/walker.h"

#include <optional>
#include <string>

#include "stackwalk/postfix_evaluator.h"

namespace bw::stackwalk {

using minidump::Amd64Reg;
using minidump::Arm64Reg;
using minidump::ArmReg;
using minidump::CpuContext;
using minidump::Cpu;
using minidump::X86Reg;

namespace {

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

  std::vector<StackFrame> walk(const CpuContext& context) {
    cpu_ = context.cpu();
    word_ = context.pointer_size();
    mask_ = word_ == 4 ? 0xffffffffULL : ~0ULL;
    if (cpu_ == Cpu::kArm64) compute_ptrauth_mask();

    std::vector<StackFrame> out;
    if (word_ == 0) return out;
    StackFrame first;
    first.trust = FrameTrust::kContext;
    first.context = context;
    first.instruction = context.instruction_pointer();
    first.return_address = first.instruction;

    std::optional<StackFrame> frame = std::move(first);
    size_t scanned = 0;
    while (frame) {
      std::vector<StackFrame> inlines = symbolize_frame(dump_, modules_, symbols_, *frame);
      if (frame->trust == FrameTrust::kScan || frame->trust == FrameTrust::kCfiScan ||
          frame->trust == FrameTrust::kNone) {
        ++scanned;
      }
      for (auto& f : inlines) out.push_back(std::move(f));
      real_.push_back(*frame);
      out.push_back(std::move(*frame));
      if (cpu_ == Cpu::kX86) win_.push_back(win_info_for(real_.back()));
      if (out.size() >= limits_.max_frames) break;
      frame = caller(scanned < limits_.max_scanned_frames);
    }
    if (out.size() > limits_.max_frames) out.resize(limits_.max_frames);
    return out;
  }

 private:
  std::optional<uint64_t> read(uint64_t address) const { return reader_.read_word(address & mask_, word_); }

  const symbols::ModuleSymbols* symbols_at(const StackFrame& f, uint64_t* base) {
    if (!f.module_index) return nullptr;
    *base = dump_.modules()[*f.module_index].base;
    return symbols_.symbols_for(*f.module_index);
  }

  // Breakpad's "does this look like code": inside a module, and inside a function of it when the
  // module has symbols.
  bool address_seems_valid(uint64_t address) {
    auto index = modules_.find(address);
    if (!index) return false;
    const symbols::ModuleSymbols* syms = symbols_.symbols_for(*index);
    if (syms == nullptr) return true;
    auto found = syms->lookup(address - dump_.modules()[*index].base);
    return found && !found->function_name.empty();
  }

  // Scans `words` + 1 words from `start` for a plausible return address.
  bool scan_for_return_address(uint64_t start, unsigned words, uint64_t* location, uint64_t* ip) {
    for (uint64_t i = 0; i <= words; ++i) {
      uint64_t at = (start + i * word_) & mask_;
      auto value = read(at);
      if (!value) return false;
      // Judged one byte below the return address, inside the call instruction (Breakpad does
      // this on every CPU, even where the caller is then symbolized 2 or 4 bytes lower).
      if (address_seems_valid((*value - 1) & mask_)) {
        *location = at;
        *ip = *value;
        return true;
      }
    }
    return false;
  }

  // A caller's context starts as a copy of the callee's values with none marked valid: the
  // methods then set what they recover, and a later frame-pointer attempt sees the same stale
  // values Breakpad's would.
  static CpuContext derived_context(const StackFrame& last) {
    CpuContext c = last.context;
    c.invalidate_all();
    return c;
  }

  // How far below a return address its call instruction lies (at least partly).
  unsigned caller_adjustment() const { return cpu_ == Cpu::kArm ? 2 : cpu_ == Cpu::kArm64 ? 4 : 1; }

  unsigned scan_words_for(const StackFrame& last) const {
    return last.trust == FrameTrust::kContext ? limits_.context_scan_words : limits_.scan_words;
  }

  bool terminate(uint64_t caller_ip, uint64_t caller_sp, uint64_t callee_sp, bool first_unwind) const {
    if (caller_ip < 4096) return true;
    return first_unwind ? caller_sp < callee_sp : caller_sp <= callee_sp;
  }

  std::optional<StackFrame> caller(bool scan_allowed) {
    const StackFrame& last = real_.back();
    std::optional<StackFrame> next;
    switch (cpu_) {
      case Cpu::kX86: next = caller_x86(scan_allowed); break;
      case Cpu::kAmd64: next = caller_amd64(scan_allowed); break;
      case Cpu::kArm: next = caller_arm(scan_allowed); break;
      case Cpu::kArm64: next = caller_arm64(scan_allowed); break;
      default: return std::nullopt;
    }
    if (!next) return std::nullopt;
    uint64_t ip = next->context.instruction_pointer();
    if (terminate(ip, next->context.stack_pointer(), last.context.stack_pointer(),
                  last.trust == FrameTrust::kContext)) {
      return std::nullopt;
    }
    next->return_address = ip;
    next->instruction = (ip - caller_adjustment()) & mask_;
    return next;
  }

  // ---- CFI ----

  std::optional<symbols::CfiRules> cfi_for(const StackFrame& f) {
    uint64_t base = 0;
    const symbols::ModuleSymbols* syms = symbols_at(f, &base);
    if (syms == nullptr) return std::nullopt;
    return syms->find_cfi(f.instruction - base);
  }

  // Evaluates a CFI row: the caller's registers by name, plus ".cfa" and ".ra". nullopt when the
  // row lacks .cfa or .ra or any rule cannot be evaluated.
  std::optional<Variables> evaluate_cfi(const StackFrame& last, const symbols::CfiRules& rules) {
    const std::string_view* cfa_rule = rules.find(".cfa");
    const std::string_view* ra_rule = rules.find(".ra");
    if (cfa_rule == nullptr || ra_rule == nullptr) return std::nullopt;
    ContextVariables callee(last.context);
    Variables vars(&callee);
    std::string error;
    auto cfa = evaluate_postfix(*cfa_rule, vars, reader_, word_, &error);
    if (!cfa) return std::nullopt;
    vars.set(".cfa", *cfa);
    Variables caller;
    caller.set(".cfa", *cfa);
    for (const auto& rule : rules.rules) {
      if (rule.name == ".cfa") continue;
      auto value = evaluate_postfix(rule.expression, vars, reader_, word_, &error);
      if (!value) return std::nullopt;
      caller.set(rule.name, *value);
    }
    return caller;
  }

  // The caller's value for a register named by its CFI spelling, looking through aliases.
  std::optional<uint64_t> cfi_value(const Variables& caller, const CpuContext& shape, size_t index) {
    for (const auto& [name, value] : caller.entries()) {
      if (name.empty() || name[0] == '.') continue;
      auto i = shape.register_index(name);
      if (i && *i == index) return value;
    }
    return std::nullopt;
  }

  std::optional<StackFrame> caller_by_cfi(const StackFrame& last, const std::vector<CfiRegister>& map,
                                          size_t pc, size_t sp) {
    auto rules = cfi_for(last);
    if (!rules) return std::nullopt;
    auto caller = evaluate_cfi(last, *rules);
    if (!caller) return std::nullopt;
    StackFrame f;
    f.trust = FrameTrust::kCfi;
    f.context = CpuContext(cpu_);
    // A register's own rule wins; the stack pointer is otherwise the CFA and the instruction
    // pointer the return address; a callee-saved register without a rule is unchanged.
    for (const auto& reg : map) {
      if (auto v = cfi_value(*caller, f.context, reg.index)) {
        f.context.set(reg.index, *v);
      } else if (reg.index == sp) {
        f.context.set(sp, *caller->get_own(".cfa"));
      } else if (reg.index == pc) {
        if (auto ra = caller->get_own(".ra")) f.context.set(pc, *ra);
      } else if (reg.callee_saved && last.context.is_valid(reg.index)) {
        f.context.set(reg.index, last.context.value(reg.index));
      }
    }
    if (!f.context.is_valid(pc) || !f.context.is_valid(sp)) return std::nullopt;
    return f;
  }

  // ---- amd64 ----

  std::optional<StackFrame> caller_amd64(bool scan_allowed) {
    const StackFrame& last = real_.back();
    static const std::vector<CfiRegister> map = [] {
      std::vector<CfiRegister> m;
      for (size_t i = 0; i < idx(Amd64Reg::kCount); ++i) {
        bool saved = i == idx(Amd64Reg::kRbx) || i == idx(Amd64Reg::kRbp) ||
                     (i >= idx(Amd64Reg::kR12) && i <= idx(Amd64Reg::kR15));
        m.push_back({i, saved});
      }
      return m;
    }();
    auto f = caller_by_cfi(last, map, idx(Amd64Reg::kRip), idx(Amd64Reg::kRsp));
    // A zero return address from CFI means the rules did not fit this frame (Breakpad then
    // tries the other methods rather than ending the walk).
    if (f && (f->context.value(Amd64Reg::kRip) == 0 || f->context.value(Amd64Reg::kRsp) == 0)) f.reset();
    if (!f && windows_ && last.trust == FrameTrust::kContext) f = amd64_leaf(last);
    if (!f && !windows_) f = amd64_frame_pointer(last);
    if (!f && scan_allowed) f = amd64_scan(last);
    return f;
  }

  static bool non_canonical(uint64_t p) { return p > 0x7fffffffffffULL && p < 0xffff800000000000ULL; }

  std::optional<StackFrame> amd64_frame_pointer(const StackFrame& last) {
    uint64_t rbp = last.context.value(Amd64Reg::kRbp);
    if (rbp % 8 != 0) return std::nullopt;
    auto ip = read(rbp + 8);
    auto caller_rbp = read(rbp);
    if (!ip || !caller_rbp) return std::nullopt;
    uint64_t caller_rsp = rbp + 16;
    if (non_canonical(*ip)) return std::nullopt;
    if (caller_rsp <= rbp || *caller_rbp < caller_rsp) return std::nullopt;
    if (!read(*caller_rbp)) return std::nullopt;
    StackFrame f;
    f.trust = FrameTrust::kFramePointer;
    f.context = derived_context(last);
    f.context.set(idx(Amd64Reg::kRip), *ip);
    f.context.set(idx(Amd64Reg::kRsp), caller_rsp);
    f.context.set(idx(Amd64Reg::kRbp), *caller_rbp);
    return f;
  }

  std::optional<StackFrame> amd64_leaf(const StackFrame& last) {
    uint64_t location = 0, ip = 0;
    if (!scan_for_return_address(last.context.value(Amd64Reg::kRsp), 1, &location, &ip)) return std::nullopt;
    StackFrame f;
    f.trust = FrameTrust::kLeaf;
    f.context = last.context;
    f.context.set(idx(Amd64Reg::kRip), ip);
    f.context.set(idx(Amd64Reg::kRsp), location + 8);
    return f;
  }

  std::optional<StackFrame> amd64_scan(const StackFrame& last) {
    uint64_t location = 0, ip = 0;
    if (!scan_for_return_address(last.context.value(Amd64Reg::kRsp), scan_words_for(last), &location, &ip)) {
      return std::nullopt;
    }
    StackFrame f;
    f.trust = FrameTrust::kScan;
    f.context = derived_context(last);
    f.context.set(idx(Amd64Reg::kRip), ip);
    f.context.set(idx(Amd64Reg::kRsp), location + 8);
    // Keep a plausible %rbp: the one saved just below the return address, or the callee's when
    // it still points above the caller's stack pointer.
    if (last.context.is_valid(idx(Amd64Reg::kRbp))) {
      uint64_t rbp = last.context.value(Amd64Reg::kRbp);
      if (location - 8 == rbp) {
        auto saved = read(rbp);
        if (saved && *saved > location) f.context.set(idx(Amd64Reg::kRbp), *saved);
      } else if (rbp >= location + 8) {
        f.context.set(idx(Amd64Reg::kRbp), rbp);
      }
    }
    return f;
  }

  // ---- arm64 ----

  void compute_ptrauth_mask() {
    uint64_t highest = 0;
    for (const auto& m : dump_.modules()) highest |= m.end() > 0 ? m.end() - 1 : 0;
    uint64_t mask = highest;
    for (int s = 1; s < 64; s <<= 1) mask |= mask >> s;
    ptrauth_mask_ = highest == 0 ? ~0ULL : mask;
  }

  uint64_t strip_ptrauth(uint64_t p) const {
    uint64_t stripped = p & ptrauth_mask_;
    return modules_.find(stripped) ? stripped : p;
  }

  std::optional<StackFrame> caller_arm64(bool scan_allowed) {
    StackFrame& last = real_.back();
    static const std::vector<CfiRegister> map = [] {
      std::vector<CfiRegister> m;
      for (size_t i = 0; i < idx(Arm64Reg::kCount); ++i) {
        m.push_back({i, i >= idx(Arm64Reg::kX19) && i <= idx(Arm64Reg::kFp)});
      }
      return m;
    }();
    auto f = caller_by_cfi(last, map, idx(Arm64Reg::kPc), idx(Arm64Reg::kSp));
    if (f) f->context.set(idx(Arm64Reg::kPc), strip_ptrauth(f->context.value(Arm64Reg::kPc)));
    if (!f) f = arm64_frame_pointer();
    if (!f && scan_allowed) f = arm_scan(last, idx(Arm64Reg::kPc), idx(Arm64Reg::kSp));
    return f;
  }

  // When the walk reached this frame by CFI that did not recover lr, but the frame-pointer chain
  // agrees with it, take lr from the chain.
  void correct_lr_by_frame_pointer(StackFrame& last) {
    if (real_.size() < 2) return;
    uint64_t fp = last.context.value(Arm64Reg::kFp);
    if (fp <= last.context.value(Arm64Reg::kSp)) return;
    const StackFrame& before = real_[real_.size() - 2];
    uint64_t before_fp = before.context.value(Arm64Reg::kFp);
    uint64_t chained_fp = 0;
    if (before_fp != 0) {
      auto v = read(before_fp);
      if (!v) return;
      chained_fp = *v;
    }
    if (fp != chained_fp) return;
    uint64_t lr = 0;
    if (before_fp != 0) {
      auto v = read(before_fp + 8);
      if (!v) return;
      lr = *v;
    }
    last.context.set(idx(Arm64Reg::kLr), strip_ptrauth(lr));
  }

  std::optional<StackFrame> arm64_frame_pointer() {
    StackFrame& last = real_.back();
    if (!last.context.is_valid(idx(Arm64Reg::kLr))) correct_lr_by_frame_pointer(last);
    uint64_t fp = last.context.value(Arm64Reg::kFp);
    uint64_t caller_fp = 0, caller_lr = 0;
    if (fp != 0) {
      auto a = read(fp);
      auto b = read(fp + 8);
      if (!a || !b) return std::nullopt;
      caller_fp = *a;
      caller_lr = strip_ptrauth(*b);
    }
    uint64_t caller_sp = fp != 0 ? fp + 16 : last.context.value(Arm64Reg::kSp);
    StackFrame f;
    f.trust = FrameTrust::kFramePointer;
    f.context = derived_context(last);
    f.context.set(idx(Arm64Reg::kFp), caller_fp);
    f.context.set(idx(Arm64Reg::kSp), caller_sp);
    f.context.set(idx(Arm64Reg::kPc), last.context.value(Arm64Reg::kLr));
    f.context.set(idx(Arm64Reg::kLr), caller_lr);
    return f;
  }

  // ---- arm ----

  std::optional<StackFrame> caller_arm(bool scan_allowed) {
    const StackFrame& last = real_.back();
    static const std::vector<CfiRegister> map = [] {
      std::vector<CfiRegister> m;
      for (size_t i = 0; i < idx(ArmReg::kCount); ++i) {
        m.push_back({i, i >= idx(ArmReg::kR4) && i <= idx(ArmReg::kR11)});
      }
      return m;
    }();
    auto f = caller_by_cfi(last, map, idx(ArmReg::kPc), idx(ArmReg::kSp));
    if (!f && ios_) f = arm_frame_pointer(last);
    if (!f && scan_allowed) f = arm_scan(last, idx(ArmReg::kPc), idx(ArmReg::kSp));
    return f;
  }

  // iOS keeps the frame pointer in r7: [r7] = caller's r7, [r7 + 4] = return address.
  std::optional<StackFrame> arm_frame_pointer(const StackFrame& last) {
    size_t fp_index = idx(ArmReg::kR7);
    if (!last.context.is_valid(fp_index)) return std::nullopt;
    uint64_t fp = last.context.value(fp_index);
    auto caller_fp = read(fp);
    auto caller_pc = read(fp + 4);
    if (!caller_fp || !caller_pc) return std::nullopt;
    StackFrame f;
    f.trust = FrameTrust::kFramePointer;
    f.context = derived_context(last);
    f.context.set(fp_index, *caller_fp);
    f.context.set(idx(ArmReg::kSp), (fp + 8) & mask_);
    f.context.set(idx(ArmReg::kPc), *caller_pc);
    return f;
  }

  std::optional<StackFrame> arm_scan(const StackFrame& last, size_t pc, size_t sp) {
    uint64_t location = 0, ip = 0;
    if (!scan_for_return_address(last.context.value(sp), scan_words_for(last), &location, &ip)) {
      return std::nullopt;
    }
    StackFrame f;
    f.trust = FrameTrust::kScan;
    f.context = derived_context(last);
    f.context.set(pc, ip);
    f.context.set(sp, (location + word_) & mask_);
    return f;
  }

  // ---- x86 ----

  WinInfo win_info_for(const StackFrame& f) {
    WinInfo info;
    uint64_t base = 0;
    const symbols::ModuleSymbols* syms = symbols_at(f, &base);
    if (syms == nullptr) return info;
    uint64_t offset = f.instruction - base;
    if (auto w = syms->find_win_frame(offset)) {
      info.full = true;
      info.record = *w;
      info.has_parameter_size = true;
      info.parameter_size = w->parameter_size;
      return info;
    }
    if (auto s = syms->lookup(offset)) {
      info.has_parameter_size = true;
      info.parameter_size = s->parameter_size;
    }
    return info;
  }

  std::optional<StackFrame> caller_x86(bool scan_allowed) {
    const StackFrame& last = real_.back();
    std::optional<StackFrame> f;
    if (win_.back().full) f = x86_stack_win(scan_allowed);
    if (!f) {
      static const std::vector<CfiRegister> map = [] {
        std::vector<CfiRegister> m;
        for (size_t i = 0; i < idx(X86Reg::kCount); ++i) {
          bool saved = i == idx(X86Reg::kEbp) || i == idx(X86Reg::kEbx) || i == idx(X86Reg::kEsi) ||
                       i == idx(X86Reg::kEdi);
          m.push_back({i, saved});
        }
        return m;
      }();
      f = caller_by_cfi(last, map, idx(X86Reg::kEip), idx(X86Reg::kEsp));
      if (f && !f->context.is_valid(idx(X86Reg::kEbp))) f.reset();
    }
    if (!f) f = x86_ebp_chain(scan_allowed);
    return f;
  }

  std::optional<StackFrame> x86_ebp_chain(bool scan_allowed) {
    const StackFrame& last = real_.back();
    uint64_t ebp = last.context.value(X86Reg::kEbp);
    uint64_t esp = last.context.value(X86Reg::kEsp);
    uint64_t caller_eip = 0, caller_esp = 0, caller_ebp = 0;
    FrameTrust trust = FrameTrust::kFramePointer;
    auto ip = read(ebp + 4);
    auto saved = read(ebp);
    if (ip && saved) {
      caller_eip = *ip;
      caller_ebp = *saved;
      caller_esp = (ebp + 8) & mask_;
    } else {
      uint64_t location = 0;
      if (!scan_allowed || !scan_for_return_address(esp, scan_words_for(last), &location, &caller_eip)) {
        return std::nullopt;
      }
      caller_esp = (location + 4) & mask_;
      auto saved_ebp = read(caller_esp - 8);
      if (!saved_ebp) return std::nullopt;
      caller_ebp = *saved_ebp;
      trust = FrameTrust::kScan;
    }
    StackFrame f;
    f.trust = trust;
    f.context = derived_context(last);
    f.context.set(idx(X86Reg::kEip), caller_eip);
    f.context.set(idx(X86Reg::kEsp), caller_esp);
    f.context.set(idx(X86Reg::kEbp), caller_ebp);
    return f;
  }

  std::optional<StackFrame> x86_stack_win(bool scan_allowed) {
    const StackFrame& last = real_.back();
    const symbols::WinFrameInfo& info = win_.back().record;
    uint64_t callee_params = 0;
    if (win_.size() >= 2 && win_[win_.size() - 2].has_parameter_size) {
      callee_params = win_[win_.size() - 2].parameter_size;
    }
    Variables vars;
    vars.set("$ebp", last.context.value(X86Reg::kEbp));
    vars.set("$esp", last.context.value(X86Reg::kEsp));
    if (last.context.is_valid(idx(X86Reg::kEbx))) vars.set("$ebx", last.context.value(X86Reg::kEbx));
    vars.set(".cbCalleeParams", callee_params);
    vars.set(".cbSavedRegs", info.saved_registers_size);
    vars.set(".cbLocals", info.locals_size);

    uint64_t ra_search_start =
        (last.context.value(X86Reg::kEsp) + callee_params + info.locals_size + info.saved_registers_size) & mask_;
    // The stack may have been aligned: look up to three words higher for the return address.
    uint64_t original_start = ra_search_start;
    uint64_t found = 0;
    if (scan_for_return_address(ra_search_start, 3, &ra_search_start, &found) &&
        last.trust == FrameTrust::kContext && info.type == symbols::WinFrameType::kFpo &&
        original_start == ra_search_start && found == last.context.value(X86Reg::kEip)) {
      // An FPO system call that already returned: the top word is the current instruction.
      ra_search_start = (ra_search_start + 4) & mask_;
      scan_for_return_address(ra_search_start, 3, &ra_search_start, &found);
    }
    vars.set(".cbParams", info.parameter_size);

    std::string program;
    bool recover_ebp = true;
    if (info.has_program_string) {
      program = std::string(info.program_string);
    } else if (info.allocates_base_pointer) {
      program = "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = "
                "$esp .raSearchStart 4 + =";
    } else {
      program = "$eip .raSearchStart ^ = $esp .raSearchStart 4 + =";
      recover_ebp = false;
    }
    // With an alignment operator %esp-relative positions are lost; the return address sits
    // just above the saved %ebp.
    if (last.context.is_valid(idx(X86Reg::kEbp)) && program.find('@') != std::string::npos) {
      ra_search_start = (last.context.value(X86Reg::kEbp) + 4) & mask_;
    }
    vars.set(".raSearchStart", ra_search_start);
    vars.set(".raSearch", ra_search_start);

    FrameTrust trust = FrameTrust::kCfi;
    std::string error;
    Variables result = vars;
    std::vector<std::string> assigned;
    bool ok = run_postfix_program(program, result, reader_, 4, &error, {}, &assigned);
    auto was_assigned = [&](std::string_view name) {
      for (const auto& a : assigned) {
        if (a == name) return true;
      }
      return false;
    };
    bool eip_set = ok && was_assigned("$eip");
    bool esp_set = ok && was_assigned("$esp");
    uint64_t eip = eip_set ? result.get_own("$eip").value_or(0) : 0;
    uint64_t esp = esp_set ? result.get_own("$esp").value_or(0) : 0;
    uint64_t ebp = result.get_own("$ebp").value_or(0);
    if (!eip_set || !esp_set) {
      uint64_t location = 0;
      if (!scan_allowed ||
          !scan_for_return_address(last.context.value(X86Reg::kEsp), scan_words_for(last), &location, &eip)) {
        return std::nullopt;
      }
      esp = (location + 4) & mask_;
      trust = FrameTrust::kScan;
    }

    if (eip != 0 || ebp != 0) {
      uint64_t offset = 0;
      if (!modules_.find(eip)) {
        uint64_t location_start = (ra_search_start + 4) & mask_;
        uint64_t location = 0, better = 0;
        if (scan_allowed && scan_for_return_address(location_start, scan_words_for(last), &location, &better)) {
          eip = better;
          esp = (location + 4) & mask_;
          offset = location - location_start;
          trust = FrameTrust::kCfiScan;
        }
      }
      if (recover_ebp) {
        bool skipped_frames = trust != FrameTrust::kCfi && ebp <= ra_search_start + offset;
        if (skipped_frames || !read(ebp)) {
          uint64_t search_bytes = info.saved_registers_size + offset;
          uint64_t end = (last.context.value(X86Reg::kEsp) + callee_params) & mask_;
          for (uint64_t location = end + search_bytes; location >= end; location -= 4) {
            auto candidate = read(location);
            if (!candidate) break;
            if (read(*candidate)) {
              ebp = *candidate;
              break;
            }
            if (location < 4) break;
          }
        }
      }
    }

    StackFrame f;
    f.trust = trust;
    f.context = derived_context(last);
    f.context.set(idx(X86Reg::kEip), eip);
    f.context.set(idx(X86Reg::kEsp), esp);
    f.context.set(idx(X86Reg::kEbp), ebp);
    if (ok) {
      for (auto [name, reg] : {std::pair{"$ebx", X86Reg::kEbx}, std::pair{"$esi", X86Reg::kEsi},
                               std::pair{"$edi", X86Reg::kEdi}}) {
        if (was_assigned(name)) {
          if (auto v = result.get_own(name)) f.context.set(idx(reg), *v);
        }
      }
    }
    return f;
  }

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

}  // namespace

std::vector<StackFrame> symbolize_frame(const minidump::Minidump& dump, const ModuleMap& modules,
                                        SymbolSource& symbols, StackFrame& frame) {
  std::vector<StackFrame> inlines;
  auto found_index = modules.find(frame.instruction);
  const minidump::Module* m = found_index ? &dump.modules()[*found_index] : nullptr;
  if (m == nullptr) {
    const auto& unloaded = dump.unloaded_modules();
    for (const auto* u : dump.unloaded_modules_at(frame.instruction)) {
      frame.unloaded_module_indices.push_back(static_cast<size_t>(u - unloaded.data()));
    }
    return inlines;
  }
  size_t index = static_cast<size_t>(m - dump.modules().data());
  frame.module_index = index;
  const symbols::ModuleSymbols* syms = symbols.symbols_for(index);
  if (syms == nullptr) return inlines;
  auto found = syms->lookup(frame.instruction - m->base);
  if (!found) return inlines;
  frame.function_name = std::string(found->function_name);
  frame.function_base = m->base + found->function_start;
  frame.parameter_size = found->parameter_size;
  if (found->has_line) {
    frame.has_source = !found->source_file.empty();
    frame.source_file = std::string(found->source_file);
    frame.source_line = found->source_line;
    frame.source_line_base = m->base + found->line_start;
  }
  if (found->inlines.empty()) return inlines;

  // Innermost first. Each frame shows the position inside itself: the innermost one the line
  // record's, each outer one (and finally the real frame) the call site of the one it contains.
  const auto& chain = found->inlines;  // outermost first
  std::string file = frame.source_file;
  uint32_t line = frame.source_line;
  for (size_t k = chain.size(); k-- > 0;) {
    StackFrame in;
    in.trust = FrameTrust::kInline;
    in.instruction = frame.instruction;
    in.return_address = frame.instruction;
    in.module_index = index;
    in.function_name = chain[k].function_name.empty() ? std::string("<name omitted>")
                                                      : std::string(chain[k].function_name);
    in.function_base = m->base + chain[k].start;
    in.source_file = file;
    in.source_line = line;
    in.has_source = !file.empty();
    in.source_line_base = frame.source_line_base;
    inlines.push_back(std::move(in));
    if (!chain[k].call_file.empty()) file = std::string(chain[k].call_file);
    line = chain[k].call_line;
  }
  frame.source_file = file;
  frame.source_line = line;
  frame.has_source = !file.empty();
  return inlines;
}

std::vector<StackFrame> walk_stack(const minidump::Minidump& dump, const ModuleMap& modules,
                                   const minidump::CpuContext& context, const minidump::MemoryRegion* stack,
                                   SymbolSource& symbols, const WalkLimits& limits) {
  Walker walker(dump, modules, stack, symbols, limits);
  return walker.walk(context);
}

}  // namespace bw::stackwalk
