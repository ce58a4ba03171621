// `breakwater serve`: every role in one process on one listener, with the embedded defaults
// (docs/design.md §1, §14): data under ./var, 127.0.0.1:8000. It runs the collector, the crash mover,
// the processors (stack-walking worker processes included) and the web app.
#include <algorithm>
#include <iostream>

#include "cli/command.h"
#include "cli/version.h"
#include "collector/service.h"
#include "core/stop_signals.h"
#include "crashmover/service.h"
#include "http/health.h"
#include "index/crash_index.h"
#include "maintenance/retention_job.h"
#include "processor/processor.h"
#include "storage/factory.h"
#include "symbols/symbol_supplier.h"
#include "web/caller_auth.h"
#include "web/symbols_service.h"
#include "web/web_app.h"

namespace bw::cli {

void register_serve_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("serve", "run everything in one process (no config needed; data under ./var)");
  shared.add_to(*sub);
  sub->callback([&shared] {
    StopSignals signals;  // before any thread starts
    Config config = shared.load_and_init_logging();
    http::Server server(http::ServerOptions::from_config(config));

    collector::CollectorService collector(config);
    collector.add_routes(server);

    // The crash mover and the processors, on the embedded queue unless --queue-url says otherwise.
    auto primary = storage::make_primary_storage(config);
    auto queue_settings = queue::QueueSettings::from_config(config);
    crashmover::CrashMoverService mover(config, {&collector.buffer()}, *primary);
    // The crash index (SQLite in the data folder unless index.url says otherwise): the processors
    // write every processed crash into it, the web app searches it.
    auto crash_index = index::open_crash_index(config);
    processor::ProcessorService processing(config, *primary, queue_settings, stackwalk_worker_command(),
                                           crash_index.get());
    // The web app's own queue instance: its priority publishes never wait behind the mover's.
    auto web_queue = queue::open_crash_queue(queue_settings);
    // Accounts (API tokens, sessions, groups) in the index's database: its SQLite file, or the
    // PostgreSQL database of index.url.
    auto accounts = web::open_accounts(config);
    web::WebApp web_app(config, *primary, *web_queue, crash_index.get(), accounts.accounts);
    web_app.add_routes(server);
    // The site's own symbol store: served at /symbols/, uploads at /symbols/upload (upload_symbols)
    // heal the crashes that missed them, pages at /symbols/missing/ and /symbols/uploads/.
    symbols::SymbolStore symbol_store(symbols::symbol_options_from_config(config).store_dir);
    web::SymbolsService symbols_service(config, symbol_store, crash_index.get(), web_queue.get(), accounts.accounts);
    symbols_service.add_routes(server);
    // Retention (storage.*_retention_days, index.retention_days): a minute after start, then hourly.
    maintenance::RetentionJob retention(config, crash_index.get());

    // One /__heartbeat__ for the whole process: every role's check.
    http::add_health_routes(server, {version_document(),
                                     {[&collector] { return collector.health_problems(); },
                                      [&mover] { return mover.health_problems(); },
                                      [&processing] { return processing.processor().health_problems(); },
                                      [&web_app] { return web_app.health_problems(); },
                                      [&retention] { return retention.health_problems(); }}});
    server.start();
    mover.start();
    processing.start();
    retention.start(std::chrono::minutes(1), std::chrono::hours(1));
    std::cout << "breakwater serving on http://" << server.address()
              << "/ (crash reports at /report/index/<crash id>; submit crashes to /submit)" << std::endl;
    // The first start makes an admin account; its one-time link goes to the terminal, not the log.
    if (auto link = web::first_start_admin_link(*accounts.owned)) {
      std::cout << "first start: an admin account was made; sign in with this link (it works once, for 24 hours):\n"
                << "  http://" << server.address() << *link << std::endl;
    }
    signals.wait();
    server.stop();
    mover.stop();
    processing.stop();
    retention.stop();
  });
}

}  // namespace bw::cli
