// The HTML builder: escaping by default, URL safety, truncation, UTF-8 repair.
#include "web/html.h"

#include <gtest/gtest.h>

namespace bw::web::html {
namespace {

TEST(HtmlTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(escape("\"><img src=x onerror=alert(1)>"), "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  EXPECT_EQ(escape("a & b 'c'"), "a &amp; b &#39;c&#39;");
  EXPECT_EQ(escape("plain text"), "plain text");
}

TEST(HtmlTest, ReplacesInvalidUtf8AndNul) {
  EXPECT_EQ(valid_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(valid_utf8("bad \xC3"), "bad \xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(escape(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
}

TEST(HtmlTest, Utf8PrefixNeverSplitsACharacter) {
  std::string s = "ab\xE2\x82\xAC";  // "ab€"
  EXPECT_EQ(utf8_prefix(s, 3), "ab");
  EXPECT_EQ(utf8_prefix(s, 4), "ab");
  EXPECT_EQ(utf8_prefix(s, 5), s);
  EXPECT_EQ(utf8_prefix(s, 100), s);
}

TEST(HtmlTest, PercentEncoding) {
  EXPECT_EQ(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(encode_path("dir/a b.cpp"), "dir/a%20b.cpp");
  EXPECT_EQ(encode_component("Az09-._~"), "Az09-._~");
}

TEST(HtmlTest, UrlsAreOursOrHttp) {
  EXPECT_EQ(Url::local("/report/index/x").str(), "/report/index/x");
  EXPECT_THROW(Url::local("//evil.example/"), std::logic_error);
  EXPECT_THROW(Url::local("javascript:alert(1)"), std::logic_error);
  EXPECT_THROW(Url::local("/a b"), std::logic_error);
  EXPECT_TRUE(Url::external("https://hg.mozilla.org/x").valid());
  EXPECT_FALSE(Url::external("javascript:alert(1)").valid());
  EXPECT_FALSE(Url::external("data:text/html,<script>").valid());
  EXPECT_FALSE(Url::external("https://x/\"onmouseover=1").valid());
  EXPECT_EQ(Url::fragment("main").str(), "#main");
  EXPECT_THROW(Url::fragment("a\"b"), std::logic_error);
}

TEST(HtmlTest, WriterEscapesTextAndAttributes) {
  Writer w;
  w.open("p", {{"title", "\"><script>x</script>"}}).text("<b>bold</b>").close("p");
  EXPECT_EQ(w.finish().str(), "<p title=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">&lt;b&gt;bold&lt;/b&gt;</p>");
}

TEST(HtmlTest, WriterRefusesUrlAttributesWithoutUrl) {
  Writer w;
  EXPECT_THROW(w.open("a", {{"href", "javascript:alert(1)"}}), std::logic_error);
  EXPECT_THROW(w.empty("img", {{"src", "x"}}), std::logic_error);
  EXPECT_THROW(w.open("a", {{"onclick=\"x", "y"}}), std::logic_error);
}

TEST(HtmlTest, WriterLinksAndDropsBadUrls) {
  Writer w;
  w.link(Url::local("/signature/?signature=" + encode_component("a<b")), "a<b");
  w.link(Url::external("javascript:alert(1)"), "click");
  EXPECT_EQ(w.finish().str(), "<a href=\"/signature/?signature=a%3Cb\">a&lt;b</a>click");
}

TEST(HtmlTest, WriterCutsLongTextWithAMarker) {
  Writer w(10);
  std::string big(1 << 20, 'x');
  w.text(big);
  std::string out = w.finish().str();
  EXPECT_LT(out.size(), 200u);
  EXPECT_EQ(out.substr(0, 10), std::string(10, 'x'));
  EXPECT_NE(out.find("1048576 bytes in all"), std::string::npos) << out;
}

TEST(HtmlTest, WriterChecksNesting) {
  Writer w;
  w.open("div").open("p");
  EXPECT_THROW(w.close("div"), std::logic_error);
  Writer unclosed;
  unclosed.open("div");
  EXPECT_THROW(unclosed.finish(), std::logic_error);
}

TEST(HtmlTest, TrustedMarkupIsInsertedAsIs) {
  Writer w;
  w.open("div").append(Html::trusted("<hr>")).close("div");
  EXPECT_EQ(w.finish().str(), "<div><hr></div>");
}

}  // namespace
}  // namespace bw::web::html
