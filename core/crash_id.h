// Crash ids (docs/design.md §2).
//
// A crash id is a random version-4 UUID in lowercase hex whose last 7 characters are replaced by
// the throttle digit (0 = accept, 1 = defer) and the submission date as YYMMDD (UTC):
//   de1bb258-cbbf-4589-a673-34f800160918  → accepted on 2016-09-18.
//
// Contract:
// - `CrashId` values always hold a validated id: the only ways to get one are `generate` and
//   `parse`. Code that receives an id from outside (URL, API, queue message, file name) parses it
//   before touching a path or a query.
// - `parse` accepts an optional "bp-" prefix and strips it; anything else that is not exactly the
//   36-character lowercase form with a real calendar date is refused with a reason.
// - Thread safety: values are immutable; `generate` is safe from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bw {

enum class ThrottleResult : char { kAccept = '0', kDefer = '1' };

struct CivilDate {
  int year = 0;   // full year, e.g. 2016
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

class CrashId {
 public:
  static constexpr size_t kLength = 36;

  // A fresh id for a crash received at `when` (UTC) with the given throttle result.
  static CrashId generate(ThrottleResult throttle,
                          std::chrono::system_clock::time_point when = std::chrono::system_clock::now());

  // Validates `text` (with or without "bp-"). On failure returns nullopt and, if `why` is given,
  // a short human reason ("wrong length", "not lowercase hex at 9", "bad date 991332", ...).
  static std::optional<CrashId> parse(std::string_view text, std::string* why = nullptr);

  const std::string& str() const { return text_; }
  // "bp-" + id, as the collector answers.
  std::string with_prefix() const { return "bp-" + text_; }

  ThrottleResult throttle() const { return static_cast<ThrottleResult>(text_[29]); }
  CivilDate date() const;
  // "YYYYMMDD", the storage partition of this crash.
  std::string date_folder() const;

  friend bool operator==(const CrashId&, const CrashId&) = default;
  friend auto operator<=>(const CrashId& a, const CrashId& b) { return a.text_ <=> b.text_; }

 private:
  explicit CrashId(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// True for a valid Gregorian date.
bool is_valid_civil_date(int year, int month, int day);

}  // namespace bw

template <>
struct std::hash<bw::CrashId> {
  size_t operator()(const bw::CrashId& id) const noexcept { return std::hash<std::string>{}(id.str()); }
};
