#include "http/multipart.h"

#include <algorithm>
#include <cctype>

#include "core/ascii.h"

namespace bw::http {
namespace {

constexpr size_t kMaxBoundary = 200;
constexpr size_t kMaxPadding = 256;  // transport padding allowed after a delimiter

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> MediaType::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

MediaType parse_media_type(std::string_view value) {
  MediaType out;
  size_t i = value.find(';');
  out.type = ascii_lowered(trim(value.substr(0, i)));
  while (i != std::string_view::npos && i < value.size()) {
    ++i;  // past ';'
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    size_t eq = i;
    while (eq < value.size() && value[eq] != '=' && value[eq] != ';') ++eq;
    std::string name = ascii_lowered(trim(value.substr(i, eq - i)));
    if (eq >= value.size() || value[eq] == ';') {
      i = eq < value.size() ? eq : std::string_view::npos;
      continue;  // a parameter without a value: skipped
    }
    size_t v = eq + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    std::string val;
    if (v < value.size() && value[v] == '"') {
      size_t j = v + 1;
      bool closed = false;
      for (; j < value.size(); ++j) {
        char c = value[j];
        if (c == '\\' && j + 1 < value.size() && (value[j + 1] == '"' || value[j + 1] == '\\')) {
          val += value[++j];
        } else if (c == '"') {
          closed = true;
          ++j;
          break;
        } else {
          val += c;
        }
      }
      if (!closed) break;  // unterminated quote: the rest is not trustworthy
      i = value.find(';', j);
    } else {
      size_t end = value.find(';', v);
      val = std::string(trim(value.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v)));
      i = end;
    }
    if (!name.empty()) out.params.emplace_back(std::move(name), std::move(val));
  }
  return out;
}

MultipartParser::MultipartParser(std::string boundary, MultipartSink& sink, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary), sink_(sink), limits_(limits) {
  if (boundary.empty() || boundary.size() > kMaxBoundary) {
    throw MultipartError("boundary must be 1 to 200 characters");
  }
  // The first delimiter may open the body without a preceding line break: pretend there was one.
  pending_ = "\r\n";
}

void MultipartParser::parse_headers(std::string_view block) {
  if (++parts_ > limits_.max_parts) throw MultipartError("too many parts");
  PartHeaders h;
  std::vector<std::pair<std::string, std::string>> lines;
  while (!block.empty()) {
    auto eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !lines.empty()) {
      lines.back().second += " " + std::string(trim(line));  // obsolete header folding
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) throw MultipartError("part header line without a name");
    lines.emplace_back(ascii_lowered(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  for (const auto& [name, value] : lines) {
    if (name == "content-disposition") {
      auto d = parse_media_type(value);
      if (auto n = d.param("name")) h.name = *n;
      if (auto f = d.param("filename")) h.filename = *f;
    } else if (name == "content-type") {
      h.content_type = parse_media_type(value).type;
    } else if (name == "content-transfer-encoding" || name == "content-encoding") {
      h.content_encoding = ascii_lowered(value);
    }
  }
  sink_.on_part_begin(h);
}

void MultipartParser::feed(std::string_view data) {
  // Dump bytes are parsed where they lie: only what `consume` cannot settle yet (a possible
  // delimiter start, an unfinished header block) is copied into pending_, and only a bounded
  // slice of the new data joins it, so a large body is not copied once more on its way to disk.
  while (!data.empty()) {
    if (pending_.empty()) {
      size_t used = consume(data);
      pending_.assign(data.substr(used));
      return;
    }
    size_t take = std::min(data.size(), std::max<size_t>(pending_.size(), 4096));
    pending_.append(data.substr(0, take));
    data.remove_prefix(take);
    pending_.erase(0, consume(pending_));
  }
}

size_t MultipartParser::consume(std::string_view input) {
  size_t pos = 0;
  bool more = true;
  while (more) {
    std::string_view buf(input);
    buf.remove_prefix(pos);
    switch (state_) {
      case State::kPreamble: {
        auto at = buf.find(delimiter_);
        if (at == std::string_view::npos) {
          size_t keep = std::min(buf.size(), delimiter_.size() - 1);
          pos += buf.size() - keep;
          more = false;
          break;
        }
        pos += at + delimiter_.size();
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        if (buf.size() < 2) {
          more = false;
          break;
        }
        if (buf.substr(0, 2) == "--") {
          state_ = State::kEpilogue;
          break;
        }
        size_t i = 0;
        while (i < buf.size() && (buf[i] == ' ' || buf[i] == '\t')) ++i;
        if (i > kMaxPadding) throw MultipartError("too much padding after a boundary");
        if (buf.size() < i + 2) {
          more = false;
          break;
        }
        if (buf.substr(i, 2) != "\r\n") throw MultipartError("boundary not followed by a line break");
        pos += i + 2;
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        if (buf.size() < 2) {
          more = false;
          break;
        }
        size_t end;
        size_t skip;
        if (buf.substr(0, 2) == "\r\n") {  // a part with no headers at all
          end = 0;
          skip = 2;
        } else {
          end = buf.find("\r\n\r\n");
          skip = 4;
          if (end == std::string_view::npos) {
            // Too long only once the terminator could no longer end within the limit, so the
            // verdict does not depend on how the body was split.
            if (buf.size() >= limits_.max_header_bytes + 4) throw MultipartError("part headers too long");
            more = false;
            break;
          }
          if (end > limits_.max_header_bytes) throw MultipartError("part headers too long");
        }
        parse_headers(buf.substr(0, end));
        pos += end + skip;
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        auto at = buf.find(delimiter_);
        if (at == std::string_view::npos) {
          // Hold back only a tail that could be the start of a delimiter (it starts with '\r').
          size_t window = std::min(buf.size(), delimiter_.size() - 1);
          size_t keep = 0;
          auto cr = buf.substr(buf.size() - window).find('\r');
          if (cr != std::string_view::npos) keep = window - cr;
          if (buf.size() > keep) sink_.on_part_data(buf.substr(0, buf.size() - keep));
          pos += buf.size() - keep;
          more = false;
          break;
        }
        if (at > 0) sink_.on_part_data(buf.substr(0, at));
        sink_.on_part_end();
        pos += at + delimiter_.size();
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kEpilogue:
        pos = input.size();  // anything after the closing delimiter is ignored
        more = false;
        break;
    }
  }
  return pos;
}

void MultipartParser::finish() {
  switch (state_) {
    case State::kEpilogue: return;
    case State::kPreamble: throw MultipartError("no opening boundary");
    case State::kAfterDelimiter:
    case State::kHeaders: throw MultipartError("body ends after a boundary, before the closing one");
    case State::kBody: throw MultipartError("body ends inside a part (no closing boundary)");
  }
}

}  // namespace bw::http
