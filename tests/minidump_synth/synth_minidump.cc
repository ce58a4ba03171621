#include "tests/minidump_synth/synth_minidump.h"

#include <algorithm>
#include <stdexcept>

#include "minidump/dump_builder.h"

namespace bw::testing::synth {

using minidump::testing::Buf;
using minidump::testing::DumpBuilder;

namespace {

// Context flags: the CPU bit plus the control and integer register sets (and segments on x86
// and amd64), which is what the reader and Breakpad check to pick a layout.
constexpr uint32_t kX86Flags = 0x00010000 | 0x1 | 0x2 | 0x4;
constexpr uint32_t kAmd64Flags = 0x00100000 | 0x1 | 0x2 | 0x4;
constexpr uint32_t kArmFlags = 0x40000000 | 0x2;
constexpr uint32_t kArm64Flags = 0x00400000 | 0x1 | 0x2;

constexpr size_t kX86Size = 716;
constexpr size_t kAmd64Size = 1232;
constexpr size_t kArmSize = 368;
constexpr size_t kArm64Size = 912;

// Writes little-endian values at fixed offsets of a zeroed buffer.
class Fixed {
 public:
  explicit Fixed(size_t size) : b_(size, 0) {}
  void put(size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  }
  void u16(size_t at, uint16_t v) { put(at, v, 2); }
  void u32(size_t at, uint32_t v) { put(at, v, 4); }
  void u64(size_t at, uint64_t v) { put(at, v, 8); }
  std::vector<uint8_t> take() { return std::move(b_); }

 private:
  std::vector<uint8_t> b_;
};

std::vector<uint8_t> encode(const X86Context& c) {
  Fixed f(kX86Size);
  f.u32(0, kX86Flags);
  f.u32(156, c.edi);
  f.u32(160, c.esi);
  f.u32(164, c.ebx);
  f.u32(168, c.edx);
  f.u32(172, c.ecx);
  f.u32(176, c.eax);
  f.u32(180, c.ebp);
  f.u32(184, c.eip);
  f.u32(188, 0x23);  // cs
  f.u32(192, c.eflags);
  f.u32(196, c.esp);
  f.u32(200, 0x2b);  // ss
  return f.take();
}

std::vector<uint8_t> encode(const Amd64Context& c) {
  Fixed f(kAmd64Size);
  f.u32(48, kAmd64Flags);
  f.u16(56, 0x33);  // cs
  f.u16(66, 0x2b);  // ss
  // On disk from offset 120: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 rip.
  const uint64_t disk[] = {c.rax, c.rcx, c.rdx, c.rbx, c.rsp, c.rbp, c.rsi, c.rdi, c.r8,
                           c.r9,  c.r10, c.r11, c.r12, c.r13, c.r14, c.r15, c.rip};
  for (size_t i = 0; i < std::size(disk); ++i) f.u64(120 + 8 * i, disk[i]);
  return f.take();
}

std::vector<uint8_t> encode(const ArmContext& c) {
  Fixed f(kArmSize);
  f.u32(0, kArmFlags);
  for (size_t i = 0; i < c.r.size(); ++i) f.u32(4 + 4 * i, c.r[i]);
  f.u32(4 + 4 * 13, c.sp);
  f.u32(4 + 4 * 14, c.lr);
  f.u32(4 + 4 * 15, c.pc);
  f.u32(68, c.cpsr);
  return f.take();
}

std::vector<uint8_t> encode(const Arm64Context& c) {
  Fixed f(kArm64Size);
  f.u32(0, kArm64Flags);
  f.u32(4, c.cpsr);
  for (size_t i = 0; i < c.x.size(); ++i) f.u64(8 + 8 * i, c.x[i]);
  f.u64(8 + 8 * 29, c.fp);
  f.u64(8 + 8 * 30, c.lr);
  f.u64(256, c.sp);
  f.u64(264, c.pc);
  return f.take();
}

// MINIDUMP_SYSTEM_INFO's processor architecture and platform id values.
uint16_t architecture(Cpu cpu) {
  switch (cpu) {
    case Cpu::kX86: return 0;
    case Cpu::kAmd64: return 9;
    case Cpu::kArm: return 5;
    case Cpu::kArm64: return 12;
    default: throw std::logic_error("synth: only x86, amd64, arm and arm64 dumps can be built");
  }
}

uint32_t platform(Os os) {
  switch (os) {
    case Os::kWindows: return 2;
    case Os::kMacOs: return 0x8101;
    case Os::kIos: return 0x8102;
    case Os::kLinux: return 0x8201;
    case Os::kSolaris: return 0x8202;
    case Os::kAndroid: return 0x8203;
    case Os::kPs3: return 0x8204;
    case Os::kNaCl: return 0x8205;
    case Os::kFuchsia: return 0x8206;
    case Os::kUnknown: break;
  }
  return 0xffff;
}

Buf codeview_record(const CodeView& cv) {
  Buf b;
  if (const auto* pdb = std::get_if<Pdb70>(&cv)) {
    b.u32(0x53445352);  // "RSDS"
    for (uint8_t byte : pdb->guid) b.u8(byte);
    b.u32(pdb->age).text(pdb->pdb_path);
  } else if (const auto* elf = std::get_if<ElfBuildId>(&cv)) {
    b.u32(0x4270454c);  // Breakpad's MD_CVINFOELF_SIGNATURE
    b.bytes(elf->build_id);
  }
  return b;
}

std::u16string widen(const std::string& s) { return std::u16string(s.begin(), s.end()); }

}  // namespace

Cpu cpu_of(const Context& context) {
  switch (context.index()) {
    case 0: return Cpu::kX86;
    case 1: return Cpu::kAmd64;
    case 2: return Cpu::kArm;
    default: return Cpu::kArm64;
  }
}

std::vector<uint8_t> context_bytes(const Context& context) {
  return std::visit([](const auto& c) { return encode(c); }, context);
}

// ---- Stack ----

Stack::Stack(uint64_t base, unsigned word_size) : base_(base), word_size_(word_size) {
  if (word_size != 4 && word_size != 8) throw std::logic_error("synth: stack words are 4 or 8 bytes");
}

Stack& Stack::word(uint64_t value) { return word_size_ == 4 ? u32(static_cast<uint32_t>(value)) : u64(value); }

Stack& Stack::word(const std::string& label) {
  fixups_.push_back({data_.size(), label});
  return word(uint64_t{0});
}

Stack& Stack::words(size_t count, uint64_t value) {
  for (size_t i = 0; i < count; ++i) word(value);
  return *this;
}

Stack& Stack::u8(uint8_t value) {
  data_.push_back(value);
  return *this;
}

Stack& Stack::u32(uint32_t value) {
  for (int i = 0; i < 4; ++i) data_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  return *this;
}

Stack& Stack::u64(uint64_t value) {
  for (int i = 0; i < 8; ++i) data_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  return *this;
}

Stack& Stack::mark(const std::string& label) {
  if (!labels_.emplace(label, here()).second) throw std::logic_error("synth: label defined twice: " + label);
  return *this;
}

uint64_t Stack::address_of(const std::string& label) const {
  auto it = labels_.find(label);
  if (it == labels_.end()) throw std::logic_error("synth: undefined stack label: " + label);
  return it->second;
}

std::vector<uint8_t> Stack::bytes() const {
  std::vector<uint8_t> out = data_;
  for (const auto& f : fixups_) {
    uint64_t v = address_of(f.label);
    for (unsigned i = 0; i < word_size_; ++i) out[f.offset + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  return out;
}

// ---- SynthMinidump ----

SynthMinidump& SynthMinidump::cpu(Cpu cpu) {
  cpu_ = cpu;
  return *this;
}

SynthMinidump& SynthMinidump::os(Os os) {
  os_ = os;
  return *this;
}

SynthMinidump& SynthMinidump::module(Module module) {
  modules_.push_back(std::move(module));
  return *this;
}

SynthMinidump& SynthMinidump::thread(Thread thread) {
  threads_.push_back(std::move(thread));
  return *this;
}

SynthMinidump& SynthMinidump::memory(MemoryRegion region) {
  memory_.push_back(std::move(region));
  return *this;
}

SynthMinidump& SynthMinidump::exception(Exception exception) {
  exception_ = std::move(exception);
  return *this;
}

std::vector<uint8_t> SynthMinidump::bytes() const {
  DumpBuilder d;
  const Cpu cpu = cpu_ ? *cpu_ : threads_.empty() ? Cpu::kX86 : cpu_of(threads_.front().context);

  // MINIDUMP_SYSTEM_INFO (56 bytes).
  Buf si;
  si.u16(architecture(cpu)).u16(6).u16(0).u8(1).u8(1);
  si.u32(10).u32(0).u32(19041).u32(platform(os_)).u32(0);  // version, build, platform, no CSD
  si.u16(0).u16(0);
  if (cpu == Cpu::kX86 || cpu == Cpu::kAmd64) {
    si.text("GenuineIntel", false).u32(0).u32(0).u32(0);
  } else {
    si.zeros(24);
  }
  d.stream(static_cast<uint32_t>(minidump::StreamType::kSystemInfo), si);

  if (!threads_.empty()) {
    Buf list;
    list.u32(static_cast<uint32_t>(threads_.size()));
    for (const auto& t : threads_) {
      Buf ctx;
      ctx.bytes(context_bytes(t.context));
      uint32_t ctx_rva = d.blob(ctx);
      uint64_t stack_base = 0;
      uint32_t stack_size = 0, stack_rva = 0;
      if (t.stack) {
        Buf s;
        s.bytes(t.stack->bytes());
        stack_base = t.stack->base();
        stack_size = static_cast<uint32_t>(s.size());
        stack_rva = d.blob(s);
      }
      list.u32(t.id).u32(0).u32(0).u32(0).u64(0);  // id, suspend count, priority class, priority, teb
      list.u64(stack_base).u32(stack_size).u32(stack_rva);
      list.u32(static_cast<uint32_t>(ctx.size())).u32(ctx_rva);
    }
    d.stream(static_cast<uint32_t>(minidump::StreamType::kThreadList), list);
  }

  if (!modules_.empty()) {
    Buf list;
    list.u32(static_cast<uint32_t>(modules_.size()));
    for (const auto& m : modules_) {
      uint32_t name_rva = d.string(widen(m.name));
      Buf cv = codeview_record(m.codeview);
      uint32_t cv_rva = cv.size() > 0 ? d.blob(cv) : 0;
      list.u64(m.base).u32(m.size).u32(m.checksum).u32(m.timestamp).u32(name_rva);
      list.zeros(13 * 4);  // VS_FIXEDFILEINFO: no version
      list.u32(static_cast<uint32_t>(cv.size())).u32(cv_rva);
      list.u32(0).u32(0);  // misc record
      list.u64(0).u64(0);  // reserved
    }
    d.stream(static_cast<uint32_t>(minidump::StreamType::kModuleList), list);
  }

  if (!memory_.empty()) {
    Buf list;
    list.u32(static_cast<uint32_t>(memory_.size()));
    for (const auto& r : memory_) {
      Buf bytes;
      bytes.bytes(r.bytes);
      uint32_t rva = d.blob(bytes);
      list.u64(r.base).u32(static_cast<uint32_t>(r.bytes.size())).u32(rva);
    }
    d.stream(static_cast<uint32_t>(minidump::StreamType::kMemoryList), list);
  }

  if (exception_) {
    const Exception& e = *exception_;
    const Context* context = e.context ? &*e.context : nullptr;
    for (const auto& t : threads_) {
      if (context == nullptr && t.id == e.thread_id) context = &t.context;
    }
    uint32_t ctx_size = 0, ctx_rva = 0;
    if (context != nullptr) {
      Buf ctx;
      ctx.bytes(context_bytes(*context));
      ctx_size = static_cast<uint32_t>(ctx.size());
      ctx_rva = d.blob(ctx);
    }
    size_t params = std::min<size_t>(e.parameters.size(), 15);
    Buf s;
    s.u32(e.thread_id).u32(0).u32(e.code).u32(e.flags).u64(0).u64(e.address);
    s.u32(static_cast<uint32_t>(params)).u32(0);
    for (size_t i = 0; i < 15; ++i) s.u64(i < params ? e.parameters[i] : 0);
    s.u32(ctx_size).u32(ctx_rva);
    d.stream(static_cast<uint32_t>(minidump::StreamType::kException), s);
  }
  return d.finish();
}

minidump::Minidump SynthMinidump::read() const {
  auto dump = minidump::Minidump::from_bytes(bytes());
  if (!dump.ok()) throw std::runtime_error("synth: the reader rejected the dump: " + dump.error().reason);
  return std::move(*dump);
}

}  // namespace bw::testing::synth
