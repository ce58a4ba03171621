// arm64: STACK CFI, then the x29 chain, then scanning; pointer-authentication bits stripped.
#include "stackwalk/walker_internal.h"

namespace bw::stackwalk::walker_detail {

void Walker::compute_ptrauth_mask() {
  uint64_t highest = 0;
  for (const auto& m : dump_.modules()) highest |= m.end() > 0 ? m.end() - 1 : 0;
  uint64_t mask = highest;
  for (int s = 1; s < 64; s <<= 1) mask |= mask >> s;
  ptrauth_mask_ = highest == 0 ? ~0ULL : mask;
}

uint64_t Walker::strip_ptrauth(uint64_t p) const {
  uint64_t stripped = p & ptrauth_mask_;
  return modules_.find(stripped) ? stripped : p;
}

std::optional<StackFrame> Walker::caller_arm64(bool scan_allowed) {
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
void Walker::correct_lr_by_frame_pointer(StackFrame& last) {
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

std::optional<StackFrame> Walker::arm64_frame_pointer() {
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

}  // namespace bw::stackwalk::walker_detail
