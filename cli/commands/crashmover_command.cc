// `breakwater crashmover`: moves crashes from collector buffers to primary storage and queues
// the accepted ones (crashmover/crash_mover.h). Runs until SIGINT/SIGTERM, or with --once until
// the buffers are empty.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "core/log.h"
#include "crashmover/crash_mover.h"
#include "queue/crash_queue.h"
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
    auto queue = queue::open_crash_queue(queue::QueueSettings::from_config(config));
    auto settings = crashmover::MoverSettings::from_config(config);
    settings.batch_size = options->batch_size;
    crashmover::CrashMover mover(buffers, *primary, *queue, settings);

    // SIGINT/SIGTERM stop the mover between batches (or in a backoff wait); the batch in hand
    // finishes or is released, so nothing is left half-moved.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      timespec slice{0, 200 * 1000 * 1000};
      while (!done) {
        int sig = sigtimedwait(&signals, nullptr, &slice);
        if (sig == SIGINT || sig == SIGTERM) {
          log->info("signal {}: stopping the crash mover", sig);
          mover.stop();
          return;
        }
      }
    });
    log_fields(*log, spdlog::level::info, "crash mover started",
               {{"buffers", std::to_string(buffers.size())}, {"batch_size", std::to_string(settings.batch_size)}});
    try {
      if (options->once) {
        mover.drain();
      } else {
        mover.run();
      }
    } catch (...) {
      done = true;
      watcher.join();
      throw;
    }
    done = true;
    watcher.join();
    auto counts = mover.counts();
    log_fields(*log, spdlog::level::info, "crash mover stopped",
               {{"moved", std::to_string(counts.moved)}, {"queued", std::to_string(counts.queued)},
                {"deferred", std::to_string(counts.deferred)}, {"retries", std::to_string(counts.retries)},
                {"failed", std::to_string(counts.failed)}});
  });
}

}  // namespace bw::cli
