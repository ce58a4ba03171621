// ASCII case helpers for protocol text (header names, tokens, schemes, file extensions): one place
// instead of a loop in every part. Only A-Z and a-z are folded; other bytes (UTF-8 included) are
// compared and copied as they are, whatever the C locale says.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bw {

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
