// `breakwater web`: the web reporter and its JSON API alone (docs/design.md §12, docs/web.md), on
// server.listen, reading the primary crash storage and the crash index, and publishing priority
// requests to the queue.
#include <iostream>

#include "cli/command.h"
#include "cli/version.h"
#include "core/stop_signals.h"
#include "http/health.h"
#include "index/crash_index.h"
#include "queue/crash_queue.h"
#include "storage/factory.h"
#include "symbols/symbol_supplier.h"
#include "web/caller_auth.h"
#include "web/symbols_service.h"
#include "web/web_app.h"

namespace bw::cli {

void register_web_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("web", "run the web reporter: crash report pages and the crash JSON API");
  shared.add_to(*sub);
  sub->callback([&shared] {
    StopSignals signals;  // before any thread starts
    Config config = shared.load_and_init_logging();
    auto primary = storage::make_primary_storage(config);
    auto queue = queue::open_crash_queue(queue::QueueSettings::from_config(config));
    auto crash_index = index::open_crash_index(config);
    // Accounts (API tokens, sessions, groups) in the index's database: its SQLite file, or the
    // PostgreSQL database of index.url.
    auto accounts = web::open_accounts(config);
    web::WebApp web_app(config, *primary, *queue, crash_index.get(), accounts.accounts);
    http::Server server(http::ServerOptions::from_config(config));
    web_app.add_routes(server);
    // The site's own symbol store: served at /symbols/, uploads at /symbols/upload (upload_symbols)
    // heal the crashes that missed them, pages at /symbols/missing/ and /symbols/uploads/.
    symbols::SymbolStore symbol_store(symbols::symbol_options_from_config(config).store_dir);
    web::SymbolsService symbols_service(config, symbol_store, crash_index.get(), queue.get(), accounts.accounts);
    symbols_service.add_routes(server);
    http::add_health_routes(server, {version_document(),
                                     {[&web_app] { return web_app.health_problems(); }}});
    server.start();
    std::cout << "breakwater web listening on http://" << server.address()
              << "/ (crash reports at /report/index/<crash id>)" << std::endl;
    signals.wait();
    server.stop();
  });
}

}  // namespace bw::cli
