// The API documentation page `/api/` (docs/web.md "API documentation page"): every endpoint the
// site serves for programs, with its parameters, the permission it needs, who serves it and an
// example to run.
//
// The page is generated from one table, api_endpoints(): the tests walk the same table and ask
// the server every route in it (none may be the 404 page) and every example link (each must
// answer the status the page documents for an anonymous caller).
//
// Examples: GET endpoints get a real link on this site. Those about one crash use the newest
// crash in the index (Super Search: `_sort=-date`, the last 365 days, anonymous); with no crash
// (or no index, or an index that cannot answer: logged) they show the URL pattern as text.
// Product examples use that crash's product, "Firefox" without one. POST /submit shows a curl
// command. Every value from a crash goes through html::Writer and into URLs percent-encoded.
//
// Route: GET /api/ (exact; HEAD too); /api → 301 /api/. Other paths under /api/ are the API's own
// routes or the site's 404 page, as before.
// Ownership and threads: borrows the index (may be null), which must outlive the server's
// routes; the handler runs on the worker pool and holds nothing mutable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"
#include "index/crash_index.h"
#include "web/html.h"

namespace bw::web {

struct ApiParameter {
  std::string_view name;
  std::string_view meaning;
};

// Which listener serves an endpoint.
enum class ApiServedBy {
  kWebWithIndex,  // the web app with a crash index (serve, web)
  kWeb,           // the web app (serve, web)
  kEveryRole,     // every listening role (serve, web, collector): http/health.h
  kCollector,     // the collector (serve, collector)
  kSymbols,       // the symbols service beside the web app (serve, web): web/symbols_service.h
};

struct ApiEndpoint {
  std::string_view id;          // anchor on the page, [A-Za-z0-9_-]+
  std::string_view method;      // "GET" or "POST"
  std::string_view path;        // the route as registered ("/report/status/" is a prefix)
  std::string_view shown;       // how the page writes it: "/report/status/<crash id>"
  std::string_view summary;
  std::string_view answer;      // what a success answers
  std::vector<ApiParameter> parameters;
  std::string_view permission;  // "" anyone; "view_pii", "view_rawdump"
  std::string_view permission_note;  // what a permission adds when the endpoint is public, or ""
  ApiServedBy served_by = ApiServedBy::kWeb;
  // A path and query on this site; "{crash_id}", "{product}" and "{product_filter}" (the product
  // as a Super Search value: "=" in front when it starts with an operator character) are filled
  // in from the newest crash. Empty: no link (POST).
  std::string_view example;
  int example_status = 200;     // what the example answers an anonymous caller
};

// Every endpoint, in the page's order.
const std::vector<ApiEndpoint>& api_endpoints();

// The crash the examples are about.
struct ApiExampleCrash {
  std::string id;       // a valid crash id
  std::string product;  // may be empty
};

// The example URL with the crash filled in (values percent-encoded); nullopt when the endpoint
// has no link or needs a crash and there is none.
std::optional<std::string> api_example_url(const ApiEndpoint& endpoint, const std::optional<ApiExampleCrash>& crash);
// The example as a pattern for text: "{crash_id}" → "<crash id>", the product → "Firefox".
std::string api_example_pattern(const ApiEndpoint& endpoint);

// The newest crash of the index (anonymous Super Search), nullopt when there is none in the last
// 365 days. Throws what the index throws.
std::optional<ApiExampleCrash> newest_example_crash(index::CrashIndex& index, std::chrono::system_clock::time_point now);

// The <main> content (pure).
html::Html render_api_docs(const std::optional<ApiExampleCrash>& crash);

// The whole answer to GET /api/.
http::Response api_docs_answer(index::CrashIndex* index);

// Adds GET /api/ and /api to `server` (before server.start()).
void add_api_docs_routes(http::Server& server, index::CrashIndex* index);

}  // namespace bw::web
