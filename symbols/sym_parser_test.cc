// Parser and lookup behaviour on hand-written .sym text: every record type, Breakpad's lookup
// rules, and bad input (counted, module corrupt, parsing goes on).
#include <gtest/gtest.h>

#include <string>

#include "symbols/module_symbols.h"
#include "symbols/sym_test_inputs.h"

namespace bw::symbols {
namespace {

const char* kSample =
    "MODULE Linux x86_64 BBA6FA10B8AAB33D00000000000000000 linux_inline\n"
    "INFO CODE_ID 10FAA6BBAAB83DB3\n"
    "FILE 0 linux_inline.cpp\n"
    "FILE 1 a.cpp\n"
    "FILE 2 b.cpp\n"
    "FILE 3 c.cpp\n"
    "INLINE_ORIGIN 0 bar()\n"
    "INLINE_ORIGIN 1 foo()\n"
    "INLINE_ORIGIN 2 func()\n"
    "FUNC 15b30 6cf 0 main\n"
    "INLINE 0 42 1 1 15b45 6b1\n"
    "INLINE 1 39 2 0 15b72 684\n"
    "INLINE 2 32 3 2 15b83 673\n"
    "15b30 15 41 0\n"
    "15b45 11 36 0\n"
    "161b6 2 27 0\n"
    "161b8 3e 28 0\n"
    "FUNC m 17000 20 8 folded(int)\n"
    "17000 10 5 1\n"
    "PUBLIC 16500 0 public_in_gap\n"
    "PUBLIC m 18000 4 after_all\n"
    "PUBLIC 10000 0 before_main\n"
    "STACK CFI INIT 15b30 6cf .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    "STACK CFI 15b31 .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
    "STACK CFI 15b34 .cfa: $rbp 16 +\n"
    "STACK WIN 4 20000 100 5 0 8 0 10 0 1 $T0 $ebp = $eip $T0 4 + ^ =\n"
    "STACK WIN 4 20010 20 3 0 4 0 0 0 0 1\n"
    "STACK WIN 0 20000 200 1 0 0 4 8 0 0 0\n";

TEST(SymParser, ModuleAndInfo) {
  auto m = ModuleSymbols::parse(kSample);
  EXPECT_FALSE(m->is_corrupt()) << (m->stats().first_errors.empty() ? "" : m->stats().first_errors[0]);
  EXPECT_EQ(m->info().os, "Linux");
  EXPECT_EQ(m->info().cpu, "x86_64");
  EXPECT_EQ(m->info().debug_id, "BBA6FA10B8AAB33D00000000000000000");
  EXPECT_EQ(m->info().debug_file, "linux_inline");
  EXPECT_EQ(m->info().code_id, "10FAA6BBAAB83DB3");
  EXPECT_EQ(m->function_count(), 2u);
  EXPECT_EQ(m->public_count(), 3u);
  EXPECT_EQ(m->line_count(), 5u);
}

TEST(SymParser, FuncLineAndInlines) {
  auto m = ModuleSymbols::parse(kSample);
  auto r = m->lookup(0x161b6);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->function_name, "main");
  EXPECT_EQ(r->function_start, 0x15b30u);
  EXPECT_EQ(r->function_size, 0x6cfu);
  EXPECT_FALSE(r->is_public);
  ASSERT_TRUE(r->has_line);
  EXPECT_EQ(r->source_file, "linux_inline.cpp");
  EXPECT_EQ(r->source_line, 27u);
  EXPECT_EQ(r->line_start, 0x161b6u);
  // Breakpad shows: func() [linux_inline.cpp:27], bar() [c.cpp:32], foo() [b.cpp:39], main [a.cpp:42]
  ASSERT_EQ(r->inlines.size(), 3u);
  EXPECT_EQ(r->inlines[0].function_name, "foo()");
  EXPECT_EQ(r->inlines[0].call_file, "a.cpp");
  EXPECT_EQ(r->inlines[0].call_line, 42u);
  EXPECT_EQ(r->inlines[1].function_name, "bar()");
  EXPECT_EQ(r->inlines[1].call_file, "b.cpp");
  EXPECT_EQ(r->inlines[1].call_line, 39u);
  EXPECT_EQ(r->inlines[2].function_name, "func()");
  EXPECT_EQ(r->inlines[2].call_file, "c.cpp");
  EXPECT_EQ(r->inlines[2].call_line, 32u);
  EXPECT_EQ(r->inlines[2].start, 0x15b83u);

  // Inside main but before the first inline and with no line covering the address.
  auto early = m->lookup(0x15b40);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->function_name, "main");
  EXPECT_TRUE(early->inlines.empty());
  EXPECT_EQ(early->source_line, 41u);
  auto no_line = m->lookup(0x15b60);
  ASSERT_TRUE(no_line);
  EXPECT_FALSE(no_line->has_line);
  ASSERT_EQ(no_line->inlines.size(), 1u);  // only the depth-0 range starts before 15b72
}

TEST(SymParser, MultipleFlagAndParameterSize) {
  auto m = ModuleSymbols::parse(kSample);
  auto r = m->lookup(0x1700f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->function_name, "folded(int)");
  EXPECT_TRUE(r->is_multiple);
  EXPECT_EQ(r->parameter_size, 8u);
  EXPECT_EQ(r->source_file, "a.cpp");
  auto p = m->lookup(0x18010);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->function_name, "after_all");
  EXPECT_TRUE(p->is_public);
  EXPECT_TRUE(p->is_multiple);
  EXPECT_EQ(p->parameter_size, 4u);
}

TEST(SymParser, PublicOnlyWhenNoFunctionStartsAfterIt) {
  auto m = ModuleSymbols::parse(kSample);
  // Between main's end (0x161ff) and folded (0x17000): PUBLIC 16500 follows main -> used.
  auto gap = m->lookup(0x16600);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->function_name, "public_in_gap");
  EXPECT_EQ(gap->function_start, 0x16500u);
  // Just after main, before 16500: the nearest PUBLIC (10000) precedes main -> nothing.
  EXPECT_FALSE(m->lookup(0x16400));
  // Before main: the PUBLIC at 10000.
  auto before = m->lookup(0x12000);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->function_name, "before_main");
  EXPECT_FALSE(m->lookup(0x100));
}

TEST(SymParser, CfiInitPlusDeltas) {
  auto m = ModuleSymbols::parse(kSample);
  auto at0 = m->find_cfi(0x15b30);
  ASSERT_TRUE(at0);
  ASSERT_NE(at0->find(".cfa"), nullptr);
  EXPECT_EQ(*at0->find(".cfa"), "$rsp 8 +");
  EXPECT_EQ(*at0->find(".ra"), ".cfa -8 + ^");
  EXPECT_EQ(at0->find("$rbp"), nullptr);
  auto at2 = m->find_cfi(0x15b33);
  ASSERT_TRUE(at2);
  EXPECT_EQ(*at2->find(".cfa"), "$rsp 16 +");
  EXPECT_EQ(*at2->find("$rbp"), ".cfa -16 + ^");
  auto late = m->find_cfi(0x16000);
  ASSERT_TRUE(late);
  EXPECT_EQ(*late->find(".cfa"), "$rbp 16 +");
  EXPECT_EQ(*late->find("$rbp"), ".cfa -16 + ^");
  EXPECT_EQ(*late->find(".ra"), ".cfa -8 + ^");
  EXPECT_EQ(late->init_start, 0x15b30u);
  EXPECT_FALSE(m->find_cfi(0x15b30 + 0x6cf));
  EXPECT_FALSE(m->find_cfi(0x100));
}

TEST(SymParser, StackWinInnermostFrameDataThenFpo) {
  auto m = ModuleSymbols::parse(kSample);
  auto outer = m->find_win_frame(0x20005);
  ASSERT_TRUE(outer);
  EXPECT_EQ(outer->type, WinFrameType::kFrameData);
  EXPECT_EQ(outer->start, 0x20000u);
  EXPECT_TRUE(outer->has_program_string);
  EXPECT_EQ(outer->program_string, "$T0 $ebp = $eip $T0 4 + ^ =");
  EXPECT_EQ(outer->prolog_size, 5u);
  EXPECT_EQ(outer->parameter_size, 8u);
  EXPECT_EQ(outer->locals_size, 0x10u);
  auto inner = m->find_win_frame(0x20015);
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->start, 0x20010u);
  EXPECT_FALSE(inner->has_program_string);
  EXPECT_TRUE(inner->allocates_base_pointer);
  auto after_inner = m->find_win_frame(0x20040);
  ASSERT_TRUE(after_inner);
  EXPECT_EQ(after_inner->start, 0x20000u);
  auto fpo = m->find_win_frame(0x20150);
  ASSERT_TRUE(fpo);
  EXPECT_EQ(fpo->type, WinFrameType::kFpo);
  EXPECT_EQ(fpo->saved_registers_size, 4u);
  EXPECT_FALSE(m->find_win_frame(0x20200));
}

TEST(SymParser, OldInlineFormat) {
  auto m = ModuleSymbols::parse(
      "MODULE Linux x86_64 ID x\nFILE 0 f.c\nINLINE_ORIGIN 0 0 inlined_fn\nINLINE_ORIGIN 1 -1 other\n"
      "FUNC 100 50 0 outer\nINLINE 0 7 0 110 10\n110 10 3 0\n");
  EXPECT_FALSE(m->is_corrupt());
  auto r = m->lookup(0x115);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->inlines.size(), 1u);
  EXPECT_EQ(r->inlines[0].function_name, "inlined_fn");
  EXPECT_EQ(r->inlines[0].call_line, 7u);
  EXPECT_EQ(r->inlines[0].call_file, "");
}

TEST(SymParser, BadLinesAreCountedAndParsingGoesOn) {
  auto m = ModuleSymbols::parse(test_inputs::kBadLinesOfEveryKind);
  EXPECT_TRUE(m->is_corrupt());
  EXPECT_EQ(m->stats().bad_lines, 12u);  // the orphan INLINE is dropped, not bad
  ASSERT_FALSE(m->stats().first_errors.empty());
  EXPECT_EQ(m->stats().first_errors[0], "line 2: bad FUNC record");
  auto r = m->lookup(0x10a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->function_name, "good");
  EXPECT_EQ(r->source_line, 2u);
  auto p = m->lookup(0x305);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->function_name, "still_parsed");
}

TEST(SymParser, DuplicatesAndOverlapsFirstWins) {
  auto m = ModuleSymbols::parse(
      "MODULE Linux x86_64 ID mod\n"
      "FUNC 100 20 0 first\n"
      "FUNC 100 20 0 second_same_address\n"
      "FUNC 110 20 0 overlapping\n"
      "FUNC 200 0 0 zero_sized\n"
      "PUBLIC 400 0 p1\n"
      "PUBLIC 400 0 p2\n"
      "FILE 1 one.c\n"
      "FILE 1 uno.c\n"
      "FUNC 500 10 0 lines\n"
      "500 8 1 1\n"
      "504 8 2 1\n"
      "STACK CFI 600 .cfa: $rsp 4 +\n"
      "STACK CFI 600 .cfa: $rsp 8 +\n"
      "STACK CFI INIT 600 10 .cfa: $rsp 0 + .ra: .cfa ^\n");
  EXPECT_FALSE(m->is_corrupt());
  EXPECT_EQ(m->function_count(), 2u);
  EXPECT_EQ(m->lookup(0x11f)->function_name, "first");
  EXPECT_EQ(m->lookup(0x401)->function_name, "p1");
  auto l = m->lookup(0x506);
  EXPECT_EQ(l->source_file, "one.c");
  EXPECT_EQ(l->source_line, 1u);
  EXPECT_EQ(*m->find_cfi(0x600)->find(".cfa"), "$rsp 8 +");  // the later delta at one address
  EXPECT_GT(m->stats().dropped_records, 0u);
}

TEST(SymParser, MalformedCfiRulesGiveNoCfi) {
  auto m = ModuleSymbols::parse(
      "MODULE Linux x86_64 ID mod\nSTACK CFI INIT 100 10 .cfa: $rsp 8 + .ra:\n"
      "STACK CFI INIT 200 10 .cfa: $rsp 8 + .ra: .cfa ^\nSTACK CFI 204 $rbp:\n");
  EXPECT_FALSE(m->find_cfi(0x100));  // .ra with no expression
  EXPECT_TRUE(m->find_cfi(0x202));
  EXPECT_FALSE(m->find_cfi(0x205));  // the delta is malformed
}

TEST(SymParser, EmptyAndBinaryInput) {
  auto empty = ModuleSymbols::parse("");
  EXPECT_FALSE(empty->is_corrupt());
  EXPECT_FALSE(empty->lookup(0));
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) % 256));
  auto m = ModuleSymbols::parse(junk);
  EXPECT_TRUE(m->is_corrupt());
  EXPECT_FALSE(m->lookup(0x10));
}

}  // namespace
}  // namespace bw::symbols
