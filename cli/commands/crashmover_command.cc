// `breakwater crashmover`: the crash mover role alone (crashmover/service.h): moves crashes from
// collector buffers to primary storage and queues the accepted ones, serving /metrics and the
// health routes on --listen (server.listen; port 0 picks a free one, printed in the log). Runs
// until SIGINT/SIGTERM, or with --once until the buffers are empty.
#include <atomic>
#include <exception>
#include <thread>

#include "cli/command.h"
#include "cli/version.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "crashmover/service.h"
#include "http/health.h"
#include "http/server.h"
#include "storage/factory.h"

namespace bw::cli {

void register_crashmover_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("crashmover", "move crashes from collector buffers to primary storage and queue them");
  shared.add_to(*sub);
  struct Options {
    std::vector<std::string> extra_buffers;
    bool once = false;
    size_t batch_size = 100;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("--buffer", options->extra_buffers,
                  "another collector buffer root to walk besides storage.collector_root; repeatable");
  sub->add_flag("--once", options->once, "move what is there, then exit");
  sub->add_option("--batch-size", options->batch_size, "crashes claimed and queued together")->check(CLI::Range(1, 10000));
  sub->callback([&shared, options] {
    StopSignals signals;  // before any thread starts
    Config config = shared.load_and_init_logging();
    auto log = logger("crashmover");
    auto collector = storage::make_collector_buffer(config);
    std::vector<std::unique_ptr<storage::FileSystemRawCrashStorage>> extra;
    std::vector<storage::CrashStorage*> buffers{collector.get()};
    for (const auto& root : options->extra_buffers) {
      extra.push_back(std::make_unique<storage::FileSystemRawCrashStorage>(root));
      buffers.push_back(extra.back().get());
    }
    auto primary = storage::make_primary_storage(config);
    crashmover::CrashMoverService service(config, buffers, *primary, options->batch_size);
    http::Server server(http::ServerOptions::from_config(config));
    http::add_health_routes(server, {version_document(), {[&service] { return service.health_problems(); }}});
    server.start();
    log_fields(*log, spdlog::level::info, "crash mover started",
               {{"listen", server.address()},
                {"buffers", std::to_string(buffers.size())},
                {"batch_size", std::to_string(service.settings().batch_size)}});
    if (options->once) {
      // The buffers drain on a thread while this one watches for SIGINT/SIGTERM.
      std::atomic<bool> finished{false};
      std::exception_ptr failure;
      std::thread drainer([&] {
        try {
          service.drain();
        } catch (...) {
          failure = std::current_exception();
        }
        finished = true;
      });
      while (!finished) {
        if (auto sig = signals.wait_for(std::chrono::milliseconds(200))) {
          log_fields(*log, spdlog::level::info, "stopping", {{"signal", std::to_string(*sig)}});
          service.stop();
          break;
        }
      }
      drainer.join();
      if (failure) std::rethrow_exception(failure);
    } else {
      service.start();
      int sig = signals.wait();
      log_fields(*log, spdlog::level::info, "stopping", {{"signal", std::to_string(sig)}});
      service.stop();
    }
    server.stop();
    auto counts = service.counts();
    log_fields(*log, spdlog::level::info, "crash mover stopped",
               {{"moved", std::to_string(counts.moved)}, {"queued", std::to_string(counts.queued)},
                {"deferred", std::to_string(counts.deferred)}, {"retries", std::to_string(counts.retries)},
                {"failed", std::to_string(counts.failed)}});
  });
}

}  // namespace bw::cli
