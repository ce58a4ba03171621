// `breakwater processor`: the processor role alone (docs/design.md §8), and the hidden
// `breakwater stackwalk-worker`, the stack-walking worker process the processor starts.
//
// The processor consumes the queues ([queue]; --queue-url selects RabbitMQ) with
// processor.workers threads, walks dumps in processor.worker_processes workers, saves processed
// crashes into the primary storage ([storage]) and serves /metrics and the health routes on
// --listen (server.listen; port 0 picks a free one, printed in the log). SIGINT or SIGTERM stops
// it gracefully: each thread finishes the crash in hand and acks it, the rest stay queued.
#include <filesystem>

#include "cli/command.h"
#include "cli/version.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "http/health.h"
#include "http/server.h"
#include "index/crash_index.h"
#include "processor/processor.h"
#include "processor/stackwalk_worker.h"
#include "storage/factory.h"

namespace bw::cli {

namespace {
constexpr const char* kStackwalkWorker = "stackwalk-worker";
}  // namespace

std::vector<std::string> stackwalk_worker_command() {
  return {std::filesystem::read_symlink("/proc/self/exe").string(), kStackwalkWorker};
}

void register_processor_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("processor", "process queued crashes: stack walk, rules, signature, save");
  shared.add_to(*sub);
  sub->callback([&shared] {
    StopSignals signals;  // before any thread starts
    Config config = shared.load_and_init_logging();
    auto log = bw::logger("processor");
    auto storage = storage::make_primary_storage(config);
    auto crash_index = index::open_crash_index(config);
    processor::ProcessorService service(config, *storage, queue::QueueSettings::from_config(config),
                                        stackwalk_worker_command(), crash_index.get());
    http::Server server(http::ServerOptions::from_config(config));
    http::add_health_routes(server, {version_document(), {[&service] { return service.processor().health_problems(); }}});
    server.start();
    service.start();
    log_fields(*log, spdlog::level::info, "processor started",
               {{"listen", server.address()},
                {"threads", std::to_string(service.settings().workers)},
                {"worker_processes", std::to_string(service.settings().worker_processes)}});
    int sig = signals.wait();
    log_fields(*log, spdlog::level::info, "stopping", {{"signal", std::to_string(sig)}});
    service.stop();
    server.stop();
    auto counts = service.processor().counts();
    log_fields(*log, spdlog::level::info, "processor stopped",
               {{"processed", std::to_string(counts.processed)}, {"failed", std::to_string(counts.failed)}});
  });

  // Internal: started by the processor with the protocol on stdin/stdout. Hidden from help.
  auto* worker = app.add_subcommand(kStackwalkWorker, "");
  worker->group("");
  worker->callback([] { g_exit_code = processor::run_stackwalk_worker(0, 1); });
}

}  // namespace bw::cli
