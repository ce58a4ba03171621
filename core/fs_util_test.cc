#include "core/fs_util.h"

#include <gtest/gtest.h>

#include <system_error>

namespace bw::fs {
namespace {

TEST(FsUtilTest, AtomicWriteReplacesWholeFile) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-fs-" + unique_temp_name());
  create_directories_durably(dir / "a" / "b");
  auto file = dir / "a" / "b" / "f.json";
  write_file_atomically(file, "first");
  write_file_atomically(file, std::string(100000, 'x'));
  EXPECT_EQ(read_file(file), std::string(100000, 'x'));
  // No temporary files are left behind.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir / "a" / "b")) ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_GT(free_bytes(dir), 0u);
  std::filesystem::remove_all(dir);
}

TEST(FsUtilTest, ReadingAMissingFileThrowsEnoent) {
  try {
    read_file("/nonexistent/bw/file");
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
}

TEST(FsUtilTest, CreateDirectoriesOverAFileFails) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-fs-" + unique_temp_name());
  create_directories_durably(dir);
  write_file_synced(dir / "file", "x");
  EXPECT_THROW(create_directories_durably(dir / "file" / "sub"), std::system_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bw::fs
