// Server-side HTML with escaping by default.
//
// Every string handed to the Writer is escaped: element text, attribute values and URLs. The only
// way to put markup into a page unescaped is an `Html` value, which only the Writer itself and
// `Html::trusted` (for literal markup written in our own source) produce. So a crash annotation
// can never become markup, whatever page code does with it.
//
// - Text and attribute values are escaped for the contexts they go into (& < > " ' everywhere,
//   which is safe in text and in double-quoted attributes; attributes are always double-quoted).
// - href/src/action values must be a `Url`: one of our own paths (percent-encoded where built from
//   data) or an http(s) URL. Anything else (javascript:, data:...) cannot be expressed.
// - Long values are cut at `max_text` bytes (on a UTF-8 boundary) with a visible marker saying
//   how long the value was, so a 1 MB annotation costs a page 1 KB, not 1 MB.
// - Invalid UTF-8 is replaced by U+FFFD before it reaches the page.
//
// Errors: std::logic_error for a programming mistake (closing a tag that is not open, an
// attribute name that is not [a-z-]+). Thread safety: a Writer is used by one thread; the free
// functions are pure.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bw::web::html {

// A fragment of markup that is safe to insert as is.
class Html {
 public:
  Html() = default;
  // Markup written by us (a literal in our source), never data. Grep for it in review.
  static Html trusted(std::string markup) { return Html(std::move(markup)); }
  const std::string& str() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  explicit Html(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// A URL that may go into href/src/action.
class Url {
 public:
  // One of our own paths: must start with '/' and not "//"; given segments are not re-encoded
  // (build them with `encode_component`). Throws std::logic_error otherwise.
  static Url local(std::string path);
  // "#id": a place on the same page (id must be [A-Za-z0-9_-]+; throws std::logic_error).
  static Url fragment(std::string_view id);
  // An absolute http:// or https:// URL; nullopt-like empty Url (valid() false) for anything
  // else, so a bad link is dropped rather than written.
  static Url external(std::string_view url);
  bool valid() const { return !text_.empty(); }
  const std::string& str() const { return text_; }

 private:
  explicit Url(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Escapes & < > " ' (after replacing invalid UTF-8 with U+FFFD).
std::string escape(std::string_view text);
// Percent-encodes everything but unreserved characters (RFC 3986): for a query value or a path
// segment.
std::string encode_component(std::string_view text);
// Like encode_component but keeps '/' (a path of several segments).
std::string encode_path(std::string_view text);
// Replaces invalid UTF-8 sequences by U+FFFD.
std::string valid_utf8(std::string_view text);
// The longest prefix of `text` of at most `max_bytes` bytes that ends on a UTF-8 character
// boundary.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

using Attributes = std::vector<std::pair<std::string_view, std::string>>;

class Writer {
 public:
  static constexpr size_t kDefaultMaxText = 2000;
  explicit Writer(size_t max_text = kDefaultMaxText) : max_text_(max_text) {}

  // <tag attr="value"...>; values escaped. href/src/action are refused here (use link/url_attr).
  Writer& open(std::string_view tag, const Attributes& attrs = {});
  // Closes the innermost open tag; `tag` must name it.
  Writer& close(std::string_view tag);
  // A void element (<meta>, <link>, <br>...): no close.
  Writer& empty(std::string_view tag, const Attributes& attrs = {});
  // Escaped text, cut at max_text with a marker.
  Writer& text(std::string_view value);
  // Escaped text cut at `max_bytes` instead of max_text.
  Writer& text_limited(std::string_view value, size_t max_bytes);
  // <tag attrs>text</tag>
  Writer& element(std::string_view tag, std::string_view value, const Attributes& attrs = {});
  // <a href="url" attrs>text</a>; an invalid Url writes the text alone.
  Writer& link(const Url& url, std::string_view value, const Attributes& attrs = {});
  // Opens <tag> with a URL attribute (href/src/action) plus attrs.
  Writer& open_with_url(std::string_view tag, std::string_view url_attr, const Url& url, const Attributes& attrs = {});
  // A void element with a URL attribute (<link rel=stylesheet href>, <script src> is not void).
  Writer& empty_with_url(std::string_view tag, std::string_view url_attr, const Url& url, const Attributes& attrs = {});
  // Inserts trusted markup.
  Writer& append(const Html& fragment);

  // The markup so far; every open tag must be closed.
  Html finish();

 private:
  void start_tag(std::string_view tag, const Attributes& attrs, std::string_view url_attr, const Url* url);

  size_t max_text_;
  std::string out_;
  std::vector<std::string> open_;
};

}  // namespace bw::web::html
