#include "web/search_page.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "index/fields.h"
#include "index/super_search_query.h"
#include "web/html.h"
#include "web/index_page_support.h"
#include "web/json_api.h"
#include "web/layout.h"

namespace bw::web {
namespace {

using nlohmann::json;
using index::QueryError;
using index::QueryPairs;

constexpr size_t kCellBytes = 300;        // a table cell
constexpr size_t kTermBytes = 120;        // a facet term
constexpr size_t kFormValueBytes = 1000;  // a value put back into the form
constexpr int kEmptyRows = 3;             // blank filter rows for a new condition without JavaScript
constexpr int kMaxRows = 1000;            // row numbers above this are not rows (the parser's value limit)
constexpr int kMaxWindow = index::QueryLimits{}.max_window;
constexpr size_t kMaxBars = 1000;

// The operators the form offers: the Super Search value prefix, and what it says.
struct OpChoice {
  std::string_view prefix;
  std::string_view label;
};
constexpr OpChoice kOps[] = {
    {"=", "is"},
    {"!=", "is not"},
    {"~", "contains"},
    {"!~", "does not contain"},
    {"^", "starts with"},
    {"!^", "does not start with"},
    {"$", "ends with"},
    {"!$", "does not end with"},
    {"@", "matches regex"},
    {"!@", "does not match regex"},
    {">", "> (greater than)"},
    {"!>", "not >"},
    {"<", "< (less than)"},
    {"!<", "not <"},
    {">=", ">="},
    {"!>=", "not >="},
    {"<=", "<="},
    {"!<=", "not <="},
    {"!__null__", "exists"},
    {"__null__", "is null (missing)"},
    {"__true__", "is true"},
    {"!__true__", "is not true"},
};

bool takes_no_value(std::string_view op) { return op == "__null__" || op == "!__null__" || op == "__true__" || op == "!__true__"; }

// A filter value split into the form's operator and operand (the parser's own reading:
// super_search_query.cc split_operator). No operator ("is one of") shows as "is".
std::pair<std::string, std::string> split_filter_value(std::string_view value) {
  std::string neg;
  if (value.starts_with('!')) {
    neg = "!";
    value.remove_prefix(1);
  }
  if (value == "__null__" || value == "__true__") return {neg + std::string(value), ""};
  static constexpr std::string_view kPrefixes[] = {">=", "<=", ">", "<", "=", "~", "^", "$", "@"};
  for (auto prefix : kPrefixes) {
    if (value.starts_with(prefix)) return {neg + std::string(prefix), std::string(value.substr(prefix.size()))};
  }
  return {neg + "=", std::string(value)};
}

// "f12" → ('f', 12); nullopt for anything else.
std::optional<std::pair<char, int>> row_key(std::string_view key) {
  if (key.size() < 2 || key.size() > 5 || (key[0] != 'f' && key[0] != 'o' && key[0] != 'v')) return std::nullopt;
  int n = 0;
  for (char c : key.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > kMaxRows) return std::nullopt;
  return std::make_pair(key[0], n);
}

bool is_filter_key(std::string_view key) { return !key.empty() && key[0] != '_' && !row_key(key); }

// The values of every `key` pair, comma-split; nullopt when the key is not given at all.
std::optional<std::vector<std::string>> list_param(const QueryPairs& pairs, std::string_view key) {
  std::optional<std::vector<std::string>> out;
  for (const auto& [k, v] : pairs) {
    if (k != key) continue;
    if (!out) out.emplace();
    for (auto part : index::split_commas(v)) out->emplace_back(part);
  }
  return out;
}

// `pairs` without any `key`, then `key=value` (left out when value is empty).
QueryPairs with_param(const QueryPairs& pairs, std::string_view key, const std::string& value) {
  QueryPairs out;
  for (const auto& p : pairs) {
    if (p.first != key) out.push_back(p);
  }
  if (!value.empty()) out.emplace_back(std::string(key), value);
  return out;
}

html::Url search_url(const QueryPairs& pairs) {
  std::string q = encode_query(pairs);
  return html::Url::local(q.empty() ? "/search/" : "/search/?" + q);
}

std::string term_text(const json& term) { return term.is_string() ? term.get<std::string>() : dump_json(term); }

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f%%", v);
  return buf;
}

http::Response redirect(int status, const std::string& location) {
  html::Writer w;
  w.element("h1", "This search is elsewhere");
  w.open("p");
  w.link(html::Url::local(location), "Continue to the search");
  w.close("p");
  http::Response r = html_response(status, render_page({"Search", NavItem::kSearch, {}}, w.finish()));
  r.headers.emplace_back("Location", location);
  return r;
}

// What the page shows for one search.
struct Results {
  const index::SuperSearchQuery* query = nullptr;
  const json* answer = nullptr;
  const json* histogram = nullptr;     // the histogram search's answer
  int64_t histogram_interval_us = 0;
  std::string interval_name;           // "hour", "day", "week"
};

}  // namespace

std::string encode_query(const QueryPairs& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += html::encode_component(k);
    out += '=';
    out += html::encode_component(v);
  }
  return out;
}

std::optional<std::string> canonical_query(const QueryPairs& pairs) {
  struct Row {
    std::string field, op, value;
  };
  std::map<int, Row> rows;
  QueryPairs others;
  for (const auto& [k, v] : pairs) {
    if (auto rk = row_key(k)) {
      Row& row = rows[rk->second];
      (rk->first == 'f' ? row.field : rk->first == 'o' ? row.op : row.value) = v;
    } else {
      others.emplace_back(k, v);
    }
  }
  if (rows.empty()) return std::nullopt;

  QueryPairs out;
  for (const auto& entry : rows) {
    const int n = entry.first;
    const Row& row = entry.second;
    if (row.field.empty()) continue;
    bool known = std::any_of(std::begin(kOps), std::end(kOps), [&](const OpChoice& c) { return c.prefix == row.op; });
    // An empty operator keeps the value as typed (it may carry its own prefix).
    if (!known && !row.op.empty()) {
      throw QueryError("o" + std::to_string(n), "o" + std::to_string(n) + ": not an operator of the search form");
    }
    if (takes_no_value(row.op)) {
      out.emplace_back(row.field, row.op);
    } else if (!row.value.empty()) {
      out.emplace_back(row.field, row.op + row.value);
    }
  }
  std::set<std::string> nonempty, kept_empty;
  for (const auto& [k, v] : others) {
    if (!v.empty()) nonempty.insert(k);
  }
  for (const auto& [k, v] : others) {
    if (!v.empty()) {
      out.emplace_back(k, v);
    } else if (k.starts_with('_') && !nonempty.contains(k) && kept_empty.insert(k).second) {
      // `_facets=` alone means "no facets"; `_histogram.date=` a histogram without sub-aggregation.
      out.emplace_back(k, v);
    }
  }
  return encode_query(out);
}

struct SearchPage::Impl {
  explicit Impl(index::CrashIndex& i) : index(i) {
    for (const auto& f : index.fields().all()) {
      if (!f.visible_to(index::Permissions{})) continue;
      column_fields.push_back(&f);
      if (f.exposed) filter_fields.push_back(&f);
    }
  }

  index::CrashIndex& index;
  std::vector<const index::Field*> filter_fields;  // public, filterable: the form's field list
  std::vector<const index::Field*> column_fields;  // public

  std::shared_ptr<const index::FieldCatalogue> catalogue() const {
    // Owned by the index; the query needs it only while the page is made.
    return std::shared_ptr<const index::FieldCatalogue>(std::shared_ptr<const index::FieldCatalogue>(), &index.fields());
  }

  // ---- the form ---------------------------------------------------------------------------

  void field_select(html::Writer& w, const std::string& id, const std::string& selected) const {
    w.open("select", {{"name", id}, {"id", id}});
    html::Attributes none = {{"value", ""}};
    if (selected.empty()) none.emplace_back("selected", "selected");
    w.element("option", "field\xE2\x80\xA6", none);
    bool found = false;
    for (const auto* f : filter_fields) {
      html::Attributes a = {{"value", f->name}};
      if (f->name == selected) {
        a.emplace_back("selected", "selected");
        found = true;
      }
      w.element("option", f->name, a);
    }
    // A name the catalogue does not offer (the cause of a 400) stays, so the form shows what was asked.
    if (!found && !selected.empty()) {
      w.element("option", html::utf8_prefix(selected, 100), {{"value", std::string(html::utf8_prefix(selected, 100))}, {"selected", "selected"}});
    }
    w.close("select");
  }

  static void op_select(html::Writer& w, const std::string& id, const std::string& selected) {
    w.open("select", {{"name", id}, {"id", id}});
    for (const auto& op : kOps) {
      html::Attributes a = {{"value", std::string(op.prefix)}};
      if (op.prefix == selected) a.emplace_back("selected", "selected");
      w.element("option", op.label, a);
    }
    w.close("select");
  }

  void filter_row(html::Writer& w, int n, const std::string& field, const std::string& op, const std::string& value) const {
    std::string num = std::to_string(n);
    w.open("div", {{"class", "filter-row"}});
    w.element("label", "Field", {{"for", "f" + num}, {"class", "visually-hidden"}});
    field_select(w, "f" + num, field);
    w.element("label", "Operator", {{"for", "o" + num}, {"class", "visually-hidden"}});
    op_select(w, "o" + num, op);
    w.element("label", "Value", {{"for", "v" + num}, {"class", "visually-hidden"}});
    w.empty("input", {{"type", "text"}, {"name", "v" + num}, {"id", "v" + num}, {"value", std::string(html::utf8_prefix(value, kFormValueBytes))}});
    w.close("div");
  }

  void checkboxes(html::Writer& w, std::string_view name, const std::vector<std::string>& checked,
                  const std::vector<const index::Field*>& fields) const {
    w.open("div", {{"class", "checkbox-grid"}});
    auto box = [&](const std::string& field, bool on) {
      w.open("label");
      html::Attributes a = {{"type", "checkbox"}, {"name", std::string(name)}, {"value", field}};
      if (on) a.emplace_back("checked", "checked");
      w.empty("input", a);
      w.text(" " + field);
      w.close("label");
    };
    // Checked ones first, in their order, so submitting keeps the order of the columns.
    for (const auto& c : checked) box(c, true);
    for (const auto* f : fields) {
      if (std::find(checked.begin(), checked.end(), f->name) == checked.end()) box(f->name, false);
    }
    w.close("div");
  }

  html::Html render_form(const QueryPairs& pairs) const {
    html::Writer w;
    w.open_with_url("form", "action", html::Url::local("/search/"),
                    {{"method", "get"}, {"class", "search-form"}, {"id", "search-form"}});
    w.open("fieldset", {{"class", "filters"}});
    w.element("legend", "Filters");
    w.element("p", "Every row must match, except rows on the same field with the same operator: any of those may.",
              {{"class", "muted hint"}});
    w.open("div", {{"class", "filter-rows"}, {"id", "filter-rows"}});
    int n = 0;
    for (const auto& [k, v] : pairs) {
      if (!is_filter_key(k) || v.empty()) continue;
      auto [op, operand] = split_filter_value(v);
      filter_row(w, n++, k, op, operand);
    }
    for (int i = 0; i < kEmptyRows; ++i) filter_row(w, n++, "", "=", "");
    w.close("div");
    w.close("fieldset");

    std::vector<std::string> columns =
        list_param(pairs, "_columns").value_or(std::vector<std::string>{"uuid", "date", "signature", "product", "version"});
    std::vector<std::string> facets = list_param(pairs, "_facets").value_or(std::vector<std::string>{"signature"});
    auto is_facet_field = [&](const std::string& name) {
      return std::any_of(filter_fields.begin(), filter_fields.end(), [&](const index::Field* f) { return f->name == name; });
    };
    std::vector<std::string> facet_boxes, facet_hidden;
    for (const auto& f : facets) (is_facet_field(f) ? facet_boxes : facet_hidden).push_back(f);
    std::vector<std::string> column_boxes;
    for (const auto& c : columns) {
      if (std::any_of(column_fields.begin(), column_fields.end(), [&](const index::Field* f) { return f->name == c; })) {
        column_boxes.push_back(c);
      }
    }

    w.open("div", {{"class", "search-options"}});
    w.open("details");
    w.element("summary", "Columns");
    checkboxes(w, "_columns", column_boxes, column_fields);
    w.close("details");
    w.open("details");
    w.element("summary", "Facets");
    // Sent even when no box is checked: `_facets=` alone asks for no facets.
    w.empty("input", {{"type", "hidden"}, {"name", "_facets"}, {"value", ""}});
    for (const auto& f : facet_hidden) w.empty("input", {{"type", "hidden"}, {"name", "_facets"}, {"value", f}});
    checkboxes(w, "_facets", facet_boxes, filter_fields);
    w.close("details");

    std::string number = "100";
    for (const auto& [k, v] : pairs) {
      if (k == "_results_number" && !v.empty()) number = v;
    }
    w.open("label", {{"class", "per-page"}});
    w.text("Results per page ");
    w.open("select", {{"name", "_results_number"}});
    std::vector<std::string> choices = {"10", "25", "50", "100", "200", "500", "1000"};
    if (std::find(choices.begin(), choices.end(), number) == choices.end()) {
      choices.insert(choices.begin(), std::string(html::utf8_prefix(number, 20)));
    }
    for (const auto& c : choices) {
      html::Attributes a = {{"value", c}};
      if (c == html::utf8_prefix(number, 20)) a.emplace_back("selected", "selected");
      w.element("option", c, a);
    }
    w.close("select");
    w.close("label");
    w.close("div");

    // Everything else the query says (sort, facet size, aggregations) rides along unchanged.
    for (const auto& [k, v] : pairs) {
      if (!k.starts_with('_') || k == "_columns" || k == "_facets" || k == "_results_number" || k == "_results_offset") continue;
      w.empty("input", {{"type", "hidden"}, {"name", std::string(html::utf8_prefix(k, 200))},
                        {"value", std::string(html::utf8_prefix(v, kFormValueBytes))}});
    }
    w.element("button", "Search", {{"type", "submit"}, {"class", "primary"}});
    w.close("form");
    return w.finish();
  }

  // ---- results ----------------------------------------------------------------------------

  static void cell(html::Writer& w, const index::Field& field, const json& v) {
    if (v.is_null()) {
      w.element("td", "");
      return;
    }
    if (field.name == "uuid" && v.is_string()) {
      w.open("td", {{"class", "mono"}});
      w.link(html::Url::local("/report/index/" + html::encode_component(v.get<std::string>())),
             html::utf8_prefix(v.get<std::string>(), 64));
      w.close("td");
      return;
    }
    if (field.name == "signature" && v.is_string()) {
      w.open("td", {{"class", "signature"}});
      w.open_with_url("a", "href", html::Url::local("/signature/?signature=" + html::encode_component(v.get<std::string>())));
      w.text_limited(v.get<std::string>(), kCellBytes);
      w.close("a");
      w.close("td");
      return;
    }
    if (field.type == index::FieldType::kDate && v.is_string()) {
      std::string s = v.get<std::string>();
      std::string shown = std::string(html::utf8_prefix(s, 19));
      if (shown.size() > 10 && shown[10] == 'T') shown[10] = ' ';
      w.open("td", {{"class", "nowrap"}});
      w.element("time", shown, {{"datetime", std::string(html::utf8_prefix(s, 40))}});
      w.close("td");
      return;
    }
    std::string text;
    if (v.is_array()) {
      for (const auto& e : v) {
        if (!text.empty()) text += ", ";
        text += term_text(e);
        if (text.size() > kCellBytes * 2) break;
      }
    } else {
      text = term_text(v);
    }
    w.open("td");
    w.text_limited(text, kCellBytes);
    w.close("td");
  }

  static void render_table(html::Writer& w, const QueryPairs& pairs, const index::SuperSearchQuery& q, const json& answer) {
    const json& hits = answer["hits"];
    if (!hits.is_array() || hits.empty()) {
      if (q.results_number > 0) w.element("p", "No crashes on this page.", {{"class", "muted"}});
      return;
    }
    QueryPairs unpaged = with_param(pairs, "_results_offset", "");
    const index::SortKey* primary = q.sort.empty() ? nullptr : &q.sort.front();
    w.open("div", {{"class", "table-wrap"}});
    w.open("table", {{"class", "search-results"}, {"id", "search-results"}});
    w.element("caption", "Matching crashes", {{"class", "visually-hidden"}});
    w.open("thead");
    w.open("tr");
    for (const auto* col : q.columns) {
      html::Attributes th = {{"scope", "col"}, {"data-field", col->name}};
      bool current = primary && primary->field == col;
      if (current) th.emplace_back("aria-sort", primary->descending ? "descending" : "ascending");
      w.open("th", th);
      if (col->sortable()) {
        // Ascending first; the current ascending column turns descending.
        std::string sort = (current && !primary->descending) ? "-" + col->name : col->name;
        w.link(search_url(with_param(unpaged, "_sort", sort)), col->name == "uuid" ? "crash id" : col->name,
               {{"class", "sort-link"}});
        if (current) w.element("span", primary->descending ? " \xE2\x96\xBC" : " \xE2\x96\xB2", {{"aria-hidden", "true"}});
      } else {
        w.text(col->name);
      }
      w.close("th");
    }
    w.close("tr");
    w.close("thead");
    w.open("tbody");
    for (const auto& hit : hits) {
      html::Attributes tr;
      if (hit.contains("uuid") && hit["uuid"].is_string()) tr.emplace_back("data-crash-id", hit["uuid"].get<std::string>());
      w.open("tr", tr);
      for (const auto* col : q.columns) cell(w, *col, hit.contains(col->name) ? hit[col->name] : json());
      w.close("tr");
    }
    w.close("tbody");
    w.close("table");
    w.close("div");
  }

  static void render_pager(html::Writer& w, const QueryPairs& pairs, const index::SuperSearchQuery& q, int64_t total) {
    const int64_t number = q.results_number, offset = q.results_offset;
    if (number <= 0 || (total <= number && offset == 0)) return;
    // A page is reachable when it starts before the end and ends within the 10,000-hit window.
    auto reachable = [&](int64_t off) { return off >= 0 && off < total && off + number <= kMaxWindow; };
    auto link_to = [&](int64_t off) {
      return search_url(with_param(pairs, "_results_offset", off > 0 ? std::to_string(off) : std::string()));
    };
    int64_t last_page = 0;
    while (reachable((last_page + 1) * number)) ++last_page;
    int64_t current = offset / number;

    w.open("nav", {{"class", "pager"}, {"aria-label", "Result pages"}});
    w.open("ul");
    if (offset > 0) {
      w.open("li");
      w.link(link_to(std::max<int64_t>(0, offset - number)), "\xE2\x80\xB9 Previous", {{"rel", "prev"}});
      w.close("li");
    }
    int64_t prev_shown = -1;
    for (int64_t p = 0; p <= last_page; ++p) {
      bool show = p == 0 || p == last_page || (p >= current - 2 && p <= current + 2);
      if (!show) continue;
      if (prev_shown >= 0 && p > prev_shown + 1) w.element("li", "\xE2\x80\xA6", {{"class", "gap"}});
      prev_shown = p;
      w.open("li");
      if (p * number == offset) {
        w.element("span", std::to_string(p + 1), {{"aria-current", "page"}, {"class", "current"}});
      } else {
        w.link(link_to(p * number), std::to_string(p + 1), {{"aria-label", "Page " + std::to_string(p + 1)}});
      }
      w.close("li");
    }
    if (reachable(offset + number)) {
      w.open("li");
      w.link(link_to(offset + number), "Next \xE2\x80\xBA", {{"rel", "next"}});
      w.close("li");
    }
    w.close("ul");
    w.close("nav");
    if (total > kMaxWindow) {
      w.element("p", "Only the first " + format_count(kMaxWindow) + " crashes can be paged through: narrow the search (a date range, another sort) to see the others.",
                {{"class", "muted"}});
    }
  }

  static void render_facets(html::Writer& w, const QueryPairs& pairs, const index::SuperSearchQuery& q, const json& answer) {
    const json& facets = answer["facets"];
    QueryPairs unpaged = with_param(pairs, "_results_offset", "");
    bool any = false;
    for (const auto& agg : q.aggregations) {
      if (agg.kind == index::Aggregation::Kind::kHistogram) continue;
      std::string name = agg.name();
      if (!facets.is_object() || !facets.contains(name)) continue;
      const json& value = facets[name];
      if (!any) {
        w.open("aside", {{"class", "search-facets"}, {"aria-label", "Facets"}});
        any = true;
      }
      w.open("section", {{"class", "facet"}, {"data-facet", name}});
      if (agg.kind == index::Aggregation::Kind::kCardinality) {
        w.element("h2", agg.field->name);
        int64_t n = value.is_object() && value.contains("value") && value["value"].is_number() ? value["value"].get<int64_t>() : 0;
        w.element("p", format_count(n) + " distinct values");
        w.close("section");
        continue;
      }
      w.element("h2", name);
      if (!value.is_array() || value.empty()) {
        w.element("p", "No values.", {{"class", "muted"}});
        w.close("section");
        continue;
      }
      w.open("table", {{"class", "facet-terms"}});
      w.open("tbody");
      for (const auto& bucket : value) {
        if (!bucket.is_object()) continue;
        std::string term = term_text(bucket.value("term", json()));
        int64_t count = bucket.contains("count") && bucket["count"].is_number() ? bucket["count"].get<int64_t>() : 0;
        w.open("tr");
        w.open("td", {{"class", "term"}});
        if (!term.empty()) {
          // `==` is "is exactly" (docs/search.md): the term is taken literally, whatever it starts with.
          QueryPairs added = unpaged;
          added.emplace_back(agg.field->name, "=" + term);
          w.open_with_url("a", "href", search_url(added), {{"class", "facet-term"}});
          w.text_limited(term, kTermBytes);
          w.close("a");
        } else {
          w.element("span", "(empty)", {{"class", "muted"}});
        }
        w.close("td");
        w.element("td", format_count(count), {{"class", "count"}});
        w.close("tr");
      }
      w.close("tbody");
      w.close("table");
      w.close("section");
    }
    if (any) w.close("aside");
  }

  static std::string bucket_label(int64_t us, const std::string& interval) {
    std::string s = index::format_date_us(us);  // "YYYY-MM-DDTHH:MM:SS..."
    if (interval == "hour") return s.substr(0, 10) + " " + s.substr(11, 5);
    if (interval == "week") return "week of " + s.substr(0, 10);
    return s.substr(0, 10);
  }

  static void render_histogram(html::Writer& w, const Results& r) {
    const json& facets = (*r.histogram)["facets"];
    if (!facets.is_object() || !facets.contains("histogram_date") || !facets["histogram_date"].is_array()) return;
    const int64_t step = r.histogram_interval_us;
    // Buckets as the index starts them: hours and days at multiples of their length, weeks on Mondays
    // (1970-01-01 was a Thursday: shift by 3 days).
    const int64_t shift = r.interval_name == "week" ? 3 * index::kMicrosPerDay : 0;
    auto floor_to = [&](int64_t us) { return index::floor_div(us + shift, step) * step - shift; };
    const int64_t first = floor_to(r.query->date_from_us);
    size_t slots = static_cast<size_t>((floor_to(r.query->date_to_us) - first) / step + 1);
    std::map<int64_t, int64_t> counts;  // slot → count
    int64_t max = 0;
    for (const auto& b : facets["histogram_date"]) {
      if (!b.is_object() || !b.contains("term") || !b["term"].is_string()) continue;
      auto us = index::parse_date_us(b["term"].get<std::string>());
      if (!us) continue;
      int64_t slot = index::floor_div(*us - first, step);
      int64_t count = b.contains("count") && b["count"].is_number() ? b["count"].get<int64_t>() : 0;
      if (slot < 0 || slot >= static_cast<int64_t>(kMaxBars)) continue;
      counts[slot] += count;
      slots = std::max(slots, static_cast<size_t>(slot + 1));
      max = std::max(max, counts[slot]);
    }
    slots = std::min(slots, kMaxBars);
    w.open("figure", {{"class", "histogram"}, {"id", "histogram"}});
    w.element("figcaption", "Crashes per " + r.interval_name);
    w.open("svg", {{"class", "histogram-chart"}, {"width", "100%"}, {"height", "120"}, {"role", "img"},
                   {"aria-label", "Matching crashes per " + r.interval_name + ", " + bucket_label(first, r.interval_name) +
                                      " to " + bucket_label(first + static_cast<int64_t>(slots - 1) * step, r.interval_name)}});
    const double width = 100.0 / static_cast<double>(slots);
    for (size_t i = 0; i < slots; ++i) {
      auto it = counts.find(static_cast<int64_t>(i));
      int64_t count = it == counts.end() ? 0 : it->second;
      double h = max > 0 ? 100.0 * static_cast<double>(count) / static_cast<double>(max) : 0;
      if (count > 0) h = std::max(h, 2.0);
      std::string label = bucket_label(first + static_cast<int64_t>(i) * step, r.interval_name);
      w.open("rect", {{"class", count > 0 ? "bar" : "bar empty"},
                      {"x", percent(width * static_cast<double>(i))},
                      {"y", percent(100.0 - h)},
                      {"width", percent(width * 0.85)},
                      {"height", percent(h)},
                      {"data-count", std::to_string(count)}});
      w.element("title", label + ": " + format_count(count) + (count == 1 ? " crash" : " crashes"));
      w.close("rect");
    }
    w.close("svg");
    w.open("div", {{"class", "histogram-axis"}, {"aria-hidden", "true"}});
    w.element("span", bucket_label(first, r.interval_name));
    w.element("span", bucket_label(first + static_cast<int64_t>(slots - 1) * step, r.interval_name));
    w.close("div");
    w.close("figure");
  }

  html::Html render(const QueryPairs& pairs, const Results* r, const QueryError* error) const {
    html::Writer w;
    w.element("h1", "Search crashes");
    w.append(render_form(pairs));
    if (error) {
      w.open("div", {{"class", "notice error"}, {"role", "alert"}, {"id", "search-error"}});
      w.open("p");
      w.text("This search cannot run. Parameter \xE2\x80\x9C");
      w.element("code", html::utf8_prefix(error->parameter(), 100));
      w.text("\xE2\x80\x9D: ");
      w.text_limited(error->what(), 500);
      w.close("p");
      w.close("div");
    }
    if (!r) return w.finish();

    const json& answer = *r->answer;
    int64_t total = answer.contains("total") && answer["total"].is_number() ? answer["total"].get<int64_t>() : 0;
    w.open("section", {{"class", "search-answer"}, {"aria-labelledby", "results-heading"}});
    w.open("div", {{"class", "results-head"}});
    w.open("h2", {{"id", "results-heading"}});
    w.element("span", format_count(total), {{"id", "search-total"}, {"data-total", std::to_string(total)}});
    w.text(total == 1 ? " crash matches" : " crashes match");
    w.close("h2");
    w.open("p", {{"class", "muted"}});
    w.text(index::format_date_us(r->query->date_from_us).substr(0, 16) + " to " +
           index::format_date_us(r->query->date_to_us).substr(0, 16) + " UTC \xC2\xB7 ");
    std::string q = encode_query(pairs);
    w.link(html::Url::local("/api/SuperSearch/" + (q.empty() ? std::string() : "?" + q)), "this search as JSON",
           {{"id", "search-json"}});
    w.close("p");
    w.close("div");
    render_histogram(w, *r);
    w.open("div", {{"class", "search-layout"}});
    w.open("div", {{"class", "search-main"}});
    render_table(w, pairs, *r->query, answer);
    render_pager(w, pairs, *r->query, total);
    w.close("div");
    render_facets(w, pairs, *r->query, answer);
    w.close("div");
    w.close("section");
    return w.finish();
  }

  http::Response page(int status, const QueryPairs& pairs, const Results* r, const QueryError* error) const {
    return html_response(status, render_page({error ? "Search: bad query" : "Search", NavItem::kSearch, {"search.js"}},
                                             render(pairs, r, error)));
  }

  http::Response respond(std::string_view query, std::chrono::system_clock::time_point now) {
    // A bad query is this page's own 400 (the form, naming the row); the index's failures are
    // every index page's.
    return index_page_guarded("search page", [&] { return respond_or_throw(query, now); });
  }

  http::Response respond_or_throw(std::string_view query, std::chrono::system_clock::time_point now) {
    QueryPairs pairs = http::parse_query_pairs(query);
    try {
      if (auto canonical = canonical_query(pairs)) return redirect(303, "/search/?" + *canonical);
      if (pairs.empty()) pairs = http::parse_query_pairs(SearchPage::kDefaultQuery);
      auto q = index::parse_super_search(catalogue(), pairs, index::Permissions{}, now);
      json answer = index.execute(q);

      // The histogram: the same filters, counted per bucket of a size that suits the range.
      Results r;
      const int64_t range = q.date_to_us - q.date_from_us;
      r.interval_name = range <= 2 * index::kMicrosPerDay ? "hour" : range <= 120 * index::kMicrosPerDay ? "day" : "week";
      r.histogram_interval_us = r.interval_name == "hour"  ? index::kMicrosPerDay / 24
                                : r.interval_name == "day" ? index::kMicrosPerDay
                                                           : 7 * index::kMicrosPerDay;
      QueryPairs hp;
      for (const auto& p : pairs) {
        if (is_filter_key(p.first)) hp.push_back(p);
      }
      hp.insert(hp.end(), {{"_histogram.date", ""}, {"_histogram_interval.date", r.interval_name}, {"_facets", ""},
                           {"_results_number", "0"}, {"_columns", "uuid"}});
      auto hq = index::parse_super_search(catalogue(), hp, index::Permissions{}, now);
      json histogram = index.execute(hq);

      r.query = &q;
      r.answer = &answer;
      r.histogram = &histogram;
      return page(200, pairs, &r, nullptr);
    } catch (const QueryError& e) {
      QueryPairs shown;
      for (const auto& p : pairs) {
        if (!row_key(p.first)) shown.push_back(p);
      }
      return page(400, shown, nullptr, &e);
    }
  }
};

SearchPage::SearchPage(index::CrashIndex& index, const CallerAuth* auth)
    : impl_(std::make_unique<Impl>(index)), auth_(auth) {}
SearchPage::~SearchPage() = default;

http::Response SearchPage::respond(std::string_view query, std::chrono::system_clock::time_point now) {
  return impl_->respond(query, now);
}

void SearchPage::add_routes(http::Server& server) {
  Impl* im = impl_.get();
  const CallerAuth* auth = auth_;
  server.route(http::Access::open(), {"GET", "/search/", http::kNoBodyLimit, [im, auth](const http::Request& req) -> http::Reply {
                  auto work = [im, query = req.query] { return im->respond(query, std::chrono::system_clock::now()); };
                  // Public data for everyone; the caller only counts against the rate limit.
                  if (auth) return auth->page(req, [work](const Caller&) { return work(); });
                  return deferred(work);
                }});
  server.route(http::Access::open(), {"GET", "/search", http::kNoBodyLimit, [](const http::Request& req) -> http::Reply {
                  QueryPairs pairs = http::parse_query_pairs(req.query);
                  return redirect(301, pairs.empty() ? std::string("/search/") : "/search/?" + encode_query(pairs));
                }});
}

}  // namespace bw::web
