#include "stackwalk/postfix_evaluator.h"

#include <charconv>

namespace bw::stackwalk {

std::optional<uint64_t> Variables::get_own(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::optional<uint64_t> Variables::get(std::string_view name) const {
  if (auto v = get_own(name)) return v;
  if (fallback_ != nullptr) return fallback_->lookup(name);
  return std::nullopt;
}

void Variables::set(std::string_view name, uint64_t value) {
  for (auto& [key, old] : entries_) {
    if (key == name) {
      old = value;
      return;
    }
  }
  entries_.emplace_back(std::string(name), value);
}

bool Variables::erase(std::string_view name) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == name) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<uint64_t> parse_postfix_number(std::string_view token) {
  bool negative = false;
  if (!token.empty() && token.front() == '-') {
    negative = true;
    token.remove_prefix(1);
  }
  if (token.empty()) return std::nullopt;
  int base = 10;
  if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) {
    base = 16;
    token.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value, base);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return negative ? (~value + 1) : value;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_binary_operator(std::string_view t) {
  return t.size() == 1 && (t[0] == '+' || t[0] == '-' || t[0] == '*' || t[0] == '/' || t[0] == '%' ||
                           t[0] == '@');
}

// One stack slot: a value, or an identifier not yet resolved (it may be an assignment target).
struct Slot {
  bool is_name = false;
  std::string_view name;
  uint64_t value = 0;
};

class Machine {
 public:
  // `writable` is where '=' stores; null for expressions, which may not assign.
  Machine(const Variables& vars, Variables* writable, const WordReader& memory, unsigned word_bytes,
          std::string* error)
      : vars_(vars), writable_(writable), memory_(memory), word_bytes_(word_bytes), error_(error) {
    mask_ = word_bytes == 4 ? 0xffffffffULL : ~0ULL;
  }

  bool run(std::string_view text, bool allow_assignment, size_t max_tokens) {
    if (word_bytes_ != 4 && word_bytes_ != 8) return fail("word size must be 4 or 8");
    size_t tokens = 0;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && is_space(text[i])) ++i;
      size_t start = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      if (start == i) break;
      std::string_view token = text.substr(start, i - start);
      // Some Windows toolchains wrote "=$ebp" for "= $ebp": an '=' glued to the next token.
      while (token.size() > 1 && token[0] == '=' && allow_assignment) {
        if (++tokens > max_tokens) return fail("too many tokens");
        if (!step("=", allow_assignment)) return false;
        token.remove_prefix(1);
      }
      if (++tokens > max_tokens) return fail("too many tokens");
      if (!step(token, allow_assignment)) return false;
    }
    return true;
  }

  std::optional<uint64_t> single_value() {
    if (stack_.size() != 1) {
      fail(stack_.empty() ? "expression has no value" : "expression leaves more than one value");
      return std::nullopt;
    }
    Slot s = stack_.back();
    stack_.pop_back();
    return resolve(s);
  }

  void record_assignments(std::vector<std::string>* assigned) { assigned_ = assigned; }

  bool empty_at_end() {
    if (!stack_.empty()) return fail("program leaves values on the stack");
    return true;
  }

  bool fail(std::string_view why) {
    if (error_ && error_->empty()) *error_ = std::string(why);
    return false;
  }

 private:
  std::optional<uint64_t> resolve(const Slot& s) {
    if (!s.is_name) return s.value;
    auto v = vars_.get(s.name);
    if (!v) {
      fail("unknown identifier " + std::string(s.name));
      return std::nullopt;
    }
    return *v & mask_;
  }

  bool pop_value(uint64_t& out) {
    if (stack_.empty()) return fail("stack underflow");
    Slot s = stack_.back();
    stack_.pop_back();
    auto v = resolve(s);
    if (!v) return false;
    out = *v;
    return true;
  }

  bool step(std::string_view token, bool allow_assignment) {
    if (stack_.size() > 4096) return fail("stack too deep");
    if (is_binary_operator(token)) {
      uint64_t b = 0, a = 0;
      if (!pop_value(b) || !pop_value(a)) return false;
      uint64_t r = 0;
      switch (token[0]) {
        case '+': r = a + b; break;
        case '-': r = a - b; break;
        case '*': r = a * b; break;
        case '/':
          if (b == 0) return fail("division by zero");
          r = a / b;
          break;
        case '%':
          if (b == 0) return fail("modulo by zero");
          r = a % b;
          break;
        case '@':
          if (b == 0 || (b & (b - 1)) != 0) return fail("alignment is not a power of two");
          r = a & ~(b - 1);
          break;
        default: return fail("bad operator");
      }
      stack_.push_back(Slot{false, {}, r & mask_});
      return true;
    }
    if (token == "^") {
      uint64_t address = 0;
      if (!pop_value(address)) return false;
      auto v = memory_.read_word(address, word_bytes_);
      if (!v) return fail("memory not readable");
      stack_.push_back(Slot{false, {}, *v & mask_});
      return true;
    }
    if (token == "=") {
      if (!allow_assignment || writable_ == nullptr) return fail("assignment outside a program");
      uint64_t value = 0;
      if (!pop_value(value)) return false;
      if (stack_.empty()) return fail("stack underflow");
      Slot target = stack_.back();
      stack_.pop_back();
      if (!target.is_name) return fail("assignment to a value");
      writable_->set(target.name, value & mask_);
      if (assigned_ != nullptr) assigned_->emplace_back(target.name);
      return true;
    }
    if (auto n = parse_postfix_number(token)) {
      stack_.push_back(Slot{false, {}, *n & mask_});
      return true;
    }
    char c = token[0];
    bool identifier_start = c == '$' || c == '.' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!identifier_start) return fail("bad token " + std::string(token));
    stack_.push_back(Slot{true, token, 0});
    return true;
  }

  const Variables& vars_;
  Variables* writable_;
  std::vector<std::string>* assigned_ = nullptr;
  const WordReader& memory_;
  unsigned word_bytes_;
  std::string* error_;
  uint64_t mask_;
  std::vector<Slot> stack_;
};

}  // namespace

std::optional<uint64_t> evaluate_postfix(std::string_view expression, const Variables& variables,
                                         const WordReader& memory, unsigned word_bytes,
                                         std::string* error, PostfixLimits limits) {
  Machine m(variables, nullptr, memory, word_bytes, error);
  if (!m.run(expression, /*allow_assignment=*/false, limits.max_tokens)) return std::nullopt;
  return m.single_value();
}

bool run_postfix_program(std::string_view program, Variables& variables, const WordReader& memory,
                         unsigned word_bytes, std::string* error, PostfixLimits limits,
                         std::vector<std::string>* assigned) {
  Machine m(variables, &variables, memory, word_bytes, error);
  m.record_assignments(assigned);
  if (!m.run(program, /*allow_assignment=*/true, limits.max_tokens)) return false;
  return m.empty_at_end();
}

}  // namespace bw::stackwalk
