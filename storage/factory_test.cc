#include "storage/factory.h"

#include <gtest/gtest.h>

#include "storage/storage_test_util.h"

namespace bw::storage {
namespace {

TEST(StorageFactoryTest, RootsDefaultToFoldersUnderTheDataFolder) {
  Config::Sources sources;
  sources.overrides = {{"server.data", "/srv/bw"}};
  auto roots = storage_roots(Config::load(sources));
  EXPECT_EQ(roots.collector, std::filesystem::path("/srv/bw/collector"));
  EXPECT_EQ(roots.standard, std::filesystem::path("/srv/bw/crashes/standard"));
  EXPECT_EQ(roots.deferred, std::filesystem::path("/srv/bw/crashes/deferred"));
  EXPECT_EQ(roots.processed, std::filesystem::path("/srv/bw/crashes/processed"));
}

TEST(StorageFactoryTest, EachRootCanBeSetAlone) {
  Config::Sources sources;
  sources.overrides = {{"storage.collector_root", "/fast/buffer"}, {"storage.processed_root", "/big/processed"}};
  sources.environment = {{"BREAKWATER_STORAGE_DEFERRED_ROOT", "/cold/deferred"}};
  auto roots = storage_roots(Config::load(sources));
  EXPECT_EQ(roots.collector, std::filesystem::path("/fast/buffer"));
  EXPECT_EQ(roots.deferred, std::filesystem::path("/cold/deferred"));
  EXPECT_EQ(roots.processed, std::filesystem::path("/big/processed"));
  EXPECT_EQ(roots.standard, std::filesystem::path("./var/crashes/standard"));
}

TEST(StorageFactoryTest, BuiltStoragesWriteUnderTheirRoots) {
  testing::TempDir dir;
  Config::Sources sources;
  sources.overrides = {{"server.data", dir.path().string()}};
  auto config = Config::load(sources);
  auto buffer = make_collector_buffer(config);
  auto primary = make_primary_storage(config);
  auto id = testing::accepted_id();
  buffer->save_raw_crash(id, {{"a", 1}}, {});
  EXPECT_TRUE(std::filesystem::is_directory(dir / "collector" / id.date_folder()));
  primary->save_raw_crash(id, buffer->get_raw_crash(id), {});
  primary->save_processed(id, {{"p", 1}});
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "crashes" / "standard" / id.date_folder()));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "crashes" / "processed" / id.date_folder()));
  EXPECT_EQ(buffer->claim_new_crash(), id);
  // The queue, not a date tree, says what awaits processing in primary storage.
  EXPECT_TRUE(primary->new_crashes(10).empty());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "crashes" / "standard" / id.date_folder() / "date"));
}

TEST(StorageFactoryTest, ProcessedRootMustNotBeARawRoot) {
  Config::Sources sources;
  sources.overrides = {{"storage.standard_root", "/x/crashes"}, {"storage.processed_root", "/x/crashes"}};
  EXPECT_THROW(make_primary_storage(Config::load(sources)), std::invalid_argument);
}

}  // namespace
}  // namespace bw::storage
