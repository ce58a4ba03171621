// Breakpad's postfix rule language, as used by STACK CFI rules and STACK WIN program strings.
//
// Tokens are separated by whitespace. A token is a number (decimal, or hex with 0x; a leading '-'
// negates), an identifier (a register such as $eip, x29, sp, a variable such as $T0, or a special
// such as .cfa, .cbParams, .raSearch), or an operator:
//   a b +   a b -   a b *   a b /   a b %   (unsigned, wrapping at the word size; / and % by 0 fail)
//   a b @   a aligned down to a multiple of b (b must be a power of two)
//   a ^     the word stored in memory at address a
//   $x a =  assigns a to $x (STACK WIN programs only)
// An expression must leave exactly one value; a program must leave nothing.
//
// Thread safety: stateless functions; a Variables object belongs to one caller.
// Errors: every failure (unknown identifier, stack underflow, unreadable memory, division by zero,
// bad token, too many tokens) returns false / nullopt with a reason in *error. Never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bw::stackwalk {

// Reads words of the walked thread's memory. Implemented by the walker over stack memory.
class WordReader {
 public:
  virtual ~WordReader() = default;
  // The word_bytes-sized little-endian value at address, or nullopt if not readable.
  virtual std::optional<uint64_t> read_word(uint64_t address, unsigned word_bytes) const = 0;
};

// Values the evaluator may look names up in when a Variables table does not hold them (the walker
// exposes a frame's registers this way).
class VariableSource {
 public:
  virtual ~VariableSource() = default;
  virtual std::optional<uint64_t> lookup(std::string_view name) const = 0;
};

// A small name → value table (.cfa, $T0, .cbParams...), backed by an optional fallback source.
// Linear search: tables hold a handful of entries.
class Variables {
 public:
  Variables() = default;
  explicit Variables(const VariableSource* fallback) : fallback_(fallback) {}
  // Own entries first, then the fallback.
  std::optional<uint64_t> get(std::string_view name) const;
  // Own entries only.
  std::optional<uint64_t> get_own(std::string_view name) const;
  void set(std::string_view name, uint64_t value);
  bool erase(std::string_view name);
  bool contains(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, uint64_t>>& entries() const { return entries_; }
  void clear() { entries_.clear(); }

 private:
  std::vector<std::pair<std::string, uint64_t>> entries_;
  const VariableSource* fallback_ = nullptr;
};

struct PostfixLimits {
  // Longest accepted expression or program, in tokens; longer input is refused, not evaluated.
  size_t max_tokens = 4096;
};

// Evaluates one expression to a value. word_bytes is 4 (x86, arm) or 8 (amd64, arm64): arithmetic
// wraps at that width and ^ reads that many bytes.
std::optional<uint64_t> evaluate_postfix(std::string_view expression, const Variables& variables,
                                         const WordReader& memory, unsigned word_bytes,
                                         std::string* error, PostfixLimits limits = {});

// Runs a STACK WIN program: a sequence of assignments. Reads and updates `variables`; when
// `assigned` is given, the names the program assigned are appended to it (even on failure, those
// assigned before the error).
bool run_postfix_program(std::string_view program, Variables& variables, const WordReader& memory,
                         unsigned word_bytes, std::string* error, PostfixLimits limits = {},
                         std::vector<std::string>* assigned = nullptr);

// Parses a number token as the language does ("16", "-8", "0x1f"); nullopt if it is not one.
std::optional<uint64_t> parse_postfix_number(std::string_view token);

}  // namespace bw::stackwalk
