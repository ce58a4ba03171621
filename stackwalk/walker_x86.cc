// x86: STACK WIN, then STACK CFI, then the %ebp chain (scanning when %ebp leads nowhere).
#include "stackwalk/walker_internal.h"

#include <string>

namespace bw::stackwalk::walker_detail {

// The largest x86 frame Breakpad believes in when it recovers a saved %ebp after a scan (128 KiB,
// larger than 99.5 % of frames in its survey).
constexpr uint64_t kMaxReasonableFrameGap = 128 * 1024;

WinInfo Walker::win_info_for(const StackFrame& f) {
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

std::optional<StackFrame> Walker::caller_x86(bool scan_allowed) {
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

std::optional<StackFrame> Walker::x86_ebp_chain(bool scan_allowed) {
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
    // The word below the return address is the caller's saved %ebp if the function pushed
    // one; Breakpad takes it only when it lies above its own slot and within a frame's
    // plausible size of it, and otherwise keeps %ebp (frame-pointer-less code leaves it
    // untouched). A value taken blindly can lead the next %ebp step into dead stack below
    // %esp, which ends the walk early.
    uint64_t slot = (caller_esp - 8) & mask_;
    auto saved_ebp = read(slot);
    if (saved_ebp && *saved_ebp > slot && *saved_ebp - slot <= kMaxReasonableFrameGap) {
      caller_ebp = *saved_ebp;
    } else {
      caller_ebp = ebp;
    }
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

std::optional<StackFrame> Walker::x86_stack_win(bool scan_allowed) {
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
    // A function that does not use %ebp (often an ntdll forwarder) leaves %ebx as it was;
    // Breakpad carries it to the caller, whose program string may need it.
    if (last.context.is_valid(idx(X86Reg::kEbx))) program += " $ebx $ebx =";
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

}  // namespace bw::stackwalk::walker_detail
