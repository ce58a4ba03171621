#include "web/search_api.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log.h"
#include "index/fields.h"
#include "web/html.h"
#include "web/json_api.h"

namespace bw::web {
namespace {

using nlohmann::json;
using index::QueryError;

// Top Crashers takes a handful of parameters; more than this is not a real request.
constexpr size_t kMaxTopCrashersPairs = 200;

// A caller's text in an error message: at most 80 bytes, cut on a character boundary.
std::string show(std::string_view text) {
  std::string_view cut = html::utf8_prefix(text, 80);
  return "\"" + std::string(cut) + (cut.size() < text.size() ? "...\"" : "\"");
}

int parse_int(const std::string& parameter, std::string_view text, int min, int max) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    throw QueryError(parameter, parameter + ": " + show(text) + " is not an integer");
  }
  if (v < min || v > max) {
    throw QueryError(parameter, parameter + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int>(v);
}

}  // namespace

index::TopCrashersQuery parse_top_crashers_query(const index::QueryPairs& pairs,
                                                 std::chrono::system_clock::time_point now) {
  if (pairs.size() > kMaxTopCrashersPairs) {
    throw QueryError("_", "too many query parameters (" + std::to_string(pairs.size()) + "; at most " +
                              std::to_string(kMaxTopCrashersPairs) + ")");
  }
  static const std::vector<std::string_view> kSingle = {"product",  "process_type", "platform",   "days",
                                                        "_facets_size", "limit",    "end_date", "_range_type",
                                                        "_tcbs_mode"};
  index::TopCrashersQuery q;
  std::map<std::string, std::string, std::less<>> given;
  for (const auto& [key, value] : pairs) {
    if (key == "version") {
      // Repeated for several versions; HTML forms send empty fields.
      if (!value.empty() && std::find(q.versions.begin(), q.versions.end(), value) == q.versions.end()) {
        q.versions.push_back(value);
      }
      continue;
    }
    if (std::find(kSingle.begin(), kSingle.end(), key) == kSingle.end()) {
      throw QueryError(key, "unknown parameter " + show(key));
    }
    if (value.empty()) continue;
    auto [it, inserted] = given.emplace(key, value);
    if (!inserted && it->second != value) throw QueryError(key, key + " is given more than once");
  }
  auto get = [&](std::string_view key) -> const std::string* {
    auto it = given.find(key);
    return it == given.end() ? nullptr : &it->second;
  };

  if (const auto* v = get("product")) q.product = *v;
  if (const auto* v = get("process_type"); v && *v != "any") q.process_type = *v;
  if (const auto* v = get("platform")) q.platform = *v;
  if (const auto* v = get("days")) {
    q.days = parse_int("days", *v, 1, 28);
    if (q.days != 1 && q.days != 3 && q.days != 7 && q.days != 14 && q.days != 28) {
      throw QueryError("days", "days must be one of 1, 3, 7, 14, 28 (got " + std::to_string(q.days) + ")");
    }
  }
  const auto* facets_size = get("_facets_size");
  const auto* limit = get("limit");
  if (facets_size && limit && *facets_size != *limit) {
    throw QueryError("_facets_size", "give _facets_size or limit, not both");
  }
  if (facets_size) q.limit = parse_int("_facets_size", *facets_size, 1, 10000);
  if (limit) q.limit = parse_int("limit", *limit, 1, 10000);
  if (const auto* v = get("end_date")) {
    auto us = index::parse_date_us(*v);
    if (!us) throw QueryError("end_date", "end_date: " + show(*v) + " is not a date (YYYY-MM-DD)");
    int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    if (*us < 0) throw QueryError("end_date", "end_date: " + show(*v) + " is before 1970");
    if (*us > now_us + index::kMicrosPerDay) throw QueryError("end_date", "end_date: " + show(*v) + " is in the future");
    q.end = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(*us)));
  }
  if (const auto* v = get("_range_type"); v && *v != "report") {
    throw QueryError("_range_type", "_range_type: only \"report\" (crashes by the day they were processed) is supported");
  }
  if (const auto* v = get("_tcbs_mode"); v && *v != "byday") {
    throw QueryError("_tcbs_mode", "_tcbs_mode: only \"byday\" (whole UTC days) is supported");
  }
  q.validate();
  return q;
}

MissingSymbolsRequest parse_missing_symbols_query(const index::QueryPairs& pairs) {
  if (pairs.size() > kMaxTopCrashersPairs) throw QueryError("_", "too many query parameters");
  MissingSymbolsRequest r;
  std::set<std::string, std::less<>> seen;
  for (const auto& [key, value] : pairs) {
    if (key != "days" && key != "limit" && key != "format") throw QueryError(key, "unknown parameter " + show(key));
    if (!seen.insert(key).second) throw QueryError(key, key + " is given more than once");
    if (value.empty()) continue;
    if (key == "days") r.query.days = parse_int("days", value, 1, 365);
    if (key == "limit") r.query.limit = parse_int("limit", value, 1, 10000);
    if (key == "format") {
      if (value != "json" && value != "csv") throw QueryError("format", "format must be json or csv");
      r.csv = value == "csv";
    }
  }
  r.query.validate();
  return r;
}

json missing_symbols_json(const index::MissingSymbolsQuery& query, const std::vector<index::MissingSymbol>& modules) {
  json hits = json::array();
  for (const auto& m : modules) {
    hits.push_back({{"debug_file", m.debug_file}, {"debug_id", m.debug_id}, {"code_file", m.code_file},
                    {"code_id", m.code_id}, {"crashes", m.crashes}, {"last_seen", m.last_seen}});
  }
  return {{"days", query.days}, {"total", modules.size()}, {"hits", std::move(hits)}};
}

std::string missing_symbols_csv(const std::vector<index::MissingSymbol>& modules) {
  auto cell = [](std::string_view v) {
    std::string text(v);
    if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')) text.insert(0, "'");
    if (text.find_first_of(",\"\r\n'") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  };
  std::string out = "debug_file,debug_id,code_file,code_id,crashes,last_seen\r\n";
  for (const auto& m : modules) {
    out += cell(m.debug_file) + "," + cell(m.debug_id) + "," + cell(m.code_file) + "," + cell(m.code_id) + "," +
           std::to_string(m.crashes) + "," + cell(m.last_seen) + "\r\n";
  }
  return out;
}

struct SearchApi::Impl {
  Impl(index::CrashIndex& i, const CallerAuth* a)
      : index(i),
        no_accounts(Accounts{}),
        auth(a ? *a : no_accounts),
        fields_answer(json_answer(200, i.fields().to_json())),
        log(logger("web")) {}

  index::CrashIndex& index;
  const CallerAuth no_accounts;  // used when the SearchApi is given no CallerAuth
  const CallerAuth& auth;
  const http::Response fields_answer;  // the catalogue is immutable: serialized once
  std::shared_ptr<spdlog::logger> log;

  // An endpoint's work with the index's errors turned into crash-stats' JSON answers.
  http::Response guarded(std::string_view endpoint, const std::function<http::Response()>& work) {
    try {
      return work();
    } catch (const QueryError& e) {
      return json_field_error(e.parameter(), e.what());
    } catch (const index::IndexUnavailable& e) {
      log_fields(*log, spdlog::level::warn, "crash index unavailable",
                 {{"endpoint", std::string(endpoint)}, {"error", std::string(html::utf8_prefix(e.what(), 500))}});
      return json_unavailable("the crash index is unavailable; try again in a few seconds");
    } catch (const std::exception& e) {
      // The detail may hold anything (a database message): logged, never answered.
      log_fields(*log, spdlog::level::err, "index request failed",
                 {{"endpoint", std::string(endpoint)}, {"error", std::string(html::utf8_prefix(e.what(), 500))}});
      return json_error(500, "internal server error; it has been logged");
    } catch (...) {
      log_fields(*log, spdlog::level::err, "index request failed", {{"endpoint", std::string(endpoint)}});
      return json_error(500, "internal server error; it has been logged");
    }
  }

  http::Response super_search(const std::string& query, const Caller& caller) {
    return guarded("SuperSearch", [&] {
      // The index shows and filters the fields the caller's permissions reach (Field::visible_to).
      return json_answer(200, index.search(http::parse_query_pairs(query), caller.permissions));
    });
  }

  // 403 naming the permission the caller lacks, or nullopt when it may search unredacted.
  std::optional<http::Response> unredacted_refusal(const Caller& caller) const {
    auto missing = PublicData::missing_for_unredacted(index.fields(), caller.permissions);
    if (!missing) return std::nullopt;
    return json_error(403, "SuperSearchUnredacted needs the " + *missing + " permission; use /api/SuperSearch/");
  }

  http::Response super_search_unredacted(const std::string& query, const Caller& caller) {
    if (auto refusal = unredacted_refusal(caller)) return std::move(*refusal);
    return guarded("SuperSearchUnredacted", [&] {
      return json_answer(200, index.search(http::parse_query_pairs(query), caller.permissions));
    });
  }

  http::Response missing_symbols(const std::string& query) {
    return guarded("MissingSymbols", [&] {
      auto request = parse_missing_symbols_query(http::parse_query_pairs(query));
      auto modules = index.missing_symbols(request.query);
      if (!request.csv) return json_answer(200, missing_symbols_json(request.query, modules));
      http::Response r = http::Response::text(200, missing_symbols_csv(modules));
      r.content_type = "text/csv; charset=utf-8";
      r.headers = {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-cache"},
                   {"Content-Disposition", "attachment; filename=\"missing-symbols.csv\""}};
      return r;
    });
  }

  http::Response top_crashers(const std::string& query) {
    return guarded("TopCrashers", [&] {
      auto q = parse_top_crashers_query(http::parse_query_pairs(query), std::chrono::system_clock::now());
      return json_answer(200, index.top_crashers(q).to_json());
    });
  }
};

SearchApi::SearchApi(index::CrashIndex& index, const CallerAuth* auth) : impl_(std::make_unique<Impl>(index, auth)) {}
SearchApi::~SearchApi() = default;

void SearchApi::add_routes(http::Server& server) {
  Impl* im = impl_.get();
  server.route(http::Access::by_permission(), {"GET", "/api/SuperSearch/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  return im->auth.answer(req, [im, query = req.query](const Caller& caller) {
                    return im->super_search(query, caller);
                  });
                }});
  server.route(http::Access::requires_permission("view_pii"), {"GET", "/api/SuperSearchUnredacted/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  // An anonymous caller lacks view_pii: refused at once, without the index or a worker.
                  if (!Credentials::of(req).present()) {
                    if (auto refusal = im->unredacted_refusal(Caller{})) return CallerAuth::anonymous(std::move(*refusal));
                  }
                  return im->auth.answer(req, [im, query = req.query](const Caller& caller) {
                    return im->super_search_unredacted(query, caller);
                  });
                }});
  server.route(http::Access::open(), {"GET", "/api/SuperSearchFields/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  // The same catalogue for everyone; a token given is still checked (a bad one is a 403).
                  if (!Credentials::of(req).present()) return CallerAuth::anonymous(im->fields_answer);
                  return im->auth.answer(req, [im](const Caller&) { return im->fields_answer; });
                }});
  server.route(http::Access::open(), {"GET", "/api/MissingSymbols/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  return im->auth.answer(req, [im, query = req.query](const Caller&) { return im->missing_symbols(query); });
                }});
  server.route(http::Access::open(), {"GET", "/api/TopCrashers/", http::kNoBodyLimit, [im](const http::Request& req) -> http::Reply {
                  return im->auth.answer(req, [im, query = req.query](const Caller&) { return im->top_crashers(query); });
                }});
}

}  // namespace bw::web
