#include "web/topcrashers_page.h"

#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "index/fields.h"
#include "web/html.h"
#include "web/json_api.h"
#include "web/layout.h"
#include "web/search_api.h"
#include "web/index_page_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using html::Url;
using html::Writer;

constexpr int kDayChoices[] = {1, 3, 7, 14, 28};
// Products listed when none is chosen; more than this is not a real site.
constexpr int kMaxProducts = 200;
// Signatures and products are cut to this in tables (the signature page has the whole value).
constexpr size_t kMaxCell = 500;

// The form's current values, as given (empty: not given).
struct FormValues {
  std::string product;
  std::vector<std::string> versions;
  int days = 7;
  std::string process_type;
  std::string platform;
};

void labelled_input(Writer& w, const std::string& id, std::string_view label, const std::string& name,
                    const std::string& value, std::string_view placeholder) {
  w.open("div", {{"class", "form-field"}});
  w.element("label", label, {{"for", id}});
  w.empty("input", {{"type", "text"}, {"id", id}, {"name", name}, {"value", value}, {"placeholder", std::string(placeholder)},
                    {"maxlength", "300"}});
  w.close("div");
}

void render_form(Writer& w, const FormValues& v) {
  w.open_with_url("form", "action", Url::local("/topcrashers/"), {{"method", "get"}, {"class", "filter-form"}});
  labelled_input(w, "tc-product", "Product", "product", v.product, "e.g. Firefox");
  // One box per version already chosen (the API takes several); one empty box otherwise.
  if (v.versions.empty()) {
    labelled_input(w, "tc-version", "Version", "version", "", "any");
  } else {
    for (size_t i = 0; i < v.versions.size(); ++i) {
      labelled_input(w, "tc-version" + (i ? "-" + std::to_string(i) : std::string()), i ? "Also version" : "Version",
                     "version", v.versions[i], "any");
    }
  }
  w.open("div", {{"class", "form-field"}});
  w.element("label", "Days", {{"for", "tc-days"}});
  w.open("select", {{"id", "tc-days"}, {"name", "days"}});
  for (int d : kDayChoices) {
    html::Attributes attrs = {{"value", std::to_string(d)}};
    if (d == v.days) attrs.emplace_back("selected", "selected");
    w.element("option", std::to_string(d), attrs);
  }
  w.close("select");
  w.close("div");
  labelled_input(w, "tc-process-type", "Process type", "process_type", v.process_type, "any");
  labelled_input(w, "tc-platform", "Platform", "platform", v.platform, "any");
  w.open("div", {{"class", "form-actions"}});
  w.element("button", "Show", {{"type", "submit"}});
  w.close("div");
  w.close("form");
}

std::string signature_href(const std::string& signature, const std::string& product, int days) {
  return "/signature/?signature=" + html::encode_component(signature) + "&product=" + html::encode_component(product) +
         "&days=" + std::to_string(days);
}

void rank_change_cell(Writer& w, const index::TopCrasher& c) {
  w.open("td", {{"class", "rank-change"}});
  if (!c.rank_change) {
    w.element("span", "new", {{"class", "badge warn"}, {"title", "not among the crashes of the previous period"}});
  } else if (*c.rank_change > 0) {
    w.element("span", "\xE2\x96\xB2 " + std::to_string(*c.rank_change) + " up",
              {{"class", "rank-up"}, {"title", "rank " + std::to_string(*c.previous_rank) + " in the previous period"}});
  } else if (*c.rank_change < 0) {
    w.element("span", "\xE2\x96\xBC " + std::to_string(-*c.rank_change) + " down",
              {{"class", "rank-down"}, {"title", "rank " + std::to_string(*c.previous_rank) + " in the previous period"}});
  } else {
    w.element("span", "same", {{"class", "rank-same"}});
  }
  w.close("td");
}

void platforms_cell(Writer& w, const std::map<std::string, int64_t>& platforms) {
  w.open("td", {{"class", "platforms"}});
  // Most crashes first; the map is by name.
  std::vector<std::pair<std::string, int64_t>> list(platforms.begin(), platforms.end());
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  w.open("ul", {{"class", "inline-list"}});
  for (const auto& [name, count] : list) {
    w.open("li");
    w.text_limited(name.empty() ? "unknown" : name, 100);
    w.text(" " + format_count(count));
    w.close("li");
  }
  w.close("ul");
  w.close("td");
}

void render_table(Writer& w, const index::TopCrashersQuery& q, const index::TopCrashersResult& r) {
  w.open("p", {{"class", "period"}});
  w.text(format_count(r.total) + (r.total == 1 ? " crash" : " crashes") + " of ");
  w.element("strong", q.product);
  if (!q.versions.empty()) {
    std::string versions;
    for (const auto& v : q.versions) versions += (versions.empty() ? "" : ", ") + v;
    w.text(" " + versions);
  }
  if (!q.process_type.empty()) w.text(", process type " + q.process_type);
  if (!q.platform.empty()) w.text(", on " + q.platform);
  w.text(" from " + r.start_date + " to " + r.end_date + " (" + std::to_string(r.days) +
         (r.days == 1 ? " day" : " days") + ", UTC). The previous period had " + format_count(r.previous_total) + ".");
  w.close("p");
  if (r.crashers.empty()) {
    w.open("div", {{"class", "empty-state"}});
    w.element("h2", "No crashes");
    w.element("p", "No crash matches these choices in this period. Try more days, another version, or any process "
                   "type and platform.");
    w.close("div");
    return;
  }
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "topcrashers"}});
  w.element("caption", "Top " + std::to_string(r.crashers.size()) + " signatures", {{"class", "visually-hidden"}});
  w.open("thead");
  w.open("tr");
  for (const char* h : {"Rank", "Change", "Signature", "Count", "Percentage", "Platforms", "First seen"}) {
    w.element("th", h, {{"scope", "col"}});
  }
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& c : r.crashers) {
    w.open("tr");
    w.element("td", std::to_string(c.rank), {{"class", "rank"}});
    rank_change_cell(w, c);
    w.open("td", {{"class", "signature"}});
    w.open_with_url("a", "href", Url::local(signature_href(c.signature, q.product, q.days)));
    w.text_limited(c.signature, kMaxCell);
    w.close("a");
    w.close("td");
    w.element("td", format_count(c.count), {{"class", "count num"}});
    w.element("td", format_percent(c.percentage), {{"class", "percentage num"}});
    platforms_cell(w, c.platforms);
    w.element("td", c.first_seen, {{"class", "first-seen"}});
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
}

// The period's first day (UTC) as Top Crashers counts it: `days` whole days ending today.
std::string period_start(std::chrono::system_clock::time_point now, int days) {
  int64_t today = index::floor_div(micros_since_epoch(now), index::kMicrosPerDay);
  return index::format_day(today - days + 1);
}

}  // namespace

struct TopCrashersPage::Impl {
  explicit Impl(index::CrashIndex& i) : index(i) {}
  index::CrashIndex& index;

  http::Response products_page(const FormValues& v, std::chrono::system_clock::time_point now) {
    // The same days as the Top Crashers period (whole UTC days), so every product listed has rows.
    index::QueryPairs pairs = {{"date", ">=" + period_start(now, v.days)},
                               {"_facets", "product"},
                               {"_facets_size", std::to_string(kMaxProducts)},
                               {"_results_number", "0"}};
    json answer = index.search(pairs, index::Permissions{}, now);
    Writer w;
    w.element("h1", "Top crashers");
    render_form(w, v);
    const json& products = answer["facets"]["product"];
    if (!products.is_array() || products.empty()) {
      w.open("div", {{"class", "empty-state"}});
      w.element("h2", "No crashes yet");
      w.element("p", "No product has crashes in the last " + std::to_string(v.days) +
                         (v.days == 1 ? " day" : " days") + ". Once crashes are submitted and processed, "
                         "their products are listed here.");
      w.close("div");
    } else {
      w.element("h2", "Choose a product");
      w.element("p", "Products with crashes in the last " + std::to_string(v.days) + (v.days == 1 ? " day" : " days") +
                         " (UTC days), most crashes first:");
      w.open("ul", {{"class", "product-list"}});
      for (const auto& b : products) {
        if (!b.contains("term") || !b["term"].is_string()) continue;
        std::string product = b["term"].get<std::string>();
        w.open("li");
        w.open_with_url("a", "href", Url::local("/topcrashers/?product=" + html::encode_component(product) +
                                                 "&days=" + std::to_string(v.days)));
        w.text_limited(product, kMaxCell);
        w.close("a");
        w.text(" \xE2\x80\x94 " + format_count(b.value("count", int64_t{0})) + " crashes");
        w.close("li");
      }
      w.close("ul");
    }
    return html_response(200, render_page({"Top crashers", NavItem::kTopCrashers, {}}, w.finish()));
  }

  http::Response render(const std::string& query, std::chrono::system_clock::time_point now) {
    return index_page_guarded("topcrashers", [&] {
      index::QueryPairs pairs = http::parse_query_pairs(query);
      bool has_product = false;
      for (const auto& [k, v] : pairs) has_product = has_product || (k == "product" && !v.empty());
      if (!has_product) {
        // The other parameters are checked all the same: a placeholder product satisfies the
        // parser, which then judges the rest exactly as for a real one.
        index::QueryPairs checked = pairs;
        checked.emplace_back("product", "-");
        index::TopCrashersQuery q = parse_top_crashers_query(checked, now);
        FormValues v{"", q.versions, q.days, q.process_type, q.platform};
        return products_page(v, now);
      }
      index::TopCrashersQuery q = parse_top_crashers_query(pairs, now);
      index::TopCrashersResult r = index.top_crashers(q);
      FormValues v{q.product, q.versions, q.days, q.process_type, q.platform};
      Writer w;
      w.element("p", "Top crashers", {{"class", "eyebrow"}});
      w.open("h1");
      w.text_limited(q.product, kMaxCell);
      w.close("h1");
      render_form(w, v);
      render_table(w, q, r);
      return html_response(200, render_page({"Top crashers for " + std::string(html::utf8_prefix(q.product, 100)),
                                             NavItem::kTopCrashers, {}},
                                            w.finish()));
    });
  }
};

TopCrashersPage::TopCrashersPage(index::CrashIndex& index) : impl_(std::make_unique<Impl>(index)) {}
TopCrashersPage::~TopCrashersPage() = default;

http::Response TopCrashersPage::render(const std::string& query, std::chrono::system_clock::time_point now) {
  return impl_->render(query, now);
}

void TopCrashersPage::add_routes(http::Server& server) {
  Impl* im = impl_.get();
  for (const char* path : {"/topcrashers/", "/topcrashers"}) {
    server.route(http::Access::open(), {"GET", path, http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                    return deferred([im, query = req.query] { return im->render(query, std::chrono::system_clock::now()); });
                  }});
  }
}

}  // namespace bw::web
