#include "web/symbols_pages.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "core/config.h"
#include "web/html.h"
#include "web/json_api.h"
#include "web/layout.h"
#include "web/search_api.h"
#include "web/index_page_support.h"

namespace bw::web {
namespace {

using html::Url;
using html::Writer;

constexpr size_t kMaxStoredRows = 500;
constexpr int kDayChoices[] = {1, 7, 28, 90};

void how_to_upload(Writer& w) {
  w.element("h2", "Sending symbols");
  w.element("p", "Upload the .sym files your build makes (dump_syms) with a token that has the upload_symbols "
                 "permission; the crashes listed here are then reprocessed by themselves.");
  w.open("ul");
  w.open("li");
  w.element("code", "BREAKWATER_TOKEN=… breakwater symbols upload SYMBOLS_DIR https://this.site");
  w.close("li");
  w.open("li");
  w.element("code", "curl -H 'Auth-Token: …' --data-binary @symbols.zip -H 'Content-Type: application/zip' "
                    "https://this.site/symbols/upload");
  w.close("li");
  w.open("li");
  w.element("code", "symupload file.sym 'https://this.site/symbols/upload?token=…'");
  w.close("li");
  w.close("ul");
}

http::Response missing_page_of(const MissingSymbolsRequest& request, const std::vector<index::MissingSymbol>& modules) {
  const int days = request.query.days;
  Writer w;
  w.element("h1", "Missing symbols");
  w.open_with_url("form", "action", Url::local("/symbols/missing/"), {{"method", "get"}, {"class", "filter-form"}});
  w.open("div", {{"class", "form-field"}});
  w.element("label", "Days", {{"for", "ms-days"}});
  w.open("select", {{"id", "ms-days"}, {"name", "days"}});
  bool listed = false;
  for (int d : kDayChoices) {
    html::Attributes attrs = {{"value", std::to_string(d)}};
    if (d == days) {
      attrs.emplace_back("selected", "selected");
      listed = true;
    }
    w.element("option", std::to_string(d), attrs);
  }
  if (!listed) w.element("option", std::to_string(days), {{"value", std::to_string(days)}, {"selected", "selected"}});
  w.close("select");
  w.close("div");
  w.open("div", {{"class", "form-actions"}});
  w.element("button", "Show", {{"type", "submit"}});
  w.close("div");
  w.close("form");

  const std::string api = "/api/MissingSymbols/?days=" + std::to_string(days) + "&limit=" + std::to_string(request.query.limit);
  w.open("p", {{"class", "period"}});
  w.text(format_count(static_cast<int64_t>(modules.size())) + (modules.size() == 1 ? " module" : " modules") +
         " lacked symbols in crashes of the last " + std::to_string(days) + (days == 1 ? " day" : " days") + ". ");
  w.link(Url::local(api), "JSON");
  w.text(" · ");
  w.link(Url::local(api + "&format=csv"), "CSV");
  w.text(" · ");
  w.link(Url::local("/symbols/uploads/"), "Symbols stored");
  w.close("p");

  if (modules.empty()) {
    w.open("div", {{"class", "empty-state"}});
    w.element("h2", "Nothing missing");
    w.element("p", "Every crash of this period found the symbols of the modules its stacks needed.");
    w.close("div");
  } else {
    w.open("div", {{"class", "table-wrap"}});
    w.open("table", {{"class", "missing-symbols"}});
    w.open("thead");
    w.open("tr");
    for (const char* h : {"Debug file", "Debug id", "Code file", "Code id", "Crashes", "Last seen", "Upload as"}) {
      w.element("th", h, {{"scope", "col"}});
    }
    w.close("tr");
    w.close("thead");
    w.open("tbody");
    for (const auto& m : modules) {
      w.open("tr");
      w.open("td");
      w.text_limited(m.debug_file, 300);
      w.close("td");
      w.open("td", {{"class", "mono"}});
      w.text_limited(m.debug_id, 100);
      w.close("td");
      w.open("td");
      w.text_limited(m.code_file, 300);
      w.close("td");
      w.open("td", {{"class", "mono"}});
      w.text_limited(m.code_id, 100);
      w.close("td");
      w.element("td", format_count(m.crashes), {{"class", "num"}});
      w.element("td", m.last_seen.substr(0, 19));
      std::string why;
      std::string path = symbols::store_path(m.debug_file, m.debug_id, &why);
      w.open("td", {{"class", "mono"}});
      w.text_limited(path.empty() ? "(not a usable identity: " + why + ")" : path, 400);
      w.close("td");
      w.close("tr");
    }
    w.close("tbody");
    w.close("table");
    w.close("div");
  }
  how_to_upload(w);
  return html_response(200, render_page({"Missing symbols", NavItem::kSymbols, {}}, w.finish()));
}

http::Response missing_page(index::CrashIndex* index, const std::string& query) {
  if (!index) {
    return error_page(503, "Missing symbols need the crash index",
                      {"This role runs without a crash index; the web role or serve has one."});
  }
  return index_page_guarded("symbols/missing", [&] {
    MissingSymbolsRequest request = parse_missing_symbols_query(http::parse_query_pairs(query));
    return missing_page_of(request, index->missing_symbols(request.query));
  });
}

http::Response uploads_page(const symbols::SymbolStore& store) {
  auto stored = store.list();
  std::stable_sort(stored.begin(), stored.end(),
                   [](const symbols::StoredSymbol& a, const symbols::StoredSymbol& b) { return a.stored_at > b.stored_at; });
  Writer w;
  w.element("h1", "Symbols stored");
  w.open("p", {{"class", "period"}});
  w.text(format_count(static_cast<int64_t>(stored.size())) + (stored.size() == 1 ? " module" : " modules") +
         " in this site's symbol store, newest first" +
         (stored.size() > kMaxStoredRows ? " (the first " + std::to_string(kMaxStoredRows) + " shown)" : "") + ". ");
  w.link(Url::local("/symbols/missing/"), "Missing symbols");
  w.close("p");
  if (stored.empty()) {
    w.open("div", {{"class", "empty-state"}});
    w.element("h2", "No symbols yet");
    w.element("p", "Nothing has been uploaded or added to this site's store.");
    w.close("div");
  } else {
    w.open("div", {{"class", "table-wrap"}});
    w.open("table", {{"class", "stored-symbols"}});
    w.open("thead");
    w.open("tr");
    for (const char* h : {"Symbol file", "Stored size", "Written (UTC)"}) w.element("th", h, {{"scope", "col"}});
    w.close("tr");
    w.close("thead");
    w.open("tbody");
    for (size_t i = 0; i < stored.size() && i < kMaxStoredRows; ++i) {
      const auto& s = stored[i];
      w.open("tr");
      w.open("td", {{"class", "mono"}});
      w.link(Url::local("/symbols/" + html::encode_path(s.path)), s.path);
      w.close("td");
      w.element("td", format_size(s.stored_bytes), {{"class", "num"}});
      // file_time_type to UTC via the difference of clocks (C++20 clock_cast is not in GCC 12).
      auto sys = std::chrono::time_point_cast<std::chrono::seconds>(
          s.stored_at - std::filesystem::file_time_type::clock::now() + std::chrono::system_clock::now());
      std::time_t t = std::chrono::system_clock::to_time_t(sys);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char when[32];
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
      w.element("td", when);
      w.close("tr");
    }
    w.close("tbody");
    w.close("table");
    w.close("div");
  }
  how_to_upload(w);
  return html_response(200, render_page({"Symbols stored", NavItem::kSymbols, {}}, w.finish()));
}

}  // namespace

void add_symbols_pages(http::Server& server, index::CrashIndex* index, const symbols::SymbolStore& store) {
  for (std::string path : {"/symbols/missing/", "/symbols/missing"}) {
    server.route(http::Access::open(), {"GET", path, http::kNoBodyLimit, [index](const http::Request& req) -> http::Reply {
                    return deferred([index, query = req.query] { return missing_page(index, query); });
                  }});
  }
  for (std::string path : {"/symbols/uploads/", "/symbols/uploads"}) {
    server.route(http::Access::open(), {"GET", path, http::kNoBodyLimit, [&store](const http::Request&) -> http::Reply {
                    return deferred([&store] { return uploads_page(store); });
                  }});
  }
}

}  // namespace bw::web
