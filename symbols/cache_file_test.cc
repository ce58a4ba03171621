// The cache file refuses damage to its header, block table or size, and a .sym that changed since
// the cache was built; damage to its data is found when a lookup first reads the damaged block.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "symbols/module_symbols.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;

const fs::path kSym = fs::path(BW_TESTDATA_DIR) / "symbols" / "test_app.pdb" /
                      "5A9832E5287241C1838ED98914E9B7FF1" / "test_app.sym";

class CacheFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bw-cachefile-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::string error;
    parsed_ = ModuleSymbols::parse_file(kSym, &error);
    ASSERT_TRUE(parsed_) << error;
    stamp_ = *stamp_of(kSym);
    path_ = dir_ / "test_app.bwsymc";
    ASSERT_TRUE(parsed_->write_cache(path_, stamp_, &error)) << error;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void poke(uint64_t at, char value) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char old = 0;
    f.get(old);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(old ^ value));
  }
  std::string refusal(const std::optional<SourceStamp>& stamp) {
    std::string error;
    auto m = ModuleSymbols::load_cache(path_, stamp, &error);
    EXPECT_FALSE(m);
    return error;
  }

  fs::path dir_, path_;
  std::shared_ptr<const ModuleSymbols> parsed_;
  SourceStamp stamp_;
};

TEST_F(CacheFile, LoadsWhenIntact) {
  std::string error;
  auto m = ModuleSymbols::load_cache(path_, stamp_, &error);
  ASSERT_TRUE(m) << error;
  EXPECT_TRUE(m->same_content(*parsed_));
  EXPECT_EQ(m->info().debug_file, "test_app.pdb");
}

TEST_F(CacheFile, DataDamageIsFoundWhenReadAndTheFileRemoved) {
  poke(fs::file_size(path_) / 3, 0x01);
  std::string error;
  auto m = ModuleSymbols::load_cache(path_, stamp_, &error);  // the header is intact: it loads
  ASSERT_TRUE(m) << error;
  EXPECT_FALSE(m->damage_detected());
  EXPECT_FALSE(m->verify_cache());
  EXPECT_TRUE(m->damage_detected());
  EXPECT_FALSE(fs::exists(path_));  // so the next load parses the .sym again
  EXPECT_FALSE(ModuleSymbols::load_cache(path_, stamp_, &error));
}

TEST_F(CacheFile, LookupReadingADamagedBlockAnswersNothingOthersStillAnswer) {
  // Damage the bytes of one function's name: the lookup that reads them gives no answer.
  std::ifstream in(path_, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = bytes.find("CrashFunction");
  ASSERT_NE(at, std::string::npos);
  poke(at, 0x20);
  std::string error;
  auto m = ModuleSymbols::load_cache(path_, stamp_, &error);
  ASSERT_TRUE(m) << error;
  ASSERT_TRUE(parsed_->lookup(0x429e));
  EXPECT_FALSE(m->lookup(0x429e));
  EXPECT_TRUE(m->damage_detected());
  // Lookups that read only intact blocks still answer, and answer right.
  size_t answered = 0, damaged = 0;
  for (uint64_t off = 0x1000; off < 0x40000; off += 0x97) {
    auto want = parsed_->lookup(off);
    auto got = m->lookup(off);
    if (!want) continue;
    if (!got) {
      ++damaged;
      continue;
    }
    ++answered;
    EXPECT_EQ(got->function_name, want->function_name);
    EXPECT_EQ(got->source_line, want->source_line);
    EXPECT_EQ(got->source_file, want->source_file);
  }
  EXPECT_GT(answered, 0u);
  EXPECT_GT(damaged, 0u);
}

TEST_F(CacheFile, IntactFileVerifiesAndLoadsLazily) {
  std::string error;
  auto m = ModuleSymbols::load_cache(path_, stamp_, &error);
  ASSERT_TRUE(m) << error;
  EXPECT_TRUE(m->verify_cache());
  EXPECT_FALSE(m->damage_detected());
  EXPECT_TRUE(parsed_->verify_cache());  // a parsed module has nothing to verify
  EXPECT_FALSE(parsed_->damage_detected());
}

TEST_F(CacheFile, ConcurrentLookupsOnAFreshMappingAgreeWithTheParse) {
  // Many threads reach unverified blocks at once: each may hash a block, all must agree.
  std::string error;
  auto m = ModuleSymbols::load_cache(path_, stamp_, &error);
  ASSERT_TRUE(m) << error;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t off = 0x1000 + static_cast<uint64_t>(t) * 7; off < 0x40000; off += 0x3b) {
        auto want = parsed_->lookup(off);
        auto got = m->lookup(off);
        if (want.has_value() != got.has_value() ||
            (want && (want->function_name != got->function_name || want->source_line != got->source_line))) {
          ++mismatches;
        }
        if (parsed_->find_cfi(off).has_value() != m->find_cfi(off).has_value()) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_FALSE(m->damage_detected());
}

TEST_F(CacheFile, BlockTableDamageIsRefused) {
  poke(513, 0x04);  // the first entry of the block table, which follows the 512-byte header
  EXPECT_NE(refusal(stamp_).find("block table checksum"), std::string::npos);
}

TEST_F(CacheFile, HeaderDamageIsRefused) {
  poke(0, 0x20);
  EXPECT_NE(refusal(stamp_).find("not a symbol cache"), std::string::npos);
  poke(0, 0x20);
  poke(8, 0x02);  // version
  EXPECT_NE(refusal(stamp_).find("version"), std::string::npos);
  poke(8, 0x02);
  poke(100, 0x10);  // somewhere in the section table
  EXPECT_NE(refusal(stamp_).find("header checksum"), std::string::npos);
}

TEST_F(CacheFile, TruncationIsRefused) {
  fs::resize_file(path_, fs::file_size(path_) - 64);
  EXPECT_NE(refusal(stamp_).find("size mismatch"), std::string::npos);
  fs::resize_file(path_, 10);
  EXPECT_NE(refusal(stamp_).find("too small"), std::string::npos);
}

TEST_F(CacheFile, StaleSourceIsRefused) {
  SourceStamp other = stamp_;
  other.mtime_ns += 1;
  EXPECT_NE(refusal(other).find("another version"), std::string::npos);
  std::string error;
  EXPECT_TRUE(ModuleSymbols::load_cache(path_, std::nullopt, &error)) << error;
}

TEST_F(CacheFile, MissingFileAndGarbageAreRefused) {
  std::string error;
  EXPECT_FALSE(ModuleSymbols::load_cache(dir_ / "absent", stamp_, &error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << std::string(4096, 'x');
  EXPECT_NE(refusal(stamp_).find("not a symbol cache"), std::string::npos);
}

}  // namespace
}  // namespace bw::symbols
