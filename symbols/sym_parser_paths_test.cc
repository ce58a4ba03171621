// The parser's fast paths give exactly what the general path gives: the one-pass line record
// parser, lines put in order per function, the near-sorted merge for FUNC / PUBLIC / STACK CFI
// (ties keep file order), and names stored without interning.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "symbols/module_symbols.h"
#include "symbols/sym_test_inputs.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_sym_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(BW_TESTDATA_DIR) / "symbols")) {
    if (e.is_regular_file() && e.path().extension() == ".sym") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_line_record(std::string_view line) {
  return !line.empty() && ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'));
}

// Rewrites every line record so that the fast path refuses it (tabs for spaces, or upper-case
// hex digits) and the general parser has to read it.
std::string force_general_path(const std::string& text, bool upper_case) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    std::string line = text.substr(pos, end - pos);
    if (is_line_record(line)) {
      if (upper_case) {
        size_t sp = line.find(' ');
        std::transform(line.begin(), line.begin() + static_cast<ptrdiff_t>(sp), line.begin(),
                       [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
      } else {
        std::replace(line.begin(), line.end(), ' ', '\t');
      }
    }
    out += line;
    pos = end;
  }
  return out;
}

TEST(SymParserPaths, FastLinePathEqualsGeneralPathOnCorpus) {
  auto files = corpus_sym_files();
  ASSERT_GE(files.size(), 40u);
  size_t line_records = 0;
  for (const auto& f : files) {
    std::string text = bw::fs::read_file(f);
    auto fast = ModuleSymbols::parse(text);
    line_records += fast->line_count();
    for (bool upper : {false, true}) {
      std::string slow_text = force_general_path(text, upper);
      if (slow_text == text) continue;  // no line records (PUBLIC-only macOS files)
      auto slow = ModuleSymbols::parse(slow_text);
      EXPECT_TRUE(fast->same_content(*slow)) << f << (upper ? " (upper-case hex)" : " (tabs)");
    }
  }
  EXPECT_GT(line_records, 100000u);
}

TEST(SymParserPaths, FastPathLeavesBadLineRecordsToTheGeneralParser) {
  auto m = ModuleSymbols::parse(test_inputs::kLineRecordsForTheGeneralParser);
  EXPECT_EQ(m->stats().bad_lines, 5u);
  ASSERT_GE(m->stats().first_errors.size(), 5u);
  EXPECT_EQ(m->stats().first_errors[0], "line 4: bad line record");
  EXPECT_EQ(m->stats().dropped_records, 2u);
  EXPECT_EQ(m->line_count(), 4u);
  EXPECT_EQ(m->lookup(0x12a)->source_line, 5u);
  EXPECT_EQ(m->lookup(0x131)->source_line, 6u);
  EXPECT_EQ(m->lookup(0x13f)->source_line, 7u);
  EXPECT_FALSE(m->lookup(0x111)->has_line);
}

TEST(SymParserPaths, LinesOfAFunctionAreSortedAndOverlapsDropped) {
  auto m = ModuleSymbols::parse(
      "MODULE Linux x86_64 ID mod\n"
      "FILE 0 a.c\n"
      "FUNC 100 40 0 f\n"
      "120 8 3 0\n"
      "100 8 1 0\n"
      "104 8 2 0\n"   // overlaps 100-108, which sorts first: dropped
      "110 4 4 0\n"
      "FUNC 200 10 0 g\n"
      "200 4 10 0\n"
      "204 4 11 0\n");
  EXPECT_FALSE(m->is_corrupt());
  EXPECT_EQ(m->line_count(), 5u);
  EXPECT_EQ(m->stats().dropped_records, 1u);
  EXPECT_EQ(m->lookup(0x105)->source_line, 1u);
  EXPECT_EQ(m->lookup(0x105)->line_start, 0x100u);
  EXPECT_FALSE(m->lookup(0x10c)->has_line);
  EXPECT_EQ(m->lookup(0x111)->source_line, 4u);
  EXPECT_EQ(m->lookup(0x127)->source_line, 3u);
  EXPECT_EQ(m->lookup(0x205)->source_line, 11u);  // the next function's lines are untouched
  EXPECT_EQ(m->lookup(0x205)->source_file, "a.c");
}

// Forty records of each kind in order, then a few out of place: the near-sorted merge.
std::string nearly_sorted_records() {
  std::string s = "MODULE Linux x86_64 ID mod\n";
  char buf[160];
  for (int i = 0; i < 40; ++i) {
    unsigned a = 0x1000 + static_cast<unsigned>(i) * 0x100;
    std::snprintf(buf, sizeof buf, "FUNC %x 10 0 f%d\nPUBLIC %x 0 p%d\nSTACK CFI INIT %x 10 .cfa: $rsp 8 +\n"
                  "STACK CFI %x .cfa: $rsp %d +\n", a, i, a + 0x80, i, a, a + 4, i);
    s += buf;
  }
  s += "FUNC 1500 10 0 late_duplicate\n";       // same address as f5: the first in the file wins
  s += "FUNC 1580 10 0 late_unique\n";          // out of place, no conflict: kept
  s += "FUNC 1008 10 0 late_overlap\n";         // overlaps f0: dropped
  s += "PUBLIC 1780 0 late_public_duplicate\n";  // same address as p7
  s += "PUBLIC 1540 0 late_public\n";
  s += "STACK CFI 1504 .cfa: $rsp 99 +\n";       // same address as a delta: the last one wins
  s += "STACK CFI INIT 1508 10 .cfa: $rsp 1 +\n";  // overlaps an earlier INIT: dropped
  return s;
}

TEST(SymParserPaths, NearlySortedRecordsKeepFileOrderOnTies) {
  auto m = ModuleSymbols::parse(nearly_sorted_records());
  EXPECT_FALSE(m->is_corrupt());
  EXPECT_EQ(m->function_count(), 41u);
  EXPECT_EQ(m->public_count(), 41u);
  EXPECT_EQ(m->cfi_init_count(), 40u);
  EXPECT_EQ(m->lookup(0x1505)->function_name, "f5");
  EXPECT_EQ(m->lookup(0x1585)->function_name, "late_unique");
  EXPECT_EQ(m->lookup(0x100a)->function_name, "f0");
  EXPECT_EQ(m->lookup(0x1545)->function_name, "late_public");
  EXPECT_EQ(m->lookup(0x1790)->function_name, "p7");
  EXPECT_EQ(*m->find_cfi(0x1506)->find(".cfa"), "$rsp 99 +");
  EXPECT_EQ(*m->find_cfi(0x1606)->find(".cfa"), "$rsp 6 +");
  EXPECT_EQ(*m->find_cfi(0x1509)->find(".cfa"), "$rsp 99 +");
}

TEST(SymParserPaths, ReversedRecordsAreStableSortedToo) {
  auto m = ModuleSymbols::parse(
      "MODULE Linux x86_64 ID mod\n"
      "FUNC 300 10 0 x\nFUNC 200 10 0 y\nFUNC 100 10 0 z\nFUNC 200 10 0 y_again\n"
      "PUBLIC 700 0 p7\nPUBLIC 600 0 p6\nPUBLIC 500 0 p5\nPUBLIC 600 0 p6_again\n"
      "STACK CFI INIT 900 10 .cfa: $rsp 8 +\nSTACK CFI INIT 800 10 .cfa: $rsp 4 +\n"
      "STACK CFI 904 .cfa: $rsp 1 +\nSTACK CFI 804 .cfa: $rsp 2 +\nSTACK CFI 904 .cfa: $rsp 3 +\n");
  EXPECT_EQ(m->function_count(), 3u);
  EXPECT_EQ(m->lookup(0x205)->function_name, "y");
  EXPECT_EQ(m->lookup(0x305)->function_name, "x");
  EXPECT_EQ(m->lookup(0x605)->function_name, "p6");
  EXPECT_EQ(*m->find_cfi(0x905)->find(".cfa"), "$rsp 3 +");
  EXPECT_EQ(*m->find_cfi(0x805)->find(".cfa"), "$rsp 2 +");
}

TEST(SymParserPaths, RepeatedFunctionNamesEachResolve) {
  // Names are stored as they come (not interned); equal names must still each come back right,
  // and interned strings (CFI rules, files) still share storage without mixing up.
  std::string text = "MODULE Linux x86_64 ID mod\nFILE 0 same.c\nFILE 1 same.c\n";
  for (int i = 0; i < 1000; ++i) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "FUNC %x 10 0 %s\n%x 10 %d %d\nSTACK CFI INIT %x 10 .cfa: $rsp %d +\n",
                  static_cast<unsigned>(0x1000 + i * 0x10), i % 2 ? "odd" : "even",
                  static_cast<unsigned>(0x1000 + i * 0x10), i, i % 2,
                  static_cast<unsigned>(0x1000 + i * 0x10), i % 3);
    text += buf;
  }
  auto m = ModuleSymbols::parse(text);
  EXPECT_FALSE(m->is_corrupt());
  for (int i = 0; i < 1000; ++i) {
    uint64_t at = 0x1000 + static_cast<uint64_t>(i) * 0x10 + 3;
    auto r = m->lookup(at);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->function_name, i % 2 ? "odd" : "even");
    EXPECT_EQ(r->source_line, static_cast<uint32_t>(i));
    EXPECT_EQ(r->source_file, "same.c");
    EXPECT_EQ(*m->find_cfi(at)->find(".cfa"), "$rsp " + std::to_string(i % 3) + " +");
  }
}

}  // namespace
}  // namespace bw::symbols
