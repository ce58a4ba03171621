#include "core/timestamp.h"

#include <gtest/gtest.h>

namespace bw {
namespace {

TEST(Iso, ParsesCollectorTimestampsAndRefusesOthers) {
  EXPECT_EQ(parse_iso_seconds("2016-09-18T10:00:00.123456+00:00"), 1474192800);
  EXPECT_EQ(parse_iso_seconds("2016-09-18T10:00:00Z"), 1474192800);
  EXPECT_EQ(parse_iso_seconds("2016-09-18T10:00:00"), 1474192800);
  EXPECT_FALSE(parse_iso_seconds("2016-09-18T10:00:00+02:00"));
  EXPECT_FALSE(parse_iso_seconds("2016-13-18T10:00:00Z"));
  EXPECT_FALSE(parse_iso_seconds("2016-09-18T10:00:00."));
  EXPECT_FALSE(parse_iso_seconds("yesterday"));
  EXPECT_EQ(iso_from_seconds(1474192800), "2016-09-18T10:00:00+00:00");
}

TEST(Iso, TimestampsCarryMicroseconds) {
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1474192800'000042LL));
  EXPECT_EQ(iso_timestamp(t), "2016-09-18T10:00:00.000042+00:00");
  EXPECT_EQ(parse_iso_seconds(iso_timestamp(t)), 1474192800);
}

}  // namespace
}  // namespace bw
