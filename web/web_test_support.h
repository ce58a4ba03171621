// Test support for the web pages' tests: reading the tables the pages write (their markup is
// regular: html::Writer output), and a real SQLite index filled with generated crashes. Test code
// only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "index/crash_index.h"
#include "index/fields.h"
#include "index/test_crashes.h"
#include "queue/crash_queue.h"
#include "storage/factory.h"

namespace bw::web::test {

inline bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

// A site's stores over a temporary data folder, assembled as serve does: the configuration
// (server.data = the folder, plus `overrides`), the primary storage and the embedded queue.
struct SiteParts {
  explicit SiteParts(const test_support::TempDir& dir, std::vector<std::pair<std::string, std::string>> overrides = {})
      : config(load(dir, std::move(overrides))),
        storage(storage::make_primary_storage(config)),
        queue(queue::open_crash_queue(queue::QueueSettings::from_config(config))) {}

  Config config;
  std::unique_ptr<storage::FileSystemCrashStorage> storage;
  std::unique_ptr<queue::CrashQueue> queue;

 private:
  static Config load(const test_support::TempDir& dir, std::vector<std::pair<std::string, std::string>> overrides) {
    Config::Sources sources;
    sources.overrides = std::move(overrides);
    sources.overrides.emplace_back("server.data", dir.path().string());
    return Config::load(sources);
  }
};

// One request on a fresh connection to 127.0.0.1:`port` (a HEAD answer has no body).
inline http::ClientResponse request_to(uint16_t port, const std::string& target, const std::string& method = "GET") {
  http::Connection c("127.0.0.1", port);
  EXPECT_TRUE(c.send(http::make_request(method, target, {}, "")));
  return c.read_response(std::chrono::seconds(30), method == "HEAD");
}

// A real SQLite crash index at <dir>/index/crashes.sqlite with `fields` (default: the built-ins).
inline std::unique_ptr<index::CrashIndex> open_sqlite_index(
    const test_support::TempDir& dir,
    std::shared_ptr<const index::FieldCatalogue> fields = index::FieldCatalogue::builtin()) {
  index::IndexSettings settings;
  settings.sqlite_path = dir.path() / "index" / "crashes.sqlite";
  settings.fields = std::move(fields);
  return index::open_crash_index(settings);
}

// Every crash of `crashes` into `index`, in one batch.
inline void upsert_all(index::CrashIndex& index, const std::vector<index::test_data::TestCrash>& crashes) {
  std::vector<index::CrashInput> batch;
  batch.reserve(crashes.size());
  for (const auto& c : crashes) batch.push_back({c.processed, c.raw});
  index.upsert_batch(batch);
}

// Text of an HTML fragment: tags dropped, the five escapes Writer uses decoded.
inline std::string text_of(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<') in_tag = true;
    else if (c == '>') in_tag = false;
    else if (!in_tag) out += c;
  }
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) out.replace(at, from.size(), to);
  };
  replace_all("&lt;", "<");
  replace_all("&gt;", ">");
  replace_all("&quot;", "\"");
  replace_all("&#39;", "'");
  replace_all("&amp;", "&");
  return out;
}

// The body rows of the first table whose start tag begins with `table_start` (e.g.
// `<table class="topcrashers"`), each as the texts of its <td>/<th> cells. Empty when absent.
inline std::vector<std::vector<std::string>> table_rows(const std::string& html, std::string_view table_start) {
  std::vector<std::vector<std::string>> rows;
  size_t at = html.find(table_start);
  if (at == std::string::npos) return rows;
  size_t body = html.find("<tbody>", at);
  size_t end = html.find("</tbody>", at);
  if (body == std::string::npos || end == std::string::npos) return rows;
  std::string_view part(html.data() + body, end - body);
  size_t pos = 0;
  while ((pos = part.find("<tr", pos)) != std::string_view::npos) {
    size_t row_end = part.find("</tr>", pos);
    std::string_view row = part.substr(pos, row_end - pos);
    std::vector<std::string> cells;
    size_t c = 0;
    while (true) {
      size_t td = row.find("<td", c), th = row.find("<th", c);
      size_t start = std::min(td, th);
      if (start == std::string_view::npos) break;
      bool is_td = start == td;
      size_t open_end = row.find('>', start);
      size_t close = row.find(is_td ? "</td>" : "</th>", open_end);
      cells.push_back(text_of(row.substr(open_end + 1, close - open_end - 1)));
      c = close + 5;
    }
    rows.push_back(std::move(cells));
    pos = row_end + 5;
  }
  return rows;
}

inline std::string field_of(const nlohmann::json& processed, const char* name) {
  return processed.contains(name) && processed[name].is_string() ? processed[name].get<std::string>() : "";
}

// "12,345" as the pages write counts.
inline std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace bw::web::test
