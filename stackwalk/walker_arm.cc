// arm: STACK CFI, then the r7 chain on iOS, then scanning.
#include "stackwalk/walker_internal.h"

namespace bw::stackwalk::walker_detail {

std::optional<StackFrame> Walker::caller_arm(bool scan_allowed) {
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
std::optional<StackFrame> Walker::arm_frame_pointer(const StackFrame& last) {
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

}  // namespace bw::stackwalk::walker_detail
