// Walker unit cases: one synthetic minidump per CPU × unwinding method (and per scanning rule),
// built with tests/minidump_synth and walked with in-memory .sym text. Each case checks every
// frame's return address, module and trust. The stacks hold a decoy — a return address into a
// known function lying below the real one — so a method that stopped working would fall back to
// scanning, find the decoy and fail the case; several cases also walk the same stack without the
// method to show that fallback.
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "stackwalk/process.h"
#include "symbols/symbol_supplier.h"
#include "tests/minidump_synth/synth_minidump.h"

namespace bw::stackwalk {
namespace {

using testing::synth::Amd64Context;
using testing::synth::Arm64Context;
using testing::synth::ArmContext;
using testing::synth::Cpu;
using testing::synth::ElfBuildId;
using testing::synth::Module;
using testing::synth::Os;
using testing::synth::Pdb70;
using testing::synth::Stack;
using testing::synth::SynthMinidump;
using testing::synth::Thread;
using testing::synth::X86Context;

// .sym text by debug file name (each test module has its own debug file).
class MemorySymbols final : public symbols::SymbolSupplier {
 public:
  MemorySymbols& add(const std::string& debug_file, std::string text) {
    text_[debug_file] = std::move(text);
    return *this;
  }
  symbols::SymbolResult get(const symbols::ModuleKey& key) override {
    symbols::SymbolResult r;
    auto it = text_.find(key.debug_file);
    if (it == text_.end()) return r;
    r.symbols = symbols::ModuleSymbols::parse(it->second);
    r.status = r.symbols->is_corrupt() ? symbols::SymbolStatus::kCorrupt : symbols::SymbolStatus::kFound;
    return r;
  }

 private:
  std::map<std::string, std::string> text_;
};

std::string trust_name(FrameTrust trust) {
  switch (trust) {
    case FrameTrust::kContext: return "context";
    case FrameTrust::kCfi: return "cfi";
    case FrameTrust::kCfiScan: return "cfi_scan";
    case FrameTrust::kFramePointer: return "frame_pointer";
    case FrameTrust::kScan: return "scan";
    case FrameTrust::kLeaf: return "leaf";
    case FrameTrust::kInline: return "inline";
    case FrameTrust::kPrewalked: return "prewalked";
    case FrameTrust::kNone: break;
  }
  return "none";
}

// The first thread's frames as "<trust> <module>+0x<offset>" of each frame's instruction pointer
// (the return address for callers), or "<trust> 0x<address>" outside every module.
std::vector<std::string> walk(const SynthMinidump& synth, MemorySymbols symbols = {}, WalkLimits limits = {}) {
  minidump::Minidump dump = synth.read();
  ProcessOptions options;
  options.limits = limits;
  ProcessState state = process_minidump(dump, &symbols, options);
  std::vector<std::string> out;
  if (state.threads.empty()) return out;
  for (const StackFrame& f : state.threads[0].stack.frames) {
    if (f.module_index) {
      const minidump::Module& m = dump.modules()[*f.module_index];
      out.push_back(fmt::format("{} {}+0x{:x}", trust_name(f.trust), minidump::path_basename(m.code_file),
                                f.return_address - m.base));
    } else {
      out.push_back(fmt::format("{} 0x{:x}", trust_name(f.trust), f.return_address));
    }
  }
  return out;
}

using Frames = std::vector<std::string>;

// The context frame's caller, or "no caller".
std::string first_caller(const Frames& frames) { return frames.size() > 1 ? frames[1] : "no caller"; }

Pdb70 pdb(const std::string& path, uint8_t seed) {
  Pdb70 p;
  for (size_t i = 0; i < p.guid.size(); ++i) p.guid[i] = static_cast<uint8_t>(seed + i);
  p.age = 1;
  p.pdb_path = path;
  return p;
}

// Every test module has three functions: leaf (0x1000), caller (0x2000), main (0x3000), each
// 0x100 bytes; the gaps between them belong to no function.
std::string sym(const std::string& os, const std::string& cpu, const std::string& debug_file,
                const std::string& extra = "") {
  return "MODULE " + os + " " + cpu + " 0102030405060708090A0B0C0D0E0F101 " + debug_file +
         "\n"
         "FUNC 1000 100 0 leaf\n"
         "FUNC 2000 100 0 caller\n"
         "FUNC 3000 100 0 main\n" +
         extra;
}

// ==== x86 (Windows) ====

constexpr uint64_t kApp = 0x400000;
constexpr uint64_t kKernel32 = 0x7c800000;
constexpr uint64_t kNtdll = 0x7c900000;
constexpr uint32_t kNoMemory = 0x90000000;  // a register value that points at no saved memory
constexpr uint64_t kStack32 = 0x80000;

SynthMinidump x86_dump(const Stack& stack, X86Context context) {
  return SynthMinidump()
      .cpu(Cpu::kX86)
      .os(Os::kWindows)
      .module(Module{.base = kApp, .size = 0x10000, .name = "c:\\app\\app.exe", .codeview = pdb("app.pdb", 1)})
      .module(Module{.base = kKernel32, .size = 0x100000, .name = "c:\\windows\\system32\\kernel32.dll",
                     .codeview = pdb("kernel32.pdb", 2)})
      .module(Module{.base = kNtdll, .size = 0x100000, .name = "c:\\windows\\system32\\ntdll.dll",
                     .codeview = pdb("ntdll.pdb", 3)})
      .thread(Thread{.id = 1, .context = context, .stack = stack});
}

MemorySymbols x86_symbols(const std::string& extra = "") {
  return MemorySymbols().add("app.pdb", sym("windows", "x86", "app.pdb", extra));
}

// [esp] = decoy into main, [esp + 4] = the real return address into caller.
Stack x86_decoy_stack() {
  Stack s(kStack32, 4);
  s.word(kApp + 0x3050).word(kApp + 0x2010).words(4, 0);
  return s;
}

const X86Context kX86InLeaf{.eip = kApp + 0x1010, .esp = kStack32, .ebp = kNoMemory};

TEST(WalkerX86, Cfi) {
  auto dump = x86_dump(x86_decoy_stack(), kX86InLeaf);
  EXPECT_EQ(walk(dump, x86_symbols("STACK CFI INIT 1000 100 .cfa: $esp 8 + .ra: .cfa 4 - ^\n")),
            (Frames{"context app.exe+0x1010", "cfi app.exe+0x2010"}));
  // Without the CFI the walker scans and takes the decoy.
  EXPECT_EQ(first_caller(walk(dump, x86_symbols())), "scan app.exe+0x3050");
}

TEST(WalkerX86, StackWinFpo) {
  // FPO data: 4 bytes of locals, no saved registers, %ebp not used.
  auto dump = x86_dump(x86_decoy_stack(), kX86InLeaf);
  EXPECT_EQ(walk(dump, x86_symbols("STACK WIN 0 1000 100 0 0 0 0 4 0 0 0\n")),
            (Frames{"context app.exe+0x1010", "cfi app.exe+0x2010"}));
  EXPECT_EQ(first_caller(walk(dump, x86_symbols())), "scan app.exe+0x3050");
}

TEST(WalkerX86, StackWinProgramString) {
  auto dump = x86_dump(x86_decoy_stack(), kX86InLeaf);
  EXPECT_EQ(walk(dump, x86_symbols("STACK WIN 4 1000 100 0 0 0 0 0 0 1 "
                                   "$T0 $esp 8 + = $eip $T0 4 - ^ = $esp $T0 = $ebp $ebp =\n")),
            (Frames{"context app.exe+0x1010", "cfi app.exe+0x2010"}));
}

TEST(WalkerX86, StackWinFpoPassesEbxToTheCaller) {
  // leaf: FPO without %ebp, which leaves %ebx as it was; caller's program string finds its
  // return address through %ebx. Breakpad carries %ebx through such frames; without it the
  // caller's program fails and the walk scans into the decoy.
  Stack s(kStack32, 4);
  s.word(kApp + 0x2010).word(kApp + 0x3050).words(2, 0).mark("ebx").word(0).word(kApp + 0x3010).words(2, 0);
  X86Context context = kX86InLeaf;
  context.ebx = static_cast<uint32_t>(s.address_of("ebx"));
  auto dump = x86_dump(s, context);
  EXPECT_EQ(walk(dump, x86_symbols("STACK WIN 0 1000 100 0 0 0 0 0 0 0 0\n"
                                   "STACK WIN 4 2000 100 0 0 0 0 0 0 1 $eip $ebx 4 + ^ = $esp $ebx 8 + =\n")),
            (Frames{"context app.exe+0x1010", "cfi app.exe+0x2010", "cfi app.exe+0x3010"}));
}

Stack x86_ebp_chain() {
  Stack s(kStack32, 4);
  s.word(kApp + 0x3050).word(0);
  s.mark("f1").word("f2").word(kApp + 0x2010);
  s.mark("f2").word(0).word(kApp + 0x3010).words(2, 0);
  return s;
}

TEST(WalkerX86, FramePointer) {
  Stack s = x86_ebp_chain();
  X86Context context{.eip = kApp + 0x1010, .esp = kStack32, .ebp = static_cast<uint32_t>(s.address_of("f1"))};
  EXPECT_EQ(walk(x86_dump(s, context), x86_symbols()),
            (Frames{"context app.exe+0x1010", "frame_pointer app.exe+0x2010", "frame_pointer app.exe+0x3010"}));
  // The same stack with %ebp pointing nowhere: scanning, which meets the decoy first.
  EXPECT_EQ(first_caller(walk(x86_dump(s, kX86InLeaf), x86_symbols())), "scan app.exe+0x3050");
}

TEST(WalkerX86, ScanAcceptsOnlyAddressesInAFunctionOfAModule) {
  Stack s(kStack32, 4);
  s.word(0x1234);              // no module
  s.word(kApp + 0x1800);       // in app.exe, between functions
  s.word(kApp + 0x10001);      // its call would be just past app.exe
  s.word(kApp + 0x2010);       // in caller
  s.words(4, 0);
  auto dump = x86_dump(s, kX86InLeaf);
  EXPECT_EQ(walk(dump, x86_symbols()), (Frames{"context app.exe+0x1010", "scan app.exe+0x2010"}));
  // Without symbols any address inside the module will do.
  EXPECT_EQ(walk(dump), (Frames{"context app.exe+0x1010", "scan app.exe+0x1800", "scan app.exe+0x2010"}));
}

// A Windows thread without any symbols: FPO code leaves %ebp pointing nowhere, so every caller
// is scanned for; the thread starts in kernel32's BaseThreadInitThunk and ntdll's RtlUserThreadStart.
// The word below a scanned return address is taken as the caller's saved %ebp only when it is
// plausible (above its own slot, less than 128 KiB away); otherwise %ebp is left as it was, as
// Breakpad does. Taking the implausible value here would lead the %ebp chain into dead stack
// below %esp and end the walk before the thread-start frames.
TEST(WalkerX86, ScanKeepsEbpWhenTheSavedOneIsImplausible) {
  Stack s(kStack32, 4);
  s.words(0x40, 0);  // dead stack below %esp
  s.mark("esp");
  s.word(kStack32 + 0x50);                           // not a saved %ebp: below its own slot
  s.word(kKernel32 + 0x1234).words(2, 0x77);
  s.word(kNtdll + 0x5678).words(4, 0);
  X86Context context{.eip = kApp + 0x1010, .esp = static_cast<uint32_t>(s.address_of("esp")), .ebp = kNoMemory};
  EXPECT_EQ(walk(x86_dump(s, context)),
            (Frames{"context app.exe+0x1010", "scan kernel32.dll+0x1234", "scan ntdll.dll+0x5678"}));
}

TEST(WalkerX86, ScanKeepsEbpWhenTheSavedOneIsTooFarAway) {
  Stack s(kStack32, 4);
  s.mark("esp");
  s.word(kStack32 + 0x20100);  // above its slot, but 128 KiB + 256 bytes away
  s.word(kKernel32 + 0x1234).words(2, 0x77);
  s.word(kNtdll + 0x5678).words(4, 0);
  while (s.here() < kStack32 + 0x20100) s.word(0);
  s.word(0).word(kApp + 0x3010).words(2, 0);  // what a chain through that value would find
  X86Context context{.eip = kApp + 0x1010, .esp = kStack32, .ebp = kNoMemory};
  EXPECT_EQ(walk(x86_dump(s, context)),
            (Frames{"context app.exe+0x1010", "scan kernel32.dll+0x1234", "scan ntdll.dll+0x5678"}));
}

TEST(WalkerX86, ScanTakesAPlausibleSavedEbp) {
  // push ebp; mov ebp, esp in kernel32's frame: the word below the return address is the
  // caller's frame pointer, and the chain goes on from there.
  Stack s(kStack32, 4);
  s.word(0x1234).mark("saved").word("f2").word(kKernel32 + 0x1234).words(2, 0x77);
  s.mark("f2").word(0).word(kNtdll + 0x5678).words(4, 0);
  auto frames = walk(x86_dump(s, kX86InLeaf));
  EXPECT_EQ(frames, (Frames{"context app.exe+0x1010", "scan kernel32.dll+0x1234", "frame_pointer ntdll.dll+0x5678"}));
}

// ==== amd64 (Linux) ====

constexpr uint64_t kElfApp = 0x100000000;
constexpr uint64_t kStack64 = 0x7ff000;

SynthMinidump amd64_dump(const Stack& stack, Amd64Context context, Os os = Os::kLinux) {
  return SynthMinidump()
      .cpu(Cpu::kAmd64)
      .os(os)
      .module(Module{.base = kElfApp, .size = 0x10000, .name = "/usr/bin/app",
                     .codeview = ElfBuildId{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}}})
      .thread(Thread{.id = 1, .context = context, .stack = stack});
}

MemorySymbols elf_symbols(const std::string& cpu, const std::string& extra = "") {
  return MemorySymbols().add("app", sym("Linux", cpu, "app", extra));
}

Stack decoy_stack64() {
  Stack s(kStack64, 8);
  s.word(kElfApp + 0x3050).word(kElfApp + 0x2010).words(4, 0);
  return s;
}

const Amd64Context kAmd64InLeaf{.rip = kElfApp + 0x1010, .rsp = kStack64, .rbp = 0};

TEST(WalkerAmd64, Cfi) {
  auto dump = amd64_dump(decoy_stack64(), kAmd64InLeaf);
  EXPECT_EQ(walk(dump, elf_symbols("x86_64", "STACK CFI INIT 1000 100 .cfa: $rsp 16 + .ra: .cfa 8 - ^\n")),
            (Frames{"context app+0x1010", "cfi app+0x2010"}));
  EXPECT_EQ(first_caller(walk(dump, elf_symbols("x86_64"))), "scan app+0x3050");
}

TEST(WalkerAmd64, FramePointer) {
  Stack s(kStack64, 8);
  s.word(kElfApp + 0x3050).word(0);
  s.mark("f1").word("f2").word(kElfApp + 0x2010);
  s.mark("f2").word("f3").word(kElfApp + 0x3010);
  s.mark("f3").words(4, 0);
  Amd64Context context = kAmd64InLeaf;
  context.rbp = s.address_of("f1");
  EXPECT_EQ(walk(amd64_dump(s, context), elf_symbols("x86_64")),
            (Frames{"context app+0x1010", "frame_pointer app+0x2010", "frame_pointer app+0x3010"}));
  // Windows code keeps no %rbp chain: there the context frame is taken for a leaf function whose
  // return address is on top of the stack (the decoy, here).
  EXPECT_EQ(first_caller(walk(amd64_dump(s, context, Os::kWindows), elf_symbols("x86_64"))), "leaf app+0x3050");
}

TEST(WalkerAmd64, Scan) {
  Stack s(kStack64, 8);
  s.word(0x1234).word(kElfApp + 0x2010).words(4, 0);
  EXPECT_EQ(walk(amd64_dump(s, kAmd64InLeaf), elf_symbols("x86_64")),
            (Frames{"context app+0x1010", "scan app+0x2010"}));
}

// ==== Scanning's termination rules (amd64) ====

TEST(WalkerScanning, ContextFrameScanLimit) {
  // The return address is word 6 above %rsp: words 0..limit are looked at.
  Stack s(kStack64, 8);
  s.words(6, 0x1234).word(kElfApp + 0x2010).words(2, 0);
  auto dump = amd64_dump(s, kAmd64InLeaf);
  EXPECT_EQ(walk(dump, elf_symbols("x86_64"), WalkLimits{.context_scan_words = 5}),
            (Frames{"context app+0x1010"}));
  EXPECT_EQ(walk(dump, elf_symbols("x86_64"), WalkLimits{.context_scan_words = 6}),
            (Frames{"context app+0x1010", "scan app+0x2010"}));
}

TEST(WalkerScanning, LaterFramesScanLimit) {
  // The second return address is 3 words above the first one's caller's %rsp.
  Stack s(kStack64, 8);
  s.word(kElfApp + 0x2010).words(3, 0x1234).word(kElfApp + 0x3010).words(2, 0);
  auto dump = amd64_dump(s, kAmd64InLeaf);
  EXPECT_EQ(walk(dump, elf_symbols("x86_64"), WalkLimits{.scan_words = 2}),
            (Frames{"context app+0x1010", "scan app+0x2010"}));
  EXPECT_EQ(walk(dump, elf_symbols("x86_64"), WalkLimits{.scan_words = 3}),
            (Frames{"context app+0x1010", "scan app+0x2010", "scan app+0x3010"}));
}

TEST(WalkerScanning, MaxScannedFrames) {
  Stack s(kStack64, 8);
  s.word(kElfApp + 0x2010).word(kElfApp + 0x3010).word(kElfApp + 0x2020).words(2, 0);
  auto dump = amd64_dump(s, kAmd64InLeaf);
  EXPECT_EQ(walk(dump, elf_symbols("x86_64")).size(), 4u);
  EXPECT_EQ(walk(dump, elf_symbols("x86_64"), WalkLimits{.max_scanned_frames = 1}),
            (Frames{"context app+0x1010", "scan app+0x2010"}));
  EXPECT_EQ(walk(dump, elf_symbols("x86_64"), WalkLimits{.max_scanned_frames = 2}),
            (Frames{"context app+0x1010", "scan app+0x2010", "scan app+0x3010"}));
}

TEST(WalkerScanning, MaxFrames) {
  Stack s(kStack64, 8);
  s.word(kElfApp + 0x2010).word(kElfApp + 0x3010).word(kElfApp + 0x2020).words(2, 0);
  EXPECT_EQ(walk(amd64_dump(s, kAmd64InLeaf), elf_symbols("x86_64"), WalkLimits{.max_frames = 2}),
            (Frames{"context app+0x1010", "scan app+0x2010"}));
}

// ==== arm (Linux; r7 chain on iOS) ====

constexpr uint64_t kArmLib = 0x40000000;
constexpr uint64_t kStackArm = 0x20000;

SynthMinidump arm_dump(const Stack& stack, const ArmContext& context, Os os = Os::kLinux) {
  return SynthMinidump()
      .cpu(Cpu::kArm)
      .os(os)
      .module(Module{.base = kArmLib, .size = 0x10000, .name = "/system/lib/libapp.so",
                     .codeview = ElfBuildId{{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8}}})
      .thread(Thread{.id = 1, .context = context, .stack = stack});
}

MemorySymbols arm_symbols(const std::string& extra = "") {
  return MemorySymbols().add("libapp.so", sym("Linux", "arm", "libapp.so", extra));
}

Stack arm_decoy_stack() {
  Stack s(kStackArm, 4);
  s.word(kArmLib + 0x3050).word(kArmLib + 0x2010).words(4, 0);
  return s;
}

const ArmContext kArmInLeaf{.sp = kStackArm, .lr = 0, .pc = kArmLib + 0x1010};

TEST(WalkerArm, Cfi) {
  auto dump = arm_dump(arm_decoy_stack(), kArmInLeaf);
  EXPECT_EQ(walk(dump, arm_symbols("STACK CFI INIT 1000 100 .cfa: sp 8 + .ra: .cfa 4 - ^\n")),
            (Frames{"context libapp.so+0x1010", "cfi libapp.so+0x2010"}));
  EXPECT_EQ(first_caller(walk(dump, arm_symbols())), "scan libapp.so+0x3050");
}

TEST(WalkerArm, Scan) {
  Stack s(kStackArm, 4);
  s.word(0x1234).word(kArmLib + 0x2010).words(4, 0);
  EXPECT_EQ(walk(arm_dump(s, kArmInLeaf), arm_symbols()),
            (Frames{"context libapp.so+0x1010", "scan libapp.so+0x2010"}));
}

TEST(WalkerArm, R7ChainOnIos) {
  Stack s(kStackArm, 4);
  s.word(kArmLib + 0x3050).word(0);
  s.mark("f1").word("f2").word(kArmLib + 0x2010);
  s.mark("f2").words(4, 0);
  ArmContext context = kArmInLeaf;
  context.r[7] = static_cast<uint32_t>(s.address_of("f1"));
  EXPECT_EQ(walk(arm_dump(s, context, Os::kIos), arm_symbols()),
            (Frames{"context libapp.so+0x1010", "frame_pointer libapp.so+0x2010"}));
  // Other systems do not keep r7 as a frame pointer: scanning meets the decoy.
  EXPECT_EQ(first_caller(walk(arm_dump(s, context, Os::kLinux), arm_symbols())), "scan libapp.so+0x3050");
}

// ==== arm64 (macOS) ====

constexpr uint64_t kMachApp = 0x100000000;
constexpr uint64_t kStackArm64 = 0x16f000000;
// Pointer-authentication bits above the highest module address, as a signed return address has.
constexpr uint64_t kPacBits = 0x2a1f000000000000;

SynthMinidump arm64_dump(const Stack& stack, const Arm64Context& context) {
  return SynthMinidump()
      .cpu(Cpu::kArm64)
      .os(Os::kMacOs)
      .module(Module{.base = kMachApp, .size = 0x10000, .name = "/Applications/App.app/Contents/MacOS/App",
                     .codeview = pdb("App", 9)})
      .thread(Thread{.id = 1, .context = context, .stack = stack});
}

MemorySymbols arm64_symbols(const std::string& extra = "") {
  return MemorySymbols().add("App", sym("mac", "arm64", "App", extra));
}

const Arm64Context kArm64InLeaf{.fp = 0, .lr = 0, .sp = kStackArm64, .pc = kMachApp + 0x1010};

TEST(WalkerArm64, Cfi) {
  Stack s(kStackArm64, 8);
  s.word(kMachApp + 0x3050).word(kMachApp + 0x2010).words(4, 0);
  auto dump = arm64_dump(s, kArm64InLeaf);
  EXPECT_EQ(walk(dump, arm64_symbols("STACK CFI INIT 1000 100 .cfa: sp 16 + .ra: .cfa 8 - ^\n")),
            (Frames{"context App+0x1010", "cfi App+0x2010"}));
  // Without CFI: the frame-pointer method takes lr (0 here), which ends the walk.
  EXPECT_EQ(walk(dump, arm64_symbols()), (Frames{"context App+0x1010"}));
}

Stack arm64_fp_chain(uint64_t saved_return_address) {
  Stack s(kStackArm64, 8);
  s.word(kMachApp + 0x3050).word(0);
  s.mark("f0").word("f1").word(saved_return_address);
  s.mark("f1").words(4, 0);
  return s;
}

TEST(WalkerArm64, FramePointer) {
  // The context frame's caller comes from lr, the next one from the x29 chain.
  Stack s = arm64_fp_chain(kMachApp + 0x3010);
  Arm64Context context = kArm64InLeaf;
  context.fp = s.address_of("f0");
  context.lr = kMachApp + 0x2010;
  EXPECT_EQ(walk(arm64_dump(s, context), arm64_symbols()),
            (Frames{"context App+0x1010", "frame_pointer App+0x2010", "frame_pointer App+0x3010"}));
}

TEST(WalkerArm64, PointerAuthenticationBitsAreStripped) {
  Stack s = arm64_fp_chain(kMachApp + 0x3010 + kPacBits);
  Arm64Context context = kArm64InLeaf;
  context.fp = s.address_of("f0");
  context.lr = kMachApp + 0x2010;
  EXPECT_EQ(walk(arm64_dump(s, context), arm64_symbols()),
            (Frames{"context App+0x1010", "frame_pointer App+0x2010", "frame_pointer App+0x3010"}));
}

TEST(WalkerArm64, Scan) {
  // x29 points at no saved memory, so neither CFI nor the frame pointer finds the caller.
  Stack s(kStackArm64, 8);
  s.word(0x1234).word(kMachApp + 0x2010).words(4, 0);
  Arm64Context context = kArm64InLeaf;
  context.fp = 0x50000000;
  EXPECT_EQ(walk(arm64_dump(s, context), arm64_symbols()), (Frames{"context App+0x1010", "scan App+0x2010"}));
}

}  // namespace
}  // namespace bw::stackwalk
