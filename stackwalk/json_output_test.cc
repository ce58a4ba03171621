// The JSON for the rust-minidump snapshot dumps, compared key by key with
// expected/rust-minidump/<dump>.json (made with symbols-rust-minidump/ only). The differences we
// accept are listed here and explained in docs/stackwalk.md; anything else fails.
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stackwalk/output.h"
#include "stackwalk/process.h"
#include "stackwalk/test_symbol_store.h"

namespace bw::stackwalk {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const fs::path kTestdata = BW_TESTDATA_DIR;

// Paths (with array indices replaced by []) whose values may differ, each for a documented reason.
const std::vector<std::string> kAcceptedDifferences = {
    // rust-minidump disassembles the crashing instruction and guesses bit flips; we do not.
    "/crash_info/instruction",
    "/crash_info/memory_accesses",
    "/crash_info/possible_bit_flips",
    // A rust-minidump-writer stream of the writer's own errors, not read by our reader.
    "/soft_errors",
    // rust-minidump leaves a module's missing_symbols false for linux-mini's ELF modules although
    // its own frames in them say missing_symbols: true; ours agrees with the frames.
    "/modules/[]/missing_symbols",
};

std::string generic_path(const std::string& path) {
  static const std::regex index("/[0-9]+(?=/|$)");
  return std::regex_replace(path, index, "/[]");
}

void diff(const json& expected, const json& actual, const std::string& path, std::vector<std::string>& out) {
  if (expected.is_object() && actual.is_object()) {
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      std::string p = path + "/" + it.key();
      if (!actual.contains(it.key())) {
        out.push_back(p + " missing");
        continue;
      }
      diff(it.value(), actual.at(it.key()), p, out);
    }
    for (auto it = actual.begin(); it != actual.end(); ++it) {
      if (!expected.contains(it.key())) out.push_back(path + "/" + it.key() + " extra");
    }
    return;
  }
  if (expected.is_array() && actual.is_array()) {
    if (expected.size() != actual.size()) {
      out.push_back(path + " has " + std::to_string(actual.size()) + " items, expected " +
                    std::to_string(expected.size()));
    }
    for (size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
      diff(expected[i], actual[i], path + "/" + std::to_string(i), out);
    }
    return;
  }
  if (expected != actual) out.push_back(path + ": expected " + expected.dump() + " got " + actual.dump());
}

class RustMinidumpJson : public ::testing::TestWithParam<std::string> {};

TEST_P(RustMinidumpJson, MatchesSnapshot) {
  const std::string name = GetParam();
  auto dump = minidump::Minidump::open(kTestdata / "minidumps" / (name + ".dmp"));
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  TestSymbolStore store({kTestdata / "symbols-rust-minidump"});
  ProcessState state = process_minidump(*dump, &store);
  json actual = to_json(state);
  json expected = json::parse(std::ifstream(kTestdata / "expected/rust-minidump" / (name + ".json")));
  std::vector<std::string> differences;
  diff(expected, actual, "", differences);
  size_t unexpected = 0;
  for (const auto& d : differences) {
    std::string key = generic_path(d.substr(0, d.find_first_of(" :")));
    bool accepted = false;
    for (const auto& a : kAcceptedDifferences) {
      if (key == a || key.rfind(a + "/", 0) == 0) accepted = true;
    }
    if (!accepted) {
      ++unexpected;
      ADD_FAILURE() << name << ": " << d;
    }
  }
  std::printf("[ json ] %-30s %zu differences, %zu of them documented\n", name.c_str(), differences.size(),
              differences.size() - unexpected);
}

INSTANTIATE_TEST_SUITE_P(Snapshots, RustMinidumpJson,
                         ::testing::Values("test", "linux-mini", "pipeline-inlines-macos-segv"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace bw::stackwalk
