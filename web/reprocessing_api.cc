#include "web/reprocessing_api.h"

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"
#include "core/log.h"
#include "web/html.h"
#include "web/json_api.h"

namespace bw::web {
namespace {

constexpr uint64_t kMaxBody = 64 * 1024;
constexpr size_t kMaxIds = 1000;
constexpr std::string_view kPermission = "reprocess_crashes";

struct Endpoint {
  std::string name;  // "Reprocessing"
  queue::QueueKind queue;
  bool rulesets;  // ids may carry ":regenerate_signature"
};

struct Shared {
  storage::CrashStorage& storage;
  queue::CrashQueue& queue;
  const CallerAuth& auth;
  std::shared_ptr<spdlog::logger> log = logger("web");
};

http::Response crash_ids_error(std::vector<std::string> problems) {
  return json_answer(400, nlohmann::json{{"errors", {{"crash_ids", std::move(problems)}}}});
}

http::Response publish(const Shared& shared, const Endpoint& endpoint, const Caller& caller, const std::string& query,
                       const std::string& body) {
  if (!caller.permissions.contains(kPermission)) {
    return json_error(403, endpoint.name + " needs the reprocess_crashes permission");
  }
  std::vector<queue::CrashMessage> messages;
  std::vector<std::string> problems;
  size_t given = 0;
  for (const std::string* source : {&query, &body}) {
    for (const auto& [key, value] : http::parse_query_pairs(*source)) {
      if (key != "crash_ids") continue;
      if (++given > kMaxIds) continue;
      std::string text = value.starts_with("bp-") ? value.substr(3) : value;
      queue::Ruleset ruleset = queue::Ruleset::kDefault;
      // crash-stats takes "<id>:regenerate_signature" here (a bare id is the default ruleset).
      if (auto colon = text.find(':'); endpoint.rulesets && colon != std::string::npos) {
        auto named = queue::parse_ruleset(std::string_view(text).substr(colon + 1));
        if (named == queue::Ruleset::kRegenerateSignature) {
          ruleset = *named;
          text.resize(colon);
        }
      }
      std::string why;
      auto id = CrashId::parse(text, &why);
      if (!id) {
        problems.push_back("not a crash id: " + std::string(html::utf8_prefix(value, 80)));
        continue;
      }
      messages.push_back({*id, ruleset});
    }
  }
  if (given > kMaxIds) return crash_ids_error({"at most " + std::to_string(kMaxIds) + " crash ids in one request"});
  if (given == 0) return crash_ids_error({"This field is required."});
  if (!problems.empty()) return crash_ids_error(std::move(problems));
  for (const auto& m : messages) {
    if (!shared.storage.has_raw_crash(m.id)) problems.push_back("crash not found: " + m.id.str());
  }
  if (!problems.empty()) return crash_ids_error(std::move(problems));
  try {
    shared.queue.publish_batch(messages, endpoint.queue);
  } catch (const queue::QueueUnavailable& e) {
    log_fields(*shared.log, spdlog::level::warn, "queue unavailable",
               {{"endpoint", endpoint.name}, {"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return json_unavailable("the crash queue is unavailable; try again in a few seconds");
  }
  log_fields(*shared.log, spdlog::level::info, "crashes queued by API",
             {{"endpoint", endpoint.name}, {"user", caller.user}, {"crashes", std::to_string(messages.size())}});
  return json_answer(200, true);
}

}  // namespace

void add_reprocessing_routes(http::Server& server, storage::CrashStorage& storage, queue::CrashQueue& queue,
                             const CallerAuth& auth) {
  auto shared = std::make_shared<const Shared>(Shared{storage, queue, auth});
  for (const Endpoint& endpoint : {Endpoint{"Reprocessing", queue::QueueKind::kReprocessing, true},
                                   Endpoint{"PriorityJob", queue::QueueKind::kPriority, false}}) {
    server.route(http::Access::requires_permission("reprocess_crashes"), {"POST", "/api/" + endpoint.name + "/", kMaxBody, [shared, endpoint](const http::Request& req) -> http::Reply {
                    // The Auth-Token only: a session cookie would let another site post for a signed-in user.
                    return http::collected(
                        [shared, endpoint, token = TokenHeader::of(req), query = req.query](std::string body) {
                          auto caller = shared->auth.check(token);
                          http::Response r = std::holds_alternative<http::Response>(caller)
                                                 ? std::move(std::get<http::Response>(caller))
                                                 : publish(*shared, endpoint, std::get<Caller>(caller), query, body);
                          CallerAuth::set_cache_headers(r, token.present());
                          return r;
                        },
                        [] { return json_error(413, "the request body is larger than 64 KiB"); });
                  }});
  }
}

}  // namespace bw::web
