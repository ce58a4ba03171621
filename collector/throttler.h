// The collector's throttler (docs/design.md §3 "Throttling"): an ordered list of rules decides, per
// crash, whether it is stored and processed (ACCEPT), stored only (DEFER), refused (REJECT), or
// answered with an id but not stored (FAKEACCEPT).
//
// A rule has a name, a key (an annotation name, or "*" for the whole crash), a condition and a
// result. The first rule whose condition holds decides, unless its result is CONTINUE (then the
// next rules are tried). A rule with `percentage` samples: the crash is inside the sample with
// that probability and gets `result`, else `else_result` (which may be CONTINUE too). No rule
// deciding means the default result.
//
// Config form ([[collector.throttle_rules]] tables, see docs/collector.md):
//   name = "firefox_release_sample"   # [A-Za-z0-9_]{1,64}; answered as Discarded=rule_<name>
//   key = "ReleaseChannel"             # or "*"
//   condition = "equals"               # equals, not_equals, regex, exists, absent,
//                                      # version_lt, version_le, version_gt, version_ge, version_eq,
//                                      # always (the only condition for key "*")
//   value = "release"                  # for equals, not_equals, regex and version_*
//   result = "ACCEPT"                  # ACCEPT, DEFER, REJECT, FAKEACCEPT, CONTINUE
//   percentage = 10.0                  # optional, 0..100
//   else_result = "DEFER"              # with percentage: outside the sample (default CONTINUE)
//
// Conditions look at the annotation's text (JSON values that are not strings are compared as their
// JSON text). `exists` needs a non-empty value; `absent` holds for a missing or empty one. Regexes
// are ECMAScript, searched anywhere in the value (anchor with ^ and $), and are not tried on values
// over 10 KiB (no match), to keep matching time bounded. Versions compare dotted parts
// numerically, with a pre-release suffix ("120.0b3", "121.0a1") before the plain release.
//
// Errors: a bad rule (unknown condition or result, bad regex, missing value) throws
// ThrottleConfigError naming the rule, at start-up. Thread safety: `decide` is const and safe
// from any thread; randomness comes from the caller's generator or a thread-local one.
#pragma once

#include <functional>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <toml++/toml.h>

namespace bw::collector {

class ThrottleConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ThrottleAction { kAccept, kDefer, kReject, kFakeAccept, kContinue };

const char* to_string(ThrottleAction a);
ThrottleAction parse_throttle_action(const std::string& text);  // throws ThrottleConfigError

struct ThrottleRule {
  enum class Condition { kEquals, kNotEquals, kRegex, kExists, kAbsent, kVersionLt, kVersionLe, kVersionGt,
                         kVersionGe, kVersionEq, kAlways };
  std::string name;
  std::string key;  // annotation name or "*"
  Condition condition = Condition::kAlways;
  std::string value;
  std::optional<std::regex> regex;
  ThrottleAction result = ThrottleAction::kAccept;
  std::optional<double> percentage;  // 0..100
  ThrottleAction else_result = ThrottleAction::kContinue;

  static ThrottleRule from_toml(const toml::table& table);  // throws ThrottleConfigError
};

struct ThrottleDecision {
  ThrottleAction action;  // never kContinue
  std::string rule;       // the deciding rule's name, or "default"
};

class Throttler {
 public:
  // Uniform random numbers in [0, 1); tests pass a seeded one.
  using Random = std::function<double()>;

  Throttler(std::vector<ThrottleRule> rules, ThrottleAction default_action);

  // The built-in rules docs/design.md §3 asks for: accept crashes a user submitted by hand
  // (Throttleable=0) and crashes with a comment.
  static std::vector<ThrottleRule> user_submitted_rules();

  ThrottleDecision decide(const nlohmann::json& annotations, const Random& random = {}) const;
  const std::vector<ThrottleRule>& rules() const { return rules_; }

 private:
  std::vector<ThrottleRule> rules_;
  ThrottleAction default_action_;
};

// -1, 0 or 1 comparing two version strings as described above.
int compare_versions(const std::string& a, const std::string& b);

}  // namespace bw::collector
