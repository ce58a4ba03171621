// Hostile input: the fuzzer finds, truncated and bit-flipped copies of every corpus dump, and
// garbage symbol files must give a clean error or a partial result — never a crash or a hang.
// (Run under ASan/UBSan in the sanitize build; the processor also bounds time per crash.)
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "stackwalk/output.h"
#include "stackwalk/process.h"
#include "stackwalk/test_symbol_store.h"

namespace bw::stackwalk {
namespace {

namespace fs = std::filesystem;
const fs::path kTestdata = BW_TESTDATA_DIR;

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Reads and walks a dump from bytes and renders every format; returns whether it was readable.
bool process_everything(const std::vector<uint8_t>& bytes, symbols::SymbolSupplier* supplier) {
  auto dump = minidump::Minidump::from_bytes(std::span<const uint8_t>(bytes));
  if (!dump.ok()) {
    EXPECT_FALSE(dump.error().reason.empty());
    return false;
  }
  ProcessState state = process_minidump(*dump, supplier);
  std::string human = format_breakpad_human(state);
  std::string machine = format_breakpad_machine(state);
  std::string json = to_json(state).dump();
  EXPECT_FALSE(human.empty());
  EXPECT_FALSE(machine.empty());
  EXPECT_FALSE(json.empty());
  for (const auto& t : state.threads) EXPECT_LE(t.stack.frames.size(), WalkLimits{}.max_frames);
  return true;
}

std::vector<fs::path> corpus() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kTestdata / "minidumps")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(HostileInput, FuzzerFindsGiveCleanResults) {
  TestSymbolStore store({kTestdata / "symbols"});
  for (const char* name : {"invalid-range.dmp", "invalid-record-count.dmp"}) {
    auto bytes = read_bytes(kTestdata / "minidumps" / name);
    ASSERT_FALSE(bytes.empty()) << name;
    process_everything(bytes, &store);
  }
}

TEST(HostileInput, TruncatedDumps) {
  TestSymbolStore store({kTestdata / "symbols"});
  for (const auto& path : corpus()) {
    auto bytes = read_bytes(path);
    for (double fraction : {0.0, 0.01, 0.1, 0.35, 0.6, 0.9, 0.999}) {
      std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(static_cast<double>(bytes.size()) * fraction));
      SCOPED_TRACE(path.filename().string() + " cut to " + std::to_string(cut.size()));
      process_everything(cut, &store);
    }
  }
}

TEST(HostileInput, BitFlippedDumps) {
  TestSymbolStore store({kTestdata / "symbols"});
  std::mt19937_64 rng(20240611);  // fixed seed: failures reproduce
  for (const auto& path : corpus()) {
    auto bytes = read_bytes(path);
    if (bytes.empty()) continue;
    for (int variant = 0; variant < 6; ++variant) {
      auto flipped = bytes;
      // Flips concentrated in the first 4 KiB (header, directory, stream headers, contexts) and
      // some anywhere.
      for (int i = 0; i < 24; ++i) {
        size_t limit = i % 2 == 0 ? std::min<size_t>(flipped.size(), 4096) : flipped.size();
        size_t at = static_cast<size_t>(rng() % limit);
        flipped[at] ^= static_cast<uint8_t>(1U << (rng() % 8));
      }
      SCOPED_TRACE(path.filename().string() + " variant " + std::to_string(variant));
      process_everything(flipped, &store);
    }
  }
}

TEST(HostileInput, GarbageSymbolFilesGivePartialResults) {
  // test.dmp's main module, with a .sym that is mostly garbage but keeps a few good records.
  fs::path root = fs::temp_directory_path() / ("bw-stackwalk-garbage-" + std::to_string(::getpid()));
  fs::path dir = root / "test_app.pdb" / "5A9832E5287241C1838ED98914E9B7FF1";
  fs::create_directories(dir);
  {
    std::ofstream sym(dir / "test_app.sym", std::ios::binary);
    sym << "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test_app.pdb\n";
    sym << "FUNC zz 12 0 broken\nFUNC 4290 -5 0 negative\nSTACK CFI INIT 4290 x .cfa: $esp\n";
    sym << "STACK WIN 4 4290 18 4 0 0 0 4 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 +\n";
    sym << "STACK CFI 4291 .cfa: $esp 1 0 / .ra: 99999999999999999999999\n";
    std::mt19937 rng(7);
    for (int i = 0; i < 4000; ++i) sym << static_cast<char>(rng() % 256);
    sym << "\nFUNC 4290 18 0 `anonymous namespace'::CrashFunction\n4290 18 58 0\nFILE 0 c:\\test_app.cc\n";
  }
  auto bytes = read_bytes(kTestdata / "minidumps" / "test.dmp");
  TestSymbolStore store({root});
  auto dump = minidump::Minidump::from_bytes(std::span<const uint8_t>(bytes));
  ASSERT_TRUE(dump.ok());
  ProcessState state = process_minidump(*dump, &store);
  ASSERT_TRUE(state.crashing_thread);
  const auto& frames = state.threads[*state.crashing_thread].stack.frames;
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].trust, FrameTrust::kContext);
  EXPECT_TRUE(state.module_symbols[0].corrupt());
  nlohmann::json j = to_json(state);
  EXPECT_EQ(j["modules"][0]["corrupt_symbols"], true);
  EXPECT_NE(format_breakpad_human(state).find("WARNING: Corrupt symbols"), std::string::npos);
  fs::remove_all(root);
}

}  // namespace
}  // namespace bw::stackwalk
