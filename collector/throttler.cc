#include "collector/throttler.h"

#include <cctype>
#include <random>

#include <nlohmann/json.hpp>

namespace bw::collector {
namespace {

constexpr size_t kMaxRegexInput = 10 * 1024;

struct VersionPart {
  uint64_t number = 0;
  std::string suffix_letters;  // "b" in "0b3"
  uint64_t suffix_number = 0;  // 3 in "0b3"
  bool has_suffix = false;
};

uint64_t leading_number(const std::string& s, size_t& i) {
  uint64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (n < 1'000'000'000'000ULL) n = n * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  return n;
}

std::vector<VersionPart> split_version(const std::string& v) {
  std::vector<VersionPart> parts;
  size_t start = 0;
  while (start <= v.size()) {
    size_t dot = v.find('.', start);
    std::string p = v.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    VersionPart part;
    size_t i = 0;
    part.number = leading_number(p, i);
    if (i < p.size()) {
      part.has_suffix = true;
      while (i < p.size() && !std::isdigit(static_cast<unsigned char>(p[i]))) part.suffix_letters += p[i++];
      part.suffix_number = leading_number(p, i);
    }
    parts.push_back(std::move(part));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string text_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int compare_versions(const std::string& a, const std::string& b) {
  auto pa = split_version(a), pb = split_version(b);
  size_t n = std::max(pa.size(), pb.size());
  for (size_t i = 0; i < n; ++i) {
    VersionPart x = i < pa.size() ? pa[i] : VersionPart{};
    VersionPart y = i < pb.size() ? pb[i] : VersionPart{};
    if (x.number != y.number) return x.number < y.number ? -1 : 1;
    if (x.has_suffix != y.has_suffix) return x.has_suffix ? -1 : 1;  // pre-release first
    if (x.suffix_letters != y.suffix_letters) return x.suffix_letters < y.suffix_letters ? -1 : 1;
    if (x.suffix_number != y.suffix_number) return x.suffix_number < y.suffix_number ? -1 : 1;
  }
  return 0;
}

const char* to_string(ThrottleAction a) {
  switch (a) {
    case ThrottleAction::kAccept: return "ACCEPT";
    case ThrottleAction::kDefer: return "DEFER";
    case ThrottleAction::kReject: return "REJECT";
    case ThrottleAction::kFakeAccept: return "FAKEACCEPT";
    case ThrottleAction::kContinue: return "CONTINUE";
  }
  return "?";
}

ThrottleAction parse_throttle_action(const std::string& text) {
  for (auto a : {ThrottleAction::kAccept, ThrottleAction::kDefer, ThrottleAction::kReject, ThrottleAction::kFakeAccept,
                 ThrottleAction::kContinue}) {
    if (text == to_string(a)) return a;
  }
  throw ThrottleConfigError("unknown throttle result '" + text +
                            "' (ACCEPT, DEFER, REJECT, FAKEACCEPT or CONTINUE)");
}

ThrottleRule ThrottleRule::from_toml(const toml::table& t) {
  ThrottleRule r;
  r.name = t["name"].value_or(std::string());
  auto fail = [&](const std::string& why) -> ThrottleConfigError {
    return ThrottleConfigError("throttle rule '" + r.name + "': " + why);
  };
  if (r.name.empty() || r.name.size() > 64) throw fail("needs a name of 1 to 64 characters");
  for (char c : r.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') throw fail("name must be [A-Za-z0-9_]");
  }
  for (const auto& [k, v] : t) {
    static const std::vector<std::string> known = {"name", "key", "condition", "value", "result", "percentage", "else_result"};
    if (std::find(known.begin(), known.end(), std::string(k.str())) == known.end()) {
      throw fail("unknown field '" + std::string(k.str()) + "'");
    }
  }
  r.key = t["key"].value_or(std::string());
  if (r.key.empty()) throw fail("needs a key (an annotation name, or \"*\")");
  std::string condition = t["condition"].value_or(std::string(r.key == "*" ? "always" : ""));
  static const std::vector<std::pair<std::string, Condition>> conditions = {
      {"equals", Condition::kEquals},         {"not_equals", Condition::kNotEquals}, {"regex", Condition::kRegex},
      {"exists", Condition::kExists},         {"absent", Condition::kAbsent},        {"version_lt", Condition::kVersionLt},
      {"version_le", Condition::kVersionLe},  {"version_gt", Condition::kVersionGt}, {"version_ge", Condition::kVersionGe},
      {"version_eq", Condition::kVersionEq},  {"always", Condition::kAlways}};
  bool found = false;
  for (const auto& [text, c] : conditions) {
    if (text == condition) {
      r.condition = c;
      found = true;
    }
  }
  if (!found) throw fail("unknown condition '" + condition + "'");
  if ((r.key == "*") != (r.condition == Condition::kAlways)) {
    throw fail("key \"*\" goes with condition \"always\", and only it");
  }
  bool needs_value = r.condition != Condition::kExists && r.condition != Condition::kAbsent && r.condition != Condition::kAlways;
  auto value = t["value"].value<std::string>();
  if (needs_value && !value) throw fail("condition '" + condition + "' needs a string value");
  if (!needs_value && t.contains("value")) throw fail("condition '" + condition + "' takes no value");
  r.value = value.value_or("");
  if (r.condition == Condition::kRegex) {
    try {
      r.regex.emplace(r.value, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      throw fail(std::string("bad regex: ") + e.what());
    }
  }
  auto result = t["result"].value<std::string>();
  if (!result) throw fail("needs a result");
  try {
    r.result = parse_throttle_action(*result);
    if (t.contains("percentage")) {
      auto p = t["percentage"].value<double>();
      if (!p || *p < 0 || *p > 100) throw fail("percentage must be a number from 0 to 100");
      r.percentage = *p;
      r.else_result = parse_throttle_action(t["else_result"].value_or(std::string("CONTINUE")));
    } else if (t.contains("else_result")) {
      throw fail("else_result only goes with percentage");
    }
  } catch (const ThrottleConfigError& e) {
    if (std::string(e.what()).rfind("throttle rule", 0) == 0) throw;
    throw fail(e.what());
  }
  return r;
}

Throttler::Throttler(std::vector<ThrottleRule> rules, ThrottleAction default_action)
    : rules_(std::move(rules)), default_action_(default_action) {
  if (default_action_ == ThrottleAction::kContinue) throw ThrottleConfigError("the default result cannot be CONTINUE");
}

std::vector<ThrottleRule> Throttler::user_submitted_rules() {
  ThrottleRule hand;
  hand.name = "is_hand_submitted";
  hand.key = "Throttleable";
  hand.condition = ThrottleRule::Condition::kEquals;
  hand.value = "0";
  hand.result = ThrottleAction::kAccept;
  ThrottleRule comments;
  comments.name = "has_comments";
  comments.key = "Comments";
  comments.condition = ThrottleRule::Condition::kExists;
  comments.result = ThrottleAction::kAccept;
  return {hand, comments};
}

ThrottleDecision Throttler::decide(const nlohmann::json& annotations, const Random& random) const {
  using C = ThrottleRule::Condition;
  for (const auto& rule : rules_) {
    bool matches = false;
    if (rule.condition == C::kAlways) {
      matches = true;
    } else {
      auto it = annotations.is_object() ? annotations.find(rule.key) : annotations.end();
      std::optional<std::string> text;
      if (it != annotations.end() && !it->is_null()) text = text_of(*it);
      bool present = text && !text->empty();
      switch (rule.condition) {
        case C::kExists: matches = present; break;
        case C::kAbsent: matches = !present; break;
        case C::kEquals: matches = text && *text == rule.value; break;
        case C::kNotEquals: matches = !text || *text != rule.value; break;
        case C::kRegex:
          matches = text && text->size() <= kMaxRegexInput && std::regex_search(*text, *rule.regex);
          break;
        case C::kVersionLt: matches = present && compare_versions(*text, rule.value) < 0; break;
        case C::kVersionLe: matches = present && compare_versions(*text, rule.value) <= 0; break;
        case C::kVersionGt: matches = present && compare_versions(*text, rule.value) > 0; break;
        case C::kVersionGe: matches = present && compare_versions(*text, rule.value) >= 0; break;
        case C::kVersionEq: matches = present && compare_versions(*text, rule.value) == 0; break;
        case C::kAlways: matches = true; break;
      }
    }
    if (!matches) continue;
    ThrottleAction action = rule.result;
    if (rule.percentage) {
      double draw;
      if (random) {
        draw = random();
      } else {
        thread_local std::mt19937_64 gen{std::random_device{}()};
        draw = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
      }
      action = draw * 100.0 < *rule.percentage ? rule.result : rule.else_result;
    }
    if (action == ThrottleAction::kContinue) continue;
    return {action, rule.name};
  }
  return {default_action_, "default"};
}

}  // namespace bw::collector
