// amd64: STACK CFI, then the Windows leaf rule, then the %rbp chain (not on Windows), then scanning.
#include "stackwalk/walker_internal.h"

namespace bw::stackwalk::walker_detail {

std::optional<StackFrame> Walker::caller_amd64(bool scan_allowed) {
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

std::optional<StackFrame> Walker::amd64_frame_pointer(const StackFrame& last) {
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

std::optional<StackFrame> Walker::amd64_leaf(const StackFrame& last) {
  uint64_t location = 0, ip = 0;
  if (!scan_for_return_address(last.context.value(Amd64Reg::kRsp), 1, &location, &ip)) return std::nullopt;
  StackFrame f;
  f.trust = FrameTrust::kLeaf;
  f.context = last.context;
  f.context.set(idx(Amd64Reg::kRip), ip);
  f.context.set(idx(Amd64Reg::kRsp), location + 8);
  return f;
}

std::optional<StackFrame> Walker::amd64_scan(const StackFrame& last) {
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

}  // namespace bw::stackwalk::walker_detail
