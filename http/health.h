// Health and metrics endpoints shared by every listening role (docs/design.md §12, §14):
//   GET /__lbheartbeat__  200 "OK": the process answers (for load balancers)
//   GET /__heartbeat__    200 {"status":"ok"} or 503 {"status":"error","problems":[...]}: every
//                         registered check passed (storage writable, disk space...)
//   GET /__version__      the version JSON given
//   GET /metrics          Prometheus exposition of the global registry (core/metrics.h)
// A check returns its problems as human sentences; none means healthy. Checks run on the I/O
// threads, so they must be quick (a stat, a small write). Thread safety: checks may run
// concurrently with each other and with themselves.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/server.h"

namespace bw::http {

struct HealthOptions {
  std::string version_json = "{}";
  std::vector<std::function<std::vector<std::string>()>> checks;
};

void add_health_routes(Server& server, HealthOptions options);

}  // namespace bw::http
