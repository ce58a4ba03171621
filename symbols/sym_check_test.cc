// check_sym_file (the parser's check-only pass) gives exactly the verdict of
// ModuleSymbols::parse_file: the same module info, line count, bad-line count and first errors, on
// every .sym of the shared corpus, on the corpus with lines damaged, and on malformed files (the
// parser tests' bad inputs, lines split across read blocks, over-long lines, no MODULE record).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "symbols/module_symbols.h"
#include "symbols/sym_test_inputs.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;
using bw::test_support::TempDir;

std::vector<fs::path> every_corpus_sym() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(BW_TESTDATA_DIR))) {
    if (e.is_regular_file() && e.path().extension() == ".sym") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs both over `file`, expects the same verdict, and returns the check's.
SymCheck expect_same_verdict(const fs::path& file) {
  std::string parse_error, check_error;
  auto parsed = ModuleSymbols::parse_file(file, &parse_error);
  auto checked = check_sym_file(file, &check_error);
  EXPECT_TRUE(parsed) << parse_error;
  EXPECT_TRUE(checked) << check_error;
  if (!parsed || !checked) return {};
  const ModuleInfo& a = parsed->info();
  const ModuleInfo& b = checked->info;
  EXPECT_EQ(b.os, a.os) << file;
  EXPECT_EQ(b.cpu, a.cpu) << file;
  EXPECT_EQ(b.debug_id, a.debug_id) << file;
  EXPECT_EQ(b.debug_file, a.debug_file) << file;
  EXPECT_EQ(b.code_id, a.code_id) << file;
  EXPECT_EQ(b.code_file, a.code_file) << file;
  EXPECT_EQ(checked->lines, parsed->stats().lines) << file;
  EXPECT_EQ(checked->bad_lines, parsed->stats().bad_lines) << file;
  EXPECT_EQ(checked->first_errors, parsed->stats().first_errors) << file;
  EXPECT_EQ(checked->is_corrupt(), parsed->is_corrupt()) << file;
  return *checked;
}

SymCheck expect_same_verdict(const TempDir& dir, const std::string& text) {
  fs::path file = dir.path() / "input.sym";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    EXPECT_TRUE(out.good()) << file;
  }
  return expect_same_verdict(file);
}

TEST(SymCheck, EveryCorpusFileGetsTheFullParsesVerdict) {
  auto files = every_corpus_sym();
  ASSERT_GE(files.size(), 60u);
  size_t split_files = 0;
  for (const auto& f : files) {
    SymCheck c = expect_same_verdict(f);
    EXPECT_FALSE(c.is_corrupt()) << f;
    EXPECT_FALSE(c.info.debug_id.empty()) << f;
    split_files += fs::file_size(f) > (size_t{1} << 20);  // lines split across the check's 1 MiB reads
  }
  EXPECT_GE(split_files, 10u);
}

// Every 997th line of each corpus file replaced by something bad of another kind, so bad lines
// land everywhere, block boundaries included, and in every record context (inside FUNCs, after
// them, in CFI runs).
TEST(SymCheck, DamagedCorpusFilesGetTheFullParsesVerdict) {
  const char* damage[] = {"FUNC zz 10 0 f", "10 fffffffffffffffffffff 1 0", "STACK CFI INIT 100",
                          "INLINE 0 1 0 0 10", "\x01\x02\xff garbage", "PUBLIC 100", "MODULE again"};
  TempDir dir;
  size_t damaged_files = 0;
  for (const auto& f : every_corpus_sym()) {
    std::string text = bw::fs::read_file(f);
    std::string out;
    out.reserve(text.size());
    size_t pos = 0, line = 0, replaced = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      size_t end = nl == std::string::npos ? text.size() : nl + 1;
      if (++line % 997 == 0) {
        out += damage[replaced++ % std::size(damage)];
        out += '\n';
      } else {
        out.append(text, pos, end - pos);
      }
      pos = end;
    }
    if (replaced == 0) continue;
    ++damaged_files;
    SymCheck c = expect_same_verdict(dir, out);
    EXPECT_TRUE(c.is_corrupt()) << f;
  }
  EXPECT_GE(damaged_files, 40u);
}

// The parser tests' bad inputs (sym_parser_test.cc, sym_parser_paths_test.cc).
TEST(SymCheck, ParserTestBadInputsGetTheFullParsesVerdict) {
  TempDir dir;
  SymCheck c = expect_same_verdict(dir, std::string(test_inputs::kBadLinesOfEveryKind));
  EXPECT_EQ(c.bad_lines, 12u);
  ASSERT_FALSE(c.first_errors.empty());
  EXPECT_EQ(c.first_errors[0], "line 2: bad FUNC record");

  c = expect_same_verdict(dir, std::string(test_inputs::kLineRecordsForTheGeneralParser));
  EXPECT_EQ(c.bad_lines, 5u);

  c = expect_same_verdict(dir, "MODULE Linux x86_64 ID mod\nSTACK CFI INIT 100 10 .cfa: $rsp 8 + .ra:\n"
                               "STACK CFI INIT 200 10 .cfa: $rsp 8 + .ra: .cfa ^\nSTACK CFI 204 $rbp:\n");
  EXPECT_FALSE(c.is_corrupt());

  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) % 256));
  c = expect_same_verdict(dir, junk);
  EXPECT_TRUE(c.is_corrupt());
  EXPECT_TRUE(c.info.debug_id.empty());
}

// Errors that depend on an earlier record: a second MODULE, line and INLINE records with no FUNC
// open (none yet, or after a zero-sized FUNC, which opens none), INFO without an id.
TEST(SymCheck, RecordsJudgedByWhatCameBefore) {
  TempDir dir;
  SymCheck c = expect_same_verdict(dir,
      "100 8 1 0\n"                                  // line record before any FUNC
      "INLINE 0 1 0 0 100 4\n"                       // INLINE before any FUNC
      "MODULE windows x86 ABC123 app.pdb\n"
      "INFO CODE_ID 5A9832E5 app.exe\n"
      "MODULE Linux x86_64 DEF456 other\n"           // a second MODULE
      "FUNC 100 0 0 zero_sized\n"
      "100 8 1 0\n"                                  // after a zero-sized FUNC: no FUNC open
      "FUNC 200 10 0 real\n"
      "200 8 1 0\n"
      "INLINE 0 1 0 0 200 4\n"
      "INFO CODE_ID\n"
      "INFO GENERATOR whatever\n");
  EXPECT_EQ(c.bad_lines, 5u);
  EXPECT_EQ(c.info.debug_id, "ABC123");
  EXPECT_EQ(c.info.debug_file, "app.pdb");
  EXPECT_EQ(c.info.code_id, "5A9832E5");
  EXPECT_EQ(c.info.code_file, "app.exe");
  ASSERT_EQ(c.first_errors.size(), 5u);
  EXPECT_EQ(c.first_errors[0], "line 1: line record outside a FUNC");
  EXPECT_EQ(c.first_errors[2], "line 5: second MODULE record");
  EXPECT_EQ(c.first_errors[3], "line 7: line record outside a FUNC");
  EXPECT_EQ(c.first_errors[4], "line 11: bad INFO CODE_ID record");
}

// Empty, blank, no MODULE, no final newline, more than 16 errors (only the first 16 kept).
TEST(SymCheck, EmptyFilesAndFilesWithoutModule) {
  TempDir dir;
  SymCheck c = expect_same_verdict(dir, "");
  EXPECT_EQ(c.lines, 0u);
  EXPECT_FALSE(c.is_corrupt());
  EXPECT_TRUE(c.info.debug_id.empty());
  c = expect_same_verdict(dir, "\n\n  \n");
  EXPECT_EQ(c.lines, 3u);
  EXPECT_FALSE(c.is_corrupt());
  c = expect_same_verdict(dir, "FUNC 100 10 0 f\n100 8 1 0\nPUBLIC 200 0 p");
  EXPECT_FALSE(c.is_corrupt());
  EXPECT_TRUE(c.info.debug_id.empty());
  std::string many = "MODULE Linux x86_64 ID mod\n";
  for (int i = 0; i < 40; ++i) many += "bad " + std::to_string(i) + "\n";
  c = expect_same_verdict(dir, many);
  EXPECT_EQ(c.bad_lines, 40u);
  EXPECT_EQ(c.first_errors.size(), 16u);
}

// Lines split across the 1 MiB reads of the check (and the 4 MiB reads of the parse): a good and
// a bad line across every boundary of the first 9 MiB, and a last line with no newline.
TEST(SymCheck, LinesSplitAcrossReads) {
  TempDir dir;
  std::string text = "MODULE Linux x86_64 ID mod\nFUNC 0 ffffffff 0 f\n";
  for (size_t boundary = size_t{1} << 20; boundary <= (size_t{9} << 20); boundary += size_t{1} << 20) {
    std::string filler = "1 1 1 1\n";
    while (text.size() + filler.size() < boundary - 10) text += filler;
    text += std::string(boundary - 10 - text.size(), '\n');
    text += (boundary >> 20) % 2 ? "10 8 7 3 not a line record\n" : "FUNC 10 8 0 named_across\n";
  }
  text += "PUBLIC 300 0 last_without_newline";
  SymCheck c = expect_same_verdict(dir, text);
  EXPECT_EQ(c.bad_lines, 5u);
}

// A line longer than the parser's 64 MiB limit is one bad line, skipped to its newline; one of
// exactly 64 MiB is read (a FUNC with a huge name: good), in the middle of a file and at its end.
TEST(SymCheck, OverlongLinesAreBadAsInTheParser) {
  TempDir dir;
  const size_t limit = size_t{64} << 20;
  std::string head = "MODULE Linux x86_64 ID mod\nFUNC 100 10 0 ";
  std::string text = head + std::string(limit - (head.size() - head.find("FUNC")), 'n') + "\n";
  text += "PUBLIC 200 0 " + std::string(limit, 'x') + "\n";  // over the limit: bad
  text += "PUBLIC 300 0 after\n";
  SymCheck c = expect_same_verdict(dir, text);
  EXPECT_EQ(c.lines, 4u);
  EXPECT_EQ(c.bad_lines, 1u);
  ASSERT_EQ(c.first_errors.size(), 1u);
  EXPECT_EQ(c.first_errors[0], "line 3: line too long");
  text.clear();
  text.shrink_to_fit();
  c = expect_same_verdict(dir, "MODULE Linux x86_64 ID mod\nPUBLIC 200 0 " + std::string(limit, 'x'));
  EXPECT_EQ(c.bad_lines, 1u);
}

TEST(SymCheck, UnreadableFileIsAnErrorAsForTheParser) {
  std::string parse_error, check_error;
  EXPECT_FALSE(ModuleSymbols::parse_file("/nonexistent/x.sym", &parse_error));
  EXPECT_FALSE(check_sym_file("/nonexistent/x.sym", &check_error));
  EXPECT_EQ(check_error, parse_error);
  EXPECT_NE(check_error.find("cannot open /nonexistent/x.sym"), std::string::npos);
  TempDir dir;
  EXPECT_FALSE(check_sym_file(dir.path(), &check_error));  // a folder: read() fails
  EXPECT_NE(check_error.find("cannot read"), std::string::npos) << check_error;
}

}  // namespace
}  // namespace bw::symbols
