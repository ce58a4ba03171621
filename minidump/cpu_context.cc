#include "minidump/cpu_context.h"

#include <array>

#include "minidump/byte_reader.h"

namespace bw::minidump {
namespace {

using detail::read_le;

constexpr std::array<std::string_view, 10> kX86Names = {"eip", "esp", "ebp", "ebx", "esi",
                                                        "edi", "eax", "ecx", "edx", "eflags"};
constexpr std::array<std::string_view, 17> kAmd64Names = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi",
                                                          "rbp", "rsp", "r8",  "r9",  "r10", "r11",
                                                          "r12", "r13", "r14", "r15", "rip"};
constexpr std::array<std::string_view, 16> kArmNames = {"r0", "r1", "r2",  "r3",  "r4",  "r5",
                                                        "r6", "r7", "r8",  "r9",  "r10", "r11",
                                                        "r12", "sp", "lr", "pc"};
constexpr std::array<std::string_view, 33> kArm64Names = {
    "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
    "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
    "x22", "x23", "x24", "x25", "x26", "x27", "x28", "fp",  "lr",  "sp",  "pc"};

std::span<const std::string_view> names_for(Cpu cpu) {
  switch (cpu) {
    case Cpu::kX86: return kX86Names;
    case Cpu::kAmd64: return kAmd64Names;
    case Cpu::kArm: return kArmNames;
    case Cpu::kArm64: return kArm64Names;
    default: return {};
  }
}

// Context flag CPU bits (Breakpad's minidump_format.h values).
constexpr uint32_t kFlagX86 = 0x00010000;
constexpr uint32_t kFlagAmd64 = 0x00100000;
constexpr uint32_t kFlagArm = 0x40000000;
constexpr uint32_t kFlagArmOld = 0x00000040;
constexpr uint32_t kFlagArm64 = 0x00400000;
constexpr uint64_t kFlagArm64Old = 0x80000000;

constexpr size_t kSizeX86 = 716;
constexpr size_t kSizeAmd64 = 1232;
constexpr size_t kSizeArm = 368;
constexpr size_t kSizeArm64 = 912;
constexpr size_t kSizeArm64Old = 796;

uint64_t mask_for(size_t count) { return count >= 64 ? ~0ULL : ((1ULL << count) - 1); }

}  // namespace

std::string_view cpu_name(Cpu cpu) {
  switch (cpu) {
    case Cpu::kX86: return "x86";
    case Cpu::kAmd64: return "amd64";
    case Cpu::kArm: return "arm";
    case Cpu::kArm64: return "arm64";
    case Cpu::kPpc: return "ppc";
    case Cpu::kPpc64: return "ppc64";
    case Cpu::kSparc: return "sparc";
    case Cpu::kMips: return "mips";
    case Cpu::kMips64: return "mips64";
    case Cpu::kRiscv: return "riscv";
    case Cpu::kRiscv64: return "riscv64";
    case Cpu::kUnknown: break;
  }
  return "unknown";
}

CpuContext::CpuContext(Cpu cpu) {
  switch (cpu) {
    case Cpu::kX86:
    case Cpu::kAmd64:
    case Cpu::kArm:
    case Cpu::kArm64: cpu_ = cpu; break;
    default: cpu_ = Cpu::kUnknown; break;
  }
}

unsigned CpuContext::pointer_size() const {
  switch (cpu_) {
    case Cpu::kX86:
    case Cpu::kArm: return 4;
    case Cpu::kAmd64:
    case Cpu::kArm64: return 8;
    default: return 0;
  }
}

size_t CpuContext::register_count() const { return names_for(cpu_).size(); }

std::string_view CpuContext::register_name(size_t index) const {
  auto names = names_for(cpu_);
  return index < names.size() ? names[index] : std::string_view{};
}

std::optional<size_t> CpuContext::register_index(std::string_view name) const {
  if (!name.empty() && name.front() == '$') name.remove_prefix(1);
  auto names = names_for(cpu_);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return i;
  }
  switch (cpu_) {
    case Cpu::kX86:
      if (name == "efl") return static_cast<size_t>(X86Reg::kEflags);
      break;
    case Cpu::kArm:
      if (name == "fp") return static_cast<size_t>(ArmReg::kR11);
      if (name == "r13") return static_cast<size_t>(ArmReg::kSp);
      if (name == "r14") return static_cast<size_t>(ArmReg::kLr);
      if (name == "r15") return static_cast<size_t>(ArmReg::kPc);
      break;
    case Cpu::kArm64:
      if (name == "x29") return static_cast<size_t>(Arm64Reg::kFp);
      if (name == "x30") return static_cast<size_t>(Arm64Reg::kLr);
      if (name == "x31") return static_cast<size_t>(Arm64Reg::kSp);
      break;
    default: break;
  }
  return std::nullopt;
}

bool CpuContext::all_valid() const {
  return cpu_ != Cpu::kUnknown && (valid_ & mask_for(register_count())) == mask_for(register_count());
}

std::optional<uint64_t> CpuContext::get(std::string_view name) const {
  auto index = register_index(name);
  if (!index || !is_valid(*index)) return std::nullopt;
  return regs_[*index];
}

bool CpuContext::set(std::string_view name, uint64_t value) {
  auto index = register_index(name);
  return index && set(*index, value);
}

bool CpuContext::set(size_t index, uint64_t value) {
  if (index >= register_count()) return false;
  regs_[index] = pointer_size() == 4 ? (value & 0xffffffffULL) : value;
  valid_ |= 1ULL << index;
  return true;
}

void CpuContext::invalidate(size_t index) {
  if (index < kMaxRegisters) valid_ &= ~(1ULL << index);
}

std::optional<size_t> CpuContext::instruction_pointer_index() const {
  switch (cpu_) {
    case Cpu::kX86: return static_cast<size_t>(X86Reg::kEip);
    case Cpu::kAmd64: return static_cast<size_t>(Amd64Reg::kRip);
    case Cpu::kArm: return static_cast<size_t>(ArmReg::kPc);
    case Cpu::kArm64: return static_cast<size_t>(Arm64Reg::kPc);
    default: return std::nullopt;
  }
}

std::optional<size_t> CpuContext::stack_pointer_index() const {
  switch (cpu_) {
    case Cpu::kX86: return static_cast<size_t>(X86Reg::kEsp);
    case Cpu::kAmd64: return static_cast<size_t>(Amd64Reg::kRsp);
    case Cpu::kArm: return static_cast<size_t>(ArmReg::kSp);
    case Cpu::kArm64: return static_cast<size_t>(Arm64Reg::kSp);
    default: return std::nullopt;
  }
}

std::optional<size_t> CpuContext::frame_pointer_index() const {
  switch (cpu_) {
    case Cpu::kX86: return static_cast<size_t>(X86Reg::kEbp);
    case Cpu::kAmd64: return static_cast<size_t>(Amd64Reg::kRbp);
    case Cpu::kArm: return static_cast<size_t>(ArmReg::kR11);
    case Cpu::kArm64: return static_cast<size_t>(Arm64Reg::kFp);
    default: return std::nullopt;
  }
}

uint64_t CpuContext::instruction_pointer() const {
  auto i = instruction_pointer_index();
  return i ? regs_[*i] : 0;
}
uint64_t CpuContext::stack_pointer() const {
  auto i = stack_pointer_index();
  return i ? regs_[*i] : 0;
}
uint64_t CpuContext::frame_pointer() const {
  auto i = frame_pointer_index();
  return i ? regs_[*i] : 0;
}

size_t CpuContext::layout_size(Layout layout) {
  switch (layout) {
    case Layout::kX86: return kSizeX86;
    case Layout::kAmd64: return kSizeAmd64;
    case Layout::kArm: return kSizeArm;
    case Layout::kArm64: return kSizeArm64;
    case Layout::kArm64Old: return kSizeArm64Old;
    case Layout::kNone: break;
  }
  return 0;
}

std::optional<CpuContext::Layout> CpuContext::detect_layout(std::span<const uint8_t> bytes, Cpu hint) {
  // amd64 keeps its flags at offset 48 (after the six home registers); every other layout at 0.
  if (bytes.size() >= kSizeAmd64) {
    auto flags = read_le<uint32_t>(bytes, 48);
    if (flags && (*flags & 0xffffff00U) == kFlagAmd64) return Layout::kAmd64;
  }
  if (bytes.size() >= kSizeArm64Old) {
    auto flags64 = read_le<uint64_t>(bytes, 0);
    if (flags64 && (*flags64 & 0xffffffffffffff00ULL) == kFlagArm64Old) return Layout::kArm64Old;
  }
  auto flags = read_le<uint32_t>(bytes, 0);
  if (!flags) return std::nullopt;
  uint32_t cpu_bits = *flags & 0xffffff00U;
  if (cpu_bits == kFlagX86 && bytes.size() >= kSizeX86) return Layout::kX86;
  if (cpu_bits == kFlagArm64 && bytes.size() >= kSizeArm64) return Layout::kArm64;
  if ((cpu_bits == kFlagArm || (*flags & 0xffffffc0U) == kFlagArmOld) && bytes.size() >= kSizeArm) {
    return Layout::kArm;
  }
  // No CPU bits we know: trust the system info if the size fits that CPU's layout.
  if (cpu_bits == 0) {
    if (hint == Cpu::kX86 && bytes.size() >= kSizeX86) return Layout::kX86;
    if (hint == Cpu::kArm && bytes.size() >= kSizeArm) return Layout::kArm;
    if (hint == Cpu::kArm64 && bytes.size() >= kSizeArm64) return Layout::kArm64;
  }
  return std::nullopt;
}

std::optional<CpuContext> CpuContext::parse(Layout layout, std::span<const uint8_t> bytes) {
  if (layout == Layout::kNone || bytes.size() < layout_size(layout)) return std::nullopt;
  // Every read below is inside layout_size(layout) bytes, so they cannot fail.
  auto u16 = [&](size_t off) { return read_le<uint16_t>(bytes, off).value_or(0); };
  auto u32 = [&](size_t off) { return read_le<uint32_t>(bytes, off).value_or(0); };
  auto u64 = [&](size_t off) { return read_le<uint64_t>(bytes, off).value_or(0); };
  CpuContext ctx;
  ctx.layout_ = layout;
  switch (layout) {
    case Layout::kX86: {
      ctx.cpu_ = Cpu::kX86;
      ctx.context_flags_ = u32(0);
      ctx.set(static_cast<size_t>(X86Reg::kEip), u32(184));
      ctx.set(static_cast<size_t>(X86Reg::kEsp), u32(196));
      ctx.set(static_cast<size_t>(X86Reg::kEbp), u32(180));
      ctx.set(static_cast<size_t>(X86Reg::kEbx), u32(164));
      ctx.set(static_cast<size_t>(X86Reg::kEsi), u32(160));
      ctx.set(static_cast<size_t>(X86Reg::kEdi), u32(156));
      ctx.set(static_cast<size_t>(X86Reg::kEax), u32(176));
      ctx.set(static_cast<size_t>(X86Reg::kEcx), u32(172));
      ctx.set(static_cast<size_t>(X86Reg::kEdx), u32(168));
      ctx.set(static_cast<size_t>(X86Reg::kEflags), u32(192));
      ctx.segments_ = {static_cast<uint16_t>(u32(188)), static_cast<uint16_t>(u32(152)),
                       static_cast<uint16_t>(u32(148)), static_cast<uint16_t>(u32(144)),
                       static_cast<uint16_t>(u32(140)), static_cast<uint16_t>(u32(200))};
      break;
    }
    case Layout::kAmd64: {
      ctx.cpu_ = Cpu::kAmd64;
      ctx.context_flags_ = u32(48);
      ctx.segments_ = {u16(56), u16(58), u16(60), u16(62), u16(64), u16(66)};
      // On disk: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 rip from offset 120.
      constexpr std::array<Amd64Reg, 17> disk_order = {
          Amd64Reg::kRax, Amd64Reg::kRcx, Amd64Reg::kRdx, Amd64Reg::kRbx, Amd64Reg::kRsp, Amd64Reg::kRbp,
          Amd64Reg::kRsi, Amd64Reg::kRdi, Amd64Reg::kR8,  Amd64Reg::kR9,  Amd64Reg::kR10, Amd64Reg::kR11,
          Amd64Reg::kR12, Amd64Reg::kR13, Amd64Reg::kR14, Amd64Reg::kR15, Amd64Reg::kRip};
      for (size_t i = 0; i < disk_order.size(); ++i) {
        ctx.set(static_cast<size_t>(disk_order[i]), u64(120 + 8 * i));
      }
      ctx.cpsr_ = u32(68);  // eflags, kept for display
      break;
    }
    case Layout::kArm: {
      ctx.cpu_ = Cpu::kArm;
      ctx.context_flags_ = u32(0);
      for (size_t i = 0; i < 16; ++i) ctx.set(i, u32(4 + 4 * i));
      ctx.cpsr_ = u32(68);
      break;
    }
    case Layout::kArm64: {
      ctx.cpu_ = Cpu::kArm64;
      ctx.context_flags_ = u32(0);
      ctx.cpsr_ = u32(4);
      for (size_t i = 0; i < 31; ++i) ctx.set(i, u64(8 + 8 * i));
      ctx.set(static_cast<size_t>(Arm64Reg::kSp), u64(256));
      ctx.set(static_cast<size_t>(Arm64Reg::kPc), u64(264));
      break;
    }
    case Layout::kArm64Old: {
      ctx.cpu_ = Cpu::kArm64;
      ctx.context_flags_ = u64(0);
      for (size_t i = 0; i < 31; ++i) ctx.set(i, u64(8 + 8 * i));
      ctx.set(static_cast<size_t>(Arm64Reg::kSp), u64(256));
      ctx.set(static_cast<size_t>(Arm64Reg::kPc), u64(264));
      ctx.cpsr_ = u32(272);
      break;
    }
    case Layout::kNone: return std::nullopt;
  }
  return ctx;
}

}  // namespace bw::minidump
