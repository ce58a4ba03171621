// Every real .sym of the shared corpus: parses cleanly, streams the same as in-memory parsing,
// round-trips through the cache file, and answers lookups as Breakpad did in
// expected/breakpad/*.txt (function, source file and line of every frame, inline frames included).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "symbols/module_symbols.h"
#include "core/temp_dir.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;

const fs::path kTestdata = BW_TESTDATA_DIR;

std::vector<fs::path> corpus_sym_files() {
  std::vector<fs::path> out;
  for (const char* store : {"symbols", "symbols-rust-minidump"}) {
    for (const auto& e : fs::recursive_directory_iterator(kTestdata / store)) {
      if (e.is_regular_file() && e.path().extension() == ".sym") out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

using bw::test_support::TempDir;

TEST(Corpus, EveryCorpusSymFileParsesCleanly) {
  auto files = corpus_sym_files();
  ASSERT_GE(files.size(), 60u);
  for (const auto& f : files) {
    std::string error;
    auto m = ModuleSymbols::parse_file(f, &error);
    ASSERT_TRUE(m) << error;
    EXPECT_FALSE(m->is_corrupt()) << f << ": "
                                  << (m->stats().first_errors.empty() ? "" : m->stats().first_errors[0]);
    EXPECT_GT(m->function_count() + m->public_count(), 0u) << f;
    // The store layout is <debug_file>/<debug_id>/<name>.sym; the MODULE record's id agrees (its
    // name may differ: stores are keyed by the name the minidump reports).
    EXPECT_EQ(m->info().debug_id, f.parent_path().filename().string()) << f;
  }
}

TEST(Corpus, StreamingParseEqualsInMemoryParse) {
  for (const auto& f : corpus_sym_files()) {
    std::string error;
    auto streamed = ModuleSymbols::parse_file(f, &error);
    ASSERT_TRUE(streamed) << error;
    auto whole = ModuleSymbols::parse(bw::fs::read_file(f));
    EXPECT_TRUE(streamed->same_content(*whole)) << f;
  }
}

TEST(Corpus, CacheFileRoundTripEqualsParsedModule) {
  TempDir tmp;
  for (const auto& f : corpus_sym_files()) {
    std::string error;
    auto parsed = ModuleSymbols::parse_file(f, &error);
    ASSERT_TRUE(parsed) << error;
    auto stamp = stamp_of(f);
    ASSERT_TRUE(stamp);
    fs::path cache = tmp.path() / (f.stem().string() + ".bwsymc");
    ASSERT_TRUE(parsed->write_cache(cache, *stamp, &error)) << error;
    auto loaded = ModuleSymbols::load_cache(cache, stamp, &error);
    ASSERT_TRUE(loaded) << error;
    EXPECT_TRUE(loaded->from_cache());
    EXPECT_TRUE(parsed->same_content(*loaded)) << f;
    // Lookups agree at a spread of offsets.
    for (uint64_t off = 0; off < 0x400000; off += 0x1234) {
      auto a = parsed->lookup(off);
      auto b = loaded->lookup(off);
      ASSERT_EQ(a.has_value(), b.has_value());
      if (a) {
        EXPECT_EQ(a->function_name, b->function_name);
        EXPECT_EQ(a->source_line, b->source_line);
      }
      auto ca = parsed->find_cfi(off);
      auto cb = loaded->find_cfi(off);
      ASSERT_EQ(ca.has_value(), cb.has_value());
      if (ca) {
        ASSERT_EQ(ca->rules.size(), cb->rules.size());
      }
    }
  }
}

// --- Agreement with Breakpad's output ---------------------------------------------------------

// Breakpad's human format prints the base name of source files (after the last / or \\).
std::string base_name(std::string_view path) {
  size_t slash = path.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

struct ModuleEntry {
  std::string debug_file, debug_id;
  uint64_t base = 0;
};

struct ExpectedFrame {
  std::string module, function, file;
  int line = -1;
  bool inline_frame = false;
  bool context = false;
  std::optional<uint64_t> ip;
};

std::map<std::string, ModuleEntry> modules_of(const fs::path& machine) {
  std::map<std::string, ModuleEntry> out;
  std::ifstream in(machine);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Module|", 0) != 0) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, '|');) f.push_back(part);
    if (f.size() < 7) continue;
    ModuleEntry m{f[3], f[4], std::stoull(f[5], nullptr, 16)};
    out.emplace(f[1], m);
  }
  return out;
}

std::vector<std::vector<ExpectedFrame>> threads_of(const fs::path& human, std::string* cpu) {
  std::vector<std::vector<ExpectedFrame>> threads;
  std::ifstream in(human);
  std::string line;
  static const std::regex frame_re(R"(^ ?\s*\d+  (.*)$)");
  static const std::regex with_line(R"(^(.*) \[(.*) : (\d+) \+ 0x[0-9a-f]+\]$)");
  static const std::regex with_offset(R"(^(.*) \+ 0x[0-9a-f]+$)");
  static const std::regex ip_re(R"(\b(?:eip|rip|pc) = 0x([0-9a-f]+))");
  bool in_thread = false;
  while (std::getline(in, line)) {
    if (line.rfind("CPU: ", 0) == 0) *cpu = line.substr(5);
    if (line.rfind("Thread ", 0) == 0) {
      threads.emplace_back();
      in_thread = true;
      continue;
    }
    if (line.rfind("Loaded modules", 0) == 0) in_thread = false;
    if (!in_thread) continue;
    std::smatch m;
    if (line.rfind("    Found by: ", 0) == 0) {
      std::string how = line.substr(14);
      threads.back().back().inline_frame = how == "inline record";
      threads.back().back().context = how == "given as instruction pointer in context";
    } else if (std::regex_search(line, m, ip_re) && line.rfind("    ", 0) == 0) {
      if (!threads.back().empty() && !threads.back().back().ip) {
        threads.back().back().ip = std::stoull(m[1].str(), nullptr, 16);
      }
    } else if (std::regex_match(line, m, frame_re)) {
      ExpectedFrame f;
      std::string text = m[1].str();
      size_t bang = text.find('!');
      if (bang == std::string::npos) {
        std::smatch o;
        f.module = std::regex_match(text, o, with_offset) ? o[1].str() : text;
      } else {
        f.module = text.substr(0, bang);
        std::string rest = text.substr(bang + 1);
        std::smatch s;
        if (std::regex_match(rest, s, with_line)) {
          f.function = s[1].str();
          f.file = s[2].str();
          f.line = std::stoi(s[3].str());
        } else if (std::regex_match(rest, s, with_offset)) {
          f.function = s[1].str();
        } else {
          f.function = rest;
        }
      }
      threads.back().push_back(f);
    }
  }
  return threads;
}

TEST(Corpus, LookupsAgreeWithBreakpadFrameByFrame) {
  std::map<fs::path, std::shared_ptr<const ModuleSymbols>> loaded;
  size_t total_compared = 0, total_agreed = 0;
  for (const auto& e : fs::directory_iterator(kTestdata / "expected" / "breakpad")) {
    std::string name = e.path().filename().string();
    if (name.size() < 4 || name.substr(name.size() - 4) != ".txt" ||
        name.find(".machine.") != std::string::npos) {
      continue;
    }
    std::string dump = name.substr(0, name.size() - 4);
    auto modules = modules_of(kTestdata / "expected" / "breakpad" / (dump + ".machine.txt"));
    std::string cpu;
    auto threads = threads_of(e.path(), &cpu);
    uint64_t caller_adjust = cpu == "arm" ? 2 : cpu == "arm64" ? 4 : 1;
    size_t compared = 0, agreed = 0;
    for (const auto& frames : threads) {
      std::vector<const ExpectedFrame*> pending_inlines;  // innermost first
      for (const ExpectedFrame& f : frames) {
        if (f.inline_frame) {
          pending_inlines.push_back(&f);
          continue;
        }
        auto inl = std::move(pending_inlines);
        pending_inlines.clear();
        auto mod = modules.find(f.module);
        if (!f.ip || mod == modules.end()) continue;
        std::string debug_file = mod->second.debug_file;
        std::string sym_name = debug_file;
        if (sym_name.size() > 4 && sym_name.substr(sym_name.size() - 4) == ".pdb") sym_name.resize(sym_name.size() - 4);
        fs::path sym = kTestdata / "symbols" / debug_file / mod->second.debug_id / (sym_name + ".sym");
        if (!fs::exists(sym)) continue;
        auto& symbols = loaded[sym];
        if (!symbols) {
          std::string error;
          symbols = ModuleSymbols::parse_file(sym, &error);
          ASSERT_TRUE(symbols) << error;
        }
        uint64_t offset = *f.ip - mod->second.base - (f.context ? 0 : caller_adjust);
        auto r = symbols->lookup(offset);
        // What we would print: the inline frames innermost first, then the function.
        std::vector<ExpectedFrame> ours;
        if (r) {
          for (size_t k = r->inlines.size(); k-- > 0;) {
            ExpectedFrame x;
            x.function = std::string(r->inlines[k].function_name);
            if (k + 1 == r->inlines.size()) {
              if (r->has_line) {
                x.file = base_name(r->source_file);
                x.line = static_cast<int>(r->source_line);
              }
            } else {
              x.file = base_name(r->inlines[k + 1].call_file);
              x.line = static_cast<int>(r->inlines[k + 1].call_line);
            }
            ours.push_back(x);
          }
          ExpectedFrame outer;
          outer.function = std::string(r->function_name);
          if (!r->inlines.empty()) {
            outer.file = base_name(r->inlines.front().call_file);
            outer.line = static_cast<int>(r->inlines.front().call_line);
          } else if (r->has_line) {
            outer.file = base_name(r->source_file);
            outer.line = static_cast<int>(r->source_line);
          }
          ours.push_back(outer);
        } else {
          ours.push_back(ExpectedFrame{});
        }
        std::vector<const ExpectedFrame*> theirs = inl;
        theirs.push_back(&f);
        bool same = ours.size() == theirs.size();
        for (size_t k = 0; same && k < ours.size(); ++k) {
          same = ours[k].function == theirs[k]->function && ours[k].file == theirs[k]->file &&
                 ours[k].line == theirs[k]->line;
        }
        ++compared;
        if (same) {
          ++agreed;
        } else {
          ADD_FAILURE() << dump << ": " << f.module << " offset 0x" << std::hex << offset << std::dec
                        << ": breakpad says " << theirs.back()->function << " [" << theirs.back()->file
                        << ":" << theirs.back()->line << "] (" << theirs.size() << " frames), we say "
                        << ours.back().function << " [" << ours.back().file << ":" << ours.back().line
                        << "] (" << ours.size() << " frames)";
        }
      }
    }
    std::printf("agreement %-45s %zu/%zu symbolized frames\n", dump.c_str(), agreed, compared);
    total_compared += compared;
    total_agreed += agreed;
  }
  std::printf("agreement total %zu/%zu\n", total_agreed, total_compared);
  EXPECT_GT(total_compared, 500u);
  EXPECT_EQ(total_agreed, total_compared);
}

}  // namespace
}  // namespace bw::symbols
