// What the compositions add on top of the shared behaviour (crash_storage_test.cc): where saves
// go, what happens when a store fails, and where reads come from.
#include "storage/compositions.h"

#include <gtest/gtest.h>

#include "storage/fs_crash_storage.h"
#include "storage/memory_crash_storage.h"
#include "storage/storage_test_util.h"

namespace bw::storage {
namespace {

using testing::accepted_id;
using testing::deferred_id;
using testing::TempDir;

// A real store that cannot write: its root is under a regular file.
std::shared_ptr<CrashStorage> broken_store(const TempDir& dir) {
  fs::write_file_synced(dir / "file", "x");
  return std::make_shared<FileSystemCrashStorage>(dir / "file" / "s", dir / "file" / "d", dir / "file" / "p");
}

TEST(PolyCrashStorageTest, SavesToEveryStoreAndReadsFromTheFirst) {
  auto a = std::make_shared<MemoryCrashStorage>(), b = std::make_shared<MemoryCrashStorage>();
  PolyCrashStorage poly({a, b});
  auto id = accepted_id();
  poly.save_raw_crash(id, {{"v", 1}}, {{"upload_file_minidump", std::string("d")}});
  poly.save_processed(id, {{"p", 1}});
  EXPECT_TRUE(a->has_raw_crash(id));
  EXPECT_TRUE(b->has_raw_crash(id));
  EXPECT_EQ(b->get_processed(id)["p"], 1);
  a->remove(id);
  EXPECT_THROW(poly.get_raw_crash(id), CrashNotFound);  // reads only the first
  poly.remove(id);                                      // still in b: not an error
  EXPECT_FALSE(b->has_raw_crash(id));
  EXPECT_THROW(poly.remove(id), CrashNotFound);
  EXPECT_THROW(PolyCrashStorage({}), std::invalid_argument);
}

TEST(PolyCrashStorageTest, AFailingStoreDoesNotStopTheOthersButTheErrorIsReported) {
  TempDir dir;
  auto good = std::make_shared<MemoryCrashStorage>();
  PolyCrashStorage poly({broken_store(dir), good});
  auto id = accepted_id();
  EXPECT_THROW(poly.save_raw_crash(id, {{"v", 1}}, {}), TransientStorageError);
  EXPECT_TRUE(good->has_raw_crash(id));
}

TEST(FallbackCrashStorageTest, SavesToTheFallbackOnlyWhenThePrimaryFails) {
  TempDir dir;
  auto primary = std::make_shared<MemoryCrashStorage>(), fallback = std::make_shared<MemoryCrashStorage>();
  FallbackCrashStorage store(primary, fallback);
  auto id = accepted_id();
  store.save_raw_crash(id, {{"v", 1}}, {});
  EXPECT_TRUE(primary->has_raw_crash(id));
  EXPECT_FALSE(fallback->has_raw_crash(id));

  auto spare = std::make_shared<MemoryCrashStorage>();
  FallbackCrashStorage failing(broken_store(dir), spare);
  auto id2 = accepted_id();
  failing.save_raw_crash(id2, {{"v", 2}}, {{"upload_file_minidump", std::string("d")}});
  failing.save_processed(id2, {{"p", 2}});
  EXPECT_TRUE(spare->has_raw_crash(id2));
  EXPECT_EQ(failing.get_raw_crash(id2)["v"], 2);  // read falls through to the fallback
  EXPECT_EQ(failing.get_dump(id2, "upload_file_minidump"), "d");
  EXPECT_EQ(failing.get_processed(id2)["p"], 2);
  EXPECT_EQ(failing.claim_new_crash(), id2);
  // A caller error is not retried on the fallback.
  EXPECT_THROW(failing.save_raw_crash(accepted_id(), {}, {{"../x", std::string("d")}}), std::invalid_argument);
  EXPECT_EQ(spare->size(), 1u);
}

TEST(PrimaryDeferredCrashStorageTest, RoutesByTheThrottleDigit) {
  auto primary = std::make_shared<MemoryCrashStorage>(), deferred = std::make_shared<MemoryCrashStorage>();
  PrimaryDeferredCrashStorage store(primary, deferred);
  auto a = accepted_id(), d = deferred_id();
  store.save_raw_crash(a, {{"v", "a"}}, {});
  store.save_raw_crash(d, {{"v", "d"}}, {});
  EXPECT_TRUE(primary->has_raw_crash(a));
  EXPECT_FALSE(deferred->has_raw_crash(a));
  EXPECT_TRUE(deferred->has_raw_crash(d));
  EXPECT_FALSE(primary->has_raw_crash(d));
  EXPECT_EQ(store.get_raw_crash(d)["v"], "d");
  store.save_processed(d, {{"p", 1}});  // processed crashes go to the primary
  EXPECT_EQ(primary->get_processed(d)["p"], 1);
  EXPECT_EQ(store.get_processed(d)["p"], 1);
  EXPECT_EQ(store.new_crashes(10), (std::vector<CrashId>{a, d}));
}

}  // namespace
}  // namespace bw::storage
