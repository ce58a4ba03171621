// The agreement test: every corpus dump walked with the merged symbol store, compared frame by
// frame (module, function, source file, line) with Breakpad's machine output, and the JSON of the
// rust-minidump snapshots compared key by key.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "stackwalk/output.h"
#include "stackwalk/process.h"
#include "stackwalk/test_symbol_store.h"

namespace bw::stackwalk {
namespace {

namespace fs = std::filesystem;
const fs::path kTestdata = BW_TESTDATA_DIR;

// One frame line of the machine format: thread|frame|module|function|file|line|offset.
struct MachineFrame {
  std::string thread, frame, module, function, file, line;
};

std::vector<MachineFrame> machine_frames(const std::string& text) {
  std::vector<MachineFrame> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || !(line[0] >= '0' && line[0] <= '9')) continue;
    std::vector<std::string> f;
    size_t start = 0;
    while (true) {
      size_t bar = line.find('|', start);
      f.push_back(line.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    if (f.size() < 7) continue;
    out.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
  }
  return out;
}

struct Agreement {
  size_t fields = 0;
  size_t equal = 0;
  std::vector<std::string> first_differences;
  double percent() const { return fields == 0 ? 100.0 : 100.0 * static_cast<double>(equal) / static_cast<double>(fields); }
};

// Compares the frames Breakpad printed with ours, keyed by (thread, frame); a frame either side
// lacks counts as four differing fields.
Agreement compare_machine(const std::string& expected, const std::string& actual) {
  std::map<std::pair<std::string, std::string>, MachineFrame> ours;
  for (auto& f : machine_frames(actual)) ours[{f.thread, f.frame}] = f;
  Agreement a;
  auto note = [&](const std::string& s) {
    if (a.first_differences.size() < 12) a.first_differences.push_back(s);
  };
  std::map<std::pair<std::string, std::string>, bool> seen;
  for (auto& e : machine_frames(expected)) {
    a.fields += 4;
    auto it = ours.find({e.thread, e.frame});
    if (it == ours.end()) {
      note("missing frame " + e.thread + "|" + e.frame + " (" + e.module + "|" + e.function + ")");
      continue;
    }
    seen[{e.thread, e.frame}] = true;
    const MachineFrame& o = it->second;
    size_t eq = (e.module == o.module) + (e.function == o.function) + (e.file == o.file) + (e.line == o.line);
    a.equal += eq;
    if (eq != 4) {
      note(e.thread + "|" + e.frame + " expected " + e.module + "|" + e.function + "|" + e.file + "|" + e.line +
           " got " + o.module + "|" + o.function + "|" + o.file + "|" + o.line);
    }
  }
  for (auto& [key, f] : ours) {
    if (!seen.count(key)) {
      a.fields += 4;
      note("extra frame " + key.first + "|" + key.second + " (" + f.module + "|" + f.function + ")");
    }
  }
  return a;
}

std::vector<std::string> corpus_dumps() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kTestdata / "minidumps")) {
    std::string name = e.path().stem().string();
    if (fs::exists(kTestdata / "expected/breakpad" / (name + ".machine.txt"))) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class BreakpadAgreement : public ::testing::TestWithParam<std::string> {};

TEST_P(BreakpadAgreement, FramesMatchBreakpad) {
  const std::string name = GetParam();
  auto dump = minidump::Minidump::open(kTestdata / "minidumps" / (name + ".dmp"));
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  TestSymbolStore store({kTestdata / "symbols"});
  ProcessState state = process_minidump(*dump, &store);
  std::string ours = format_breakpad_machine(state);
  std::string expected = bw::fs::read_file(kTestdata / "expected/breakpad" / (name + ".machine.txt"));
  Agreement a = compare_machine(expected, ours);
  std::printf("[ agreement ] %-45s %7.2f %% (%zu of %zu fields)\n", name.c_str(), a.percent(), a.equal, a.fields);
  for (const auto& d : a.first_differences) std::printf("    %s\n", d.c_str());
  if (const char* out = std::getenv("BW_STACKWALK_DUMP_OUTPUT")) {
    std::ofstream(fs::path(out) / (name + ".machine.txt")) << ours;
    std::ofstream(fs::path(out) / (name + ".txt")) << format_breakpad_human(state);
  }
  EXPECT_EQ(a.equal, a.fields) << name << ": " << a.percent() << " % agreement with Breakpad";
}

INSTANTIATE_TEST_SUITE_P(Corpus, BreakpadAgreement, ::testing::ValuesIn(corpus_dumps()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace bw::stackwalk
