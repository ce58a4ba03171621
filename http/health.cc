#include "http/health.h"

#include <memory>

#include <nlohmann/json.hpp>

#include "core/metrics.h"

namespace bw::http {

void add_health_routes(Server& server, HealthOptions options) {
  auto opts = std::make_shared<HealthOptions>(std::move(options));
  server.route(Access::open(), {"GET", "/__lbheartbeat__", 0, [](const Request&) -> Reply { return Response::text(200, "OK\n"); }});
  server.route(Access::open(), {"GET", "/__version__", 0,
                [opts](const Request&) -> Reply { return Response::json(200, opts->version_json); }});
  server.route(Access::open(), {"GET", "/__heartbeat__", 0, [opts](const Request&) -> Reply {
                  nlohmann::json problems = nlohmann::json::array();
                  for (const auto& check : opts->checks) {
                    try {
                      for (auto& p : check()) problems.push_back(std::move(p));
                    } catch (const std::exception& e) {
                      problems.push_back(std::string("health check failed: ") + e.what());
                    }
                  }
                  if (problems.empty()) return Response::json(200, R"({"status":"ok"})");
                  nlohmann::json body = {{"status", "error"}, {"problems", problems}};
                  return Response::json(503, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                }});
  server.route(Access::open(), {"GET", "/metrics", 0, [](const Request&) -> Reply {
                  Response r = Response::text(200, metrics::Registry::global().exposition());
                  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                  return r;
                }});
}

}  // namespace bw::http
