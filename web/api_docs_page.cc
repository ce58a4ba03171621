#include "web/api_docs_page.h"

#include "core/crash_id.h"
#include "core/log.h"
#include "index/fields.h"
#include "index/super_search_query.h"
#include "web/json_api.h"
#include "web/layout.h"

namespace bw::web {

namespace {

constexpr std::string_view kDefaultProduct = "Firefox";
// A product name shown in the page's text is cut to this many bytes (the link has it whole).
constexpr size_t kMaxShown = 120;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string served_by_text(ApiServedBy s) {
  switch (s) {
    case ApiServedBy::kWebWithIndex:
      return "the web app with its crash index (breakwater serve, breakwater web)";
    case ApiServedBy::kWeb:
      return "the web app (breakwater serve, breakwater web)";
    case ApiServedBy::kEveryRole:
      return "every role's listener (serve, web, collector)";
    case ApiServedBy::kCollector:
      return "the collector (breakwater serve, breakwater collector)";
    case ApiServedBy::kSymbols:
      return "the symbols service (breakwater serve, breakwater web)";
  }
  return "";
}

const std::vector<ApiParameter>& search_parameters() {
  static const std::vector<ApiParameter> p = {
      {"<field>=<value>",
       "filter on a field of /api/SuperSearchFields/ (public fields only without view_pii). The value may start "
       "with an operator: = (exactly), ~ (contains), ^ (starts with), $ (ends with), @ (regular expression), > < "
       ">= <=, __null__, __true__, and ! before any of them to negate it. The same field and operator repeated: "
       "any of the values"},
      {"date", "a date filter (e.g. date=>=2026-11-01); without a lower bound the last 7 days; at most 365 days"},
      {"_columns", "fields of each hit (repeat or comma-separate); default uuid, date, signature, product, version"},
      {"_sort", "sort keys, - for descending (repeat or comma-separate); default -date"},
      {"_results_number", "hits per page, 0 to 1,000; default 100"},
      {"_results_offset", "hits to skip; offset + number at most 10,000"},
      {"_facets", "crash counts per value of these fields; default signature; empty for none"},
      {"_facets_size", "buckets per aggregation; default 50, at most 10,000"},
      {"_aggs.<field>", "per value of <field>, the aggregation named by the value (_aggs.<field>.<field2> nests)"},
      {"_histogram.<field>", "counts per interval of a date or number field, each with the named sub-aggregation"},
      {"_histogram_interval.<field>", "day (default), hour or week for dates; a positive number for numbers"},
      {"_cardinality.<field>", "as the value of an aggregation: the number of distinct values"},
  };
  return p;
}

}  // namespace

const std::vector<ApiEndpoint>& api_endpoints() {
  static const std::vector<ApiEndpoint> endpoints = {
      {"SuperSearch", "GET", "/api/SuperSearch/", "/api/SuperSearch/?<query>",
       "Super Search: crashes matching filters, with facets, aggregations and histograms (docs/search.md).",
       "200 {\"hits\": [...], \"total\": N, \"facets\": {...}, \"errors\": []}; a mistake in the query is a 400 "
       "{\"errors\": {\"<parameter>\": [\"...\"]}} naming the parameter",
       search_parameters(), "", "protected fields (url, email, user_comments, annotations not declared public) "
       "can be filtered, returned and aggregated with view_pii",
       ApiServedBy::kWebWithIndex, "/api/SuperSearch/?product={product_filter}&_facets=signature", 200},
      {"SuperSearchUnredacted", "GET", "/api/SuperSearchUnredacted/", "/api/SuperSearchUnredacted/?<query>",
       "Super Search with protected fields: the same query and answer as SuperSearch.",
       "200 as SuperSearch; 403 {\"error\": ...} without view_pii (the index is not asked)",
       {{"(as SuperSearch)", "every parameter of SuperSearch, protected fields included"}}, "view_pii", "",
       ApiServedBy::kWebWithIndex, "/api/SuperSearchUnredacted/?product={product_filter}&_facets=signature", 403},
      {"SuperSearchFields", "GET", "/api/SuperSearchFields/", "/api/SuperSearchFields/",
       "The field catalogue Super Search understands, with each field's type, operators and permissions.",
       "200 {\"<name>\": {\"name\", \"namespace\", \"query_type\", \"permissions_needed\", \"is_returned\", ...}}: "
       "every field, protected ones included (names and types are public, values are not)",
       {}, "", "", ApiServedBy::kWebWithIndex, "/api/SuperSearchFields/", 200},
      {"TopCrashers", "GET", "/api/TopCrashers/", "/api/TopCrashers/?product=<product>",
       "The signatures with most crashes of a product over a period, with ranks and their changes.",
       "200 {\"start_date\", \"end_date\", \"days\", \"total\", \"previous_total\", \"crashers\": [{\"rank\", "
       "\"signature\", \"count\", \"percentage\", \"platforms\", \"previous_rank\", \"rank_change\", ...}]}",
       {{"product", "required"},
        {"version", "repeat for several versions (any of them); default every version"},
        {"process_type", "one process type; any or empty: any"},
        {"platform", "one platform (the processed os_name, e.g. Windows NT, Linux)"},
        {"days", "1, 3, 7, 14 or 28 whole UTC days; default 7"},
        {"_facets_size or limit", "signatures returned, 1 to 10,000; default 50"},
        {"end_date", "the last day of the period, YYYY-MM-DD; default today (UTC)"},
        {"_range_type", "report only (crashes by the day they were processed)"},
        {"_tcbs_mode", "byday only (whole UTC days)"}},
       "", "", ApiServedBy::kWebWithIndex, "/api/TopCrashers/?product={product}&days=7", 200},
      {"MissingSymbols", "GET", "/api/MissingSymbols/", "/api/MissingSymbols/?days=<days>",
       "Modules whose symbols crashes needed and did not find, most crashes first: what to upload "
       "(docs/symbols.md).",
       "200 {\"days\", \"total\", \"hits\": [{\"debug_file\", \"debug_id\", \"code_file\", \"code_id\", "
       "\"crashes\", \"last_seen\"}]}; with format=csv the same as text/csv",
       {{"days", "1 to 365; default 7"},
        {"limit", "modules returned, 1 to 10,000; default 500"},
        {"format", "json (default) or csv"}},
       "", "", ApiServedBy::kWebWithIndex, "/api/MissingSymbols/?days=7", 200},
      {"ProcessedCrash", "GET", "/api/ProcessedCrash/", "/api/ProcessedCrash/?crash_id=<crash id>",
       "One processed crash: signature, stack walk, modules, every processed field (docs/processed_crash.md).",
       "200 the processed crash as JSON; 404 {\"error\": \"crash not found\"} or \"crash not processed yet\"; 400 "
       "for a missing or malformed id",
       {{"crash_id", "required; a bp- prefix is accepted"}}, "",
       "protected fields (url, email, user_comments) are returned only with view_pii", ApiServedBy::kWeb,
       "/api/ProcessedCrash/?crash_id={crash_id}", 200},
      {"RawCrash", "GET", "/api/RawCrash/", "/api/RawCrash/?crash_id=<crash id>",
       "One raw crash: its annotations and what the collector recorded (uuid, submitted_timestamp, metadata).",
       "200 the raw crash as JSON; 404 {\"error\": \"crash not found\"}; 400 for a missing or malformed id",
       {{"crash_id", "required; a bp- prefix is accepted"}, {"format", "meta (the default)"}}, "",
       "annotations not declared public are returned only with view_pii", ApiServedBy::kWeb,
       "/api/RawCrash/?crash_id={crash_id}", 200},
      {"RawCrash-dump", "GET", "/api/RawCrash/", "/api/RawCrash/?crash_id=<crash id>&format=raw&name=<dump>",
       "One dump of a crash (the minidump, or another dump the client sent), as bytes.",
       "200 application/octet-stream as an attachment; 403 {\"error\": \"dumps need the view_rawdump "
       "permission\"} without it; 404 when the crash has no such dump",
       {{"crash_id", "required; a bp- prefix is accepted"},
        {"format", "raw"},
        {"name", "the dump's name; upload_file_minidump (the minidump) by default"}},
       "view_rawdump", "", ApiServedBy::kWeb, "/api/RawCrash/?crash_id={crash_id}&format=raw&name=upload_file_minidump",
       403},
      {"ReportStatus", "GET", "/report/status/", "/report/status/<crash id>",
       "Whether a stored crash is processed yet (what the pending report page polls). Asking about a crash that "
       "is still waiting asks for its priority processing, at most once a minute.",
       "200 {\"crash_id\": \"<id>\", \"state\": \"pending\" or \"processed\"}; 404 {\"error\": \"crash not "
       "found\"}; 400 for a malformed id",
       {{"<crash id>", "in the path; a bp- prefix is accepted"}}, "", "", ApiServedBy::kWeb,
       "/report/status/{crash_id}", 200},
      {"Status", "GET", "/status/", "/status/?format=json",
       "The status page's figures (queue depths, processing rate and time over the last hour, failures) as "
       "JSON, each naming its series in /metrics.",
       "200 {\"window_seconds\", \"processed_in_window\", \"processed_per_minute\", \"queues\", \"sections\", ...}",
       {{"format", "json (html, the default, is the page)"}}, "", "", ApiServedBy::kWeb, "/status/?format=json", 200},
      {"Reprocessing", "POST", "/api/Reprocessing/", "/api/Reprocessing/",
       "Processes crashes again: on the reprocessing queue, the dump walked again (or, with "
       ":regenerate_signature, only the signature recomputed).",
       "200 true; 400 {\"errors\": {\"crash_ids\": [...]}} (malformed or unknown ids, none, more than 1,000: "
       "nothing queued); 403 without the permission",
       {{"crash_ids", "a form field, repeated: <crash id> or <crash id>:regenerate_signature"}}, "reprocess_crashes",
       "", ApiServedBy::kWeb, "", 200},
      {"PriorityJob", "POST", "/api/PriorityJob/", "/api/PriorityJob/",
       "Puts crashes on the priority queue, to be processed before anything else.",
       "200 true; 400 {\"errors\": {\"crash_ids\": [...]}}; 403 without the permission",
       {{"crash_ids", "a form field, repeated: <crash id>"}}, "reprocess_crashes", "", ApiServedBy::kWeb, "", 200},
      {"Symbols", "GET", "/symbols/", "/symbols/<debug_file>/<debug_id>/<file>.sym",
       "A module's .sym file from the site's own symbol store, as Tecken serves it: this site is a symbol server "
       "for Breakpad, rust-minidump, Symbolicator and other Breakwater sites (docs/symbols.md). HEAD too; "
       "/symbols/<code_file>/<code_id>/<file> redirects to the debug-file URL.",
       "200 the .sym (gzip when the client accepts it; ETag, Cache-Control); 304 for a matching If-None-Match; "
       "302 for a code-file lookup; 404 when the store lacks it; 400 for a malformed path",
       {{"<debug_file>/<debug_id>/<file>.sym", "in the path, as the symbol store lays it out"}}, "", "",
       ApiServedBy::kSymbols, "", 200},
      {"SymbolsUpload", "POST", "/symbols/upload", "/symbols/upload",
       "Uploads .sym files: a zip of <debug_file>/<debug_id>/<file>.sym entries (Tecken's upload), a single .sym, "
       "or Breakpad symupload's form; symupload's sym-upload-v2 calls live under /symbols/upload/v2/ "
       "(docs/symbols.md). Crashes that missed an uploaded module are reprocessed by themselves.",
       "201 {\"added\", \"replaced\", \"skipped\", \"refused\": [{\"path\", \"reason\"}], ...}; 400 when every "
       "file was refused; 401 without a token; 403 without the permission; 413 over symbols.max_upload_size",
       {{"body", "a zip (application/zip), a .sym, or multipart/form-data with the file"},
        {"Auth-Token", "header; or basic auth with the token as password, or ?token="}},
       "upload_symbols", "", ApiServedBy::kSymbols, "", 201},
      {"Submit", "POST", "/submit", "/submit",
       "Sends a crash, as Breakpad, Crashpad and Electron clients do (docs/collector.md).",
       "200 text CrashID=bp-<crash id> (stored), or Discarded=rule_<rule> (throttled); 400 "
       "Discarded=malformed_<reason>; 403 Discarded=bad_product_key when the site gave the product a submission "
       "key and ?key= lacks it; 413 Discarded=too_large; 500 when storage failed (the client retries)",
       {{"upload_file_minidump", "a file part: the minidump"},
        {"<dump name>", "any other file part: one more dump under that name ([A-Za-z0-9_]{1,30})"},
        {"<annotation>", "any text part, e.g. ProductName, Version, ReleaseChannel"},
        {"extra", "or one application/json part holding the annotations as an object"},
        {"Content-Encoding: gzip", "header: the whole body gzip-compressed"}},
       "", "", ApiServedBy::kCollector, "", 200},
      {"Heartbeat", "GET", "/__heartbeat__", "/__heartbeat__",
       "Every health check of the process (storage writable, disk space, queues, index).",
       "200 {\"status\": \"ok\"}; 503 {\"status\": \"error\", \"problems\": [\"...\"]} naming what is wrong", {}, "",
       "", ApiServedBy::kEveryRole, "/__heartbeat__", 200},
      {"LbHeartbeat", "GET", "/__lbheartbeat__", "/__lbheartbeat__", "The process answers (for load balancers).",
       "200 text OK", {}, "", "", ApiServedBy::kEveryRole, "/__lbheartbeat__", 200},
      {"Version", "GET", "/__version__", "/__version__", "The version and commit of this build.",
       "200 {\"version\": ..., \"commit\": ...}", {}, "", "", ApiServedBy::kEveryRole, "/__version__", 200},
      {"Metrics", "GET", "/metrics", "/metrics",
       "Counters, gauges and histograms of this process in the Prometheus text format (the numbers of the status "
       "page).",
       "200 text/plain; version=0.0.4", {}, "", "", ApiServedBy::kEveryRole, "/metrics", 200},
  };
  return endpoints;
}

std::optional<std::string> api_example_url(const ApiEndpoint& endpoint, const std::optional<ApiExampleCrash>& crash) {
  if (endpoint.example.empty()) return std::nullopt;
  std::string url(endpoint.example);
  if (url.find("{crash_id}") != std::string::npos) {
    if (!crash) return std::nullopt;
    url = replace_all(std::move(url), "{crash_id}", html::encode_component(crash->id));
  }
  const std::string product = crash && !crash->product.empty() ? crash->product : std::string(kDefaultProduct);
  // A Super Search value starting with an operator character would be read as that operator:
  // "=" (is exactly) in front keeps it literal, as the home page does.
  const std::string filter = std::string_view("=~^$@<>!_").find(product.front()) != std::string_view::npos ? "=" + product : product;
  url = replace_all(std::move(url), "{product_filter}", html::encode_component(filter));
  return replace_all(std::move(url), "{product}", html::encode_component(product));
}

std::string api_example_pattern(const ApiEndpoint& endpoint) {
  std::string text(endpoint.example.empty() ? endpoint.shown : endpoint.example);
  text = replace_all(std::move(text), "{crash_id}", "<crash id>");
  text = replace_all(std::move(text), "{product_filter}", kDefaultProduct);
  return replace_all(std::move(text), "{product}", kDefaultProduct);
}

std::optional<ApiExampleCrash> newest_example_crash(index::CrashIndex& index, std::chrono::system_clock::time_point now) {
  const std::string since = index::format_day(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() / index::kMicrosPerDay - 364);
  index::QueryPairs pairs = {{"date", ">=" + since},
                             {"_sort", "-date"},
                             {"_results_number", "1"},
                             {"_columns", "uuid,product"},
                             {"_facets", ""}};
  // As CrashIndex::search does: the catalogue is the index's own, alive as long as it is.
  std::shared_ptr<const index::FieldCatalogue> catalogue(std::shared_ptr<const index::FieldCatalogue>(), &index.fields());
  nlohmann::json answer = index.execute(index::parse_super_search(std::move(catalogue), pairs, index::Permissions{}, now));
  if (!answer.contains("hits") || !answer["hits"].is_array() || answer["hits"].empty()) return std::nullopt;
  const auto& hit = answer["hits"][0];
  auto id = CrashId::parse(hit.value("uuid", std::string()));
  if (!id) return std::nullopt;
  ApiExampleCrash crash{id->str(), {}};
  if (hit.contains("product") && hit["product"].is_string()) crash.product = hit["product"].get<std::string>();
  return crash;
}

html::Html render_api_docs(const std::optional<ApiExampleCrash>& crash) {
  html::Writer w;
  w.open("div", {{"class", "api-docs"}});
  w.element("h1", "API");
  w.element("p",
            "Every endpoint this site serves for programs. The JSON endpoints answer with crash-stats' URLs, "
            "parameters and shapes, so its clients work here.");
  w.open("p");
  w.element("strong", "Authentication: ");
  w.text("send an API token in the ");
  w.element("code", "Auth-Token");
  w.text(" header (docs/security.md: ");
  w.element("code", "breakwater admin token create");
  w.text("). Without one you are anonymous: protected fields are left out and endpoints that need a permission "
         "answer 403. The examples below are what an anonymous caller gets.");
  w.close("p");
  if (crash) {
    w.open("p", {{"class", "muted"}, {"id", "example-crash"}});
    w.text("Examples about one crash use the newest crash here, ");
    w.link(html::Url::local("/report/index/" + crash->id), crash->id);
    if (!crash->product.empty()) {
      w.text(" (");
      w.text_limited(crash->product, kMaxShown);
      w.text(")");
    }
    w.text(".");
    w.close("p");
  } else {
    w.element("p", "No crash is indexed yet, so examples about one crash are shown as patterns.",
              {{"class", "muted"}, {"id", "example-crash"}});
  }

  // The list first: one line per endpoint.
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "api-index"}});
  w.open("thead");
  w.open("tr");
  for (const char* h : {"Endpoint", "Permission", "Example"}) w.element("th", h, {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& e : api_endpoints()) {
    w.open("tr", {{"data-endpoint", std::string(e.id)}});
    w.open("th", {{"scope", "row"}});
    w.link(html::Url::fragment(e.id), std::string(e.method) + " " + std::string(e.shown));
    w.close("th");
    w.element("td", e.permission.empty() ? "none" : std::string(e.permission));
    w.open("td");
    if (auto url = api_example_url(e, crash)) {
      w.link(html::Url::local(*url), "run", {{"class", "example"}, {"data-status", std::to_string(e.example_status)}});
      if (e.example_status != 200) w.text(" (" + std::to_string(e.example_status) + " anonymously)");
    } else {
      w.text(e.method == "POST" ? "see below" : "no crash yet");
    }
    w.close("td");
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");

  for (const auto& e : api_endpoints()) {
    w.open("section", {{"class", "endpoint"}, {"id", std::string(e.id)}, {"aria-labelledby", std::string(e.id) + "-title"}});
    w.open("h2", {{"id", std::string(e.id) + "-title"}});
    w.element("span", e.method, {{"class", "method"}});
    w.text(" ");
    w.element("code", e.shown);
    w.close("h2");
    w.element("p", e.summary);
    w.open("dl", {{"class", "endpoint-facts"}});
    w.element("dt", "Permission");
    w.open("dd", {{"class", "permission"}});
    if (e.permission.empty()) {
      w.text("none");
    } else {
      w.element("code", e.permission);
      w.text(" (Auth-Token header, docs/security.md)");
    }
    if (!e.permission_note.empty()) w.text("; " + std::string(e.permission_note) + " (Auth-Token header, docs/security.md)");
    w.close("dd");
    w.element("dt", "Served by");
    w.element("dd", served_by_text(e.served_by));
    w.element("dt", "Answer");
    w.element("dd", e.answer);
    w.close("dl");
    if (!e.parameters.empty()) {
      w.open("div", {{"class", "table-wrap"}});
      w.open("table", {{"class", "parameters"}});
      w.open("thead");
      w.open("tr");
      w.element("th", "Parameter", {{"scope", "col"}});
      w.element("th", "Meaning", {{"scope", "col"}});
      w.close("tr");
      w.close("thead");
      w.open("tbody");
      for (const auto& p : e.parameters) {
        w.open("tr");
        w.open("th", {{"scope", "row"}});
        w.element("code", p.name);
        w.close("th");
        w.element("td", p.meaning);
        w.close("tr");
      }
      w.close("tbody");
      w.close("table");
      w.close("div");
    }
    w.open("p", {{"class", "example-line"}});
    w.text("Example: ");
    if (auto url = api_example_url(e, crash)) {
      w.link(html::Url::local(*url), *url, {{"class", "example mono"}, {"data-status", std::to_string(e.example_status)}});
      w.text(" (answers " + std::to_string(e.example_status) + (e.example_status == 200 ? ")" : " to an anonymous caller)"));
    } else if (e.method == "POST") {
      w.element("code",
                "curl -F upload_file_minidump=@crash.dmp -F ProductName=MyApp -F Version=1.0 http://<this site>" +
                    std::string(e.path));
    } else {
      w.element("code", api_example_pattern(e), {{"class", "pattern"}});
      w.text(" (no crash is indexed yet)");
    }
    w.close("p");
    w.close("section");
  }
  w.close("div");
  return w.finish();
}

http::Response api_docs_answer(index::CrashIndex* index) {
  std::optional<ApiExampleCrash> crash;
  if (index) {
    try {
      crash = newest_example_crash(*index, std::chrono::system_clock::now());
    } catch (const std::exception& e) {
      // The page is still right without examples about one crash: patterns instead.
      log_fields(*logger("web"), spdlog::level::warn, "API page: newest crash not found",
                 {{"error", std::string(html::utf8_prefix(e.what(), 500))}});
    }
  }
  return html_response(200, render_page({"API", NavItem::kApi, {}}, render_api_docs(crash)));
}

void add_api_docs_routes(http::Server& server, index::CrashIndex* index) {
  server.route(http::Access::open(), {"GET", "/api/", http::kNoBodyLimit, [index](const http::Request&) -> http::Reply {
                  return deferred([index] { return api_docs_answer(index); });
                }});
  server.route(http::Access::open(), {"GET", "/api", http::kNoBodyLimit, [](const http::Request&) -> http::Reply {
                  return moved_page("The API documentation", "/api/", NavItem::kApi);
                }});
}

}  // namespace bw::web
