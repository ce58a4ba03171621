#include "web/web_app.h"

#include <algorithm>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "web/api_docs_page.h"
#include "web/reprocessing_api.h"
#include "web/home_page.h"
#include "web/json_api.h"
#include "web/layout.h"
#include "web/report_page.h"
#include "web/search_api.h"
#include "web/search_page.h"
#include "web/signature_page.h"
#include "web/status_page.h"
#include "web/topcrashers_page.h"
#include "web/static_assets.h"

namespace bw::web {

using nlohmann::json;

namespace {

constexpr std::string_view kReportPrefix = "/report/index/";
constexpr std::string_view kStatusPrefix = "/report/status/";
const char* const kExampleId = "de1bb258-cbbf-4589-a673-34f800160918";

http::Response not_found_page() {
  return error_page(404, "Page not found",
                    {"There is nothing at this address.",
                     "Start from the home page (/), search crashes (/search/) or see the top crashers "
                     "(/topcrashers/). A crash report is at /report/index/<crash id>."});
}

http::Response bad_id_page(std::string_view given, const std::string& why) {
  if (given.empty()) {
    return error_page(400, "No crash id", {"This address needs a crash id: /report/index/<crash id>.",
                                           std::string("Crash ids look like ") + kExampleId + "."});
  }
  return error_page(400, "Not a crash id",
                    {"\xE2\x80\x9C" + std::string(html::utf8_prefix(given, 100)) + "\xE2\x80\x9D is not a crash id (" + why + ").",
                     std::string("Crash ids look like ") + kExampleId + ", with or without a bp- prefix."});
}

http::Response crash_not_found_page(const CrashId& id) {
  return error_page(404, "Crash not found",
                    {"No crash with the id " + id.str() + " is stored here.",
                     "A crash that was just submitted may still be on its way: reload in a few seconds. Crashes "
                     "older than the site's retention period are deleted."});
}

http::Response storage_error_page(int status) {
  if (status == 503) {
    http::Response r = error_page(503, "Storage unavailable",
                                  {"The crash storage cannot be read right now. Try again in a few seconds."});
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  return error_page(500, "Server error",
                    {"This crash could not be shown: its stored data cannot be read. The error has been logged."});
}

// The id part of "/report/index/<id>" (one trailing slash allowed).
std::string_view id_from_path(std::string_view path, std::string_view prefix) {
  std::string_view rest = path.substr(prefix.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  return rest;
}

}  // namespace

WebOptions WebOptions::from_config(const Config& config) {
  WebOptions o;
  o.public_annotations = config.get_string_list("web", "public_annotations");
  o.sign_in = SignInOptions::from_config(config);
  o.rate_limits = RateLimits::from_config(config);
  o.oidc = OidcOptions::from_config(config);
  o.storage_usage_interval = config.get_duration("web", "storage_usage_interval");
  if (o.storage_usage_interval.count() != 0 &&
      (o.storage_usage_interval < std::chrono::seconds(10) || o.storage_usage_interval > std::chrono::hours(24))) {
    throw ConfigError("web.storage_usage_interval must be 0 (not measured) or between 10s and 1d");
  }
  if (o.storage_usage_interval.count() != 0) o.storage_areas = storage_folder_areas(config);
  return o;
}

struct WebApp::Impl {
  Impl(WebOptions options, storage::CrashStorage& s, queue::CrashQueue& q, index::CrashIndex* i, Accounts accounts)
      : public_data(options.public_annotations),
        storage(s),
        index(i),
        priority(q, options.priority),
        log(logger("web")),
        caller_auth(std::move(accounts), options.rate_limits),
        sign_in(with_oidc_button(options), caller_auth),
        storage_areas(std::move(options.storage_areas)),
        storage_usage_interval(options.storage_usage_interval) {
    if (options.oidc.enabled()) oidc = std::make_unique<OidcSignIn>(options.oidc, options.sign_in, caller_auth);
    if (index) search_api = std::make_unique<SearchApi>(*index, &caller_auth);
    if (index) topcrashers_page = std::make_unique<TopCrashersPage>(*index);  // /topcrashers/
    if (index) signature_page = std::make_unique<SignaturePage>(*index);      // /signature/
    if (index) search_page = std::make_unique<SearchPage>(*index, &caller_auth);  // search page: /search/
    if (index) home_page = std::make_unique<HomePage>(*index);  // home page: exact "/"
  }

  PublicData public_data;
  storage::CrashStorage& storage;
  index::CrashIndex* index;
  PriorityRequests priority;
  std::shared_ptr<spdlog::logger> log;
  CallerAuth caller_auth;  // who calls: Auth-Token (API) or session cookie (pages, GET API)
  SignInPages sign_in;     // /login/, /logout/, /profile/
  std::unique_ptr<OidcSignIn> oidc;  // /login/oidc/...: with oidc.issuer only

  // The sign-in form offers OpenID Connect when it is configured.
  static SignInOptions with_oidc_button(const WebOptions& options) {
    SignInOptions o = options.sign_in;
    if (options.oidc.enabled()) o.oidc_label = options.oidc.label;
    return o;
  }
  std::unique_ptr<SearchApi> search_api;  // with an index only
  std::unique_ptr<TopCrashersPage> topcrashers_page;  // with an index only
  std::unique_ptr<SignaturePage> signature_page;      // with an index only
  std::unique_ptr<SearchPage> search_page;  // with an index only
  std::unique_ptr<HomePage> home_page;    // with an index only
  std::unique_ptr<StatusPage> status_page;  // made by add_routes; its thread reads the queue depths
  std::vector<StorageArea> storage_areas;   // with the index's: measured by storage_usage
  std::chrono::milliseconds storage_usage_interval;
  std::unique_ptr<StorageUsageMonitor> storage_usage;  // made by add_routes unless the interval is 0

  void log_error(std::string_view what, const CrashId& id, const std::exception& e) {
    log_fields(*log, spdlog::level::err, what, {{"crash_id", id.str()}, {"error", e.what()}});
  }

  // An HTML route's work with storage failures turned into pages.
  http::Response html_guarded(const CrashId& id, const std::function<http::Response()>& work) {
    try {
      return work();
    } catch (const storage::TransientStorageError& e) {
      log_error("storage unavailable", id, e);
      return storage_error_page(503);
    } catch (const std::exception& e) {
      log_error("could not show crash", id, e);
      return storage_error_page(500);
    }
  }

  http::Response json_guarded(const CrashId& id, const std::function<http::Response()>& work) {
    try {
      return work();
    } catch (const storage::TransientStorageError& e) {
      log_error("storage unavailable", id, e);
      return json_unavailable("crash storage unavailable; try again");
    } catch (const std::exception& e) {
      log_error("could not read crash", id, e);
      return json_error(500, "the stored crash cannot be read");
    }
  }

  // The raw crash as the caller may see it, or an empty object when the raw crash is gone or
  // unreadable (the processed report is still worth showing).
  json raw_or_empty(const CrashId& id, const Permissions& permissions) {
    try {
      return public_data.raw_crash_for(storage.get_raw_crash(id), permissions);
    } catch (const storage::CrashNotFound&) {
      return json::object();
    } catch (const storage::CorruptCrashData& e) {
      log_error("raw crash unreadable", id, e);
      return json::object();
    }
  }

  http::Response report_page(const CrashId& id, const Caller& caller) {
    return html_guarded(id, [&] {
      json processed;
      try {
        processed = storage.get_processed(id);
      } catch (const storage::CrashNotFound&) {
        if (!storage.has_raw_crash(id)) return crash_not_found_page(id);
        bool queued = priority.request(id) != PriorityRequests::Result::kRefused;
        return html_response(200, render_page({"Processing crash " + id.str(), NavItem::kNone, {"pending.js"}},
                                              render_pending(id, queued)));
      }
      json shown = public_data.processed_crash_for(processed, caller.permissions);
      json raw = raw_or_empty(id, caller.permissions);
      return html_response(200, render_page({report_title(id, shown), NavItem::kNone, {}},
                                            render_report(id, shown, raw, caller.permissions)));
    });
  }

  http::Response status(const CrashId& id) {
    return json_guarded(id, [&] {
      try {
        storage.get_processed(id);
        return json_answer(200, json{{"crash_id", id.str()}, {"state", "processed"}});
      } catch (const storage::CrashNotFound&) {
        if (!storage.has_raw_crash(id)) return json_error(404, "crash not found");
        // Someone is still waiting: ask again once the last request's minute is over.
        priority.request(id);
        return json_answer(200, json{{"crash_id", id.str()}, {"state", "pending"}});
      }
    });
  }

  http::Response processed_crash(const CrashId& id, const Caller& caller) {
    return json_guarded(id, [&] {
      try {
        return json_answer(200, public_data.processed_crash_for(storage.get_processed(id), caller.permissions));
      } catch (const storage::CrashNotFound&) {
        return json_error(404, storage.has_raw_crash(id) ? "crash not processed yet" : "crash not found");
      }
    });
  }

  http::Response raw_crash(const CrashId& id, const Caller& caller) {
    return json_guarded(id, [&] {
      try {
        return json_answer(200, public_data.raw_crash_for(storage.get_raw_crash(id), caller.permissions));
      } catch (const storage::CrashNotFound&) {
        return json_error(404, "crash not found");
      }
    });
  }

  // One dump's bytes, for a caller holding view_rawdump (crash-stats' RawCrash format=raw).
  http::Response raw_dump(const CrashId& id, std::string name, const Caller& caller) {
    if (!PublicData::may_download_dumps(caller.permissions)) {
      return json_error(403, "dumps need the view_rawdump permission");
    }
    if (name.empty()) name = "upload_file_minidump";  // crash-stats' default: the minidump
    if (!storage::is_valid_dump_name(name)) {
      return json_field_error("name", "not a dump name (1 to 30 characters of A-Z a-z 0-9 _)");
    }
    return json_guarded(id, [&] {
      try {
        auto names = storage.get_dump_names(id);
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          return json_error(404, "crash " + id.str() + " has no dump named " + name);
        }
        http::Response r;
        r.content_type = "application/octet-stream";
        r.body = storage.get_dump(id, name);
        // The name is [A-Za-z0-9_]: nothing to quote.
        r.headers = {{"Content-Disposition", "attachment; filename=\"" + id.str() + "-" + name + ".dmp\""},
                     {"X-Content-Type-Options", "nosniff"}};
        // Who took which dump: the owner of the token, never the token.
        log_fields(*log, spdlog::level::info, "dump downloaded",
                   {{"crash_id", id.str()}, {"dump", name}, {"user", caller.user}, {"bytes", std::to_string(r.body.size())}});
        return r;
      } catch (const storage::CrashNotFound&) {
        return json_error(404, "crash not found");
      }
    });
  }
};

WebApp::WebApp(WebOptions options, storage::CrashStorage& storage, queue::CrashQueue& queue, index::CrashIndex* index,
               Accounts accounts)
    : impl_(std::make_unique<Impl>(std::move(options), storage, queue, index, std::move(accounts))) {}

WebApp::WebApp(const Config& config, storage::CrashStorage& storage, queue::CrashQueue& queue, index::CrashIndex* index,
               Accounts accounts)
    : WebApp(WebOptions::from_config(config), storage, queue, index, std::move(accounts)) {}

WebApp::~WebApp() = default;

const PublicData& WebApp::public_data() const { return impl_->public_data; }
PriorityRequests& WebApp::priority_requests() { return impl_->priority; }

std::vector<std::string> WebApp::health_problems() const {
  std::vector<std::string> problems;
  if (auto p = impl_->priority.health_problem()) problems.push_back(*p);
  return problems;
}

void WebApp::add_routes(http::Server& server) {
  Impl* im = impl_.get();

  server.route(http::Access::by_permission(), {"GET", std::string(kReportPrefix), http::kNoBodyLimit,
                [im](const http::Request& req) -> http::Reply {
                  std::string_view given = id_from_path(req.path, kReportPrefix);
                  std::string why;
                  auto id = CrashId::parse(given, &why);
                  if (!id) return bad_id_page(given, given.empty() ? "" : why);
                  // crash-stats' canonical address is the bare id.
                  if (given.starts_with("bp-") || req.path.ends_with('/')) {
                    return moved_page("This crash report", std::string(kReportPrefix) + id->str(), NavItem::kNone);
                  }
                  return im->caller_auth.page(req, [im, id = *id](const Caller& caller) { return im->report_page(id, caller); });
                },
                true});

  server.route(http::Access::open(), {"GET", std::string(kStatusPrefix), http::kNoBodyLimit,
                [im](const http::Request& req) -> http::Reply {
                  std::string why;
                  auto id = CrashId::parse(id_from_path(req.path, kStatusPrefix), &why);
                  if (!id) return json_field_error("crash_id", "not a crash id: " + why);
                  return deferred([im, id = *id] { return im->status(id); });
                },
                true});

  // The crash_id parameter of the API endpoints: 400 when missing or malformed.
  auto api_id = [](const http::Request& req) -> std::variant<CrashId, http::Response> {
    auto params = http::parse_query(req.query);
    auto it = params.find("crash_id");
    if (it == params.end() || it->second.empty()) return json_field_error("crash_id", "This field is required.");
    std::string why;
    auto id = CrashId::parse(it->second, &why);
    if (!id) return json_field_error("crash_id", "not a crash id: " + why);
    return *id;
  };

  // The Auth-Token is checked first (web/caller_auth.h), then the parameters.
  server.route(http::Access::by_permission(), {"GET", "/api/ProcessedCrash/", http::kNoBodyLimit, [im, api_id](const http::Request& req) -> http::Reply {
                  return im->caller_auth.answer(req, [im, id = api_id(req)](const Caller& caller) -> http::Response {
                    if (const auto* error = std::get_if<http::Response>(&id)) return *error;
                    return im->processed_crash(std::get<CrashId>(id), caller);
                  });
                }});

  server.route(http::Access::by_permission(), {"GET", "/api/RawCrash/", http::kNoBodyLimit, [im, api_id](const http::Request& req) -> http::Reply {
                  auto params = http::parse_query(req.query);
                  auto format = params.contains("format") ? params["format"] : std::string("meta");
                  auto name = params.contains("name") ? params["name"] : std::string();
                  return im->caller_auth.answer(req, [im, id = api_id(req), format, name](const Caller& caller) -> http::Response {
                    if (const auto* error = std::get_if<http::Response>(&id)) return *error;
                    if (format == "raw") return im->raw_dump(std::get<CrashId>(id), name, caller);
                    if (format != "meta") return json_field_error("format", "must be meta or raw");
                    return im->raw_crash(std::get<CrashId>(id), caller);
                  });
                }});

  if (im->search_api) im->search_api->add_routes(server);
  if (im->topcrashers_page) im->topcrashers_page->add_routes(server);  // /topcrashers/ and /topcrashers
  if (im->signature_page) im->signature_page->add_routes(server);      // /signature/ and /signature
  if (im->search_page) im->search_page->add_routes(server);  // /search/ and /search
  if (im->home_page) im->home_page->add_routes(server);  // exact "/"; the catch-all below keeps the rest
  im->status_page = std::make_unique<StatusPage>(&im->priority.queue());  // /status/ and /status
  if (im->storage_usage_interval.count() > 0) {
    auto areas = im->storage_areas;
    if (im->index) areas.push_back(index_area(*im->index));
    im->storage_usage = std::make_unique<StorageUsageMonitor>(std::move(areas), im->storage_usage_interval);
  }
  im->status_page->add_routes(server);
  im->sign_in.add_routes(server);
  if (im->oidc) im->oidc->add_routes(server);  // /login/oidc/, /login/oidc/callback
  add_api_docs_routes(server, im->index);  // /api/ and /api
  add_reprocessing_routes(server, im->storage, im->priority.queue(), im->caller_auth);  // POST /api/Reprocessing/, /api/PriorityJob/

  for (const auto& asset : static_assets()) {
    server.route(http::Access::open(), {"GET", std::string(asset.path), http::kNoBodyLimit, [&asset](const http::Request&) -> http::Reply {
                    http::Response r;
                    r.content_type = std::string(asset.content_type);
                    r.body = std::string(asset.body);
                    // The URL changes with the content (web/embed_static.cmake).
                    r.headers = {{"Cache-Control", "public, max-age=31536000, immutable"},
                                 {"X-Content-Type-Options", "nosniff"}};
                    return r;
                  }});
  }

  server.route(http::Access::open(), {"GET", "/", http::kNoBodyLimit, [](const http::Request&) -> http::Reply { return not_found_page(); }, true});
}

}  // namespace bw::web
