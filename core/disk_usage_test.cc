// measure_disk_usage on real files: allocated bytes and regular files counted, symbolic links
// neither followed nor counted as their targets, a missing root empty.
#include "core/disk_usage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "core/temp_dir.h"

namespace bw {
namespace {

using test_support::TempDir;
namespace fsys = std::filesystem;

void write_file(const fsys::path& path, size_t size) {
  fsys::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << std::string(size, 'x');
}

TEST(DiskUsage, MissingRootIsEmpty) {
  TempDir dir;
  DiskUsage u = measure_disk_usage(dir.path() / "not-made-yet");
  EXPECT_EQ(u.bytes, 0u);
  EXPECT_EQ(u.files, 0u);
}

TEST(DiskUsage, CountsRegularFilesInEveryFolder) {
  TempDir dir;
  write_file(dir.path() / "a.json", 100'000);
  write_file(dir.path() / "20261206" / "ab" / "c.dmp", 300'000);
  write_file(dir.path() / "20261206" / "ab" / "d" / "e" / "f.json", 10);
  fsys::create_directories(dir.path() / "empty" / "folder");
  DiskUsage u = measure_disk_usage(dir.path());
  EXPECT_EQ(u.files, 3u);
  EXPECT_GE(u.bytes, 400'010u) << "allocated space covers the contents";
  EXPECT_LT(u.bytes, 400'010u + 3 * 1024 * 1024u) << "and is not wildly more";
}

TEST(DiskUsage, SymbolicLinksAreNotFollowed) {
  TempDir dir;
  TempDir elsewhere;
  write_file(elsewhere.path() / "big.dmp", 1'000'000);
  write_file(dir.path() / "small.json", 10);
  fsys::create_symlink(elsewhere.path() / "big.dmp", dir.path() / "link-to-file");
  fsys::create_directory_symlink(elsewhere.path(), dir.path() / "link-to-folder");
  DiskUsage u = measure_disk_usage(dir.path());
  EXPECT_EQ(u.files, 1u);
  EXPECT_LT(u.bytes, 1'000'000u);
}

TEST(DiskUsage, SparseFileCountsWhatIsAllocated) {
  TempDir dir;
  auto path = dir.path() / "sparse";
  write_file(path, 1);
  fsys::resize_file(path, uint64_t{1} << 30);  // a gibibyte long, one block written
  DiskUsage u = measure_disk_usage(dir.path());
  EXPECT_EQ(u.files, 1u);
  EXPECT_LT(u.bytes, 16u * 1024 * 1024) << "du counts blocks, not lengths";
}

TEST(DiskUsage, RootThatIsAFileIsThatFile) {
  TempDir dir;
  write_file(dir.path() / "crashes.sqlite", 50'000);
  DiskUsage u = measure_disk_usage(dir.path() / "crashes.sqlite");
  EXPECT_EQ(u.files, 1u);
  EXPECT_GE(u.bytes, 50'000u);
}

TEST(DiskUsage, StopEndsTheWalkEarly) {
  TempDir dir;
  for (int i = 0; i < 10; ++i) write_file(dir.path() / std::to_string(i) / "f", 10);
  int asked = 0;
  DiskUsage u = measure_disk_usage(dir.path(), [&] { return ++asked > 3; });
  EXPECT_EQ(asked, 4);
  EXPECT_EQ(u.files, 2u) << "the root and two of its folders were read: one file in each folder";
  EXPECT_EQ(measure_disk_usage(dir.path(), [] { return false; }).files, 10u);
}

TEST(DiskUsage, UnreadableFolderIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every folder";
  TempDir dir;
  write_file(dir.path() / "locked" / "x", 10);
  fsys::permissions(dir.path() / "locked", fsys::perms::none);
  EXPECT_THROW(measure_disk_usage(dir.path()), fsys::filesystem_error);
  fsys::permissions(dir.path() / "locked", fsys::perms::owner_all);
}

}  // namespace
}  // namespace bw
