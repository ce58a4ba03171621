#include "collector/json_repair.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "collector/submission.h"
#include "core/ascii.h"

namespace bw::collector {
namespace {

// The value of `\uXXXX` at text[i] (text[i] == '\\'), or -1.
int unicode_escape(std::string_view text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int v = 0;
  for (size_t k = 2; k < 6; ++k) {
    int d = hex_digit_value(text[i + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

struct Level {
  bool object = false;
  bool expect_key = false;
  std::string key;  // the current member's key (for notes)
  std::set<std::string> keys;
};

class Repairer {
 public:
  Repairer(std::string_view text, std::vector<std::string>& notes) : text_(text), notes_(notes) {}

  std::string run() {
    out_.reserve(text_.size());
    size_t i = 0;
    while (i < text_.size()) {
      char c = text_[i];
      if (c == '"') {
        i = string_at(i);
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        i = number_at(i);
      } else {
        structural(c);
        out_ += c;
        ++i;
      }
    }
    return std::move(out_);
  }

 private:
  std::string where() const {
    for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) {
      if (it->object && !it->key.empty()) return "'" + it->key + "'";
    }
    return "(top level)";
  }

  void note_once(const std::string& what) {
    if (noted_.insert(what).second) notes_.push_back(what);
  }

  void structural(char c) {
    if (c == '{') {
      levels_.push_back({true, true, {}, {}});
    } else if (c == '[') {
      levels_.push_back({false, false, {}, {}});
    } else if ((c == '}' || c == ']') && !levels_.empty()) {
      levels_.pop_back();
    } else if (c == ',' && !levels_.empty() && levels_.back().object) {
      levels_.back().expect_key = true;
    }
  }

  // Copies the string starting at text_[start] (a quote), repairing lone surrogates; returns the
  // index after its closing quote (or the end of the text).
  size_t string_at(size_t start) {
    size_t out_start = out_.size();
    out_ += '"';
    size_t i = start + 1;
    bool closed = false;
    while (i < text_.size()) {
      char c = text_[i];
      if (c == '"') {
        out_ += c;
        ++i;
        closed = true;
        break;
      }
      if (c != '\\') {
        out_ += c;
        ++i;
        continue;
      }
      int cp = unicode_escape(text_, i);
      if (cp < 0xD800 || cp > 0xDFFF) {  // not a surrogate (or not \u at all): copy the escape
        size_t len = cp >= 0 ? 6 : std::min<size_t>(2, text_.size() - i);
        out_.append(text_.substr(i, len));
        i += len;
        continue;
      }
      int low = cp <= 0xDBFF ? unicode_escape(text_, i + 6) : -1;
      if (low >= 0xDC00 && low <= 0xDFFF) {  // a whole pair
        out_.append(text_.substr(i, 12));
        i += 12;
        continue;
      }
      out_ += "\\uFFFD";
      i += 6;
      lone_surrogate_ = true;
    }
    bool is_key = !levels_.empty() && levels_.back().object && levels_.back().expect_key;
    if (is_key && closed) {
      auto& level = levels_.back();
      level.expect_key = false;
      std::string quoted = out_.substr(out_start);
      auto decoded = nlohmann::json::parse(quoted, nullptr, false);
      level.key = decoded.is_string() ? decoded.get<std::string>() : quoted;
      if (!level.keys.insert(level.key).second) note_once("JSON key '" + level.key + "' sent twice; the last kept");
    }
    if (lone_surrogate_) {
      note_once("JSON value " + where() + " had an unpaired UTF-16 surrogate escape, replaced by U+FFFD");
      lone_surrogate_ = false;
    }
    return i;
  }

  // Copies the number at text_[start]; one a double cannot hold becomes a string of its text.
  size_t number_at(size_t start) {
    size_t i = start;
    while (i < text_.size()) {
      char c = text_[i];
      if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') ++i;
      else break;
    }
    std::string token(text_.substr(start, i - start));
    double v = std::strtod(token.c_str(), nullptr);
    if (std::isinf(v)) {
      out_ += '"' + token + '"';
      note_once("JSON number " + where() + " is out of range; kept as text");
    } else {
      out_ += token;
    }
    return i;
  }

  std::string_view text_;
  std::vector<std::string>& notes_;
  std::string out_;
  std::vector<Level> levels_;
  std::set<std::string> noted_;
  bool lone_surrogate_ = false;
};

}  // namespace

std::string repair_json_text(std::string_view text, std::vector<std::string>& notes) {
  bool bad_utf8 = false;
  std::string valid = to_valid_utf8(text, &bad_utf8);
  if (bad_utf8) notes.push_back("JSON part had invalid UTF-8, replaced by U+FFFD");
  return Repairer(valid, notes).run();
}

}  // namespace bw::collector
