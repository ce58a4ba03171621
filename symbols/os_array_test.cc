// OsArray: growth across the heap / mapped boundary keeps every record, shrinking gives memory
// back, moves transfer ownership.
#include "symbols/os_array.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>

namespace bw::symbols::compact {
namespace {

struct Rec {
  uint64_t a;
  uint32_t b;
  uint32_t c;
};

TEST(OsArray, GrowsFromHeapIntoMappedMemoryKeepingRecords) {
  OsArray<Rec> arr;
  EXPECT_TRUE(arr.empty());
  EXPECT_EQ(arr.capacity_bytes(), 0u);
  constexpr size_t kCount = 200000;  // 3.2 MB: well past the heap limit
  for (size_t i = 0; i < kCount; ++i) arr.push_back(Rec{i, static_cast<uint32_t>(i * 3), 7});
  ASSERT_EQ(arr.size(), kCount);
  EXPECT_GE(arr.capacity_bytes(), kCount * sizeof(Rec));
  for (size_t i = 0; i < kCount; i += 997) {
    EXPECT_EQ(arr[i].a, i);
    EXPECT_EQ(arr[i].b, i * 3);
  }
  EXPECT_EQ(arr.back().a, kCount - 1);
  EXPECT_EQ(arr.span().size(), kCount);
}

TEST(OsArray, ShrinkGivesPagesBackAndGrowZeroFills) {
  OsArray<Rec> arr;
  for (size_t i = 0; i < 100000; ++i) arr.push_back(Rec{i, 1, 2});
  size_t big = arr.capacity_bytes();
  arr.resize(10);
  EXPECT_EQ(arr.size(), 10u);
  EXPECT_LT(arr.capacity_bytes(), big);
  EXPECT_EQ(arr[9].a, 9u);
  arr.resize(20);
  EXPECT_EQ(arr[19].a, 0u);
  EXPECT_EQ(arr[19].b, 0u);
  EXPECT_EQ(arr[9].a, 9u);

  OsArray<Rec> small;
  for (size_t i = 0; i < 100; ++i) small.push_back(Rec{i, 0, 0});
  small.shrink_to_fit();
  EXPECT_EQ(small.capacity_bytes(), 100 * sizeof(Rec));
  EXPECT_EQ(small[99].a, 99u);
  small.clear();
  small.shrink_to_fit();
  EXPECT_EQ(small.capacity_bytes(), 0u);
}

TEST(OsArray, AppendAndMove) {
  OsArray<char> blob;
  std::string_view hello = "hello ";
  for (int i = 0; i < 100000; ++i) blob.append(hello.data(), hello.size());
  EXPECT_EQ(blob.size(), 600000u);
  EXPECT_EQ(std::string_view(blob.data() + 599994, 6), hello);
  OsArray<char> moved = std::move(blob);
  EXPECT_EQ(moved.size(), 600000u);
  EXPECT_EQ(blob.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(blob.data(), nullptr);
  OsArray<char> assigned;
  assigned.append("x", 1);
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), 600000u);
  EXPECT_EQ(assigned[6], 'h');
}

}  // namespace
}  // namespace bw::symbols::compact
