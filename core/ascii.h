// ASCII helpers for protocol text (header names, tokens, schemes, file extensions, hex escapes):
// one place instead of a loop in every part. Only A-Z and a-z are folded; other bytes (UTF-8 included) are
// compared and copied as they are, whatever the C locale says.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bw {

// The value of a hex digit (0-9, a-f, A-F), or -1 for any other byte.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A copy of `text` with A-Z lowered.
inline std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Equal when A-Z and a-z are taken as the same.
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// `text` starts with `prefix`, A-Z and a-z taken as the same.
constexpr bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

}  // namespace bw
