#include "core/crash_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace bw {
namespace {

TEST(CrashIdTest, ParsesTheDesignExample) {
  auto id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->throttle(), ThrottleResult::kAccept);
  EXPECT_EQ(id->date(), (CivilDate{2016, 9, 18}));
  EXPECT_EQ(id->date_folder(), "20160918");
  EXPECT_EQ(id->with_prefix(), "bp-de1bb258-cbbf-4589-a673-34f800160918");
}

TEST(CrashIdTest, StripsBpPrefix) {
  auto id = CrashId::parse("bp-de1bb258-cbbf-4589-a673-34f801160918");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->str(), "de1bb258-cbbf-4589-a673-34f801160918");
  EXPECT_EQ(id->throttle(), ThrottleResult::kDefer);
}

TEST(CrashIdTest, GeneratesValidIdsWithDateAndThrottle) {
  using namespace std::chrono;
  auto when = sys_days{year{2024} / February / 29} + hours{23} + minutes{59};
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = CrashId::generate(i % 2 ? ThrottleResult::kDefer : ThrottleResult::kAccept, when);
    auto again = CrashId::parse(id.str());
    ASSERT_TRUE(again) << id.str();
    EXPECT_EQ(again->date(), (CivilDate{2024, 2, 29}));
    EXPECT_EQ(again->throttle(), i % 2 ? ThrottleResult::kDefer : ThrottleResult::kAccept);
    EXPECT_EQ(id.str()[14], '4') << "version nibble";
    seen.insert(id.str());
  }
  EXPECT_EQ(seen.size(), 1000u);
}

struct Malformed {
  std::string text;
  std::string reason_part;
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << '"' << m.text << '"'; }

class CrashIdMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(CrashIdMalformedTest, Refused) {
  std::string why;
  EXPECT_FALSE(CrashId::parse(GetParam().text, &why)) << GetParam().text;
  EXPECT_NE(why.find(GetParam().reason_part), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(
    AllShapes, CrashIdMalformedTest,
    ::testing::Values(
        Malformed{"", "wrong length"},
        Malformed{"de1bb258-cbbf-4589-a673-34f80016091", "wrong length"},
        Malformed{"de1bb258-cbbf-4589-a673-34f8001609188", "wrong length"},
        Malformed{"DE1BB258-cbbf-4589-a673-34f800160918", "lowercase hex"},
        Malformed{"de1bb258-cbbf-4589-A673-34f800160918", "lowercase hex"},
        Malformed{"de1bb258-cbbf-4589-a673-34f800991332", "bad date 991332"},
        Malformed{"de1bb258-cbbf-4589-a673-34f800230229", "bad date 230229"},  // not a leap year
        Malformed{"de1bb258-cbbf-4589-a673-34f800160000", "bad date"},
        Malformed{"de1bb258-cbbf-4589-a673-34f800161301", "bad date"},
        Malformed{"de1bb258-cbbf-4589-a673-34f8001609a8", "digits"},
        Malformed{"de1bb258-cbbf-4589-a673-34f802160918", "throttle digit"},
        Malformed{"de1bb258_cbbf-4589-a673-34f800160918", "expected '-'"},
        Malformed{"de1bb258-cbbf-4589-a673-34f8001609-8", "digits"},
        Malformed{"../../../../etc/passwd/aaaaaaaaaaaaa", "lowercase hex at 0"},
        Malformed{"de1bb258-cbbf-4589-a673-34/800160918", "lowercase hex"},
        Malformed{"de1bb258-cbbf-4589-a673-34.800160918", "lowercase hex"},
        Malformed{std::string("de1bb258-cbbf-4589-a673-34f8\0" "0160918", 36), "lowercase hex"},
        Malformed{"bp-bp-de1bb258-cbbf-4589-a673-34f800160918", "wrong length"},
        Malformed{"BP-de1bb258-cbbf-4589-a673-34f800160918", "wrong length"},
        Malformed{" de1bb258-cbbf-4589-a673-34f80016091", "lowercase hex"},
        Malformed{"gd1bb258-cbbf-4589-a673-34f800160918", "lowercase hex"}),
    [](const ::testing::TestParamInfo<Malformed>& param) { return "case" + std::to_string(param.index); });

TEST(CrashIdTest, LeapDayAccepted) {
  EXPECT_TRUE(CrashId::parse("de1bb258-cbbf-4589-a673-34f800240229"));
  EXPECT_TRUE(CrashId::parse("de1bb258-cbbf-4589-a673-34f800000229"));  // 2000 was a leap year
}

TEST(CrashIdTest, CivilDateRules) {
  EXPECT_TRUE(is_valid_civil_date(2024, 2, 29));
  EXPECT_FALSE(is_valid_civil_date(2100, 2, 29));
  EXPECT_FALSE(is_valid_civil_date(2023, 4, 31));
  EXPECT_TRUE(is_valid_civil_date(2023, 12, 31));
  EXPECT_FALSE(is_valid_civil_date(2023, 0, 1));
}

}  // namespace
}  // namespace bw
