#include "processor/processor.h"

#include <filesystem>

#include "core/log.h"
#include "core/metrics.h"
#include "processor/rules.h"
#include "symbols/symbol_supplier.h"

namespace bw::processor {
namespace {

metrics::Counter& crashes_counter(const char* result) {
  return metrics::Registry::global().counter("bw_processor_crashes_total", "crashes processed and saved, by outcome",
                                             {{"result", result}});
}

}  // namespace

ProcessorSettings ProcessorSettings::from_config(const Config& config) {
  ProcessorSettings s;
  auto positive = [&](const char* key, int64_t fallback) -> size_t {
    int64_t v = config.get_int("processor", key);
    if (v < 0) throw ConfigError(std::string("processor.") + key + " must be 0 or more");
    return static_cast<size_t>(v == 0 ? fallback : v);
  };
  int64_t cores = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
  s.workers = positive("workers", cores);
  s.worker_processes = positive("worker_processes", static_cast<int64_t>(s.workers));
  s.ruleset = config.get_string_list("processor", "ruleset");
  s.stackwalk_timeout = config.get_duration("processor", "stackwalk_timeout");
  if (s.stackwalk_timeout.count() <= 0) throw ConfigError("processor.stackwalk_timeout must be positive");
  s.worker_memory_limit = config.get_size("processor", "worker_memory_limit");
  int64_t frames = config.get_int("processor", "max_frames");
  if (frames < 2) throw ConfigError("processor.max_frames must be at least 2");
  s.max_frames = static_cast<size_t>(frames);
  s.consume_wait = config.get_duration("processor", "consume_wait");
  if (s.consume_wait.count() <= 0) throw ConfigError("processor.consume_wait must be positive");
  s.test_hooks = config.get_bool("processor", "test_hooks");
  return s;
}

Processor::Processor(CrashPipeline& pipeline, QueueFactory open_queue, size_t threads,
                     std::chrono::milliseconds consume_wait)
    : pipeline_(pipeline), open_queue_(std::move(open_queue)), threads_count_(std::max<size_t>(1, threads)),
      consume_wait_(consume_wait) {}

Processor::~Processor() { stop(); }

void Processor::start() {
  stop_.reset();
  for (size_t i = 0; i < threads_count_; ++i) threads_.emplace_back([this, i] { run_thread(i); });
}

void Processor::stop() {
  stop_.request();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

ProcessorCounts Processor::counts() const {
  return {processed_.load(), failed_.load(), retried_.load(), dead_lettered_.load()};
}

void Processor::on_dead_letter(const queue::DeadLetter& letter) {
  dead_lettered_.fetch_add(1);
  metrics::Registry::global().counter("bw_processor_dead_letters_total", "messages dead-lettered (recorded as failed)").inc();
  auto log = bw::logger("processor");
  if (!letter.message) {
    log_fields(*log, spdlog::level::err, "invalid message dead-lettered", {{"reason", letter.reason}});
    return;
  }
  const CrashId& id = letter.message->id;
  std::string reason = "dead-lettered from the " + std::string(queue::to_string(letter.queue)) + " queue after " +
                       std::to_string(letter.deliveries) + " deliveries: " + letter.reason;
  log_fields(*log, spdlog::level::err, "crash dead-lettered", {{"crash_id", id.str()}, {"reason", letter.reason}});
  try {
    pipeline_.record_failure(id, reason);
    crashes_counter("failure").inc();
  } catch (const storage::CrashNotFound&) {
    log_fields(*log, spdlog::level::err, "dead-lettered crash is not stored; no processed crash written",
               {{"crash_id", id.str()}});
  } catch (const std::exception& e) {
    // Storage is down too: the dead-letter queue still holds the message for an operator.
    log_fields(*log, spdlog::level::err, "could not record the failed processing",
               {{"crash_id", id.str()}, {"error", e.what()}});
  }
}

Processor::Outcome Processor::handle(queue::CrashQueue& queue, const queue::Delivery& delivery) {
  auto log = bw::logger("processor");
  const CrashId& id = delivery.message.id;
  auto& registry = metrics::Registry::global();
  auto start = std::chrono::steady_clock::now();
  auto retry = [&](const std::string& reason) {
    retried_.fetch_add(1);
    registry.counter("bw_processor_retries_total", "deliveries handed back to the queue to try again").inc();
    log_fields(*log, spdlog::level::warn, "processing failed; will retry",
               {{"crash_id", id.str()}, {"attempt", std::to_string(delivery.attempt)}, {"error", reason}});
    queue.retry(delivery, reason);
    return Outcome::kRetried;
  };
  auto give_up = [&](const std::string& reason) {
    log_fields(*log, spdlog::level::err, "processing impossible", {{"crash_id", id.str()}, {"error", reason}});
    queue.give_up(delivery, reason);
    return Outcome::kGaveUp;
  };
  nlohmann::json processed;
  try {
    processed = pipeline_.process(id, delivery.message.ruleset);
  } catch (const storage::CrashNotFound& e) {
    return give_up(std::string("raw crash not found: ") + e.what());
  } catch (const storage::CorruptCrashData& e) {
    return give_up(std::string("stored crash is corrupt: ") + e.what());
  } catch (const index::IndexUnavailable& e) {
    return requeue_for_index(queue, delivery, e.what());
  } catch (const std::exception& e) {
    return retry(e.what());
  }
  index_failures_.succeed();
  bool success = processed.value("success", false);
  processed_.fetch_add(1);
  if (!success) failed_.fetch_add(1);
  crashes_counter(success ? "success" : "failure").inc();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  registry.histogram("bw_processor_processing_seconds", "time to process and save one crash",
                     metrics::default_latency_buckets())
      .observe(seconds);
  if (!queue.ack(delivery)) {
    // The lease ran out meanwhile: someone else gets it and processes it again (idempotent).
    log_fields(*log, spdlog::level::warn, "ack refused; the crash will be processed again", {{"crash_id", id.str()}});
  }
  log_fields(*log, spdlog::level::info, "crash processed",
             {{"crash_id", id.str()},
              {"queue", std::string(queue::to_string(delivery.queue))},
              {"ruleset", std::string(queue::to_string(delivery.message.ruleset))},
              {"success", success ? "true" : "false"},
              {"status", processed.value("mdsw_status_string", std::string())},
              {"ms", std::to_string(static_cast<int64_t>(seconds * 1000))}});
  return Outcome::kAcked;
}

Processor::Outcome Processor::requeue_for_index(queue::CrashQueue& queue, const queue::Delivery& delivery,
                                                 const std::string& reason) {
  // The processed crash is saved but not findable. An index outage can outlast every redelivery
  // the queue allows, and a dead letter would record a good crash as failed: so the message goes
  // back as a new one (no delivery count) and this thread pauses before taking the next.
  auto log = bw::logger("processor");
  index_failures_.fail("index: " + reason);
  retried_.fetch_add(1);
  metrics::Registry::global().counter("bw_processor_retries_total", "deliveries handed back to the queue to try again").inc();
  log_fields(*log, spdlog::level::warn, "crash saved but the index is unavailable; requeued",
             {{"crash_id", delivery.message.id.str()}, {"error", reason}});
  try {
    queue.publish(delivery.message, delivery.queue);
  } catch (const std::exception& e) {
    queue.retry(delivery, std::string("index unavailable and requeue failed: ") + e.what());
    return Outcome::kRetried;
  }
  queue.ack(delivery);
  return Outcome::kRetried;
}

void Processor::run_thread(size_t index) {
  auto log = bw::logger("processor");
  std::unique_ptr<queue::CrashQueue> queue;
  auto backoff = std::chrono::milliseconds(500);
  auto index_backoff = std::chrono::milliseconds(500);
  const auto max_backoff = std::chrono::milliseconds(30'000);
  while (!stop_.requested()) {
    try {
      if (!queue) {
        queue = open_queue_();
        queue->set_dead_letter_handler([this](const queue::DeadLetter& l) { on_dead_letter(l); });
      }
      auto delivery = queue->consume(consume_wait_);
      queue_failures_.succeed();
      backoff = std::chrono::milliseconds(500);
      if (delivery && handle(*queue, *delivery) == Outcome::kRetried && index_failures_.problem("index")) {
        // The index is down: wait before the next crash instead of cycling through the queue.
        if (stop_.wait_for(index_backoff)) break;
        index_backoff = std::min(index_backoff * 2, max_backoff);
      } else {
        index_backoff = std::chrono::milliseconds(500);
      }
    } catch (const std::exception& e) {
      // Queue unreachable (or could not be opened): back off, reopen, and carry on.
      queue_failures_.fail(std::string("queue: ") + e.what());
      log_fields(*log, spdlog::level::warn, "queue unavailable; retrying",
                 {{"thread", std::to_string(index)}, {"error", e.what()}, {"wait_ms", std::to_string(backoff.count())}});
      queue.reset();
      if (stop_.wait_for(backoff)) break;
      backoff = std::min(backoff * 2, max_backoff);
    }
  }
}

std::vector<std::string> Processor::health_problems() const {
  std::vector<std::string> problems;
  if (auto p = queue_failures_.problem("processor")) problems.push_back(*p);
  if (auto p = index_failures_.problem("processor")) problems.push_back(*p);
  return problems;
}

ProcessorService::ProcessorService(const Config& config, storage::CrashStorage& storage,
                                   queue::QueueSettings queue_settings, std::vector<std::string> worker_command,
                                   index::CrashIndex* index)
    : settings_(ProcessorSettings::from_config(config)), queue_settings_(std::move(queue_settings)) {
  WorkerPoolOptions pool;
  pool.command = std::move(worker_command);
  pool.processes = settings_.worker_processes;
  pool.timeout = settings_.stackwalk_timeout;
  pool.memory_limit = settings_.worker_memory_limit;
  pool.symbols = symbols::symbol_options_from_config(config);
  pool.test_hooks = settings_.test_hooks;
  pool_ = std::make_unique<WorkerPool>(std::move(pool));
  signatures_ = std::make_unique<signature::SignatureGenerator>(signature::SignatureGenerator::from_config(config));
  RuleDependencies deps{pool_.get(), signatures_.get(), settings_.max_frames};
  pipeline_ = std::make_unique<CrashPipeline>(storage, make_ruleset(settings_.ruleset, deps),
                                              make_ruleset({"signature"}, deps), settings_.test_hooks, index);
  processor_ = std::make_unique<Processor>(
      *pipeline_, [this] { return queue::open_crash_queue(queue_settings_); }, settings_.workers,
      settings_.consume_wait);
}

}  // namespace bw::processor
