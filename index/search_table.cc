#include "index/search_table.h"

#include <algorithm>
#include <sstream>

namespace bw::index {
namespace {

using nlohmann::json;

// Bytes of `text` that fit in `max` bytes without cutting a UTF-8 sequence.
size_t utf8_fit(const std::string& text, size_t max) {
  if (text.size() <= max) return text.size();
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

// Display width: code points, not bytes (close enough for aligned columns of mostly ASCII).
size_t width(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string cell(const json& value, size_t max_cell) {
  std::string text;
  if (value.is_null()) {
    text = "";
  } else if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (!text.empty()) text += ", ";
      text += v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } else {
    text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  if (text.size() > max_cell) {
    size_t keep = utf8_fit(text, max_cell > 3 ? max_cell - 3 : 0);
    text = text.substr(0, keep) + "\xE2\x80\xA6";
  }
  return text;
}

void pad(std::ostringstream& out, const std::string& text, size_t to) {
  out << text;
  for (size_t w = width(text); w < to; ++w) out << ' ';
}

void write_facet(std::ostringstream& out, const std::string& name, const json& buckets, size_t depth, size_t max_cell) {
  std::string indent(depth * 2, ' ');
  if (buckets.is_object() && buckets.contains("value")) {
    out << indent << name << ": " << cell(buckets["value"], max_cell) << " distinct\n";
    return;
  }
  if (!buckets.is_array()) return;
  out << indent << name << ":\n";
  size_t count_width = 5;
  for (const auto& b : buckets) count_width = std::max(count_width, cell(b.value("count", json()), max_cell).size());
  for (const auto& b : buckets) {
    std::string count = cell(b.value("count", json()), max_cell);
    out << indent << "  " << std::string(count_width - count.size(), ' ') << count << "  "
        << cell(b.value("term", json()), max_cell) << "\n";
    if (auto it = b.find("facets"); it != b.end() && it->is_object()) {
      for (const auto& [sub, sub_buckets] : it->items()) write_facet(out, sub, sub_buckets, depth + 2, max_cell);
    }
  }
}

}  // namespace

std::string format_search_table(const SuperSearchQuery& query, const json& result, size_t max_cell) {
  std::ostringstream out;
  std::vector<std::string> headers;
  for (const Field* f : query.columns) headers.push_back(f->name);
  std::vector<std::vector<std::string>> rows;
  const json& hits = result.contains("hits") ? result["hits"] : json::array();
  for (const auto& hit : hits) {
    std::vector<std::string> row;
    for (const auto& h : headers) row.push_back(cell(hit.value(h, json()), max_cell));
    rows.push_back(std::move(row));
  }
  if (!headers.empty() && !rows.empty()) {
    std::vector<size_t> widths;
    for (const auto& h : headers) widths.push_back(width(h));
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
    }
    auto line = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i + 1 == cells.size()) {
          out << cells[i];
        } else {
          pad(out, cells[i], widths[i]);
          out << "  ";
        }
      }
      out << "\n";
    };
    line(headers);
    std::vector<std::string> rules;
    for (size_t w : widths) rules.push_back(std::string(w, '-'));
    line(rules);
    for (const auto& row : rows) line(row);
  }
  int64_t total = result.value("total", int64_t{0});
  out << total << (total == 1 ? " crash" : " crashes");
  if (!rows.empty()) {
    out << " (showing " << query.results_offset + 1 << "-" << query.results_offset + static_cast<int64_t>(rows.size()) << ")";
  }
  out << "\n";
  if (auto it = result.find("facets"); it != result.end() && it->is_object()) {
    for (const auto& [name, buckets] : it->items()) {
      out << "\n";
      write_facet(out, name, buckets, 0, max_cell);
    }
  }
  return out.str();
}

QueryPairs query_pairs_from_arguments(const std::vector<std::string>& arguments) {
  QueryPairs pairs;
  for (const auto& a : arguments) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::string shown = a.substr(0, std::min<size_t>(a.size(), 100));
      throw QueryError(shown, "'" + shown + "' is not field=value (for example signature=~OOM or product=Firefox)");
    }
    pairs.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return pairs;
}

}  // namespace bw::index
