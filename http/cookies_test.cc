#include "http/cookies.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace bw::http {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;

Request with_cookies(std::vector<std::string> values, std::string header_name = "Cookie") {
  Request r;
  r.headers.emplace_back("Host", "example.org");
  for (auto& v : values) r.headers.emplace_back(header_name, std::move(v));
  r.headers.emplace_back("Accept", "*/*");
  return r;
}

std::optional<std::string> value_of(const std::string& header, std::string_view name) {
  return cookie_value(with_cookies({header}), name);
}

TEST(CookieValue, FindsPairs) {
  Request r = with_cookies({"a=1; b=2; session=abc-DEF_123"});
  EXPECT_EQ(cookie_value(r, "a"), "1");
  EXPECT_EQ(cookie_value(r, "b"), "2");
  EXPECT_EQ(cookie_value(r, "session"), "abc-DEF_123");
  EXPECT_EQ(cookie_value(r, "c"), std::nullopt);
  EXPECT_EQ(cookie_value(r, "Session"), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(value_of("t=aGVsbG8=; u=a=b", "t"), "aGVsbG8=");  // '=' is a cookie-octet
  EXPECT_EQ(value_of("t=aGVsbG8=; u=a=b", "u"), "a=b");
  EXPECT_EQ(value_of("a=", "a"), "");
  EXPECT_EQ(value_of("a=; b=2", "a"), "");
}

TEST(CookieValue, NoCookieHeaderOrEmpty) {
  Request none;
  none.headers.emplace_back("Cookies", "a=1");
  none.headers.emplace_back("Set-Cookie", "a=1");
  EXPECT_EQ(cookie_value(none, "a"), std::nullopt);
  EXPECT_EQ(value_of("", "a"), std::nullopt);
  EXPECT_EQ(value_of(";;; ;", "a"), std::nullopt);
  EXPECT_EQ(value_of("=", "a"), std::nullopt);
  EXPECT_EQ(value_of("=1", ""), std::nullopt);  // an empty name never matches
}

TEST(CookieValue, TrimsWhitespaceAroundPairsNamesAndValues) {
  Request r = with_cookies({"  a = 1 ;\tb=2\t;c=3;   d\t=\t\"4\"  "});
  EXPECT_EQ(cookie_value(r, "a"), "1");
  EXPECT_EQ(cookie_value(r, "b"), "2");
  EXPECT_EQ(cookie_value(r, "c"), "3");
  EXPECT_EQ(cookie_value(r, "d"), "4");
}

TEST(CookieValue, QuotedValues) {
  EXPECT_EQ(value_of("q=\"hello\"", "q"), "hello");
  EXPECT_EQ(value_of("q=\"\"", "q"), "");
  EXPECT_EQ(value_of("q=\"", "q"), std::nullopt);
  EXPECT_EQ(value_of("q=\"abc", "q"), std::nullopt);
  EXPECT_EQ(value_of("q=abc\"", "q"), std::nullopt);
  EXPECT_EQ(value_of("q=a\"b\"", "q"), std::nullopt);
  EXPECT_EQ(value_of("q=\"\"\"", "q"), std::nullopt);  // quotes removed once only
  EXPECT_EQ(value_of("q=\"a b\"", "q"), std::nullopt);  // no space inside quotes either
}

TEST(CookieValue, PairsWithoutEqualsAreSkipped) {
  Request r = with_cookies({"flag; a=1; other"});
  EXPECT_EQ(cookie_value(r, "a"), "1");
  EXPECT_EQ(cookie_value(r, "flag"), std::nullopt);
  EXPECT_EQ(cookie_value(r, "other"), std::nullopt);
}

TEST(CookieValue, FirstCookieOfANameWinsAcrossHeaders) {
  EXPECT_EQ(value_of("a=1; a=2", "a"), "1");
  Request r = with_cookies({"x=0; a=first", "a=second; b=2"});
  EXPECT_EQ(cookie_value(r, "a"), "first");
  EXPECT_EQ(cookie_value(r, "b"), "2");  // later headers are read too
  Request lower = with_cookies({"k=v"}, "cookie");
  EXPECT_EQ(cookie_value(lower, "k"), "v");
  Request upper = with_cookies({"k=v"}, "COOKIE");
  EXPECT_EQ(cookie_value(upper, "k"), "v");
}

TEST(CookieValue, AValueOutsideCookieOctetIsIgnored) {
  for (std::string bad : {"x y"s, "x,y"s, "x\\y"s, "x\x7fy"s, "x\ny"s, "x\ry"s, "x\x01y"s, "x\0y"s, "caf\xc3\xa9"s,
                          "x\"y"s}) {
    EXPECT_EQ(value_of("a=" + bad + "; b=2", "a"), std::nullopt) << bad;
    EXPECT_EQ(value_of("a=" + bad + "; b=2", "b"), "2") << bad;
    // The first cookie of the name decides: a later good one is not used instead.
    EXPECT_EQ(value_of("a=" + bad + "; a=good", "a"), std::nullopt) << bad;
  }
  // Every cookie-octet is accepted.
  std::string all;
  for (int c = 0x21; c <= 0x7E; ++c) {
    if (c != '"' && c != ',' && c != ';' && c != '\\') all.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(value_of("all=" + all, "all"), all);
}

TEST(CookieValue, HostileNames) {
  EXPECT_EQ(value_of("a\0=1; b=2"s, "b"), "2");
  EXPECT_EQ(value_of("a\0=1"s, "a"), std::nullopt);
  EXPECT_EQ(cookie_value(with_cookies({"a\0=1"s}), "a\0"s), std::nullopt);  // not a token
  EXPECT_EQ(value_of("a b=1", "a b"), std::nullopt);
  EXPECT_EQ(value_of("a b=1", "b"), std::nullopt);
  EXPECT_EQ(value_of("a=1", "a=1"), std::nullopt);
  EXPECT_EQ(value_of("a;=1", "a;"), std::nullopt);
}

TEST(CookieValue, OnlyTheFirst4096BytesOfAHeaderAndNoCutPairs) {
  // A 5000-byte value is cut by the limit: ignored, as is everything after it.
  std::string big = "a=1; big=" + std::string(5000, 'x') + "; z=2";
  EXPECT_EQ(value_of(big, "a"), "1");
  EXPECT_EQ(value_of(big, "big"), std::nullopt);
  EXPECT_EQ(value_of(big, "z"), std::nullopt);

  // A pair that ends exactly at the limit is whole.
  std::string exact = "k=" + std::string(kMaxCookieHeaderBytes - 2, 'v');
  ASSERT_EQ(exact.size(), kMaxCookieHeaderBytes);
  EXPECT_EQ(value_of(exact, "k"), std::string(kMaxCookieHeaderBytes - 2, 'v'));
  EXPECT_EQ(value_of(exact + "; after=1", "k"), std::string(kMaxCookieHeaderBytes - 2, 'v'));
  EXPECT_EQ(value_of(exact + "; after=1", "after"), std::nullopt);
  // One byte more and it is cut: never returned truncated.
  EXPECT_EQ(value_of(exact + "v", "k"), std::nullopt);
  EXPECT_EQ(value_of(exact + "v; after=1", "k"), std::nullopt);
  EXPECT_EQ(value_of("first=1;" + exact, "first"), "1");
  EXPECT_EQ(value_of("first=1;" + exact, "k"), std::nullopt);

  // A huge first header does not hide a later one.
  Request r = with_cookies({std::string(100000, 'x'), "s=1"});
  EXPECT_EQ(cookie_value(r, "s"), "1");
  Request many = with_cookies(std::vector<std::string>(1000, std::string(4000, ';')));
  many.headers.emplace_back("Cookie", "late=1");
  EXPECT_EQ(cookie_value(many, "late"), "1");  // empty pieces are not pairs
}

TEST(CookieValue, AtMost100Pairs) {
  std::string header;
  for (int i = 0; i < 150; ++i) header += "c" + std::to_string(i) + "=" + std::to_string(i) + "; ";
  EXPECT_EQ(value_of(header, "c0"), "0");
  EXPECT_EQ(value_of(header, "c99"), "99");
  EXPECT_EQ(value_of(header, "c100"), std::nullopt);
  EXPECT_EQ(value_of(header, "c149"), std::nullopt);

  // Pairs without '=' count too, and the limit is over all headers of the request.
  std::string flags;
  for (int i = 0; i < 60; ++i) flags += "flag; ";
  Request r = with_cookies({flags, flags + "a=1", "b=2"});
  EXPECT_EQ(cookie_value(r, "a"), std::nullopt);
  EXPECT_EQ(cookie_value(r, "b"), std::nullopt);
  Request fits = with_cookies({flags, "x=1; " + flags.substr(0, 37 * 6) + "a=1", "b=2"});
  EXPECT_EQ(cookie_value(fits, "a"), "1");      // pair 99
  EXPECT_EQ(cookie_value(fits, "b"), "2");      // pair 100
}

TEST(SetCookie, Defaults) {
  EXPECT_EQ(set_cookie("sid", "abc"), "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax");
  EXPECT_EQ(set_cookie("sid", "abc", CookieOptions{}), "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax");
}

TEST(SetCookie, Options) {
  CookieOptions o;
  o.path = "/api/v1";
  o.max_age = 3600s;
  o.http_only = false;
  o.secure = false;
  o.same_site = SameSite::kStrict;
  EXPECT_EQ(set_cookie("pref", "dark", o), "pref=dark; Path=/api/v1; Max-Age=3600; SameSite=Strict");

  CookieOptions del;
  del.max_age = 0s;
  EXPECT_EQ(set_cookie("sid", "", del), "sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");

  CookieOptions none;
  none.same_site = SameSite::kNone;
  EXPECT_EQ(set_cookie("x", "1", none), "x=1; Path=/; HttpOnly; Secure; SameSite=None");

  CookieOptions host;
  EXPECT_EQ(set_cookie("__Host-sid", "v", host), "__Host-sid=v; Path=/; HttpOnly; Secure; SameSite=Lax");
  CookieOptions api;
  api.path = "/api";
  EXPECT_EQ(set_cookie("__Secure-sid", "v", api), "__Secure-sid=v; Path=/api; HttpOnly; Secure; SameSite=Lax");
}

TEST(SetCookie, RefusesWhatIsNotACookie) {
  for (std::string name : {""s, "a b"s, "a;b"s, "a=b"s, "a,b"s, "a\"b"s, "a(b)"s, "caf\xc3\xa9"s, "a\0b"s, "a\tb"s,
                           "a\r\nSet-Cookie: x"s}) {
    EXPECT_THROW(set_cookie(name, "v"), std::invalid_argument) << name;
  }
  for (std::string value : {"a b"s, "a;b"s, "a,b"s, "\"q\""s, "a\\b"s, "\x7f"s, "\n"s, "a\0b"s, "caf\xc3\xa9"s,
                            "x\r\nSet-Cookie: evil=1"s}) {
    EXPECT_THROW(set_cookie("n", value), std::invalid_argument) << value;
  }
  EXPECT_NO_THROW(set_cookie("n", std::string(kMaxCookieValueBytes - 1, 'v')));
  EXPECT_THROW(set_cookie("n", std::string(kMaxCookieValueBytes, 'v')), std::invalid_argument);

  for (std::string path : {""s, "api"s, "/a;b"s, "/a\nb"s, "/a\0b"s, "/caf\xc3\xa9"s, "/\x7f"s}) {
    CookieOptions o;
    o.path = path;
    EXPECT_THROW(set_cookie("n", "v", o), std::invalid_argument) << path;
  }
  CookieOptions negative;
  negative.max_age = -1s;
  EXPECT_THROW(set_cookie("n", "v", negative), std::invalid_argument);

  CookieOptions none_insecure;
  none_insecure.same_site = SameSite::kNone;
  none_insecure.secure = false;
  EXPECT_THROW(set_cookie("n", "v", none_insecure), std::invalid_argument);

  CookieOptions insecure;
  insecure.secure = false;
  EXPECT_NO_THROW(set_cookie("n", "v", insecure));
  EXPECT_THROW(set_cookie("__Secure-n", "v", insecure), std::invalid_argument);
  EXPECT_THROW(set_cookie("__host-n", "v", insecure), std::invalid_argument);
  CookieOptions sub;
  sub.path = "/sub";
  EXPECT_NO_THROW(set_cookie("__Secure-n", "v", sub));
  EXPECT_THROW(set_cookie("__Host-n", "v", sub), std::invalid_argument);
}

TEST(SetCookie, WhatItSetsReadsBack) {
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"sid", "aGVsbG8gd29ybGQ="}, {"x", ""}, {"!#$%&'*+-.^_`|~", "!#$%&'()*+-./:<=>?@[]^_`{|}~"}}) {
    std::string header = set_cookie(name, value);
    std::string pair = header.substr(0, header.find("; Path="));
    EXPECT_EQ(cookie_value(with_cookies({"other=1; " + pair}), name), value) << header;
  }
}

}  // namespace
}  // namespace bw::http
