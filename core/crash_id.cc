#include "core/crash_id.h"

#include <array>
#include <ctime>
#include <stdexcept>

#include "core/random.h"

namespace bw {
namespace {

constexpr std::string_view kPrefix = "bp-";
constexpr char kHex[] = "0123456789abcdef";

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

int two_digits(std::string_view s, size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

}  // namespace

bool is_valid_civil_date(int year, int month, int day) {
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int max_day = kDays[month - 1];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && leap) max_day = 29;
  return day <= max_day;
}

CrashId CrashId::generate(ThrottleResult throttle, std::chrono::system_clock::time_point when) {
  std::array<unsigned char, 16> bytes{};
  random_bytes(bytes.data(), bytes.size());
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string text;
  text.reserve(kLength);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0xf]);
  }
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto two = [](int v) { return std::string{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)}; };
  std::string tail = std::string(1, static_cast<char>(throttle)) + two(tm.tm_year % 100) + two(tm.tm_mon + 1) +
                     two(tm.tm_mday);
  text.replace(29, 7, tail);
  return CrashId(std::move(text));
}

std::optional<CrashId> CrashId::parse(std::string_view text, std::string* why) {
  auto fail = [why](std::string reason) -> std::optional<CrashId> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (text.substr(0, kPrefix.size()) == kPrefix) text.remove_prefix(kPrefix.size());
  if (text.size() != kLength) return fail("wrong length " + std::to_string(text.size()) + ", want 36");
  for (size_t i = 0; i < kLength; ++i) {
    char c = text[i];
    bool dash_here = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash_here) {
      if (c != '-') return fail("expected '-' at " + std::to_string(i));
      continue;
    }
    if (i >= 30) {
      if (c < '0' || c > '9') return fail("date must be digits at " + std::to_string(i));
    } else if (i == 29) {
      if (c != '0' && c != '1') return fail("throttle digit must be 0 or 1");
    } else if (!is_lower_hex(c)) {
      return fail("not lowercase hex at " + std::to_string(i));
    }
  }
  int year = 2000 + two_digits(text, 30);
  int month = two_digits(text, 32);
  int day = two_digits(text, 34);
  if (!is_valid_civil_date(year, month, day)) {
    return fail("bad date " + std::string(text.substr(30, 6)));
  }
  return CrashId(std::string(text));
}

CivilDate CrashId::date() const {
  return CivilDate{2000 + two_digits(text_, 30), two_digits(text_, 32), two_digits(text_, 34)};
}

std::string CrashId::date_folder() const { return "20" + text_.substr(30, 6); }

}  // namespace bw
