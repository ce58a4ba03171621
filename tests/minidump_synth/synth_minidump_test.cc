// The builder's output read back by the reader: every field a walker test relies on arrives as
// written (so a walker test failing means the walker, not the builder).
#include "tests/minidump_synth/synth_minidump.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace bw::testing::synth {
namespace {

using minidump::Amd64Reg;
using minidump::Arm64Reg;
using minidump::ArmReg;
using minidump::X86Reg;

TEST(SynthMinidump, SystemInfoThreadsModulesMemoryException) {
  Stack stack(0x80000, 4);
  stack.word(0x11111111).mark("up").word("up").word("end").mark("end");
  Pdb70 pdb;
  for (size_t i = 0; i < 16; ++i) pdb.guid[i] = static_cast<uint8_t>(i + 1);
  pdb.age = 0x2a;
  pdb.pdb_path = "c:\\build\\app.pdb";
  auto dump = SynthMinidump()
                  .os(Os::kWindows)
                  .module(Module{.base = 0x400000, .size = 0x10000, .name = "c:\\app\\app.exe", .codeview = pdb,
                                 .timestamp = 0x5f000000})
                  .module(Module{.base = 0x7000000, .size = 0x2000, .name = "/lib/libc.so",
                                 .codeview = ElfBuildId{{0xde, 0xad, 0xbe, 0xef}}})
                  .thread(Thread{.id = 7,
                                 .context = X86Context{.eip = 0x401234, .esp = 0x80000, .ebp = 0x80004, .ebx = 5},
                                 .stack = stack})
                  .memory(MemoryRegion{.base = 0x900000, .bytes = {1, 2, 3}})
                  .exception(Exception{
                      .thread_id = 7, .code = 0xc0000005, .address = 0x401234, .parameters = {1, 0x10}})
                  .read();

  ASSERT_TRUE(dump.system_info());
  EXPECT_EQ(dump.system_info()->cpu, Cpu::kX86);
  EXPECT_EQ(dump.system_info()->os, Os::kWindows);
  EXPECT_TRUE(dump.stream_errors().empty());

  ASSERT_EQ(dump.threads().size(), 1u);
  const auto& t = dump.threads()[0];
  EXPECT_EQ(t.id, 7u);
  ASSERT_TRUE(t.context);
  EXPECT_TRUE(t.context->all_valid());
  EXPECT_EQ(t.context->value(X86Reg::kEip), 0x401234u);
  EXPECT_EQ(t.context->value(X86Reg::kEsp), 0x80000u);
  EXPECT_EQ(t.context->value(X86Reg::kEbp), 0x80004u);
  EXPECT_EQ(t.context->value(X86Reg::kEbx), 5u);
  EXPECT_EQ(t.stack.base(), 0x80000u);
  // Labels resolve to their addresses, forward references included.
  EXPECT_EQ(t.stack.read_pointer(0x80000, 4), 0x11111111u);
  EXPECT_EQ(t.stack.read_pointer(0x80004, 4), 0x80004u);
  EXPECT_EQ(t.stack.read_pointer(0x80008, 4), 0x8000cu);

  ASSERT_EQ(dump.modules().size(), 2u);
  EXPECT_EQ(dump.modules()[0].base, 0x400000u);
  EXPECT_EQ(dump.modules()[0].size, 0x10000u);
  EXPECT_EQ(dump.modules()[0].code_file, "c:\\app\\app.exe");
  EXPECT_EQ(dump.modules()[0].debug_file, "app.pdb");
  EXPECT_EQ(dump.modules()[0].debug_id, "0403020106050807090A0B0C0D0E0F102A");
  EXPECT_EQ(dump.modules()[0].code_id, "5f00000010000");
  EXPECT_EQ(dump.modules()[1].debug_file, "libc.so");
  EXPECT_EQ(dump.modules()[1].debug_id, "EFBEADDE0000000000000000000000000");

  ASSERT_NE(dump.memory_at(0x900001), nullptr);

  ASSERT_TRUE(dump.exception());
  EXPECT_EQ(dump.exception()->thread_id, 7u);
  EXPECT_EQ(dump.exception()->code, 0xc0000005u);
  ASSERT_EQ(dump.exception()->parameters.size(), 2u);
  EXPECT_EQ(dump.exception()->parameters[1], 0x10u);
  ASSERT_TRUE(dump.exception()->context);
  EXPECT_EQ(dump.exception()->context->value(X86Reg::kEip), 0x401234u);
}

TEST(SynthMinidump, ContextsOfEveryCpu) {
  auto amd64 = SynthMinidump()
                   .thread(Thread{.id = 1,
                                  .context = Amd64Context{.rip = 0x1000, .rsp = 0x2000, .rbp = 0x3000, .r15 = 15}})
                   .read();
  ASSERT_TRUE(amd64.threads()[0].context);
  EXPECT_EQ(amd64.cpu(), Cpu::kAmd64);
  const auto& a = *amd64.threads()[0].context;
  EXPECT_TRUE(a.all_valid());
  EXPECT_EQ(a.value(Amd64Reg::kRip), 0x1000u);
  EXPECT_EQ(a.value(Amd64Reg::kRsp), 0x2000u);
  EXPECT_EQ(a.value(Amd64Reg::kRbp), 0x3000u);
  EXPECT_EQ(a.value(Amd64Reg::kR15), 15u);

  ArmContext arm_regs{.sp = 0x2000, .lr = 0x1111, .pc = 0x1000};
  arm_regs.r[7] = 0x77;
  auto arm = SynthMinidump().os(Os::kIos).thread(Thread{.id = 1, .context = arm_regs}).read();
  EXPECT_EQ(arm.cpu(), Cpu::kArm);
  EXPECT_EQ(arm.system_info()->os, Os::kIos);
  const auto& r = *arm.threads()[0].context;
  EXPECT_EQ(r.value(ArmReg::kR7), 0x77u);
  EXPECT_EQ(r.value(ArmReg::kSp), 0x2000u);
  EXPECT_EQ(r.value(ArmReg::kLr), 0x1111u);
  EXPECT_EQ(r.value(ArmReg::kPc), 0x1000u);

  Arm64Context arm64_regs{.fp = 0x3000, .lr = 0x1111, .sp = 0x2000, .pc = 0x1000};
  arm64_regs.x[19] = 19;
  auto arm64 = SynthMinidump().os(Os::kMacOs).thread(Thread{.id = 1, .context = arm64_regs}).read();
  EXPECT_EQ(arm64.cpu(), Cpu::kArm64);
  const auto& x = *arm64.threads()[0].context;
  EXPECT_EQ(x.value(Arm64Reg::kX19), 19u);
  EXPECT_EQ(x.value(Arm64Reg::kFp), 0x3000u);
  EXPECT_EQ(x.value(Arm64Reg::kLr), 0x1111u);
  EXPECT_EQ(x.value(Arm64Reg::kSp), 0x2000u);
  EXPECT_EQ(x.value(Arm64Reg::kPc), 0x1000u);
}

TEST(SynthMinidump, UndefinedLabelIsATestBug) {
  Stack stack(0x1000, 8);
  stack.word("nowhere");
  EXPECT_THROW(stack.bytes(), std::logic_error);
}

}  // namespace
}  // namespace bw::testing::synth
