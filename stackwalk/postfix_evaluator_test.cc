#include "stackwalk/postfix_evaluator.h"

#include <map>

#include <gtest/gtest.h>

namespace bw::stackwalk {
namespace {

// Memory made of explicit little words: address → value.
class FakeMemory final : public WordReader {
 public:
  std::map<uint64_t, uint64_t> words;
  std::optional<uint64_t> read_word(uint64_t address, unsigned word_bytes) const override {
    auto it = words.find(address);
    if (it == words.end()) return std::nullopt;
    return word_bytes == 4 ? (it->second & 0xffffffffULL) : it->second;
  }
};

TEST(PostfixNumber, ParsesDecimalHexAndNegative) {
  EXPECT_EQ(parse_postfix_number("16"), 16U);
  EXPECT_EQ(parse_postfix_number("0x1f"), 31U);
  EXPECT_EQ(parse_postfix_number("-8"), ~uint64_t{0} - 7);
  EXPECT_FALSE(parse_postfix_number("$rsp"));
  EXPECT_FALSE(parse_postfix_number("-"));
  EXPECT_FALSE(parse_postfix_number("12a"));
  EXPECT_FALSE(parse_postfix_number("0x"));
}

TEST(PostfixEvaluate, CfaRuleAndDereference) {
  FakeMemory mem;
  mem.words[0x1000 + 16 - 8] = 0x401234;
  Variables vars;
  vars.set("$rsp", 0x1000);
  std::string error;
  auto cfa = evaluate_postfix("$rsp 16 +", vars, mem, 8, &error);
  ASSERT_TRUE(cfa) << error;
  EXPECT_EQ(*cfa, 0x1010U);
  vars.set(".cfa", *cfa);
  auto ra = evaluate_postfix(".cfa -8 + ^", vars, mem, 8, &error);
  ASSERT_TRUE(ra) << error;
  EXPECT_EQ(*ra, 0x401234U);
}

TEST(PostfixEvaluate, ArithmeticWrapsAtWordSize) {
  FakeMemory mem;
  Variables vars;
  std::string error;
  EXPECT_EQ(evaluate_postfix("0 1 -", vars, mem, 4, &error), 0xffffffffU);
  EXPECT_EQ(evaluate_postfix("0 1 -", vars, mem, 8, &error), ~uint64_t{0});
  EXPECT_EQ(evaluate_postfix("7 3 %", vars, mem, 8, &error), 1U);
  EXPECT_EQ(evaluate_postfix("7 3 /", vars, mem, 8, &error), 2U);
  EXPECT_EQ(evaluate_postfix("6 7 *", vars, mem, 8, &error), 42U);
  EXPECT_EQ(evaluate_postfix("0x1237 16 @", vars, mem, 8, &error), 0x1230U);
}

TEST(PostfixEvaluate, ErrorsAreReported) {
  FakeMemory mem;
  Variables vars;
  struct Case {
    const char* expr;
    const char* why;
  };
  for (Case c : {Case{"1 0 /", "division by zero"}, Case{"1 0 %", "modulo by zero"}, Case{"+", "stack underflow"},
                 Case{"$nope", "unknown identifier $nope"}, Case{"1 2", "expression leaves more than one value"},
                 Case{"", "expression has no value"}, Case{"16 ^", "memory not readable"},
                 Case{"8 3 @", "alignment is not a power of two"}, Case{"1 ?", "bad token ?"},
                 Case{"$a 1 =", "assignment outside a program"}}) {
    std::string error;
    EXPECT_FALSE(evaluate_postfix(c.expr, vars, mem, 8, &error)) << c.expr;
    EXPECT_EQ(error, c.why) << c.expr;
  }
}

TEST(PostfixEvaluate, TokenLimitRefusesLongInput) {
  FakeMemory mem;
  Variables vars;
  std::string expr = "1";
  for (int i = 0; i < 100; ++i) expr += " 1 +";
  std::string error;
  EXPECT_EQ(evaluate_postfix(expr, vars, mem, 8, &error), 101U);
  EXPECT_FALSE(evaluate_postfix(expr, vars, mem, 8, &error, PostfixLimits{50}));
  EXPECT_EQ(error, "too many tokens");
}

TEST(PostfixEvaluate, FallbackSourceSuppliesRegisters) {
  struct Regs final : VariableSource {
    std::optional<uint64_t> lookup(std::string_view name) const override {
      if (name == "x29") return 0x2000;
      return std::nullopt;
    }
  } regs;
  FakeMemory mem;
  Variables vars(&regs);
  std::string error;
  EXPECT_EQ(evaluate_postfix("x29 16 +", vars, mem, 8, &error), 0x2010U);
  vars.set("x29", 5);  // own entries win over the fallback
  EXPECT_EQ(evaluate_postfix("x29", vars, mem, 8, &error), 5U);
}

TEST(PostfixProgram, StackWinFrameDataProgram) {
  // The program MSVC writes for a function with a standard %ebp frame.
  FakeMemory mem;
  mem.words[0x8000] = 0x9000;      // saved %ebp
  mem.words[0x8004] = 0x00401000;  // return address
  Variables vars;
  vars.set("$ebp", 0x8000);
  vars.set("$esp", 0x7f00);
  vars.set(".cbSavedRegs", 4);
  vars.set(".cbParams", 8);
  std::vector<std::string> assigned;
  std::string error;
  ASSERT_TRUE(run_postfix_program(
      "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =",
      vars, mem, 4, &error, {}, &assigned))
      << error;
  EXPECT_EQ(vars.get("$eip"), 0x401000U);
  EXPECT_EQ(vars.get("$ebp"), 0x9000U);
  EXPECT_EQ(vars.get("$esp"), 0x8008U);
  EXPECT_EQ(vars.get("$L"), 0x7ffcU);
  EXPECT_EQ(vars.get("$P"), 0x8010U);
  EXPECT_EQ(assigned, (std::vector<std::string>{"$T0", "$eip", "$ebp", "$esp", "$L", "$P"}));
}

TEST(PostfixProgram, GluedAssignmentOperator) {
  FakeMemory mem;
  Variables vars;
  std::string error;
  ASSERT_TRUE(run_postfix_program("$T0 5 =$T1 6 =", vars, mem, 4, &error)) << error;
  EXPECT_EQ(vars.get("$T0"), 5U);
  EXPECT_EQ(vars.get("$T1"), 6U);
}

TEST(PostfixProgram, RefusesBadPrograms) {
  FakeMemory mem;
  for (const char* p : {"$T0 1", "1 2 =", "$T0 =", "$T0 $T1 ="}) {
    Variables vars;
    std::string error;
    EXPECT_FALSE(run_postfix_program(p, vars, mem, 4, &error)) << p;
    EXPECT_FALSE(error.empty()) << p;
  }
}

}  // namespace
}  // namespace bw::stackwalk
