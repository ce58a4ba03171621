// Cookie header parsing and Set-Cookie building on hostile input: never crash or read out of
// bounds, every value found is at most kMaxCookieValueBytes of cookie-octets, and whatever
// set_cookie accepts reads back unchanged through cookie_value.
// Input: first byte = mode (bit 0: two Cookie headers split at the first '\n'; bit 1: header name
// "cookie"; bits 2..4: Set-Cookie options), the rest = header value(s); its first 300 bytes, split
// at the first '=', are also a name and value for set_cookie.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http/cookies.h"

namespace {

bool is_cookie_octet(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E);
}

void check_value(const bw::http::Request& request, std::string_view name) {
  auto value = bw::http::cookie_value(request, name);
  if (!value) return;
  if (value->size() > bw::http::kMaxCookieValueBytes) std::abort();
  for (char c : *value) {
    if (!is_cookie_octet(static_cast<unsigned char>(c))) std::abort();
  }
  if (bw::http::cookie_value(request, name) != value) std::abort();  // no hidden state
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  bw::http::Request request;
  const std::string header_name = (mode & 2) ? "cookie" : "Cookie";
  size_t newline = input.find('\n');
  if ((mode & 1) && newline != std::string_view::npos) {
    request.headers.emplace_back(header_name, std::string(input.substr(0, newline)));
    request.headers.emplace_back("X-Other", "a=b");
    request.headers.emplace_back(header_name, std::string(input.substr(newline + 1)));
  } else {
    request.headers.emplace_back(header_name, std::string(input));
  }
  for (std::string_view name : {"session", "csrf", "a", "", "__Host-sid"}) check_value(request, name);
  std::string_view slice = input.substr(0, 300);
  size_t eq = slice.find('=');
  std::string_view name = slice.substr(0, eq);
  std::string_view value = eq == std::string_view::npos ? std::string_view() : slice.substr(eq + 1);
  check_value(request, name.substr(0, 20));

  bw::http::CookieOptions options;
  options.secure = (mode & 4) == 0;
  options.same_site = static_cast<bw::http::SameSite>((mode >> 3) % 3);
  if (mode & 32) options.max_age = std::chrono::seconds(static_cast<int8_t>(mode));
  if (mode & 64) options.path = std::string(value.substr(0, 30));
  std::string header;
  try {
    header = bw::http::set_cookie(name, value, options);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  // Accepted: it starts "name=value; Path=" and reads back.
  std::string pair = std::string(name) + "=" + std::string(value);
  if (header.compare(0, pair.size() + 7, pair + "; Path=") != 0) std::abort();
  bw::http::Request back;
  back.headers.emplace_back("Cookie", pair + "; other=1");
  if (bw::http::cookie_value(back, name) != std::string(value)) std::abort();
  return 0;
}
