#include "collector/throttler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace bw::collector {
namespace {

using A = ThrottleAction;

ThrottleRule rule_from(const std::string& toml_text) {
  auto table = toml::parse(toml_text);
  return ThrottleRule::from_toml(table);
}

ThrottleDecision decide(const std::vector<std::string>& rules, const nlohmann::json& crash, A def = A::kAccept) {
  std::vector<ThrottleRule> parsed;
  for (const auto& r : rules) parsed.push_back(rule_from(r));
  return Throttler(parsed, def).decide(crash);
}

TEST(ThrottlerTest, EqualsAndNotEquals) {
  std::vector<std::string> rules = {R"(name = "nightly"
key = "ReleaseChannel"
condition = "equals"
value = "nightly"
result = "DEFER")"};
  EXPECT_EQ(decide(rules, {{"ReleaseChannel", "nightly"}}).action, A::kDefer);
  EXPECT_EQ(decide(rules, {{"ReleaseChannel", "nightly"}}).rule, "nightly");
  EXPECT_EQ(decide(rules, {{"ReleaseChannel", "release"}}).action, A::kAccept);
  EXPECT_EQ(decide(rules, {{"ReleaseChannel", "release"}}).rule, "default");
  rules = {R"(name = "not_firefox"
key = "ProductName"
condition = "not_equals"
value = "Firefox"
result = "REJECT")"};
  EXPECT_EQ(decide(rules, {{"ProductName", "Thunderbird"}}).action, A::kReject);
  EXPECT_EQ(decide(rules, {{"Other", "x"}}).action, A::kReject);  // missing is "not equal"
  EXPECT_EQ(decide(rules, {{"ProductName", "Firefox"}}).action, A::kAccept);
}

TEST(ThrottlerTest, RegexSearchesAndIsBounded) {
  std::vector<std::string> rules = {R"(name = "b2g"
key = "ProductName"
condition = "regex"
value = "^(B2G|Fennec)$"
result = "REJECT")"};
  EXPECT_EQ(decide(rules, {{"ProductName", "B2G"}}).action, A::kReject);
  EXPECT_EQ(decide(rules, {{"ProductName", "B2Gx"}}).action, A::kAccept);
  std::vector<std::string> anywhere = {R"(name = "oom"
key = "Notes"
condition = "regex"
value = "OOM"
result = "DEFER")"};
  EXPECT_EQ(decide(anywhere, {{"Notes", "xx OOM yy"}}).action, A::kDefer);
  EXPECT_EQ(decide(anywhere, {{"Notes", std::string(20000, 'a') + "OOM"}}).action, A::kAccept);  // over 10 KiB: no match
}

TEST(ThrottlerTest, ExistsAndAbsent) {
  std::vector<std::string> exists = {R"(name = "has_email"
key = "Email"
condition = "exists"
result = "FAKEACCEPT")"};
  EXPECT_EQ(decide(exists, {{"Email", "a@b"}}).action, A::kFakeAccept);
  EXPECT_EQ(decide(exists, {{"Email", ""}}).action, A::kAccept);
  EXPECT_EQ(decide(exists, {{"Other", "1"}}).action, A::kAccept);
  std::vector<std::string> absent = {R"(name = "no_product"
key = "ProductName"
condition = "absent"
result = "REJECT")"};
  EXPECT_EQ(decide(absent, {{"Other", "1"}}).action, A::kReject);
  EXPECT_EQ(decide(absent, {{"ProductName", ""}}).action, A::kReject);
  EXPECT_EQ(decide(absent, {{"ProductName", "Firefox"}}).action, A::kAccept);
}

TEST(ThrottlerTest, VersionComparisons) {
  EXPECT_LT(compare_versions("120.0b3", "120.0"), 0);
  EXPECT_LT(compare_versions("120.0a1", "120.0b1"), 0);
  EXPECT_LT(compare_versions("9.0", "10.0"), 0);
  EXPECT_EQ(compare_versions("120", "120.0.0"), 0);
  EXPECT_GT(compare_versions("120.0.1", "120.0"), 0);
  auto rule = [](const char* cond) {
    return std::vector<std::string>{std::string("name = \"r\"\nkey = \"Version\"\ncondition = \"") + cond +
                                    "\"\nvalue = \"100.0\"\nresult = \"REJECT\""};
  };
  EXPECT_EQ(decide(rule("version_lt"), {{"Version", "99.0.1"}}).action, A::kReject);
  EXPECT_EQ(decide(rule("version_lt"), {{"Version", "100.0"}}).action, A::kAccept);
  EXPECT_EQ(decide(rule("version_le"), {{"Version", "100.0"}}).action, A::kReject);
  EXPECT_EQ(decide(rule("version_gt"), {{"Version", "100.0.1"}}).action, A::kReject);
  EXPECT_EQ(decide(rule("version_gt"), {{"Version", "100.0b2"}}).action, A::kAccept);
  EXPECT_EQ(decide(rule("version_ge"), {{"Version", "100"}}).action, A::kReject);
  EXPECT_EQ(decide(rule("version_eq"), {{"Version", "100.0.0"}}).action, A::kReject);
  EXPECT_EQ(decide(rule("version_eq"), {{"Other", "1"}}).action, A::kAccept);  // missing never compares
}

TEST(ThrottlerTest, StarAlwaysAndFirstMatchWins) {
  std::vector<std::string> rules = {
      "name = \"first\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"DEFER\"",
      "name = \"everything\"\nkey = \"*\"\nresult = \"REJECT\"",
  };
  EXPECT_EQ(decide(rules, {{"A", "1"}}).rule, "first");
  EXPECT_EQ(decide(rules, {{"B", "1"}}).rule, "everything");
  EXPECT_EQ(decide(rules, {{"B", "1"}}).action, A::kReject);
}

TEST(ThrottlerTest, ContinueFallsThrough) {
  std::vector<std::string> rules = {
      "name = \"tag\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"CONTINUE\"",
      "name = \"then\"\nkey = \"A\"\ncondition = \"equals\"\nvalue = \"2\"\nresult = \"DEFER\"",
  };
  EXPECT_EQ(decide(rules, {{"A", "1"}}).rule, "default");
  EXPECT_EQ(decide(rules, {{"A", "2"}}).action, A::kDefer);
  EXPECT_EQ(decide(rules, {{"A", "2"}}, A::kReject).rule, "then");
  EXPECT_EQ(decide(rules, {{"A", "1"}}, A::kDefer).action, A::kDefer);
}

TEST(ThrottlerTest, NonStringValuesCompareAsJsonText) {
  std::vector<std::string> rules = {"name = \"n\"\nkey = \"N\"\ncondition = \"equals\"\nvalue = \"5\"\nresult = \"DEFER\""};
  EXPECT_EQ(decide(rules, {{"N", 5}}).action, A::kDefer);
}

TEST(ThrottlerTest, PercentageSplitOverTenThousandCrashes) {
  // Firefox release: 10 % accepted for processing, the rest deferred; everything else accepted.
  auto rule = rule_from(R"(name = "firefox_release"
key = "ReleaseChannel"
condition = "equals"
value = "release"
result = "ACCEPT"
percentage = 10
else_result = "DEFER")");
  Throttler t({rule}, A::kAccept);
  std::mt19937_64 gen(12345);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Throttler::Random random = [&] { return uniform(gen); };
  int accepted = 0, deferred = 0, other = 0;
  for (int i = 0; i < 10'000; ++i) {
    auto d = t.decide({{"ReleaseChannel", "release"}}, random);
    EXPECT_EQ(d.rule, "firefox_release");
    if (d.action == A::kAccept) ++accepted;
    else if (d.action == A::kDefer) ++deferred;
    else ++other;
  }
  EXPECT_EQ(other, 0);
  EXPECT_EQ(accepted + deferred, 10'000);
  // 10 % of 10,000 has a standard deviation of 30: allow 5 of them.
  EXPECT_NEAR(accepted, 1000, 150) << accepted;
  // The thread-local generator (no random source given) samples too.
  int sampled = 0;
  for (int i = 0; i < 10'000; ++i) sampled += t.decide({{"ReleaseChannel", "release"}}).action == A::kAccept;
  EXPECT_NEAR(sampled, 1000, 150) << sampled;
  // Crashes the rule does not match are untouched.
  EXPECT_EQ(t.decide({{"ReleaseChannel", "beta"}}, random).rule, "default");
}

TEST(ThrottlerTest, PercentageEdges) {
  auto none = rule_from("name = \"z\"\nkey = \"*\"\nresult = \"ACCEPT\"\npercentage = 0\nelse_result = \"REJECT\"");
  auto all = rule_from("name = \"h\"\nkey = \"*\"\nresult = \"DEFER\"\npercentage = 100");
  EXPECT_EQ(Throttler({none}, A::kAccept).decide({{"a", "1"}}, [] { return 0.0; }).action, A::kReject);
  EXPECT_EQ(Throttler({all}, A::kAccept).decide({{"a", "1"}}, [] { return 0.999999; }).action, A::kDefer);
  // else_result defaults to CONTINUE: outside the sample the next rules decide.
  auto half = rule_from("name = \"h\"\nkey = \"*\"\nresult = \"REJECT\"\npercentage = 50");
  EXPECT_EQ(Throttler({half}, A::kDefer).decide({{"a", "1"}}, [] { return 0.7; }).rule, "default");
  EXPECT_EQ(Throttler({half}, A::kDefer).decide({{"a", "1"}}, [] { return 0.2; }).action, A::kReject);
}

TEST(ThrottlerTest, BuiltInRulesAcceptUserSubmittedAndCommented) {
  auto rules = Throttler::user_submitted_rules();
  rules.push_back(rule_from("name = \"sample\"\nkey = \"*\"\nresult = \"REJECT\""));
  Throttler t(rules, A::kAccept);
  EXPECT_EQ(t.decide({{"Throttleable", "0"}}).rule, "is_hand_submitted");
  EXPECT_EQ(t.decide({{"Throttleable", "0"}}).action, A::kAccept);
  EXPECT_EQ(t.decide({{"Comments", "it crashed when I..."}}).rule, "has_comments");
  EXPECT_EQ(t.decide({{"Throttleable", "1"}}).action, A::kReject);
}

TEST(ThrottlerTest, BadRulesAreRefusedWithTheirName) {
  auto refused = [](const std::string& text) {
    try {
      rule_from(text);
    } catch (const ThrottleConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(refused("key = \"A\"\ncondition = \"exists\"\nresult = \"ACCEPT\""), "");  // no name
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"bigger\"\nresult = \"ACCEPT\"").find("'r'"), std::string::npos);
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"equals\"\nresult = \"ACCEPT\""), "");  // no value
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"regex\"\nvalue = \"(\"\nresult = \"ACCEPT\""), "");
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"MAYBE\""), "");
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"ACCEPT\"\npercentage = 101"), "");
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"ACCEPT\"\nelse_result = \"DEFER\""), "");
  EXPECT_NE(refused("name = \"r\"\nkey = \"*\"\ncondition = \"exists\"\nresult = \"ACCEPT\""), "");
  EXPECT_NE(refused("name = \"r\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"ACCEPT\"\ntypo = 1"), "");
  EXPECT_NE(refused("name = \"bad name\"\nkey = \"A\"\ncondition = \"exists\"\nresult = \"ACCEPT\""), "");
  EXPECT_THROW(Throttler({}, A::kContinue), ThrottleConfigError);
}

}  // namespace
}  // namespace bw::collector
