// The reader on synthetic dumps: streams and layouts the shared corpus lacks, and exact edge
// cases (bad headers, counts that do not fit, UTF-16 errors, every misc info version).
#include "minidump/minidump.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "minidump/dump_builder.h"

namespace bw::minidump {
namespace {

using testing::Buf;
using testing::DumpBuilder;

constexpr uint32_t kOsWindows = 2, kOsLinux = 0x8201, kOsMac = 0x8101, kOsAndroid = 0x8203;

Buf system_info(uint16_t arch, uint32_t platform, uint32_t csd_rva = 0) {
  Buf b;
  b.u16(arch).u16(6).u16(0x0d08).u8(4).u8(1).u32(10).u32(0).u32(19041).u32(platform).u32(csd_rva).u16(0).u16(0);
  b.text("GenuineIntel", false).u32(0x000906ea).u32(0xbfebfbff).u32(0);
  return b;
}

// An x86 CONTEXT (716 bytes) with eip/esp/ebp set.
Buf x86_context(uint32_t eip, uint32_t esp, uint32_t ebp) {
  Buf b;
  b.u32(0x0001003f).zeros(24 + 112);                // flags, debug regs, float save
  b.u32(0x2b).u32(0x53).u32(0x2b).u32(0x2b);        // gs fs es ds
  b.u32(6).u32(5).u32(4).u32(3).u32(2).u32(1);      // edi esi ebx edx ecx eax
  b.u32(ebp).u32(eip).u32(0x23).u32(0x246).u32(esp).u32(0x2b);
  b.zeros(512);
  return b;
}

Buf amd64_context(uint64_t rip, uint64_t rsp, size_t extra = 0) {
  Buf b;
  b.zeros(48).u32(0x0010001f).u32(0x1f80);
  b.u16(0x33).u16(0x2b).u16(0x2b).u16(0x53).u16(0x2b).u16(0x2b).u32(0x246);
  b.zeros(6 * 8);
  for (uint64_t i = 0; i < 16; ++i) b.u64(i == 4 ? rsp : 0x1000 + i);  // rax rcx rdx rbx rsp ...
  b.u64(rip);
  b.zeros(1232 - 256);
  b.zeros(extra);
  return b;
}

Buf arm64_context(uint64_t pc, uint64_t sp, uint64_t fp, uint64_t lr) {
  Buf b;
  b.u32(0x00400003).u32(0x60000000);
  for (uint64_t i = 0; i < 29; ++i) b.u64(i);
  b.u64(fp).u64(lr).u64(sp).u64(pc);
  b.zeros(912 - b.size());
  return b;
}

Buf arm64_old_context(uint64_t pc, uint64_t sp, uint64_t fp, uint64_t lr) {
  Buf b;
  b.u64(0x80000003);
  for (uint64_t i = 0; i < 29; ++i) b.u64(100 + i);
  b.u64(fp).u64(lr).u64(sp).u64(pc).u32(0x80000000);
  b.zeros(796 - b.size());
  return b;
}

Buf arm_context(uint32_t pc, uint32_t sp) {
  Buf b;
  b.u32(0x40000002);
  for (uint32_t i = 0; i < 13; ++i) b.u32(i);
  b.u32(sp).u32(0xdead).u32(pc).u32(0x10);
  b.zeros(368 - b.size());
  return b;
}

Buf thread_list(const std::vector<std::tuple<uint32_t, uint64_t, uint32_t, uint32_t, uint32_t, uint32_t>>& threads,
                bool pad = false) {
  Buf b;
  b.u32(static_cast<uint32_t>(threads.size()));
  if (pad) b.u32(0);
  for (const auto& [id, stack_start, stack_size, stack_rva, ctx_size, ctx_rva] : threads) {
    b.u32(id).u32(0).u32(0).u32(0).u64(0x7ffd0000).u64(stack_start).u32(stack_size).u32(stack_rva).u32(ctx_size).u32(ctx_rva);
  }
  return b;
}

Buf module_record(uint64_t base, uint32_t size, uint32_t name_rva, uint32_t cv_size, uint32_t cv_rva) {
  Buf b;
  b.u64(base).u32(size).u32(0).u32(0x5a9832e5).u32(name_rva);
  b.u32(0xfeef04bd).u32(0x00010000).u32(0x00050001).u32(0x0a280884).u32(0).u32(0);
  b.zeros(7 * 4);
  b.u32(cv_size).u32(cv_rva).u32(0).u32(0).u64(0).u64(0);
  return b;
}

Expected<Minidump> build(const DumpBuilder& b) { return Minidump::from_bytes(b.finish()); }

TEST(Header, RejectsBadFiles) {
  EXPECT_FALSE(Minidump::from_bytes(std::vector<uint8_t>{}).ok());
  auto small = Minidump::from_bytes(std::vector<uint8_t>(31, 0));
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().reason.find("too small"), std::string::npos);

  DumpBuilder b;
  auto bytes = b.finish();
  bytes[0] = 'X';
  auto bad_sig = Minidump::from_bytes(bytes);
  ASSERT_FALSE(bad_sig.ok());
  EXPECT_NE(bad_sig.error().reason.find("signature"), std::string::npos);

  bytes = b.finish();
  bytes[4] = 0x94;
  auto bad_version = Minidump::from_bytes(bytes);
  ASSERT_FALSE(bad_version.ok());
  EXPECT_NE(bad_version.error().reason.find("version"), std::string::npos);

  bytes = b.finish();
  bytes[8] = 0xff;  // 255 directory entries that are not there
  auto bad_dir = Minidump::from_bytes(bytes);
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_NE(bad_dir.error().reason.find("directory"), std::string::npos);

  auto missing = Minidump::open("/nonexistent/breakwater/dump.dmp");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().reason.find("cannot open"), std::string::npos);
  auto dir = Minidump::open("/tmp");
  ASSERT_FALSE(dir.ok());
}

TEST(Header, EmptyDumpOpens) {
  DumpBuilder b;
  auto dump = build(b);
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  EXPECT_EQ(dump->timestamp(), 0x5f000000U);
  EXPECT_TRUE(dump->threads().empty());
  EXPECT_FALSE(dump->system_info().has_value());
  EXPECT_EQ(dump->cpu(), Cpu::kUnknown);
  EXPECT_EQ(dump->crash_reason(), "");
  EXPECT_FALSE(dump->crash_address().has_value());
}

TEST(Open, MemoryMappedFileMatchesBuffer) {
  DumpBuilder b;
  b.stream(7, system_info(0, kOsWindows));
  auto bytes = b.finish();
  auto path = std::filesystem::temp_directory_path() / ("bw_minidump_test_" + std::to_string(::getpid()) + ".dmp");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  auto mapped = Minidump::open(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(mapped.ok()) << mapped.error().reason;
  // The mapping outlives the file's name and survives a move.
  Minidump moved = std::move(*mapped);
  ASSERT_TRUE(moved.system_info().has_value());
  EXPECT_EQ(moved.system_info()->os_name(), "Windows NT");
  EXPECT_EQ(moved.file_bytes().size(), bytes.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), moved.file_bytes().begin()));
}

TEST(Threads, ContextsStacksNamesAndPadding) {
  DumpBuilder b;
  Buf stack;
  for (uint32_t i = 0; i < 64; ++i) stack.u32(0x1000 + i);
  uint32_t stack_rva = b.blob(stack);
  uint32_t ctx_rva = b.blob(x86_context(0x401000, 0x12ff00, 0x12ff40));
  b.stream(7, system_info(0, kOsWindows));
  // Padded count (8 bytes before the entries), as some writers do.
  b.stream(3, thread_list({{0x10, 0x12ff00, 256, stack_rva, 716, ctx_rva}, {0x11, 0x13ff00, 256, stack_rva, 716, ctx_rva}},
                          true));
  Buf names;
  names.u32(2);
  uint32_t name1 = b.string(u"main \xd83d\xde00");  // surrogate pair: U+1F600
  uint32_t name2 = b.string(u"bad \xd800 end");    // unpaired surrogate
  names.u32(0x10).u64(name1).u32(0x11).u64(name2);
  b.stream(24, names);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->threads().size(), 2U);
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
  const Thread& t = dump->threads()[0];
  EXPECT_EQ(t.id, 0x10U);
  EXPECT_EQ(t.name, "main \xf0\x9f\x98\x80");
  EXPECT_EQ(dump->threads()[1].name, "bad \xef\xbf\xbd end");
  ASSERT_TRUE(t.context.has_value());
  EXPECT_EQ(t.context->cpu(), Cpu::kX86);
  EXPECT_EQ(t.context->instruction_pointer(), 0x401000U);
  EXPECT_EQ(t.context->stack_pointer(), 0x12ff00U);
  EXPECT_EQ(t.context->get("$ebp"), 0x12ff40U);
  EXPECT_EQ(t.context->get("$eax"), 1U);
  EXPECT_EQ(t.context->get("edi"), 6U);
  EXPECT_EQ(t.context->get("efl"), 0x246U);
  EXPECT_EQ(t.context->segments().fs, 0x53);
  EXPECT_EQ(t.stack.read_u32(0x12ff00), 0x1000U);
  EXPECT_EQ(t.stack.read_u32(0x12ff00 + 252), 0x1000U + 63);
  EXPECT_FALSE(t.stack.read_u32(0x12ff00 + 253).has_value());  // would run past the end
  EXPECT_FALSE(t.stack.read_u8(0x12feff).has_value());
  EXPECT_EQ(dump->thread_by_id(0x11), &dump->threads()[1]);
  EXPECT_EQ(dump->thread_by_id(0x12), nullptr);
}

TEST(Threads, CountThatDoesNotFitMakesTheStreamUnavailable) {
  DumpBuilder b;
  Buf list;
  list.u32(1000).zeros(48);
  b.stream(3, list);
  b.stream(7, system_info(9, kOsLinux));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_FALSE(dump->has_thread_list());
  EXPECT_TRUE(dump->threads().empty());
  ASSERT_EQ(dump->stream_errors().size(), 1U);
  EXPECT_EQ(dump->stream_errors()[0].first, 3U);
  EXPECT_NE(dump->stream_errors()[0].second.find("1000 threads"), std::string::npos);
  EXPECT_TRUE(dump->system_info().has_value());  // the rest still reads
}

TEST(Threads, BadContextAndStackDegrade) {
  DumpBuilder b;
  uint32_t junk = b.blob(Buf().u32(0x12345678).zeros(100));
  b.stream(3, thread_list({{1, 0x1000, 64, 0xfffffff0, 716, 0xffff0000}, {2, 0x1000, 0, 0, 104, junk}}));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->threads().size(), 2U);
  EXPECT_FALSE(dump->threads()[0].context.has_value());
  EXPECT_EQ(dump->threads()[0].stack.size(), 0U);
  EXPECT_EQ(dump->threads()[0].stack.base(), 0x1000U);
  EXPECT_FALSE(dump->threads()[1].context.has_value());
  EXPECT_EQ(dump->stream_errors().size(), 3U);
}

TEST(Contexts, Amd64WithXstateArm64BothLayoutsAndArm) {
  struct Case {
    Buf ctx;
    uint16_t arch;
    Cpu cpu;
    CpuContext::Layout layout;
  };
  std::vector<Case> cases = {
      {amd64_context(0x7ff612340000, 0x7ffe0000, 1024), 9, Cpu::kAmd64, CpuContext::Layout::kAmd64},
      {arm64_context(0x5500001000, 0x7fff0000, 0x7fff0040, 0x5500002000), 12, Cpu::kArm64, CpuContext::Layout::kArm64},
      {arm64_old_context(0x5500001000, 0x7fff0000, 0x7fff0040, 0x5500002000), 0x8003, Cpu::kArm64,
       CpuContext::Layout::kArm64Old},
      {arm_context(0x40001000, 0xbe000000), 5, Cpu::kArm, CpuContext::Layout::kArm},
  };
  for (auto& c : cases) {
    DumpBuilder b;
    uint32_t rva = b.blob(c.ctx);
    b.stream(7, system_info(c.arch, kOsAndroid));
    b.stream(3, thread_list({{7, 0, 0, 0, static_cast<uint32_t>(c.ctx.size()), rva}}));
    auto dump = build(b);
    ASSERT_TRUE(dump.ok());
    ASSERT_EQ(dump->threads().size(), 1U);
    const auto& ctx = dump->threads()[0].context;
    ASSERT_TRUE(ctx.has_value()) << dump->stream_errors().front().second;
    EXPECT_EQ(ctx->cpu(), c.cpu);
    EXPECT_EQ(ctx->layout(), c.layout);
    EXPECT_EQ(dump->cpu(), c.cpu);
    EXPECT_TRUE(ctx->all_valid());
    switch (c.cpu) {
      case Cpu::kAmd64:
        EXPECT_EQ(ctx->instruction_pointer(), 0x7ff612340000U);
        EXPECT_EQ(ctx->get("$rsp"), 0x7ffe0000U);
        EXPECT_EQ(ctx->get("rax"), 0x1000U);
        EXPECT_EQ(ctx->get("rcx"), 0x1001U);
        EXPECT_EQ(ctx->get("r15"), 0x100fU);
        EXPECT_EQ(ctx->value(Amd64Reg::kRdx), 0x1002U);
        break;
      case Cpu::kArm64:
        EXPECT_EQ(ctx->instruction_pointer(), 0x5500001000U);
        EXPECT_EQ(ctx->stack_pointer(), 0x7fff0000U);
        EXPECT_EQ(ctx->get("x29"), 0x7fff0040U);
        EXPECT_EQ(ctx->get("fp"), 0x7fff0040U);
        EXPECT_EQ(ctx->get("x30"), 0x5500002000U);
        EXPECT_EQ(ctx->get("lr"), 0x5500002000U);
        EXPECT_EQ(ctx->get("x3"), c.layout == CpuContext::Layout::kArm64 ? 3U : 103U);
        break;
      case Cpu::kArm:
        EXPECT_EQ(ctx->instruction_pointer(), 0x40001000U);
        EXPECT_EQ(ctx->get("sp"), 0xbe000000U);
        EXPECT_EQ(ctx->get("r13"), 0xbe000000U);
        EXPECT_EQ(ctx->get("lr"), 0xdeadU);
        EXPECT_EQ(ctx->get("fp"), 11U);
        EXPECT_EQ(ctx->get("r4"), 4U);
        EXPECT_EQ(ctx->pointer_size(), 4U);
        break;
      default: break;
    }
  }
}

TEST(Contexts, WalkerStyleEditing) {
  CpuContext ctx(Cpu::kAmd64);
  EXPECT_EQ(ctx.register_count(), 17U);
  EXPECT_FALSE(ctx.get("rip").has_value());
  EXPECT_TRUE(ctx.set("$rip", 0x1234));
  EXPECT_TRUE(ctx.set("rsp", 0x8000));
  EXPECT_FALSE(ctx.set("eip", 1));  // not an amd64 register
  EXPECT_FALSE(ctx.set(".cfa", 1));
  EXPECT_EQ(ctx.get("rip"), 0x1234U);
  EXPECT_EQ(ctx.instruction_pointer(), 0x1234U);
  EXPECT_FALSE(ctx.all_valid());
  ctx.invalidate(*ctx.register_index("rip"));
  EXPECT_FALSE(ctx.get("rip").has_value());
  CpuContext x86(Cpu::kX86);
  x86.set("eip", 0x1'0000'1234ULL);  // truncated to 32 bits
  EXPECT_EQ(x86.get("eip"), 0x1234U);
  EXPECT_EQ(x86.register_name(0), "eip");
  EXPECT_EQ(CpuContext(Cpu::kPpc).register_count(), 0U);
  EXPECT_EQ(CpuContext(Cpu::kArm64).register_name(29), "fp");
}

TEST(Modules, CodeViewKindsAndIdentifiers) {
  DumpBuilder b;
  b.stream(7, system_info(9, kOsLinux));
  uint32_t n1 = b.string(u"/usr/lib/libshort.so");
  uint32_t n2 = b.string(u"/usr/lib/libempty.so");
  uint32_t n3 = b.string(u"C:\\old\\old.dll");
  uint32_t n4 = b.string(u"/usr/lib/libnocv.so");
  uint32_t short_id = b.blob(Buf().u32(0x4270454c).bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
  uint32_t empty_id = b.blob(Buf().u32(0x4270454c));
  uint32_t nb10 = b.blob(Buf().u32(0x3031424e).u32(0).u32(0x3a2b1c0d).u32(0x1f).text("c:\\build\\old.pdb"));
  Buf list;
  list.u32(4);
  list.bytes(module_record(0x10000, 0x1000, n1, 12, short_id).data());
  list.bytes(module_record(0x20000, 0x1000, n2, 4, empty_id).data());
  list.bytes(module_record(0x30000, 0x1000, n3, 16 + 17, nb10).data());
  list.bytes(module_record(0x40000, 0x1000, n4, 0, 0).data());
  b.stream(4, list);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->modules().size(), 4U);
  const auto& m = dump->modules();
  EXPECT_EQ(m[0].codeview, CodeViewKind::kElf);
  EXPECT_EQ(m[0].debug_id, "040302010605080700000000000000000");
  EXPECT_EQ(m[0].code_id, "0102030405060708");
  EXPECT_EQ(m[0].debug_file, "libshort.so");
  EXPECT_EQ(m[0].version, "5.1.2600.2180");
  EXPECT_EQ(m[1].debug_id, "000000000000000000000000000000000");
  EXPECT_EQ(m[1].code_id, "");
  EXPECT_EQ(m[2].codeview, CodeViewKind::kPdb20);
  EXPECT_EQ(m[2].debug_id, "3A2B1C0D1F");
  EXPECT_EQ(m[2].debug_file, "old.pdb");
  EXPECT_EQ(m[3].codeview, CodeViewKind::kNone);
  EXPECT_EQ(m[3].debug_file, "");
  EXPECT_EQ(m[3].debug_id, "");
  EXPECT_EQ(dump->module_at(0x10fff), &m[0]);
  EXPECT_EQ(dump->module_at(0x11000), nullptr);
  EXPECT_EQ(dump->module_at(0x3ffff), nullptr);
  EXPECT_EQ(dump->module_at(0x40000), &m[3]);
  EXPECT_EQ(dump->main_module(), &m[0]);
}

TEST(Modules, OverlappingModulesAreStillFound) {
  DumpBuilder b;
  uint32_t n1 = b.string(u"outer.dll");
  uint32_t n2 = b.string(u"inner.dll");
  Buf list;
  list.u32(2);
  list.bytes(module_record(0x1000, 0x10000, n1, 0, 0).data());
  list.bytes(module_record(0x2000, 0x100, n2, 0, 0).data());
  b.stream(4, list);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->module_at(0x2010)->code_file, "inner.dll");
  EXPECT_EQ(dump->module_at(0x5000)->code_file, "outer.dll");
  EXPECT_EQ(dump->module_at(0x11000), nullptr);
}

TEST(Memory, MemoryListAndMemory64ListMerge) {
  DumpBuilder b;
  Buf a, c, d;
  for (int i = 0; i < 16; ++i) a.u8(static_cast<uint8_t>(i));
  for (int i = 0; i < 8; ++i) c.u8(static_cast<uint8_t>(0xa0 + i));
  for (int i = 0; i < 8; ++i) d.u8(static_cast<uint8_t>(0xb0 + i));
  uint32_t a_rva = b.blob(a);
  Buf list;
  list.u32(2).u64(0x1000).u32(16).u32(a_rva).u64(0x1008).u32(16).u32(a_rva);  // second overlaps: dropped
  b.stream(5, list);
  uint32_t data_rva = b.blob(c);
  b.blob(d);
  Buf list64;
  list64.u64(2).u64(data_rva).u64(0x2000).u64(8).u64(0xffff'ffff'ffff'fff8ULL).u64(8);
  b.stream(9, list64);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
  const auto& regions = dump->memory().regions();
  ASSERT_EQ(regions.size(), 3U);
  EXPECT_EQ(dump->memory().read_u32(0x1000), 0x03020100U);
  EXPECT_EQ(dump->memory().read_u64(0x1008), 0x0f0e0d0c0b0a0908ULL);
  EXPECT_FALSE(dump->memory().read_u64(0x1009).has_value());
  EXPECT_EQ(dump->memory().read_pointer(0x2000, 4), 0xa3a2a1a0U);
  EXPECT_EQ(dump->memory().read_pointer(0x2000, 8), 0xa7a6a5a4a3a2a1a0ULL);
  EXPECT_FALSE(dump->memory().read_pointer(0x2000, 3).has_value());
  // A region that ends at the top of the address space.
  EXPECT_EQ(dump->memory().read_u64(0xffff'ffff'ffff'fff8ULL), 0xb7b6b5b4b3b2b1b0ULL);
  EXPECT_FALSE(dump->memory().read_u8(0xffff'ffff'ffff'fff7ULL).has_value());
  EXPECT_EQ(dump->memory_at(0xffff'ffff'ffff'ffffULL)->end(), ~0ULL);
  EXPECT_EQ(dump->memory_at(0x2008), nullptr);
}

TEST(Memory, StackWithRvaZeroComesFromMemory64List) {
  DumpBuilder b;
  Buf stack;
  for (uint64_t i = 0; i < 8; ++i) stack.u64(0x5000 + i);
  uint32_t data_rva = b.blob(stack);
  Buf list64;
  list64.u64(1).u64(data_rva).u64(0x7000).u64(64);
  b.stream(9, list64);
  // Thread 1: inside the range, longer than what is saved; thread 2: no range holds it.
  b.stream(3, thread_list({{1, 0x7010, 0x100, 0, 0, 0}, {2, 0x9000, 0x100, 0, 0, 0}}));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  const Thread& t = dump->threads()[0];
  EXPECT_EQ(t.stack.base(), 0x7010U);
  EXPECT_EQ(t.stack.size(), 48U);
  EXPECT_EQ(t.stack.read_u64(0x7010), 0x5002U);
  EXPECT_EQ(dump->threads()[1].stack.size(), 0U);
  bool reported = false;
  for (const auto& [type, reason] : dump->stream_errors()) reported |= reason.find("no memory list range") != std::string::npos;
  EXPECT_TRUE(reported);
}

TEST(Memory, Memory64RangeOutsideTheFileStopsTheList) {
  DumpBuilder b;
  uint32_t data_rva = b.blob(Buf().zeros(8));
  Buf list64;
  list64.u64(2).u64(data_rva).u64(0x2000).u64(8).u64(0x3000).u64(0x100000);
  b.stream(9, list64);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->memory().regions().size(), 1U);
  ASSERT_EQ(dump->stream_errors().size(), 1U);
  EXPECT_NE(dump->stream_errors()[0].second.find("outside the file"), std::string::npos);
}

TEST(MiscInfo, EveryVersion) {
  const size_t sizes[] = {24, 44, 232, 832, 1364};
  for (int version = 1; version <= 5; ++version) {
    Buf m;
    size_t size = sizes[version - 1];
    m.u32(static_cast<uint32_t>(size)).u32(0x3ff).u32(4242).u32(1600000000).u32(5).u32(6);
    if (version >= 2) m.u32(3000).u32(2900).u32(3000).u32(1).u32(0);
    if (version >= 3) {
      m.u32(0x2000).u32(0x1).u32(0).u32(1).u32(static_cast<uint32_t>(-60));
      m.utf16(u"W. Europe Standard Time", 32).zeros(16).u32(0).utf16(u"W. Europe Daylight Time", 32).zeros(16).u32(
          static_cast<uint32_t>(-60));
    }
    if (version >= 4) m.utf16(u"19041.1.amd64fre.vb_release.191206-1406", 260).utf16(u"dbgcore.amd64", 40);
    if (version >= 5) {
      m.u32(8 + 8 + 64 * 8).u32(2048).u64(0x807);
      for (int f = 0; f < 64; ++f) m.u32(f == 11 ? 1232 + 64 : 0).u32(f == 11 ? 16 : 0);
      m.u32(0xc0ffee);
    }
    ASSERT_EQ(m.size(), size);
    DumpBuilder b;
    b.stream(15, m);
    auto dump = build(b);
    ASSERT_TRUE(dump.ok());
    ASSERT_TRUE(dump->misc_info().has_value()) << version;
    const MiscInfo& mi = *dump->misc_info();
    EXPECT_EQ(mi.version(), version);
    EXPECT_EQ(mi.process_id, 4242U);
    EXPECT_EQ(dump->process_id(), 4242U);
    EXPECT_EQ(dump->process_create_time(), 1600000000U);
    EXPECT_EQ(mi.processor_max_mhz.has_value(), version >= 2);
    EXPECT_EQ(mi.time_zone.has_value(), version >= 3);
    EXPECT_EQ(mi.build_string.has_value(), version >= 4);
    EXPECT_EQ(mi.xstate.has_value(), version >= 5);
    EXPECT_EQ(mi.process_cookie.has_value(), version >= 5);
    if (version >= 3) {
      EXPECT_EQ(mi.time_zone->standard_name, "W. Europe Standard Time");
      EXPECT_EQ(mi.time_zone->bias, -60);
      EXPECT_EQ(mi.process_integrity_level, 0x2000U);
    }
    if (version >= 4) {
      EXPECT_EQ(*mi.build_string, "19041.1.amd64fre.vb_release.191206-1406");
    }
    if (version >= 5) {
      EXPECT_EQ(mi.xstate->context_size, 2048U);
      EXPECT_EQ(mi.xstate->features[11].offset, 1296U);
      EXPECT_EQ(mi.process_cookie, 0xc0ffeeU);
    }
  }
}

TEST(MiscInfo, SizeBeyondTheStreamKeepsWhatFits) {
  DumpBuilder b;
  Buf m;
  m.u32(1364).u32(1).u32(1).zeros(12 + 20);
  b.stream(15, m);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  // The v2 fields fit, the v3 ones do not: the stream is kept only up to what it holds.
  ASSERT_TRUE(dump->misc_info().has_value());
  EXPECT_EQ(dump->misc_info()->process_id, 1U);
  EXPECT_FALSE(dump->misc_info()->time_zone.has_value());
}

TEST(Exception, ReasonsAndAddresses) {
  struct Case {
    uint16_t arch;
    uint32_t os;
    uint32_t code, flags;
    uint64_t address;
    std::vector<uint64_t> params;
    std::string reason;
    uint64_t crash_address;
  };
  const std::vector<Case> cases = {
      {0, kOsWindows, 0xc0000005, 0, 0x401000, {1, 0x45}, "EXCEPTION_ACCESS_VIOLATION_WRITE", 0x45},
      {0, kOsWindows, 0xc0000005, 0, 0x401000, {8, 0x401000}, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x401000},
      {0, kOsWindows, 0xc0000005, 0, 0xffffffff80000045ULL, {}, "EXCEPTION_ACCESS_VIOLATION", 0x80000045},
      {9, kOsWindows, 0xc0000409, 0, 0x7ff000, {7}, "FAST_FAIL_FATAL_APP_EXIT", 0x7ff000},
      {9, kOsWindows, 0xc0000409, 0, 0x7ff000, {999}, "EXCEPTION_STACK_BUFFER_OVERRUN", 0x7ff000},
      {9, kOsWindows, 0xe0000001, 0, 0x10, {}, "0xe0000001", 0x10},
      {9, kOsLinux, 11, 1, 0, {}, "SIGSEGV /SEGV_MAPERR", 0},
      {9, kOsLinux, 11, 0, 0x45, {}, "SIGSEGV /0x00000000", 0x45},
      {9, kOsLinux, 8, 0, 0x45, {}, "SIGFPE / 0x00000000", 0x45},
      {9, kOsLinux, 4, 2, 0x45, {}, "SIGILL / ILL_ILLOPN", 0x45},
      {9, kOsLinux, 6, 0, 0x3e8000039be, {}, "SIGABRT", 0x3e8000039be},
      {9, kOsLinux, 0xffffffff, 0, 0, {}, "DUMP_REQUESTED", 0},
      {9, kOsMac, 1, 1, 0xffffffff80000042ULL, {}, "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", 0xffffffff80000042ULL},
      {9, kOsMac, 6, 2, 0, {}, "EXC_BREAKPOINT / EXC_I386_BPT", 0},
      {12, kOsMac, 6, 1, 0, {}, "EXC_BREAKPOINT / EXC_ARM_BREAKPOINT", 0},
      {9, kOsMac, 5, 0x00010002, 0, {}, "EXC_SOFTWARE / SIGABRT", 0},
  };
  for (const auto& c : cases) {
    DumpBuilder b;
    b.stream(7, system_info(c.arch, c.os));
    Buf e;
    e.u32(0x99).u32(0).u32(c.code).u32(c.flags).u64(0).u64(c.address).u32(static_cast<uint32_t>(c.params.size())).u32(0);
    for (size_t i = 0; i < 15; ++i) e.u64(i < c.params.size() ? c.params[i] : 0);
    e.u32(0).u32(0);
    b.stream(6, e);
    auto dump = build(b);
    ASSERT_TRUE(dump.ok());
    ASSERT_TRUE(dump->exception().has_value());
    EXPECT_EQ(dump->exception()->thread_id, 0x99U);
    EXPECT_EQ(dump->exception()->parameters, c.params);
    EXPECT_EQ(dump->crash_reason(), c.reason) << std::hex << c.code;
    EXPECT_EQ(dump->crash_address(), c.crash_address) << c.reason;
    EXPECT_FALSE(dump->exception()->context.has_value());  // context of size 0
  }
}

TEST(SystemInfo, StringsAsBreakpadPrintsThem) {
  DumpBuilder b;
  uint32_t csd = b.string(u"Linux 4.9.60-linuxkit-aufs #1 SMP Mon Nov 6 16:00:12 UTC 2017 x86_64");
  Buf s = system_info(9, kOsLinux, csd);
  s.patch_u32(8, 0).patch_u32(12, 0).patch_u32(16, 0);  // version 0.0.0
  b.stream(7, s);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  const SystemInfo& si = *dump->system_info();
  EXPECT_EQ(si.os_name(), "Linux");
  EXPECT_EQ(si.os_version(), "0.0.0 Linux 4.9.60-linuxkit-aufs #1 SMP Mon Nov 6 16:00:12 UTC 2017 x86_64");
  EXPECT_EQ(si.os_version_rust(), "4.9.60-linuxkit-aufs #1 SMP Mon Nov 6 16:00:12 UTC 2017");
  EXPECT_EQ(si.cpu_info(), "family 6 model 13 stepping 8");  // no vendor on amd64
  EXPECT_EQ(si.cpu_vendor, "GenuineIntel");
  EXPECT_EQ(si.cpu_count(), 4U);

  DumpBuilder arm;
  Buf a;
  a.u16(5).u16(7).u16(0).u8(4).u8(0).u32(0).u32(0).u32(0).u32(kOsAndroid).u32(0).u16(0).u16(0);
  a.u32(0x413fc090).u32(0xb0d7).zeros(16);  // Cortex-A9 cpuid, hwcaps
  arm.stream(7, a);
  auto arm_dump = build(arm);
  ASSERT_TRUE(arm_dump.ok());
  EXPECT_EQ(arm_dump->cpu_info(), "ARMv7 ARM Cortex-A9 features: swp,half,thumb,fastmult,vfpv2,edsp,neon,vfpv3,tls");
  EXPECT_EQ(arm_dump->system_info()->os_name(), "Android");
}

TEST(Streams, UnloadedModulesHandlesMemoryInfoAssertion) {
  DumpBuilder b;
  b.stream(7, system_info(9, kOsWindows));
  uint32_t name = b.string(u"C:\\Windows\\gone.dll");
  Buf unloaded;
  unloaded.u32(12).u32(24).u32(1).u64(0x70000000).u32(0x5000).u32(0).u32(0x5a000000).u32(name);
  b.stream(14, unloaded);
  uint32_t type = b.string(u"File");
  uint32_t object = b.string(u"\\Device\\Null");
  Buf handles;
  handles.u32(16).u32(40).u32(1).u32(0).u64(0x44).u32(type).u32(object).u32(0).u32(0x12019f).u32(1).u32(2).u32(0).u32(0);
  b.stream(12, handles);
  Buf info;
  info.u32(16).u32(48).u64(2);
  info.u64(0x70000000).u64(0x70000000).u32(0x80).u32(0).u64(0x1000).u32(0x1000).u32(0x20).u32(0x1000000).u32(0);
  info.u64(0x70001000).u64(0x70000000).u32(0x80).u32(0).u64(0x4000).u32(0x1000).u32(0x04).u32(0x1000000).u32(0);
  b.stream(16, info);
  Buf assertion;
  assertion.utf16(u"x != nullptr", 128).utf16(u"Foo::Bar", 128).utf16(u"foo.cc", 128).u32(42).u32(1);
  b.stream(0x47670002, assertion);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
  ASSERT_EQ(dump->unloaded_modules().size(), 1U);
  EXPECT_EQ(dump->unloaded_modules()[0].code_file, "C:\\Windows\\gone.dll");
  EXPECT_EQ(dump->unloaded_modules()[0].code_id, "5a0000005000");
  EXPECT_EQ(dump->unloaded_modules_at(0x70004fff).size(), 1U);
  EXPECT_TRUE(dump->unloaded_modules_at(0x70005000).empty());
  ASSERT_TRUE(dump->handles().has_value());
  ASSERT_EQ(dump->handles()->size(), 1U);
  EXPECT_EQ(dump->handles()->at(0).type_name, "File");
  EXPECT_EQ(dump->handles()->at(0).object_name, "\\Device\\Null");
  EXPECT_EQ(dump->handles()->at(0).pointer_count, 2U);
  ASSERT_TRUE(dump->memory_info().has_value());
  ASSERT_NE(dump->memory_info_at(0x70000010), nullptr);
  EXPECT_TRUE(dump->memory_info_at(0x70000010)->is_executable());
  EXPECT_FALSE(dump->memory_info_at(0x70002000)->is_executable());
  EXPECT_EQ(dump->memory_info_at(0x70005000), nullptr);
  ASSERT_TRUE(dump->assertion().has_value());
  EXPECT_EQ(dump->assertion()->expression, "x != nullptr");
  EXPECT_EQ(dump->assertion()->function, "Foo::Bar");
  EXPECT_EQ(dump->assertion()->file, "foo.cc");
  EXPECT_EQ(dump->assertion()->line, 42U);
}

TEST(Streams, CrashpadAnnotations) {
  DumpBuilder b;
  auto dictionary = [&](std::vector<std::pair<std::string, std::string>> entries) {
    Buf d;
    d.u32(static_cast<uint32_t>(entries.size()));
    for (const auto& [k, v] : entries) d.u32(b.utf8(k)).u32(b.utf8(v));
    return b.blob(d);
  };
  uint32_t simple = dictionary({{"ProductName", "Firefox"}, {"Version", "120.0"}});
  uint32_t module_simple = dictionary({{"ver", "1"}});
  Buf rvas;
  rvas.u32(2).u32(b.utf8("list one")).u32(b.utf8("list two"));
  uint32_t list_rva = b.blob(rvas);
  Buf objects;
  objects.u32(1).u32(b.utf8("object")).u16(1).u16(0).u32(b.utf8("value bytes"));
  uint32_t objects_rva = b.blob(objects);
  Buf module_info;
  module_info.u32(1).u32(static_cast<uint32_t>(rvas.size())).u32(list_rva).u32(12).u32(module_simple);
  module_info.u32(static_cast<uint32_t>(objects.size())).u32(objects_rva);
  uint32_t module_info_rva = b.blob(module_info);
  Buf links;
  links.u32(1).u32(0).u32(28).u32(module_info_rva);
  uint32_t links_rva = b.blob(links);
  Buf info;
  info.u32(1);
  info.u32(0x83e6ce16).u16(0xf67b).u16(0x456c).bytes({0xad, 0x43, 0x22, 0xcb, 0x77, 0x18, 0x04, 0x19});
  info.zeros(16).u32(20).u32(simple).u32(16).u32(links_rva);
  b.stream(0x43500001, info);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
  ASSERT_TRUE(dump->crashpad_info().has_value());
  const auto& cp = *dump->crashpad_info();
  EXPECT_EQ(cp.report_id, "83e6ce16-f67b-456c-ad43-22cb77180419");
  EXPECT_EQ(cp.client_id, "00000000-0000-0000-0000-000000000000");
  ASSERT_EQ(cp.simple_annotations.size(), 2U);
  EXPECT_EQ(cp.simple_annotations[1], std::make_pair(std::string("Version"), std::string("120.0")));
  ASSERT_EQ(cp.modules.size(), 1U);
  EXPECT_EQ(cp.modules[0].list_annotations, (std::vector<std::string>{"list one", "list two"}));
  ASSERT_EQ(cp.modules[0].simple_annotations.size(), 1U);
  ASSERT_EQ(cp.modules[0].annotation_objects.size(), 1U);
  EXPECT_EQ(cp.modules[0].annotation_objects[0].name, "object");
  EXPECT_EQ(cp.modules[0].annotation_objects[0].type, 1U);
  EXPECT_EQ(cp.modules[0].annotation_objects[0].string_value(), "value bytes");
}

TEST(Streams, CrashpadAnnotationsOutsideTheFileAreSkipped) {
  DumpBuilder b;
  Buf d;
  d.u32(1).u32(0xffffff00).u32(0xffffff00);
  uint32_t simple = b.blob(d);
  Buf info;
  info.u32(1).zeros(32).u32(12).u32(simple).u32(16).u32(0xfffffff0);
  b.stream(0x43500001, info);
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  ASSERT_TRUE(dump->crashpad_info().has_value());
  EXPECT_TRUE(dump->crashpad_info()->simple_annotations.empty());
  ASSERT_EQ(dump->stream_errors().size(), 1U);
}

TEST(Streams, LinuxProcStreams) {
  DumpBuilder b;
  b.stream(7, system_info(9, kOsLinux));
  b.stream(0x47670003, Buf().text("processor\t: 0\nmodel name\t: Test CPU\n", false));
  b.stream(0x47670004, Buf().text("Name:\tcrash\nUmask:\t0022\nState:\tR\nPid:\t1304\nPPid:\t1\n", false));
  b.stream(0x47670005, Buf().text("NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n"
                                  "PRETTY_NAME=\"Ubuntu 22.04 LTS\"\n", false));
  b.stream(0x47670006, Buf().text("/usr/bin/crash").text("--flag").text("", false));
  b.stream(0x47670007, Buf().text("HOME=/root").text("LANG=C"));
  b.stream(0x47670008, Buf().u64(6).u64(4096).u64(33).u64(0x7fff5aef1000).u64(0).u64(0));
  b.stream(0x47670009, Buf().text("00400000-0041a000 r-xp 00000000 08:01 1234    /usr/bin/crash\n"
                                  "7fff5aef1000-7fff5aef3000 r-xp 00000000 00:00 0          [vdso]\n"
                                  "not a maps line\n"
                                  "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n", false));
  uint32_t libname = b.string(u"/lib/libc.so.6");
  Buf link_map;
  link_map.u64(0x7f0000000000).u32(libname).u32(0).u64(0x7f0000200000);
  uint32_t map_rva = b.blob(link_map);
  b.stream(0x4767000a, Buf().u32(1).u32(map_rva).u32(1).u32(0).u64(0x1000).u64(0x7f5140cdc000).u64(0x600e28));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  const auto& l = dump->linux_streams();
  EXPECT_EQ(l.pid(), 1304U);
  EXPECT_EQ(dump->process_id(), 1304U);
  auto lsb = l.lsb();
  ASSERT_TRUE(lsb.has_value());
  EXPECT_EQ(lsb->id, "ubuntu");
  EXPECT_EQ(lsb->release, "22.04");
  EXPECT_EQ(lsb->codename, "jammy");
  EXPECT_EQ(lsb->description, "Ubuntu 22.04 LTS");
  EXPECT_EQ(*l.cmdline, (std::vector<std::string>{"/usr/bin/crash", "--flag"}));
  EXPECT_EQ(*l.environ, (std::vector<std::string>{"HOME=/root", "LANG=C"}));
  ASSERT_EQ(l.auxv->size(), 3U);
  EXPECT_EQ(l.auxv->at(1), std::make_pair(uint64_t{33}, uint64_t{0x7fff5aef1000}));
  ASSERT_EQ(l.maps->size(), 3U);
  EXPECT_EQ(l.maps->at(0).start, 0x400000U);
  EXPECT_EQ(l.maps->at(0).end, 0x41a000U);
  EXPECT_EQ(l.maps->at(0).path, "/usr/bin/crash");
  EXPECT_EQ(l.maps->at(0).inode, 1234U);
  EXPECT_TRUE(l.maps->at(1).is_executable());
  EXPECT_EQ(l.maps->at(1).path, "[vdso]");
  EXPECT_EQ(l.maps->at(2).path, "");
  EXPECT_FALSE(l.maps->at(2).is_executable());
  ASSERT_EQ(dump->stream_errors().size(), 1U);  // the line that is not a maps line
  ASSERT_TRUE(l.dso_debug.has_value());
  EXPECT_EQ(l.dso_debug->ldbase, 0x7f5140cdc000U);
  ASSERT_EQ(l.dso_debug->link_map.size(), 1U);
  EXPECT_EQ(l.dso_debug->link_map[0].name, "/lib/libc.so.6");
  EXPECT_EQ(l.dso_debug->link_map[0].ld, 0x7f0000200000U);
}

TEST(Streams, MacCrashInfoAndBootArgs) {
  DumpBuilder b;
  Buf rec;
  rec.u32(0x4d7a0001).u32(0).u64(5).u64(0x103).u64(0).u64(0);
  rec.text("/usr/lib/libc.dylib").text("abort() called").text("").text("").text("");
  uint32_t rec_rva = b.blob(rec);
  Buf info;
  info.u32(0x4d7a0001).u32(1).u32(40).u32(static_cast<uint32_t>(rec.size())).u32(rec_rva);
  b.stream(0x4d7a0001, info);
  uint32_t args = b.string(u"-v keepsyms=1");
  b.stream(0x4d7a0002, Buf().u32(0x4d7a0002).u32(args));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  ASSERT_TRUE(dump->mac_crash_info().has_value());
  ASSERT_EQ(dump->mac_crash_info()->records.size(), 1U);
  EXPECT_EQ(dump->mac_crash_info()->records[0].module_path, "/usr/lib/libc.dylib");
  EXPECT_EQ(dump->mac_crash_info()->records[0].message, "abort() called");
  EXPECT_EQ(dump->mac_crash_info()->records[0].thread, 0x103U);
  EXPECT_EQ(dump->mac_boot_args(), "-v keepsyms=1");
}

TEST(Strings, Utf16Conversion) {
  DumpBuilder b;
  // Odd byte length: the half code unit is dropped. Non-BMP and a lone low surrogate.
  Buf odd;
  odd.u32(5).u16('a').u16('b').u8('c');
  uint32_t odd_rva = b.blob(odd);
  uint32_t mixed = b.string(u"\x00e9\x4e2d\xdc00z");
  Buf names;
  names.u32(2).u32(1).u64(odd_rva).u32(2).u64(mixed);
  b.stream(24, names);
  b.stream(3, thread_list({{1, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 0}}));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  // Names attach to threads by id.
  EXPECT_EQ(dump->threads()[0].name, "ab");
  EXPECT_EQ(dump->threads()[1].name, "\xc3\xa9\xe4\xb8\xad\xef\xbf\xbdz");
}

TEST(Strings, EightBitStringsAreMadeValidUtf8) {
  DumpBuilder b;
  b.stream(7, system_info(0, kOsWindows));
  uint32_t name = b.string(u"C:\\x.dll");
  // RSDS record whose pdb name has a stray continuation byte, a truncated sequence, an overlong
  // encoding and a valid two-byte character.
  Buf cv;
  cv.u32(0x53445352).zeros(16).u32(1).bytes({'a', 0x80, 'b', 0xe4, 0xb8, 'c', 0xc0, 0xaf, 0xc3, 0xa9, 0});
  uint32_t cv_rva = b.blob(cv);
  Buf list;
  list.u32(1).bytes(module_record(0x1000, 0x1000, name, static_cast<uint32_t>(cv.size()), cv_rva).data());
  b.stream(4, list);
  b.stream(0x47670007, Buf().text("A=\xff").text("B=ok"));
  auto dump = build(b);
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->modules()[0].debug_file, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
  EXPECT_EQ(*dump->linux_streams().environ, (std::vector<std::string>{"A=\xef\xbf\xbd", "B=ok"}));
  Annotation a;
  a.value = {'o', 0xfe, 'k'};
  EXPECT_EQ(a.string_value(), "o\xef\xbf\xbdk");
}

TEST(Exception, RustMinidumpReasonSpelling) {
  struct Case {
    uint32_t os, code, flags;
    std::string breakpad, rust;
  };
  const std::vector<Case> cases = {
      {kOsLinux, 11, 0, "SIGSEGV /0x00000000", "SIGSEGV"},
      {kOsLinux, 11, 2, "SIGSEGV /SEGV_ACCERR", "SIGSEGV / SEGV_ACCERR"},
      {kOsAndroid, 7, 1, "SIGBUS / BUS_ADRALN", "SIGBUS / BUS_ADRALN"},
      {kOsLinux, 6, 0, "SIGABRT", "SIGABRT"},
      {kOsMac, 1, 1, "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"},
  };
  for (const auto& c : cases) {
    DumpBuilder b;
    b.stream(7, system_info(9, c.os));
    Buf e;
    e.u32(1).u32(0).u32(c.code).u32(c.flags).u64(0).u64(0).u32(0).u32(0).zeros(15 * 8).u32(0).u32(0);
    b.stream(6, e);
    auto dump = build(b);
    ASSERT_TRUE(dump.ok());
    EXPECT_EQ(dump->crash_reason(), c.breakpad);
    EXPECT_EQ(dump->crash_reason(ReasonStyle::kRustMinidump), c.rust);
  }
}

TEST(DebugDump, ListsEveryStream) {
  auto dump = Minidump::open(std::string(BW_TESTDATA_DIR) + "/minidumps/linux-mini.dmp");
  ASSERT_TRUE(dump.ok());
  std::string text = debug_dump(*dump);
  for (const char* needle : {"system info: os Linux", "exception:", "threads: 1", "modules:", "memory regions:",
                             "linux maps:", "linux lsb: Ubuntu 16.04 xenial", "rip = 0x"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace bw::minidump
