// `breakwater serve`: every role in one process on one listener, with the embedded defaults
// (DESIGN §1, §14): data under ./var, 127.0.0.1:8000. For now it runs the collector; the crash
// mover, processors and web app join here as they land.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/version.h"
#include "collector/service.h"
#include "http/health.h"
#include "http/stop_signals.h"

namespace bw::cli {

void register_serve_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("serve", "run everything in one process (no config needed; data under ./var)");
  shared.add_to(*sub);
  sub->callback([&shared] {
    http::StopSignals signals;  // before any thread starts
    Config config = shared.load_and_init_logging();
    http::Server server(http::ServerOptions::from_config(config));

    collector::CollectorService collector(config);
    collector.add_routes(server);

    http::add_health_routes(server, {nlohmann::json{{"version", kVersion}, {"commit", kGitCommit}}.dump(),
                                     {[&collector] { return collector.health_problems(); }}});
    server.start();
    std::cout << "breakwater serving on http://" << server.address() << "/ (submit crashes to /submit)" << std::endl;
    signals.wait();
    server.stop();
  });
}

}  // namespace bw::cli
