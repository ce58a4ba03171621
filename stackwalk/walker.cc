// The CPU-independent part of the walker: the walk loop, termination, STACK CFI evaluation,
// stack scanning and symbolization. Each CPU's methods are in walker_<cpu>.cc.
#include "stackwalk/walker.h"

#include <optional>
#include <string>

#include "stackwalk/walker_internal.h"

namespace bw::stackwalk::walker_detail {

std::vector<StackFrame> Walker::walk(const CpuContext& context) {
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

const symbols::ModuleSymbols* Walker::symbols_at(const StackFrame& f, uint64_t* base) {
  if (!f.module_index) return nullptr;
  *base = dump_.modules()[*f.module_index].base;
  return symbols_.symbols_for(*f.module_index);
}

// Breakpad's "does this look like code": inside a module, and inside a function of it when the
// module has symbols.
bool Walker::address_seems_valid(uint64_t address) {
  auto index = modules_.find(address);
  if (!index) return false;
  const symbols::ModuleSymbols* syms = symbols_.symbols_for(*index);
  if (syms == nullptr) return true;
  auto found = syms->lookup(address - dump_.modules()[*index].base);
  return found && !found->function_name.empty();
}

// Scans `words` + 1 words from `start` for a plausible return address.
bool Walker::scan_for_return_address(uint64_t start, unsigned words, uint64_t* location, uint64_t* ip) {
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
CpuContext Walker::derived_context(const StackFrame& last) {
  CpuContext c = last.context;
  c.invalidate_all();
  return c;
}

unsigned Walker::scan_words_for(const StackFrame& last) const {
  return last.trust == FrameTrust::kContext ? limits_.context_scan_words : limits_.scan_words;
}

bool Walker::terminate(uint64_t caller_ip, uint64_t caller_sp, uint64_t callee_sp, bool first_unwind) const {
  if (caller_ip < 4096) return true;
  return first_unwind ? caller_sp < callee_sp : caller_sp <= callee_sp;
}

std::optional<StackFrame> Walker::caller(bool scan_allowed) {
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

std::optional<symbols::CfiRules> Walker::cfi_for(const StackFrame& f) {
  uint64_t base = 0;
  const symbols::ModuleSymbols* syms = symbols_at(f, &base);
  if (syms == nullptr) return std::nullopt;
  return syms->find_cfi(f.instruction - base);
}

// Evaluates a CFI row: the caller's registers by name, plus ".cfa" and ".ra". nullopt when the
// row lacks .cfa or .ra or any rule cannot be evaluated.
std::optional<Variables> Walker::evaluate_cfi(const StackFrame& last, const symbols::CfiRules& rules) {
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
std::optional<uint64_t> Walker::cfi_value(const Variables& caller, const CpuContext& shape, size_t index) {
  for (const auto& [name, value] : caller.entries()) {
    if (name.empty() || name[0] == '.') continue;
    auto i = shape.register_index(name);
    if (i && *i == index) return value;
  }
  return std::nullopt;
}

std::optional<StackFrame> Walker::caller_by_cfi(const StackFrame& last, const std::vector<CfiRegister>& map,
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

std::optional<StackFrame> Walker::arm_scan(const StackFrame& last, size_t pc, size_t sp) {
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

}  // namespace bw::stackwalk::walker_detail

namespace bw::stackwalk {

using walker_detail::Walker;

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

