// `breakwater collector`: the collector role alone (docs/design.md §3), on server.listen.
#include <iostream>

#include "cli/command.h"
#include "cli/version.h"
#include "collector/service.h"
#include "core/stop_signals.h"
#include "http/health.h"

namespace bw::cli {

void register_collector_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("collector", "run the collector: POST /submit into the collector buffer");
  shared.add_to(*sub);
  sub->callback([&shared] {
    StopSignals signals;  // before any thread starts
    Config config = shared.load_and_init_logging();
    collector::CollectorService collector(config);
    http::Server server(http::ServerOptions::from_config(config));
    collector.add_routes(server);
    http::add_health_routes(server, {version_document(),
                                     {[&collector] { return collector.health_problems(); }}});
    server.start();
    std::cout << "breakwater collector listening on http://" << server.address() << "/submit" << std::endl;
    signals.wait();
    server.stop();
  });
}

}  // namespace bw::cli
