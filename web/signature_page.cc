#include "web/signature_page.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"
#include "index/fields.h"
#include "web/correlations.h"
#include "web/html.h"
#include "web/json_api.h"
#include "web/layout.h"
#include "web/index_page_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using html::Url;
using html::Writer;
using index::QueryError;

constexpr int kPageSize = 50;
constexpr int kMaxPage = 10000 / kPageSize;  // Super Search's window: offset + number ≤ 10,000
constexpr int kMaxDays = 365;
constexpr size_t kMaxSignatureBytes = 10000;
constexpr int kFacetsSize = 50;           // signature side: every value with ≥ 2 % is in the top 50
constexpr int kOverallFacetsSize = 1000;  // overall side: see correlations.h for values beyond it
constexpr int kSummaryRows = 10;          // values shown per summary field
constexpr int kChartVersions = 5;         // versions with their own colour; the rest is "other"
constexpr auto kOverallTtl = std::chrono::minutes(5);
constexpr size_t kOverallCacheEntries = 256;
constexpr size_t kMaxCell = 500;

struct Column {
  const char* field;
  const char* label;
};
constexpr Column kColumns[] = {
    {"date", "Date"}, {"product", "Product"}, {"version", "Version"}, {"platform", "Platform"}, {"uuid", "Crash id"}};

struct SummaryField {
  const char* field;
  const char* label;
};
constexpr SummaryField kSummary[] = {
    {"product", "Products"},         {"version", "Versions"},       {"platform", "Platforms"},
    {"platform_version", "OS versions"}, {"cpu_arch", "CPU architectures"}, {"reason", "Reasons"},
    {"build_id", "Build ids"},       {"process_type", "Process types"}, {"release_channel", "Release channels"},
};

// Built-in fields compared by the correlations (site annotations declared public are added).
constexpr const char* kCorrelationFields[] = {"modules_in_stack", "platform", "platform_version", "cpu_arch", "reason",
                                              "process_type",     "release_channel", "version"};

// Uptime ranges shown, in seconds: [from, to).
struct UptimeRange {
  int64_t from;
  int64_t to;  // -1: no upper end
  const char* label;
};
constexpr UptimeRange kUptime[] = {{0, 60, "under 1 minute"},
                                   {60, 300, "1 to 5 minutes"},
                                   {300, 3600, "5 minutes to 1 hour"},
                                   {3600, 86400, "1 hour to 1 day"},
                                   {86400, -1, "1 day or more"}};
constexpr int kUptimeInterval = 60;  // histogram step: every range above starts on a multiple of it

// Colours of the chart's series (presentation attributes: the CSP forbids inline style). Chosen
// to be told apart in both colour schemes; the legend and the table say the same in words.
constexpr const char* kSeriesColours[] = {"#3b6fd8", "#e0803a", "#3a9c5f", "#b04fb5", "#c9b037", "#8a8f98"};

// Series s of n: a version's colour, the last one for "other".
std::string series_colour(size_t s, size_t n) {
  constexpr size_t kLast = std::size(kSeriesColours) - 1;
  return kSeriesColours[s + 1 < n ? std::min(s, kLast - 1) : kLast];
}

struct Params {
  std::string signature;
  std::vector<std::string> products;
  int days = 7;
  int page = 1;
  std::string sort = "-date";
};

std::string show(std::string_view text) {
  std::string_view cut = html::utf8_prefix(text, 80);
  return "\"" + std::string(cut) + (cut.size() < text.size() ? "...\"" : "\"");
}

int parse_int(const std::string& name, const std::string& text, int min, int max) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) throw QueryError(name, name + ": " + show(text) + " is not a whole number");
  if (v < min || v > max) {
    throw QueryError(name, name + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

Params parse_params(const index::QueryPairs& pairs) {
  if (pairs.size() > 200) throw QueryError("_", "too many query parameters (at most 200)");
  Params p;
  std::map<std::string, std::string, std::less<>> single;
  for (const auto& [key, value] : pairs) {
    if (key == "product") {
      if (!value.empty() && std::find(p.products.begin(), p.products.end(), value) == p.products.end()) {
        p.products.push_back(value);
      }
      continue;
    }
    if (key != "signature" && key != "days" && key != "page" && key != "_sort") {
      throw QueryError(key, "unknown parameter " + show(key) + " (this page takes signature, product, days, page, _sort)");
    }
    if (value.empty()) continue;  // HTML forms send empty fields
    auto [it, inserted] = single.emplace(key, value);
    if (!inserted && it->second != value) throw QueryError(key, key + " is given more than once");
  }
  auto it = single.find("signature");
  if (it == single.end()) {
    throw QueryError("signature", "signature is required: /signature/?signature=<the exact signature>");
  }
  if (it->second.size() > kMaxSignatureBytes) {
    throw QueryError("signature", "signature is longer than " + std::to_string(kMaxSignatureBytes) + " bytes");
  }
  p.signature = it->second;
  if (auto d = single.find("days"); d != single.end()) p.days = parse_int("days", d->second, 1, kMaxDays);
  if (auto g = single.find("page"); g != single.end()) p.page = parse_int("page", g->second, 1, kMaxPage);
  if (auto s = single.find("_sort"); s != single.end()) {
    std::string_view name = s->second;
    if (name.starts_with('-')) name.remove_prefix(1);
    bool known = std::any_of(std::begin(kColumns), std::end(kColumns), [&](const Column& c) { return name == c.field; });
    if (!known) throw QueryError("_sort", "_sort: " + show(s->second) + " is not one of date, product, version, platform, uuid (- for descending)");
    p.sort = s->second;
  }
  return p;
}

// This page's own address with some parameters changed.
std::string page_href(const Params& p, int page, const std::string& sort) {
  std::string href = "/signature/?signature=" + html::encode_component(p.signature);
  for (const auto& product : p.products) href += "&product=" + html::encode_component(product);
  if (p.days != 7) href += "&days=" + std::to_string(p.days);
  if (sort != "-date") href += "&_sort=" + html::encode_component(sort);
  if (page != 1) href += "&page=" + std::to_string(page);
  return href;
}

std::string term_text(const json& term) {
  if (term.is_string()) return term.get<std::string>();
  return term.dump();
}

int64_t count_of(const json& bucket) {
  auto it = bucket.find("count");
  return it != bucket.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string percent_of(int64_t count, int64_t total) {
  return format_percent(total > 0 ? 100.0 * static_cast<double>(count) / static_cast<double>(total) : 0.0);
}

std::string plural(int64_t n, const char* one, const char* many) {
  return format_count(n) + " " + (n == 1 ? one : many);
}

// The date part "YYYY-MM-DD HH:MM:SS" of an index date "YYYY-MM-DDTHH:MM:SS[.f]+00:00", in UTC.
std::string short_date(const std::string& iso) {
  if (iso.size() < 19) return iso;
  std::string out = iso.substr(0, 19);
  out[10] = ' ';
  return out + " UTC";
}

void facet_table(Writer& w, const char* field, const char* label, const json& buckets, int64_t total) {
  w.open("section", {{"class", "facet"}, {"aria-labelledby", std::string("facet-") + field}});
  w.element("h3", label, {{"id", std::string("facet-") + field}});
  if (!buckets.is_array() || buckets.empty()) {
    w.element("p", "No value recorded.", {{"class", "muted"}});
    w.close("section");
    return;
  }
  w.open("table", {{"class", "facet-table"}, {"data-field", field}});
  w.open("thead");
  w.open("tr");
  w.element("th", "Value", {{"scope", "col"}});
  w.element("th", "Count", {{"scope", "col"}, {"class", "num"}});
  w.element("th", "%", {{"scope", "col"}, {"class", "num"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  int shown = 0;
  int64_t rest_count = 0;
  size_t rest_values = 0;
  for (const auto& b : buckets) {
    if (!b.is_object() || !b.contains("term")) continue;
    int64_t n = count_of(b);
    if (shown >= kSummaryRows) {
      rest_count += n;
      ++rest_values;
      continue;
    }
    ++shown;
    w.open("tr");
    w.open("td", {{"class", "term"}});
    w.text_limited(term_text(b["term"]), kMaxCell);
    w.close("td");
    w.element("td", format_count(n), {{"class", "count num"}});
    w.element("td", percent_of(n, total), {{"class", "percent num"}});
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  if (rest_values > 0) {
    w.element("p", "and " + plural(static_cast<int64_t>(rest_values), "more value", "more values") + " (" +
                       plural(rest_count, "crash", "crashes") + ")" +
                       (buckets.size() >= static_cast<size_t>(kFacetsSize) ? ", perhaps more" : ""),
              {{"class", "muted"}});
  }
  w.close("section");
}

// Uptime histogram buckets (term = the bucket's lower bound in seconds) summed into kUptime.
std::vector<int64_t> uptime_counts(const json& histogram) {
  std::vector<int64_t> counts(std::size(kUptime), 0);
  if (!histogram.is_array()) return counts;
  for (const auto& b : histogram) {
    if (!b.is_object() || !b.contains("term")) continue;
    const json& t = b["term"];
    if (!t.is_number()) continue;
    double from = t.get<double>();
    for (size_t i = 0; i < std::size(kUptime); ++i) {
      if (from >= static_cast<double>(kUptime[i].from) && (kUptime[i].to < 0 || from < static_cast<double>(kUptime[i].to))) {
        counts[i] += count_of(b);
        break;
      }
    }
  }
  return counts;
}

void uptime_table(Writer& w, const json& histogram, int64_t total) {
  w.open("section", {{"class", "facet"}, {"aria-labelledby", "facet-uptime"}});
  w.element("h3", "Uptime", {{"id", "facet-uptime"}});
  auto counts = uptime_counts(histogram);
  int64_t known = 0;
  for (auto c : counts) known += c;
  w.open("table", {{"class", "facet-table"}, {"data-field", "uptime"}});
  w.open("thead");
  w.open("tr");
  w.element("th", "Ran for", {{"scope", "col"}});
  w.element("th", "Count", {{"scope", "col"}, {"class", "num"}});
  w.element("th", "%", {{"scope", "col"}, {"class", "num"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (size_t i = 0; i < counts.size(); ++i) {
    w.open("tr");
    w.element("td", kUptime[i].label, {{"class", "term"}});
    w.element("td", format_count(counts[i]), {{"class", "count num"}});
    w.element("td", percent_of(counts[i], total), {{"class", "percent num"}});
    w.close("tr");
  }
  if (known < total) {
    w.open("tr");
    w.element("td", "not recorded", {{"class", "term muted"}});
    w.element("td", format_count(total - known), {{"class", "count num"}});
    w.element("td", percent_of(total - known, total), {{"class", "percent num"}});
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("section");
}

// Crashes per day stacked by version: an inline SVG (presentation attributes only) and the same
// numbers as a table for screen readers and for reading exact values.
void day_chart(Writer& w, const json& histogram, const json& version_facet, int64_t from_us, int64_t to_us) {
  w.element("h2", "Crashes per day", {{"id", "per-day"}});
  const int64_t first_day = index::floor_div(from_us, index::kMicrosPerDay);
  const int64_t last_day = index::floor_div(to_us, index::kMicrosPerDay);
  const size_t ndays = static_cast<size_t>(last_day - first_day + 1);
  // The chart's versions: the most frequent ones; every other version is "other".
  std::vector<std::string> versions;
  if (version_facet.is_array()) {
    for (const auto& b : version_facet) {
      if (versions.size() >= static_cast<size_t>(kChartVersions)) break;
      if (b.is_object() && b.contains("term")) versions.push_back(term_text(b["term"]));
    }
  }
  const size_t nseries = versions.size() + 1;  // + other (also crashes without a version)
  std::vector<std::vector<int64_t>> counts(ndays, std::vector<int64_t>(nseries, 0));
  std::vector<int64_t> day_totals(ndays, 0);
  if (histogram.is_array()) {
    for (const auto& b : histogram) {
      if (!b.is_object() || !b.contains("term") || !b["term"].is_string()) continue;
      auto us = index::parse_date_us(b["term"].get<std::string>());
      if (!us) continue;
      int64_t day = index::floor_div(*us, index::kMicrosPerDay);
      if (day < first_day || day > last_day) continue;
      auto d = static_cast<size_t>(day - first_day);
      int64_t total = count_of(b);
      day_totals[d] += total;
      int64_t in_versions = 0;
      if (b.contains("facets") && b["facets"].contains("version") && b["facets"]["version"].is_array()) {
        for (const auto& v : b["facets"]["version"]) {
          if (!v.is_object() || !v.contains("term")) continue;
          auto it = std::find(versions.begin(), versions.end(), term_text(v["term"]));
          if (it == versions.end()) continue;
          counts[d][static_cast<size_t>(it - versions.begin())] += count_of(v);
          in_versions += count_of(v);
        }
      }
      counts[d][nseries - 1] += std::max<int64_t>(0, total - in_versions);
    }
  }
  int64_t max_total = 0;
  for (auto t : day_totals) max_total = std::max(max_total, t);

  // Geometry in viewBox units; the SVG scales to the container's width.
  const double width = 720, height = 220, left = 40, right = 8, top = 10, bottom = 28;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const double slot = plot_w / static_cast<double>(ndays);
  const double bar = std::max(1.0, slot * 0.8);
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return std::string(buf);
  };
  const int64_t scale = std::max<int64_t>(1, max_total);
  w.open("figure", {{"class", "chart"}});
  w.open("svg", {{"viewbox", "0 0 720 220"}, {"role", "img"}, {"aria-labelledby", "per-day-title"},
                 {"class", "day-chart"}, {"xmlns", "http://www.w3.org/2000/svg"}});
  w.element("title", "Crashes per day by version, " + index::format_day(first_day) + " to " + index::format_day(last_day),
            {{"id", "per-day-title"}});
  // Axis: a baseline and the maximum.
  // Inside <svg> the HTML parser knows no void elements: every element is closed explicitly.
  w.open("line", {{"x1", num(left)}, {"y1", num(top + plot_h)}, {"x2", num(width - right)}, {"y2", num(top + plot_h)},
                  {"stroke", "#8a8f98"}, {"stroke-width", "1"}});
  w.close("line");
  w.open("line", {{"x1", num(left)}, {"y1", num(top)}, {"x2", num(width - right)}, {"y2", num(top)}, {"stroke", "#8a8f98"},
                  {"stroke-width", "0.5"}, {"stroke-dasharray", "3 3"}});
  w.close("line");
  w.element("text", format_count(max_total), {{"x", num(left - 4)}, {"y", num(top + 4)}, {"text-anchor", "end"},
                                              {"font-size", "11"}, {"fill", "currentColor"}});
  w.element("text", "0", {{"x", num(left - 4)}, {"y", num(top + plot_h + 4)}, {"text-anchor", "end"}, {"font-size", "11"},
                          {"fill", "currentColor"}});
  w.element("text", index::format_day(first_day), {{"x", num(left)}, {"y", num(height - 8)}, {"font-size", "11"},
                                                   {"fill", "currentColor"}});
  w.element("text", index::format_day(last_day), {{"x", num(width - right)}, {"y", num(height - 8)}, {"text-anchor", "end"},
                                                  {"font-size", "11"}, {"fill", "currentColor"}});
  for (size_t d = 0; d < ndays; ++d) {
    double y = top + plot_h;
    double x = left + slot * static_cast<double>(d) + (slot - bar) / 2;
    for (size_t s = 0; s < nseries; ++s) {
      int64_t n = counts[d][s];
      if (n == 0) continue;
      double h = plot_h * static_cast<double>(n) / static_cast<double>(scale);
      y -= h;
      std::string series = s + 1 < nseries ? "version " + versions[s] : std::string("other versions");
      w.open("rect", {{"x", num(x)}, {"y", num(y)}, {"width", num(bar)}, {"height", num(h)},
                      {"fill", series_colour(s, nseries)}});
      w.element("title", index::format_day(first_day + static_cast<int64_t>(d)) + ", " + series + ": " +
                             plural(n, "crash", "crashes"));
      w.close("rect");
    }
  }
  w.close("svg");
  // The legend: a swatch (an SVG square, coloured by attribute) and the version in words.
  w.open("figcaption");
  w.open("ul", {{"class", "legend"}});
  for (size_t s = 0; s < nseries; ++s) {
    w.open("li");
    w.open("svg", {{"viewbox", "0 0 10 10"}, {"width", "10"}, {"height", "10"}, {"aria-hidden", "true"},
                   {"xmlns", "http://www.w3.org/2000/svg"}});
    w.open("rect", {{"width", "10"}, {"height", "10"}, {"fill", series_colour(s, nseries)}});
    w.close("rect");
    w.close("svg");
    w.text_limited(s + 1 < nseries ? " " + versions[s] : std::string(" other versions"), 100);
    w.close("li");
  }
  w.close("ul");
  w.close("figcaption");
  w.close("figure");

  w.open("details", {{"class", "chart-data"}});
  w.element("summary", "The numbers per day");
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "per-day"}});
  w.open("thead");
  w.open("tr");
  w.element("th", "Day", {{"scope", "col"}});
  for (const auto& v : versions) {
    w.open("th", {{"scope", "col"}, {"class", "num"}});
    w.text_limited(v, 100);
    w.close("th");
  }
  w.element("th", "other", {{"scope", "col"}, {"class", "num"}});
  w.element("th", "all", {{"scope", "col"}, {"class", "num"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (size_t d = 0; d < ndays; ++d) {
    w.open("tr");
    w.element("th", index::format_day(first_day + static_cast<int64_t>(d)), {{"scope", "row"}});
    for (size_t s = 0; s < nseries; ++s) w.element("td", format_count(counts[d][s]), {{"class", "num"}});
    w.element("td", format_count(day_totals[d]), {{"class", "num"}});
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
  w.close("details");
}

std::string ratio_text(const Correlation& c) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%.2f\xC3\x97", c.overall_is_upper_bound ? "\xE2\x89\xA5 " : "", c.ratio);
  return buf;
}

void correlations_section(Writer& w, const std::vector<Correlation>& rows, int64_t sig_total, int64_t overall_total,
                          const std::vector<std::string>& products, int days) {
  w.element("h2", "Correlations", {{"id", "correlations"}});
  std::string products_text;
  for (const auto& p : products) products_text += (products_text.empty() ? "" : ", ") + p;
  w.open("p", {{"class", "explain"}});
  w.text("Values more common among this signature's " + plural(sig_total, "crash", "crashes") + " than among all " +
         format_count(overall_total) + " crashes of ");
  w.text_limited(products_text.empty() ? std::string("every product") : products_text, 300);
  w.text(" in the same " + std::to_string(days) + (days == 1 ? " day" : " days") +
         ". Shown: values in at least 5 % of the signature's crashes, ordered by how many times more common they "
         "are (ratio of the two shares), at most 10. An association in this period, not a cause; small counts give "
         "large ratios by chance.");
  w.close("p");
  if (rows.empty()) {
    w.element("p", "No value is over-represented among this signature's crashes.", {{"class", "empty-state"}});
    return;
  }
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "correlations"}});
  w.open("thead");
  w.open("tr");
  for (const char* h : {"Field", "Value", "In signature", "Share in signature", "Overall", "Share overall", "Ratio"}) {
    w.element("th", h, {{"scope", "col"}});
  }
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& c : rows) {
    w.open("tr");
    w.element("td", c.field, {{"class", "field"}});
    w.open("td", {{"class", "term"}});
    w.text_limited(c.value, kMaxCell);
    w.close("td");
    w.element("td", format_count(c.signature_count), {{"class", "num"}});
    w.element("td", format_percent(100 * c.signature_share), {{"class", "num"}});
    w.element("td", (c.overall_is_upper_bound ? "\xE2\x89\xA4 " : "") + format_count(c.overall_count), {{"class", "num"}});
    w.element("td", (c.overall_is_upper_bound ? "\xE2\x89\xA4 " : "") + format_percent(100 * c.overall_share),
              {{"class", "num"}});
    w.element("td", ratio_text(c), {{"class", "num ratio"}});
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
  if (std::any_of(rows.begin(), rows.end(), [](const Correlation& c) { return c.overall_is_upper_bound; })) {
    w.element("p",
              "\xE2\x89\xA4: the value is not among the " + std::to_string(kOverallFacetsSize) +
                  " most common overall, so its overall count is at most the smallest of those, and the ratio at least "
                  "the one shown.",
              {{"class", "muted"}});
  }
}

void reports_section(Writer& w, const Params& p, const json& hits, int64_t total) {
  w.element("h2", "Reports", {{"id", "reports"}});
  int64_t first = static_cast<int64_t>(p.page - 1) * kPageSize + 1;
  int64_t last = first + static_cast<int64_t>(hits.is_array() ? hits.size() : 0) - 1;
  if (!hits.is_array() || hits.empty()) {
    w.element("p", total > 0 ? "No reports on this page: go back to the first page." : "No reports.", {{"class", "muted"}});
    if (total > 0) w.link(Url::local(page_href(p, 1, p.sort)), "First page");
    return;
  }
  w.element("p", "Reports " + format_count(first) + "\xE2\x80\x93" + format_count(last) + " of " + format_count(total) +
                     ". Select a column heading to sort by it.",
            {{"class", "muted"}});
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "reports"}});
  w.open("thead");
  w.open("tr");
  std::string_view current = p.sort;
  bool descending = current.starts_with('-');
  if (descending) current.remove_prefix(1);
  for (const auto& c : kColumns) {
    html::Attributes attrs = {{"scope", "col"}};
    std::string next = c.field;
    std::string label = c.label;
    if (current == c.field) {
      attrs.emplace_back("aria-sort", descending ? "descending" : "ascending");
      if (!descending) next = "-" + next;
      label += descending ? " \xE2\x96\xBC" : " \xE2\x96\xB2";
    }
    w.open("th", attrs);
    w.link(Url::local(page_href(p, 1, next)), label, {{"data-sort", next}});
    w.close("th");
  }
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& h : hits) {
    w.open("tr");
    auto cell = [&](const char* key) -> std::string {
      if (!h.is_object() || !h.contains(key) || h[key].is_null()) return "";
      return term_text(h[key]);
    };
    std::string date = cell("date");
    w.element("td", date.empty() ? "\xE2\x80\x94" : short_date(date), {{"class", "date"}});
    for (const char* key : {"product", "version", "platform"}) {
      w.open("td");
      w.text_limited(cell(key), 200);
      w.close("td");
    }
    std::string uuid = cell("uuid");
    w.open("td", {{"class", "mono"}});
    if (CrashId::parse(uuid)) {
      w.link(Url::local("/report/index/" + uuid), uuid);
    } else {
      w.text_limited(uuid, 100);
    }
    w.close("td");
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
  w.open("nav", {{"class", "pager"}, {"aria-label", "Report pages"}});
  if (p.page > 1) w.link(Url::local(page_href(p, p.page - 1, p.sort)), "\xE2\x80\xB9 Previous", {{"rel", "prev"}});
  w.element("span", "Page " + std::to_string(p.page) + " of " +
                        std::to_string(std::min<int64_t>(kMaxPage, (total + kPageSize - 1) / kPageSize)));
  if (last < total && p.page < kMaxPage) w.link(Url::local(page_href(p, p.page + 1, p.sort)), "Next \xE2\x80\xBA", {{"rel", "next"}});
  w.close("nav");
}

}  // namespace

struct SignaturePage::Impl {
  explicit Impl(index::CrashIndex& i) : index(i) {}
  index::CrashIndex& index;

  struct Overall {
    std::chrono::system_clock::time_point at;
    int64_t total = 0;
    json facets;
  };
  std::mutex mu;
  std::map<std::string, Overall> overall_cache;  // products + days + fields → answer

  // Fields the correlations compare, as this index knows them.
  std::vector<std::string> correlation_fields() const {
    std::vector<std::string> out;
    const auto& catalogue = index.fields();
    for (const char* name : kCorrelationFields) {
      if (const auto* f = catalogue.find(name); f && f->exposed && f->permission.empty()) out.emplace_back(name);
    }
    for (const auto& f : catalogue.all()) {
      // Site annotations (read from the raw crash only) that the site declared public.
      bool site_annotation = f.processed_sources.empty() && !f.raw_sources.empty();
      bool countable = f.type == index::FieldType::kString || f.type == index::FieldType::kEnum ||
                       f.type == index::FieldType::kInteger || f.type == index::FieldType::kBoolean;
      if (site_annotation && f.permission.empty() && f.exposed && countable) out.push_back(f.name);
    }
    return out;
  }

  Overall overall_counts(const std::vector<std::string>& products, const std::vector<std::string>& fields,
                         const std::string& from, const std::string& to, int days,
                         std::chrono::system_clock::time_point now) {
    std::string key = std::to_string(days);
    for (const auto& p : products) key += '\x1f' + p;
    key += '\x1e';
    for (const auto& f : fields) key += f + ",";
    {
      std::lock_guard lock(mu);
      if (auto it = overall_cache.find(key); it != overall_cache.end() && now - it->second.at < kOverallTtl &&
                                             now >= it->second.at) {
        return it->second;
      }
    }
    index::QueryPairs pairs = {{"date", ">=" + from}, {"date", "<=" + to}};
    for (const auto& p : products) pairs.emplace_back("product", "=" + p);
    std::string facets;
    for (const auto& f : fields) facets += (facets.empty() ? "" : ",") + f;
    pairs.emplace_back("_facets", facets);
    pairs.emplace_back("_facets_size", std::to_string(kOverallFacetsSize));
    pairs.emplace_back("_results_number", "0");
    json answer = index.search(pairs, index::Permissions{}, now);
    Overall o{now, answer.value("total", int64_t{0}), answer["facets"]};
    std::lock_guard lock(mu);
    if (overall_cache.size() >= kOverallCacheEntries) {
      for (auto it = overall_cache.begin(); it != overall_cache.end();) {
        it = now - it->second.at >= kOverallTtl ? overall_cache.erase(it) : std::next(it);
      }
      if (overall_cache.size() >= kOverallCacheEntries) overall_cache.clear();
    }
    overall_cache[key] = o;
    return o;
  }

  // The date of the first or last crash of the signature in [from, to], or "".
  std::string edge_date(const Params& p, const std::string& from, const std::string& to, bool newest,
                        std::chrono::system_clock::time_point now) {
    index::QueryPairs pairs = {{"signature", "=" + p.signature}, {"date", ">=" + from}, {"date", "<=" + to},
                               {"_columns", "date"},             {"_sort", newest ? "-date" : "date"},
                               {"_results_number", "1"},         {"_facets", ""}};
    for (const auto& product : p.products) pairs.emplace_back("product", "=" + product);
    json answer = index.search(pairs, index::Permissions{}, now);
    const json& hits = answer["hits"];
    if (!hits.is_array() || hits.empty() || !hits[0].contains("date") || !hits[0]["date"].is_string()) return "";
    return hits[0]["date"].get<std::string>();
  }

  http::Response render(const std::string& query, std::chrono::system_clock::time_point now) {
    return index_page_guarded("signature", [&] {
      Params p = parse_params(http::parse_query_pairs(query));
      const int64_t now_us = micros_since_epoch(now);
      const int64_t from_us = now_us - static_cast<int64_t>(p.days) * index::kMicrosPerDay;
      const std::string from = index::format_date_us(from_us), to = index::format_date_us(now_us);

      std::vector<std::string> corr_fields = correlation_fields();
      std::vector<std::string> facet_fields;
      for (const auto& s : kSummary) facet_fields.emplace_back(s.field);
      for (const auto& f : corr_fields) {
        if (std::find(facet_fields.begin(), facet_fields.end(), f) == facet_fields.end()) facet_fields.push_back(f);
      }
      std::string facets;
      for (const auto& f : facet_fields) facets += (facets.empty() ? "" : ",") + f;

      index::QueryPairs pairs = {{"signature", "=" + p.signature},
                                 {"date", ">=" + from},
                                 {"date", "<=" + to},
                                 {"_columns", "date,product,version,platform,uuid"},
                                 {"_sort", p.sort},
                                 {"_results_number", std::to_string(kPageSize)},
                                 {"_results_offset", std::to_string((p.page - 1) * kPageSize)},
                                 {"_facets", facets},
                                 {"_facets_size", std::to_string(kFacetsSize)},
                                 {"_histogram.date", "version"},
                                 {"_histogram_interval.date", "day"},
                                 {"_histogram.uptime", ""},
                                 {"_histogram_interval.uptime", std::to_string(kUptimeInterval)}};
      for (const auto& product : p.products) pairs.emplace_back("product", "=" + product);
      json answer = index.search(pairs, index::Permissions{}, now);
      const int64_t total = answer.value("total", int64_t{0});
      const json& f = answer["facets"];

      Writer w;
      w.element("p", "Signature", {{"class", "eyebrow"}});
      w.open("h1", {{"class", "signature-title"}});
      w.text_limited(p.signature, 1000);
      w.close("h1");

      std::string scope;
      for (const auto& product : p.products) scope += (scope.empty() ? "" : ", ") + product;
      w.open("p", {{"class", "period"}});
      w.text(plural(total, "crash", "crashes") + " in the last " + std::to_string(p.days) +
             (p.days == 1 ? " day" : " days") + " (" + short_date(from) + " to " + short_date(to) + ")");
      if (!scope.empty()) {
        w.text(", product ");
        w.text_limited(scope, 300);
      }
      w.text(".");
      w.close("p");
      // Another period: a plain GET form (the signature and products ride along as hidden fields).
      w.open_with_url("form", "action", Url::local("/signature/"), {{"method", "get"}, {"class", "filter-form"}});
      w.empty("input", {{"type", "hidden"}, {"name", "signature"}, {"value", p.signature}});
      for (const auto& product : p.products) w.empty("input", {{"type", "hidden"}, {"name", "product"}, {"value", product}});
      w.open("div", {{"class", "form-field"}});
      w.element("label", "Days", {{"for", "sig-days"}});
      w.empty("input", {{"type", "number"}, {"id", "sig-days"}, {"name", "days"}, {"min", "1"}, {"max", "365"},
                        {"value", std::to_string(p.days)}});
      w.close("div");
      w.open("div", {{"class", "form-actions"}});
      w.element("button", "Show", {{"type", "submit"}});
      w.close("div");
      w.close("form");

      if (total == 0) {
        w.open("div", {{"class", "empty-state"}});
        w.element("h2", "No crashes");
        w.element("p", "No crash with exactly this signature in this period. Signatures are matched exactly, "
                       "case and spaces included; try more days, or search for part of it on the search page.");
        w.close("div");
        return html_response(200, render_page({"Signature " + std::string(html::utf8_prefix(p.signature, 100)),
                                               NavItem::kNone, {}},
                                              w.finish()));
      }

      // First seen: the oldest crash of the last 365 days (the longest range a search takes).
      const std::string year_ago = index::format_date_us(now_us - kMaxDays * index::kMicrosPerDay);
      std::string first_seen = edge_date(p, year_ago, to, false, now);
      std::string last_seen;
      if (p.sort == "-date" && p.page == 1 && answer["hits"].is_array() && !answer["hits"].empty() &&
          answer["hits"][0].contains("date") && answer["hits"][0]["date"].is_string()) {
        last_seen = answer["hits"][0]["date"].get<std::string>();  // the list's first row is the newest
      } else {
        last_seen = edge_date(p, from, to, true, now);
      }

      w.open("nav", {{"class", "toc"}, {"aria-label", "On this page"}});
      w.open("ul");
      for (auto [id, label] : {std::pair{"summary", "Summary"}, {"per-day", "Crashes per day"},
                               {"correlations", "Correlations"}, {"reports", "Reports"}}) {
        w.open("li");
        w.link(Url::fragment(id), label);
        w.close("li");
      }
      w.close("ul");
      w.close("nav");

      w.element("h2", "Summary", {{"id", "summary"}});
      w.open("dl", {{"class", "facts"}});
      w.element("dt", "Crashes");
      w.element("dd", format_count(total), {{"id", "signature-total"}});
      w.element("dt", "First seen (last 365 days)");
      w.element("dd", first_seen.empty() ? "\xE2\x80\x94" : short_date(first_seen), {{"id", "first-seen"}});
      w.element("dt", "Last seen");
      w.element("dd", last_seen.empty() ? "\xE2\x80\x94" : short_date(last_seen), {{"id", "last-seen"}});
      w.close("dl");
      w.open("div", {{"class", "facet-grid"}});
      for (const auto& s : kSummary) facet_table(w, s.field, s.label, f.contains(s.field) ? f[s.field] : json(), total);
      uptime_table(w, f.contains("histogram_uptime") ? f["histogram_uptime"] : json(), total);
      w.close("div");

      day_chart(w, f.contains("histogram_date") ? f["histogram_date"] : json(), f.contains("version") ? f["version"] : json(),
                from_us, now_us);

      // Correlations against every crash of the same products: those asked for, or else every
      // product this signature has crashes in.
      std::vector<std::string> products = p.products;
      if (products.empty() && f.contains("product") && f["product"].is_array()) {
        for (const auto& b : f["product"]) {
          if (b.is_object() && b.contains("term") && b["term"].is_string()) products.push_back(b["term"].get<std::string>());
        }
      }
      std::sort(products.begin(), products.end());
      Overall overall = overall_counts(products, corr_fields, from, to, p.days, now);
      CorrelationInput in;
      in.signature_total = total;
      in.overall_total = overall.total;
      for (const auto& field : corr_fields) {
        in.signature[field] = facet_counts(f, field, kFacetsSize);
        in.overall[field] = facet_counts(overall.facets, field, kOverallFacetsSize);
      }
      correlations_section(w, compute_correlations(in), total, std::max(overall.total, total), products, p.days);

      reports_section(w, p, answer["hits"], total);
      return html_response(200, render_page({"Signature " + std::string(html::utf8_prefix(p.signature, 100)),
                                             NavItem::kNone, {}},
                                            w.finish()));
    });
  }
};

SignaturePage::SignaturePage(index::CrashIndex& index) : impl_(std::make_unique<Impl>(index)) {}
SignaturePage::~SignaturePage() = default;

http::Response SignaturePage::render(const std::string& query, std::chrono::system_clock::time_point now) {
  return impl_->render(query, now);
}

void SignaturePage::add_routes(http::Server& server) {
  Impl* im = impl_.get();
  for (const char* path : {"/signature/", "/signature"}) {
    server.route(http::Access::open(), {"GET", path, http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                    return deferred([im, query = req.query] { return im->render(query, std::chrono::system_clock::now()); });
                  }});
  }
}

}  // namespace bw::web
