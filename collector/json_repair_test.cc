#include "collector/json_repair.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bw::collector {
namespace {

nlohmann::json repaired(std::string_view text, std::vector<std::string>* notes_out = nullptr) {
  std::vector<std::string> notes;
  auto j = nlohmann::json::parse(repair_json_text(text, notes), nullptr, false);
  if (notes_out) *notes_out = notes;
  return j;
}

TEST(JsonRepairTest, HugeNumbersAreKeptAsText) {
  std::vector<std::string> notes;
  auto j = repaired(R"({"ProductName":"Firefox","Huge":1e999999,"Neg":-1e400,"Small":1e-999999,"Ok":12.5})", &notes);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["Huge"], "1e999999");
  EXPECT_EQ(j["Neg"], "-1e400");
  EXPECT_EQ(j["Small"], 0.0);
  EXPECT_EQ(j["Ok"], 12.5);
  EXPECT_EQ(j["ProductName"], "Firefox");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("'Huge'"), std::string::npos);
  EXPECT_NE(notes[1].find("'Neg'"), std::string::npos);
}

TEST(JsonRepairTest, LoneSurrogatesBecomeReplacementCharacters) {
  std::vector<std::string> notes;
  auto j = repaired(R"({"A":"x\ud800y","B":"\udc00","C":"\ud83d\ude00","D":"\ud800\u0041","E":"\\ud800"})", &notes);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["A"], "x\xEF\xBF\xBDy");
  EXPECT_EQ(j["B"], "\xEF\xBF\xBD");
  EXPECT_EQ(j["C"], "\xF0\x9F\x98\x80");  // a real pair is kept
  EXPECT_EQ(j["D"], "\xEF\xBF\xBD" "A");
  EXPECT_EQ(j["E"], "\\ud800");  // an escaped backslash, not an escape
  EXPECT_EQ(notes.size(), 3u);
}

TEST(JsonRepairTest, DuplicateKeysAreNotedLastKept) {
  std::vector<std::string> notes;
  auto j = repaired(R"({"a":1,"b":{"a":5,"c":[{"a":1},{"a":2}]},"a":2,"\u0061":3})", &notes);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["a"], 3);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "JSON key 'a' sent twice; the last kept");
}

TEST(JsonRepairTest, InvalidUtf8IsReplacedAndNoted) {
  std::vector<std::string> notes;
  auto j = repaired("{\"a\":\"x\xff\xfey\"}", &notes);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["a"], "x\xEF\xBF\xBD\xEF\xBF\xBDy");
  ASSERT_EQ(notes.size(), 1u);
}

TEST(JsonRepairTest, ValidJsonIsUnchangedAndBrokenJsonStaysBroken) {
  std::vector<std::string> notes;
  std::string valid = R"({"a":[1,-2.5e3,true,null,"s\"\\\n"],"b":{}})";
  EXPECT_EQ(repair_json_text(valid, notes), valid);
  EXPECT_TRUE(notes.empty());
  for (const char* broken : {"{\"a\":", "{\"a\" 1}", "[1,2", "{\"a\":\"unterminated", "nope", "{\"a\":\"\\u12\"}"}) {
    auto j = nlohmann::json::parse(repair_json_text(broken, notes), nullptr, false);
    EXPECT_TRUE(j.is_discarded()) << broken;
  }
}

}  // namespace
}  // namespace bw::collector
