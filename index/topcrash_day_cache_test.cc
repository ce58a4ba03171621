#include "index/topcrash_day_cache.h"

#include <gtest/gtest.h>

namespace bw::index {
namespace {

std::shared_ptr<const TopcrashDayCache::Day> day(int64_t version, size_t rows) {
  auto d = std::make_shared<TopcrashDayCache::Day>();
  d->version = version;
  for (size_t i = 0; i < rows; ++i) d->rows.push_back({static_cast<int32_t>(i), 0, 0, 1});
  return d;
}

TEST(TopcrashDayCache, GivesADayOnlyAtTheVersionItWasStoredAt) {
  TopcrashDayCache cache;
  const TopcrashDayCache::Key key{"Firefox", 20000};
  EXPECT_EQ(cache.find(key, 1), nullptr);
  cache.store(key, day(7, 3));
  ASSERT_NE(cache.find(key, 7), nullptr);
  EXPECT_EQ(cache.find(key, 7)->rows.size(), 3u);
  // Versions are compared for equality: a lower one (a writer that committed later) is a miss too.
  EXPECT_EQ(cache.find(key, 8), nullptr);
  EXPECT_EQ(cache.find(key, 6), nullptr);
  EXPECT_EQ(cache.find({"Firefox", 20001}, 7), nullptr);
  EXPECT_EQ(cache.find({"Fenix", 20000}, 7), nullptr);
  cache.store(key, day(5, 2));
  EXPECT_EQ(cache.find(key, 7), nullptr);
  EXPECT_EQ(cache.find(key, 5)->rows.size(), 2u);
  EXPECT_EQ(cache.rows_held(), 2u);
}

TEST(TopcrashDayCache, DropsTheLeastRecentlyUsedDaysPastItsRowLimit) {
  TopcrashDayCache cache(10);
  cache.store({"p", 1}, day(1, 4));
  cache.store({"p", 2}, day(2, 4));
  ASSERT_NE(cache.find({"p", 1}, 1), nullptr);  // day 2 is now the least recently used
  cache.store({"p", 3}, day(3, 4));
  EXPECT_NE(cache.find({"p", 1}, 1), nullptr);
  EXPECT_EQ(cache.find({"p", 2}, 2), nullptr);
  EXPECT_NE(cache.find({"p", 3}, 3), nullptr);
  EXPECT_EQ(cache.rows_held(), 8u);
  // A day larger than the whole limit is not held, and does not push the others out.
  cache.store({"p", 4}, day(4, 11));
  EXPECT_EQ(cache.find({"p", 4}, 4), nullptr);
  EXPECT_EQ(cache.rows_held(), 8u);
  // A shared entry outlives its eviction.
  auto kept = cache.find({"p", 1}, 1);
  cache.store({"p", 5}, day(5, 10));
  EXPECT_EQ(cache.find({"p", 1}, 1), nullptr);
  EXPECT_EQ(kept->rows.size(), 4u);
  EXPECT_EQ(cache.rows_held(), 10u);
}

TEST(TopcrashDayCache, NamesPlatformsAndProcessTypesBySmallStableIds) {
  TopcrashDayCache cache;
  EXPECT_EQ(cache.known_name_id("Linux"), -1);
  const int32_t linux_id = cache.name_id("Linux");
  const int32_t windows_id = cache.name_id("Windows NT");
  EXPECT_NE(linux_id, windows_id);
  EXPECT_EQ(cache.name_id("Linux"), linux_id);
  EXPECT_EQ(cache.known_name_id("Windows NT"), windows_id);
  EXPECT_EQ(cache.name_of(linux_id), "Linux");
  EXPECT_EQ(cache.name_of(windows_id), "Windows NT");
  const int32_t content_id = cache.name_id("content");
  EXPECT_NE(content_id, linux_id);
  EXPECT_NE(content_id, windows_id);
  EXPECT_EQ(cache.name_of(content_id), "content");
}

}  // namespace
}  // namespace bw::index
