// The cache file refuses every kind of damage: wrong magic, version, header or payload bytes,
// truncation, and a .sym that changed since the cache was built.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

TEST_F(CacheFile, PayloadByteFlipIsRefused) {
  for (uint64_t at : {fs::file_size(path_) / 3, fs::file_size(path_) - 1}) {
    poke(at, 0x01);
    EXPECT_NE(refusal(stamp_).find("payload checksum"), std::string::npos);
    poke(at, 0x01);  // restore
  }
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
