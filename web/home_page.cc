#include "web/home_page.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <utility>

#include "core/crash_id.h"
#include "index/fields.h"
#include "index/super_search_query.h"
#include "web/index_page_support.h"
#include "web/json_api.h"
#include "web/layout.h"

namespace bw::web {

using nlohmann::json;
using index::kMicrosPerDay;

namespace {

// Product names, versions and signatures shown on the page are cut to this many bytes.
constexpr size_t kMaxShown = 120;
// Versions a day's bucket lists: enough that the named versions are never cut from a day.
constexpr int kVersionsPerDay = 1000;
constexpr int kProductFacetSize = 50;

int64_t to_us(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

int64_t floor_day(int64_t us) {
  int64_t d = us / kMicrosPerDay;
  if (us % kMicrosPerDay < 0) --d;
  return d;
}

std::string day_text(int64_t day_us) { return index::format_day(floor_day(day_us)); }

std::string count_text(int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string str_of(const json& hit, const char* key) {
  auto it = hit.find(key);
  return it != hit.end() && it->is_string() ? it->get<std::string>() : "";
}

// The query string of /api/SuperSearch/ that answers the same as `pairs` (for the "as JSON" links).
std::string query_string(const index::QueryPairs& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += html::encode_component(k) + "=" + html::encode_component(v);
  }
  return out;
}

index::QueryPairs newest_query(const std::string& first_day) {
  return {{"date", ">=" + first_day},
          {"_facets", ""},
          {"_sort", "-date"},
          {"_results_number", std::to_string(HomePage::kNewestCrashes)},
          {"_columns", "uuid,date,product,version,signature"}};
}

index::QueryPairs product_query(const std::string& product, const std::string& first_day) {
  // "=" makes the name exact whatever it starts with (a leading ~ or ! would be an operator).
  return {{"product", "=" + product},
          {"date", ">=" + first_day},
          {"_histogram.date", "version"},
          {"_facets", ""},
          {"_facets_size", std::to_string(kVersionsPerDay)},
          {"_results_number", "0"}};
}

bool host_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == ':' ||
         c == '-' || c == '[' || c == ']';
}

// The period parameter: 14 (default) or 28.
int parse_days(const http::Request& request) {
  for (const auto& [key, value] : http::parse_query_pairs(request.query)) {
    if (key != "days" || value.empty()) continue;
    if (value == "14") return 14;
    if (value == "28") return 28;
    throw index::QueryError("days", "days must be 14 or 28");
  }
  return 14;
}

// ----- rendering -----

// Chart geometry, in SVG user units (the viewBox scales it to the page's width).
constexpr int kChartWidth = 640, kChartHeight = 200;
constexpr int kPlotLeft = 44, kPlotRight = 8, kPlotTop = 10, kPlotBottom = 24;

void series_swatch(html::Writer& w, size_t series) {
  w.open("span", {{"class", "swatch s" + std::to_string(series)}, {"aria-hidden", "true"}});
  w.close("span");
}

void render_chart(html::Writer& w, const HomeData& data, const HomeData::Product& p, const std::string& heading_id) {
  const int days = data.days;
  int64_t max = 1;
  for (int64_t t : p.day_totals) max = std::max(max, t);
  const double plot_w = kChartWidth - kPlotLeft - kPlotRight;
  const double plot_h = kChartHeight - kPlotTop - kPlotBottom;
  const double slot = plot_w / days;
  const double bar_w = slot * 0.72;
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return std::string(buf);
  };
  const std::string size = "0 0 " + std::to_string(kChartWidth) + " " + std::to_string(kChartHeight);
  // Lower-case `viewbox`: the HTML parser restores SVG's camel case (and the Writer takes only
  // lower-case attribute names).
  w.open("svg", {{"class", "home-chart"},
                 {"viewbox", size},
                 {"width", std::to_string(kChartWidth)},
                 {"height", std::to_string(kChartHeight)},
                 {"role", "img"},
                 {"aria-labelledby", heading_id},
                 {"data-product", std::string(html::utf8_prefix(p.name, kMaxShown))}});
  // Axis: a baseline, the maximum and half of it.
  for (int64_t level : {max, max / 2}) {
    if (level <= 0 || (level == max / 2 && max < 2)) continue;
    double y = kPlotTop + plot_h - plot_h * static_cast<double>(level) / static_cast<double>(max);
    // Open and closed, not void: in SVG an unclosed <line> would swallow what follows.
    w.open("line", {{"class", "grid"}, {"x1", std::to_string(kPlotLeft)}, {"x2", std::to_string(kChartWidth - kPlotRight)},
                    {"y1", num(y)}, {"y2", num(y)}});
    w.close("line");
    w.element("text", std::to_string(level),
              {{"class", "axis"}, {"x", std::to_string(kPlotLeft - 6)}, {"y", num(y + 4)}, {"text-anchor", "end"}});
  }
  const std::string base = num(kPlotTop + plot_h);
  w.open("line", {{"class", "baseline"}, {"x1", std::to_string(kPlotLeft)}, {"x2", std::to_string(kChartWidth - kPlotRight)},
                  {"y1", base}, {"y2", base}});
  w.close("line");
  w.element("text", "0", {{"class", "axis"}, {"x", std::to_string(kPlotLeft - 6)}, {"y", num(kPlotTop + plot_h + 4)},
                          {"text-anchor", "end"}});
  for (int d = 0; d < days; ++d) {
    const std::string day = day_text(data.first_day_us + d * kMicrosPerDay);
    const int64_t total = p.day_totals[static_cast<size_t>(d)];
    const double x = kPlotLeft + slot * d + (slot - bar_w) / 2;
    w.open("g", {{"class", "bar"}, {"data-day", day}, {"data-count", std::to_string(total)}});
    w.element("title", day + ": " + count_text(total, "crash", "crashes"));
    double y = kPlotTop + plot_h;
    const auto& counts = p.by_day[static_cast<size_t>(d)];
    for (size_t v = 0; v < counts.size(); ++v) {
      if (counts[v] <= 0) continue;
      const double h = plot_h * static_cast<double>(counts[v]) / static_cast<double>(max);
      y -= h;
      const bool other = v == p.versions.size();
      const std::string version = other ? "other versions" : "version " + std::string(html::utf8_prefix(p.versions[v], kMaxShown));
      w.open("rect", {{"class", "s" + std::to_string(other ? HomePage::kMaxNamedVersions : static_cast<int>(v))},
                      {"x", num(x)},
                      {"y", num(y)},
                      {"width", num(bar_w)},
                      {"height", num(h)},
                      {"data-count", std::to_string(counts[v])}});
      w.element("title", day + ", " + version + ": " + count_text(counts[v], "crash", "crashes"));
      w.close("rect");
    }
    w.close("g");
  }
  // The first and last day under the bars.
  const std::string label_y = std::to_string(kChartHeight - 6);
  w.element("text", day_text(data.first_day_us),
            {{"class", "axis"}, {"x", std::to_string(kPlotLeft)}, {"y", label_y}, {"text-anchor", "start"}});
  w.element("text", day_text(data.first_day_us + (days - 1) * kMicrosPerDay),
            {{"class", "axis"}, {"x", std::to_string(kChartWidth - kPlotRight)}, {"y", label_y}, {"text-anchor", "end"}});
  w.close("svg");
}

void render_legend(html::Writer& w, const HomeData::Product& p, bool has_other) {
  w.open("ul", {{"class", "legend"}});
  for (size_t v = 0; v < p.versions.size(); ++v) {
    w.open("li");
    series_swatch(w, v);
    w.text_limited(p.versions[v], kMaxShown);
    w.close("li");
  }
  if (has_other) {
    w.open("li");
    series_swatch(w, HomePage::kMaxNamedVersions);
    w.text("other versions");
    w.close("li");
  }
  w.close("ul");
}

// The chart's numbers as a table, for screen readers and for reading exact values.
void render_numbers(html::Writer& w, const HomeData& data, const HomeData::Product& p, bool has_other) {
  w.open("details", {{"class", "chart-numbers"}});
  w.element("summary", "Crashes per day and version as a table");
  w.open("div", {{"class", "table-wrap"}});
  w.open("table");
  w.open("thead");
  w.open("tr");
  w.element("th", "Day", {{"scope", "col"}});
  for (const auto& v : p.versions) {
    w.open("th", {{"scope", "col"}});
    w.text_limited(v, kMaxShown);
    w.close("th");
  }
  if (has_other) w.element("th", "Other", {{"scope", "col"}});
  w.element("th", "Total", {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (int d = 0; d < data.days; ++d) {
    const auto& counts = p.by_day[static_cast<size_t>(d)];
    w.open("tr");
    w.element("th", day_text(data.first_day_us + d * kMicrosPerDay), {{"scope", "row"}});
    for (size_t v = 0; v < counts.size(); ++v) {
      if (v == p.versions.size() && !has_other) continue;
      w.element("td", std::to_string(counts[v]), {{"class", "num"}});
    }
    w.element("td", std::to_string(p.day_totals[static_cast<size_t>(d)]), {{"class", "num"}});
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
  w.close("details");
}

void render_period_switch(html::Writer& w, int days) {
  w.open("p", {{"class", "period"}});
  w.text("Period: ");
  for (int d : {14, 28}) {
    const std::string label = "last " + std::to_string(d) + " days";
    if (d == days) {
      w.element("strong", label, {{"aria-current", "page"}});
    } else {
      w.link(html::Url::local(d == 14 ? "/" : "/?days=28"), label);
    }
    if (d == 14) w.text(" \xC2\xB7 ");
  }
  w.close("p");
}

void render_newest(html::Writer& w, const json& hits) {
  w.element("h2", "Newest crashes", {{"id", "newest"}});
  if (!hits.is_array() || hits.empty()) {
    w.element("p", "None in this period.", {{"class", "muted"}});
    return;
  }
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "newest"}});
  w.open("thead");
  w.open("tr");
  for (const char* h : {"Date (UTC)", "Product", "Version", "Signature", "Crash id"}) w.element("th", h, {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& hit : hits) {
    w.open("tr");
    std::string date = str_of(hit, "date");
    // "2026-11-03T10:20:30.123456+00:00" → "2026-11-03 10:20:30"
    if (date.size() >= 19 && date[10] == 'T') date = date.substr(0, 10) + " " + date.substr(11, 8);
    w.element("td", date, {{"class", "date"}});
    w.open("td");
    w.text_limited(str_of(hit, "product"), kMaxShown);
    w.close("td");
    w.open("td");
    w.text_limited(str_of(hit, "version"), kMaxShown);
    w.close("td");
    const std::string signature = str_of(hit, "signature");
    w.open("td", {{"class", "signature"}});
    if (signature.empty()) {
      w.text("\xE2\x80\x94");
    } else {
      // The whole signature goes into the link (it identifies the group); the text is cut.
      w.link(html::Url::local("/signature/?signature=" + html::encode_component(html::utf8_prefix(signature, 4096))),
             std::string(html::utf8_prefix(signature, 200)) + (signature.size() > 200 ? "\xE2\x80\xA6" : ""));
    }
    w.close("td");
    w.open("td", {{"class", "crash-id mono"}});
    auto id = CrashId::parse(str_of(hit, "uuid"));
    if (id) {
      w.link(html::Url::local("/report/index/" + id->str()), id->str());
    } else {
      w.text_limited(str_of(hit, "uuid"), 40);
    }
    w.close("td");
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
}

}  // namespace

std::string submit_host(const std::string* host_header, std::string_view fallback) {
  if (host_header && !host_header->empty() && host_header->size() <= 255 &&
      std::all_of(host_header->begin(), host_header->end(), host_char)) {
    return *host_header;
  }
  return std::string(fallback);
}

html::Html render_first_run(std::string_view host) {
  const std::string url = "http://" + std::string(host) + "/submit";
  html::Writer w;
  w.open("div", {{"class", "first-run"}, {"id", "first-run"}, {"data-poll-url", "/api/SuperSearch/?_results_number=0&_facets="}});
  w.element("h1", "No crashes yet");
  w.element("p", "This Breakwater server is running and has not received a crash. Send it one and this page turns "
                 "into the overview of your products' crashes.");
  w.element("h2", "Send a minidump with curl");
  w.open("pre");
  w.element("code", "curl -F upload_file_minidump=@crash.dmp -F ProductName=MyApp -F Version=1.0 " + url);
  w.close("pre");
  w.element("p", "Each -F field besides the dump is an annotation; ProductName and Version decide where the crash is "
                 "filed. The server answers CrashID=bp-<crash id>.");
  w.element("h2", "Or with breakwater itself");
  w.open("pre");
  w.element("code", "breakwater submit " + url + " crash.dmp --annotation ProductName=MyApp --annotation Version=1.0");
  w.close("pre");
  w.element("h2", "From an application");
  w.open("p");
  w.text("Give Crashpad or Breakpad clients this upload URL: ");
  w.element("code", url, {{"class", "submit-url"}});
  w.close("p");
  w.open("ul");
  w.element("li", "Crashpad: the url argument of crashpad::CrashpadClient::StartHandler (the handler's --url).");
  w.element("li", "Breakpad: the URL given to the crash sender (e.g. google_breakpad::HTTPUpload on the submit page).");
  w.element("li", "Electron: crashReporter.start({submitURL: \"" + url + "\"}).");
  w.close("ul");
  w.element("p", "Crashes show up here once they are processed, a few seconds after they arrive.",
            {{"class", "notice"}, {"id", "first-run-status"}, {"aria-live", "polite"}});
  w.open("p");
  w.link(html::Url::local("/"), "Reload this page");
  w.text(" to see whether a crash has arrived.");
  w.close("p");
  w.close("div");
  return w.finish();
}

html::Html render_home(const HomeData& data) {
  html::Writer w;
  w.open("div", {{"class", "home"}});
  w.element("h1", "Crashes in the last " + std::to_string(data.days) + " days");
  render_period_switch(w, data.days);
  const std::string last_day = day_text(data.first_day_us + (data.days - 1) * kMicrosPerDay);
  w.element("p", count_text(data.total, "crash", "crashes") + " from " + day_text(data.first_day_us) + " to " + last_day +
                     " (UTC), by the day they were processed.");
  if (data.products.empty()) {
    w.open("p", {{"class", "notice"}});
    w.text("No crash was processed in this period. ");
    w.link(html::Url::local("/search/"), "Search");
    w.text(" finds older ones.");
    w.close("p");
  } else {
    w.element("h2", "Products", {{"id", "products"}});
    w.open("div", {{"class", "table-wrap"}});
    w.open("table", {{"class", "products"}});
    w.open("thead");
    w.open("tr");
    w.element("th", "Product", {{"scope", "col"}});
    w.element("th", "Crashes", {{"scope", "col"}});
    w.element("th", "Top crashers", {{"scope", "col"}});
    w.close("tr");
    w.close("thead");
    w.open("tbody");
    for (const auto& p : data.products) {
      w.open("tr");
      w.open("th", {{"scope", "row"}});
      if (p.charted) {
        w.link(html::Url::fragment("product-" + std::to_string(&p - data.products.data())),
               std::string(html::utf8_prefix(p.name, kMaxShown)));
      } else {
        w.text_limited(p.name, kMaxShown);
      }
      w.close("th");
      w.element("td", std::to_string(p.total), {{"class", "num"}});
      w.open("td");
      w.link(html::Url::local("/topcrashers/?product=" + html::encode_component(p.name) +
                              "&days=" + std::to_string(data.days == 28 ? 28 : 14)),
             "Top crashers", {{"class", "topcrashers"}});
      w.close("td");
      w.close("tr");
    }
    w.close("tbody");
    w.close("table");
    w.close("div");
    if (data.charts_as_of_us > 0) {
      std::string as_of = index::format_date_us(data.charts_as_of_us - data.charts_as_of_us % 1'000'000);
      if (as_of.size() >= 19) as_of = as_of.substr(11, 8);
      w.element("p", "Product counts and charts as of " + as_of + " UTC.",
                {{"class", "muted"}});
    }
    if (data.other_products > 0) {
      w.element("p", count_text(data.other_products, "crash", "crashes") + " belong to further products or have no product.",
                {{"class", "muted"}});
    }
    for (size_t i = 0; i < data.products.size(); ++i) {
      const auto& p = data.products[i];
      if (!p.charted) continue;
      const std::string id = "product-" + std::to_string(i);
      w.open("section", {{"class", "product-chart"}, {"aria-labelledby", id}});
      w.open("h2", {{"id", id}});
      w.text_limited(p.name, kMaxShown);
      w.close("h2");
      w.open("p", {{"class", "muted"}});
      w.text(count_text(p.total, "crash", "crashes") + " in the period; each bar is one day, stacked by version. ");
      w.link(html::Url::local("/topcrashers/?product=" + html::encode_component(p.name) +
                              "&days=" + std::to_string(data.days)),
             "Top crashers");
      w.text(" \xC2\xB7 ");
      w.link(html::Url::local("/api/SuperSearch/?" +
                              query_string(product_query(p.name, day_text(data.first_day_us)))),
             "these numbers as JSON");
      w.close("p");
      bool has_other = false;
      for (const auto& day : p.by_day) has_other = has_other || day.back() > 0;
      w.open("div", {{"class", "chart-wrap"}});
      render_chart(w, data, p, id);
      w.close("div");
      render_legend(w, p, has_other);
      render_numbers(w, data, p, has_other);
      w.close("section");
    }
  }
  render_newest(w, data.newest);
  w.close("div");
  return w.finish();
}

struct HomePage::Impl {
  explicit Impl(index::CrashIndex& i) : index(i) {}

  index::CrashIndex& index;

  json run(const index::QueryPairs& pairs, std::chrono::system_clock::time_point now) {
    // As CrashIndex::search does: the catalogue is the index's own, alive as long as it is.
    std::shared_ptr<const index::FieldCatalogue> catalogue(std::shared_ptr<const index::FieldCatalogue>(), &index.fields());
    return index.execute(index::parse_super_search(std::move(catalogue), pairs, index::Permissions{}, now));
  }
};

HomePage::HomePage(index::CrashIndex& index) : impl_(std::make_unique<Impl>(index)) {}
HomePage::~HomePage() = default;

namespace {

HomeData load_newest(HomePage::Impl& im, int days, std::chrono::system_clock::time_point now);
void load_products(HomePage::Impl& im, HomeData& data, std::chrono::system_clock::time_point now);

}  // namespace

HomeData HomePage::load(int days, std::chrono::system_clock::time_point now) {
  HomeData data = load_newest(*impl_, days, now);
  load_products(*impl_, data, now);
  return data;
}

namespace {

HomeData load_newest(HomePage::Impl& im, int days, std::chrono::system_clock::time_point now) {
  if (days != 14 && days != 28) throw index::QueryError("days", "days must be 14 or 28");
  HomeData data;
  data.days = days;
  data.first_day_us = (floor_day(to_us(now)) - (days - 1)) * kMicrosPerDay;
  json newest = im.run(newest_query(day_text(data.first_day_us)), now);
  data.total = newest.value("total", int64_t{0});
  if (newest.contains("hits")) data.newest = newest["hits"];
  return data;
}

void load_products(HomePage::Impl& im, HomeData& data, std::chrono::system_clock::time_point now) {
  const int days = data.days;
  const int64_t first_day = floor_day(data.first_day_us);
  data.charts_as_of_us = to_us(now);
  // One read of the (product, version, day) rollup: a few thousand rows, not every crash of the
  // period. The same counts as /api/SuperSearch/ gives for date=>=<first day>&_facets=product and,
  // per product, for product_query's histogram (index/crash_index_contract.cc checks the rollup).
  std::map<std::string, HomeData::Product> by_name;
  std::map<std::string, std::map<std::string, std::vector<int64_t>>> per_version;  // product → version → per day
  for (const auto& row : im.index.product_version_days(first_day)) {
    // A crash without a product has none to list it under (the facet leaves it out too).
    if (row.product.empty()) continue;
    auto& p = by_name[row.product];
    p.name = row.product;
    p.total += row.count;
    int64_t d = row.day - first_day;
    if (d >= days) continue;  // dated after today: in the period's count, beyond the chart
    if (p.day_totals.empty()) p.day_totals.assign(static_cast<size_t>(days), 0);
    p.day_totals[static_cast<size_t>(d)] += row.count;
    // Crashes without a version are in the day's bar, as "other" (the histogram has no term for them).
    if (row.version.empty()) continue;
    auto& counts = per_version[row.product][row.version];
    if (counts.empty()) counts.assign(static_cast<size_t>(days), 0);
    counts[static_cast<size_t>(d)] += row.count;
  }
  for (auto& [name, p] : by_name) data.products.push_back(std::move(p));
  // Most crashes first; a tie in name order, as the facet orders its terms.
  std::stable_sort(data.products.begin(), data.products.end(),
                   [](const HomeData::Product& a, const HomeData::Product& b) { return a.total > b.total; });
  if (data.products.size() > static_cast<size_t>(kProductFacetSize)) data.products.resize(kProductFacetSize);
  int64_t listed = 0;
  for (const auto& p : data.products) listed += p.total;
  // Products beyond the 50 listed, and crashes without a product.
  data.other_products = std::max<int64_t>(0, data.total - listed);

  int charted = 0;
  for (auto& p : data.products) {
    if (charted >= HomePage::kMaxChartedProducts) break;
    ++charted;
    p.charted = true;
    if (p.day_totals.empty()) p.day_totals.assign(static_cast<size_t>(days), 0);
    const auto& versions = per_version[p.name];
    std::vector<std::pair<std::string, int64_t>> ranked;
    for (const auto& [version, counts] : versions) {
      int64_t n = 0;
      for (int64_t c : counts) n += c;
      ranked.emplace_back(version, n);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (size_t i = 0; i < ranked.size() && i < static_cast<size_t>(HomePage::kMaxNamedVersions); ++i) {
      p.versions.push_back(ranked[i].first);
    }
    p.by_day.assign(static_cast<size_t>(days), std::vector<int64_t>(p.versions.size() + 1, 0));
    for (int d = 0; d < days; ++d) {
      auto& row = p.by_day[static_cast<size_t>(d)];
      int64_t named = 0;
      for (size_t v = 0; v < p.versions.size(); ++v) {
        row[v] = versions.at(p.versions[v])[static_cast<size_t>(d)];
        named += row[v];
      }
      // Other versions and crashes without a version: the rest of the day's count.
      row.back() = std::max<int64_t>(0, p.day_totals[static_cast<size_t>(d)] - named);
    }
  }
}

}  // namespace

http::Response HomePage::answer(const http::Request& request, std::string_view listen_address,
                                std::chrono::system_clock::time_point now) {
  return index_page_guarded("home", [&] {
    int days = parse_days(request);
    HomeData data = load_newest(*impl_, days, now);
    if (data.total == 0 && impl_->index.count() == 0) {
      html::Html main = render_first_run(submit_host(request.header("Host"), listen_address));
      return html_response(200, render_page({"Send your first crash", NavItem::kHome, {"home.js"}}, main));
    }
    if (data.total > 0) load_products(*impl_, data, now);
    return html_response(200, render_page({"Home", NavItem::kHome, {}}, render_home(data)));
  });
}

void HomePage::add_routes(http::Server& server) {
  HomePage* self = this;
  http::Server* srv = &server;
  server.route(http::Access::open(), {"GET", "/", http::kNoBodyLimit, [self, srv](const http::Request& req) -> http::Reply {
                  return deferred([self, srv, req] { return self->answer(req, srv->address()); });
                }});
}

}  // namespace bw::web
