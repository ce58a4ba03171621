#include "web/html.h"

#include <cctype>
#include <stdexcept>

namespace bw::web::html {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid, as in RFC 3629).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void check_name(std::string_view name) {
  bool ok = !name.empty();
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) throw std::logic_error("html: bad tag or attribute name '" + std::string(name) + "'");
}

bool is_url_attribute(std::string_view name) { return name == "href" || name == "src" || name == "action"; }

}  // namespace

Url Url::local(std::string path) {
  if (path.empty() || path[0] != '/' || (path.size() > 1 && (path[1] == '/' || path[1] == '\\'))) {
    throw std::logic_error("html: not a local path: " + path);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '<' || c == '>' || c == '\\' || c == 0x7F) {
      throw std::logic_error("html: unencoded character in local path");
    }
  }
  return Url(std::move(path));
}

Url Url::fragment(std::string_view id) {
  bool ok = !id.empty();
  for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (!ok) throw std::logic_error("html: bad fragment id");
  return Url("#" + std::string(id));
}

Url Url::external(std::string_view url) {
  if (!(url.starts_with("https://") || url.starts_with("http://"))) return Url("");
  for (char c : url) {
    // Only what a well-formed, already encoded URL holds.
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F || c == '"' || c == '<' ||
        c == '>' || c == '\\' || c == '`') {
      return Url("");
    }
  }
  return Url(std::string(url));
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up over continuation bytes so the cut never splits a character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string escape(std::string_view text) {
  std::string clean = valid_utf8(text);
  std::string out;
  out.reserve(clean.size() + clean.size() / 8);
  for (char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\0': out += "\xEF\xBF\xBD"; break;
      default: out += c;
    }
  }
  return out;
}

std::string encode_component(std::string_view text) { return percent_encode(text, false); }
std::string encode_path(std::string_view text) { return percent_encode(text, true); }

void Writer::start_tag(std::string_view tag, const Attributes& attrs, std::string_view url_attr, const Url* url) {
  check_name(tag);
  out_ += '<';
  out_.append(tag);
  if (url) {
    check_name(url_attr);
    out_ += ' ';
    out_.append(url_attr);
    out_ += "=\"";
    out_ += escape(url->str());
    out_ += '"';
  }
  for (const auto& [name, value] : attrs) {
    check_name(name);
    if (is_url_attribute(name)) throw std::logic_error("html: URL attribute '" + std::string(name) + "' needs a Url");
    out_ += ' ';
    out_.append(name);
    out_ += "=\"";
    out_ += escape(utf8_prefix(value, max_text_));
    out_ += '"';
  }
  out_ += '>';
}

Writer& Writer::open(std::string_view tag, const Attributes& attrs) {
  start_tag(tag, attrs, {}, nullptr);
  open_.emplace_back(tag);
  return *this;
}

Writer& Writer::open_with_url(std::string_view tag, std::string_view url_attr, const Url& url, const Attributes& attrs) {
  if (!is_url_attribute(url_attr)) throw std::logic_error("html: not a URL attribute");
  start_tag(tag, attrs, url_attr, &url);
  open_.emplace_back(tag);
  return *this;
}

Writer& Writer::empty_with_url(std::string_view tag, std::string_view url_attr, const Url& url, const Attributes& attrs) {
  if (!is_url_attribute(url_attr)) throw std::logic_error("html: not a URL attribute");
  start_tag(tag, attrs, url_attr, &url);
  return *this;
}

Writer& Writer::close(std::string_view tag) {
  if (open_.empty() || open_.back() != tag) throw std::logic_error("html: closing <" + std::string(tag) + "> which is not open");
  out_ += "</";
  out_.append(tag);
  out_ += '>';
  open_.pop_back();
  return *this;
}

Writer& Writer::empty(std::string_view tag, const Attributes& attrs) {
  start_tag(tag, attrs, {}, nullptr);
  return *this;
}

Writer& Writer::text(std::string_view value) { return text_limited(value, max_text_); }

Writer& Writer::text_limited(std::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) {
    out_ += escape(value);
    return *this;
  }
  out_ += escape(utf8_prefix(value, max_bytes));
  // The marker is markup of ours, visibly distinct from the value.
  out_ += "<span class=\"truncated\">\xE2\x80\xA6 [cut: " + std::to_string(value.size()) + " bytes in all]</span>";
  return *this;
}

Writer& Writer::element(std::string_view tag, std::string_view value, const Attributes& attrs) {
  open(tag, attrs);
  text(value);
  return close(tag);
}

Writer& Writer::link(const Url& url, std::string_view value, const Attributes& attrs) {
  if (!url.valid()) return text(value);
  open_with_url("a", "href", url, attrs);
  text(value);
  return close("a");
}

Writer& Writer::append(const Html& fragment) {
  out_ += fragment.str();
  return *this;
}

Html Writer::finish() {
  if (!open_.empty()) throw std::logic_error("html: <" + open_.back() + "> left open");
  return Html::trusted(std::move(out_));
}

}  // namespace bw::web::html
