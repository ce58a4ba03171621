#include "http/cookies.h"

#include <algorithm>
#include <stdexcept>

#include "core/ascii.h"

namespace bw::http {

namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// RFC 6265 §4.1.1 cookie-octet: US-ASCII without controls, whitespace, DQUOTE, comma, semicolon
// and backslash.
bool is_cookie_octet(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E);
}

bool is_cookie_value(std::string_view s) {
  return s.size() <= kMaxCookieValueBytes &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_cookie_octet(static_cast<unsigned char>(c)); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The part of a Cookie header that is looked at: its first kMaxCookieHeaderBytes, less a pair
// the limit cuts through.
std::string_view bounded(std::string_view header) {
  if (header.size() <= kMaxCookieHeaderBytes) return header;
  if (header[kMaxCookieHeaderBytes] == ';') return header.substr(0, kMaxCookieHeaderBytes);
  size_t last = header.rfind(';', kMaxCookieHeaderBytes - 1);
  return last == std::string_view::npos ? std::string_view() : header.substr(0, last);
}

}  // namespace

std::optional<std::string> cookie_value(const Request& request, std::string_view name) {
  if (!is_token(name)) return std::nullopt;  // so a pair whose name is not a token never matches
  size_t pairs = 0;
  for (const auto& header : request.headers) {
    if (!iequals(header.first, "Cookie")) continue;
    std::string_view rest = bounded(header.second);
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view piece = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (piece.empty()) continue;
      if (++pairs > kMaxCookiePairs) return std::nullopt;
      size_t eq = piece.find('=');
      if (eq == std::string_view::npos || trim(piece.substr(0, eq)) != name) continue;
      std::string_view value = trim(piece.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      if (!is_cookie_value(value)) return std::nullopt;
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions& options) {
  if (!is_token(name)) throw std::invalid_argument("cookie name is not a token");
  if (!is_cookie_value(value)) throw std::invalid_argument("cookie value holds a byte outside cookie-octet");
  if (name.size() + value.size() > kMaxCookieValueBytes) throw std::invalid_argument("cookie too long");
  const std::string& path = options.path;
  if (path.empty() || path.front() != '/' || std::any_of(path.begin(), path.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c >= 0x7F || c == ';';
      })) {
    throw std::invalid_argument("cookie path must be \"/...\" without controls or ';'");
  }
  if (options.max_age && options.max_age->count() < 0) throw std::invalid_argument("cookie Max-Age is negative");
  if (options.same_site == SameSite::kNone && !options.secure) {
    throw std::invalid_argument("SameSite=None cookies must be Secure");
  }
  if ((istarts_with(name, "__Secure-") || istarts_with(name, "__Host-")) && !options.secure) {
    throw std::invalid_argument("a __Secure- or __Host- cookie must be Secure");
  }
  if (istarts_with(name, "__Host-") && path != "/") throw std::invalid_argument("a __Host- cookie must have Path=/");

  std::string out;
  out.reserve(name.size() + value.size() + path.size() + 64);
  out.append(name).append("=").append(value).append("; Path=").append(path);
  if (options.max_age) out.append("; Max-Age=").append(std::to_string(options.max_age->count()));
  if (options.http_only) out.append("; HttpOnly");
  if (options.secure) out.append("; Secure");
  switch (options.same_site) {
    case SameSite::kStrict:
      out.append("; SameSite=Strict");
      break;
    case SameSite::kLax:
      out.append("; SameSite=Lax");
      break;
    case SameSite::kNone:
      out.append("; SameSite=None");
      break;
  }
  return out;
}

}  // namespace bw::http
