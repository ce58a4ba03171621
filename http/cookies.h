// Cookies: reading the `Cookie` request header (RFC 6265 §4.2.1, §5.4: "name=value; name2=value2")
// and building `Set-Cookie` values (§4.1).
//
// What it promises:
// - `cookie_value` gives the value of the first cookie named exactly `name` (case-sensitive) in
//   any `Cookie` header (header names case-insensitive, headers in the order received). Pairs are
//   split on ';', whitespace (SP, HTAB) around names and values is trimmed, a value in double
//   quotes has them removed, pieces without '=' or whose name is not an RFC 9110 token are
//   skipped. The first cookie with the name decides: if its value is longer than
//   kMaxCookieValueBytes or holds a byte outside cookie-octet (controls, NUL, space, '"', ',',
//   ';', '\\', DEL, non-ASCII), the answer is nullopt, not a later cookie of that name.
// - Hostile headers cost bounded work: only the first kMaxCookieHeaderBytes of each header are
//   looked at (a pair cut by that limit is dropped, never read truncated) and only the first
//   kMaxCookiePairs non-empty pieces over all headers.
// - `set_cookie` builds "name=value; Path=/; Max-Age=N; HttpOnly; Secure; SameSite=Lax" and
//   refuses, rather than escaping, anything a browser would misread or drop.
//
// Ownership and threads: free functions on the caller's data; the result is a copy. No state.
// Errors: `cookie_value` never throws except std::bad_alloc. `set_cookie` throws
// std::invalid_argument when the name is not a token, the value not cookie-octets (callers encode
// first: base64url, hex), name and value together are longer than kMaxCookieValueBytes, the path
// is not "/..." without controls or ';', Max-Age is negative, SameSite=None lacks Secure, or a
// "__Secure-" / "__Host-" name lacks what its prefix requires (Secure; and Path=/ for __Host-).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"

namespace bw::http {

constexpr size_t kMaxCookieHeaderBytes = 4096;  // of each Cookie header
constexpr size_t kMaxCookiePairs = 100;         // over all Cookie headers of a request
constexpr size_t kMaxCookieValueBytes = 4096;

std::optional<std::string> cookie_value(const Request& request, std::string_view name);

enum class SameSite { kStrict, kLax, kNone };

struct CookieOptions {
  std::string path = "/";
  std::optional<std::chrono::seconds> max_age{};  // none: ends with the browser session; 0: delete
  bool http_only = true;
  bool secure = true;
  SameSite same_site = SameSite::kLax;
};

// The value of a Set-Cookie header (without "Set-Cookie: ").
std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions& options = {});

}  // namespace bw::http
