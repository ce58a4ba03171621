// The processor service (docs/design.md §7, §8): N consumer threads take crash ids from the queues
// (priority first, then standard, reprocessing at a bounded share: the queue's ConsumptionOrder),
// run the pipeline on each and ack only after the processed crash is saved.
//
// Per delivery:
//   processed and saved                      → ack (success or a recorded failed processing)
//   storage or worker start failed for now   → retry (the queue redelivers; after max_deliveries
//     (TransientStorageError, TransientProcessingError, QueueUnavailable, anything unexpected)
//                                               it dead-letters)
//   raw crash missing / stored data corrupt  → give_up (dead-letter now: retrying cannot help)
//   saved, but the crash index is down       → published again as a new message and acked (an
//     (index::IndexUnavailable)                index outage may outlast max_deliveries; a dead
//                                               letter would mark a good crash failed); the thread
//                                               pauses with backoff and health reports the index
// Every dead-lettered message is recorded as a failed processing (success=false and the reason)
// through CrashPipeline::record_failure, so no crash silently disappears. A processor killed
// mid-crash never acked, so the queue hands the message to another consumer. Deferred crashes
// are processed like any other when their id arrives (storage reads the deferred root too).
//
// Metrics: bw_processor_crashes_total{result=success|failure}, bw_processor_retries_total,
// bw_processor_dead_letters_total, bw_processor_processing_seconds (besides the per-rule,
// stack-walk and worker metrics of ruleset.h, rules.h and worker_pool.h).
//
// Thread safety: start/stop from one controlling thread (stop may also be called from another
// thread or after a signal). The pipeline and queue factory must outlive the Processor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/failure_streak.h"
#include "core/stop_request.h"
#include "processor/crash_pipeline.h"
#include "processor/worker_pool.h"
#include "queue/crash_queue.h"
#include "signature/signature_generator.h"

namespace bw::processor {

struct ProcessorSettings {
  size_t workers = 1;           // consumer threads
  size_t worker_processes = 1;  // stack-walking worker processes
  std::vector<std::string> ruleset;
  std::chrono::milliseconds stackwalk_timeout{std::chrono::seconds(120)};
  uint64_t worker_memory_limit = uint64_t{4} << 30;
  size_t max_frames = 500;
  std::chrono::milliseconds consume_wait{std::chrono::seconds(1)};
  bool test_hooks = false;

  // From the [processor] section; 0 workers means one per core. Throws ConfigError.
  static ProcessorSettings from_config(const Config& config);
};

struct ProcessorCounts {
  uint64_t processed = 0;  // saved and acked (successful or recorded as failed)
  uint64_t failed = 0;     // of those, success=false
  uint64_t retried = 0;
  uint64_t dead_lettered = 0;
};

class Processor {
 public:
  using QueueFactory = std::function<std::unique_ptr<queue::CrashQueue>()>;
  Processor(CrashPipeline& pipeline, QueueFactory open_queue, size_t threads,
            std::chrono::milliseconds consume_wait = std::chrono::seconds(1));
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  void start();
  // Asks every thread to finish its current crash, then joins them. Idempotent.
  void stop();

  enum class Outcome { kAcked, kRetried, kGaveUp };
  // One delivery, start to end (what each thread does; exposed for tests).
  Outcome handle(queue::CrashQueue& queue, const queue::Delivery& delivery);
  // The dead-letter handler each thread installs on its queue.
  void on_dead_letter(const queue::DeadLetter& letter);

  ProcessorCounts counts() const;
  // For /__heartbeat__: one sentence while the queue cannot be consumed (since when, why).
  std::vector<std::string> health_problems() const;

 private:
  void run_thread(size_t index);
  Outcome requeue_for_index(queue::CrashQueue& queue, const queue::Delivery& delivery, const std::string& reason);

  CrashPipeline& pipeline_;
  QueueFactory open_queue_;
  size_t threads_count_;
  std::chrono::milliseconds consume_wait_;
  std::vector<std::thread> threads_;
  StopRequest stop_;
  std::atomic<uint64_t> processed_{0}, failed_{0}, retried_{0}, dead_lettered_{0};
  FailureStreak queue_failures_;
  FailureStreak index_failures_;
};

// Everything `breakwater processor` runs, built from the configuration: the stack-walking worker
// pool (started with `worker_command`), the signature generator, both rulesets, the pipeline over
// `storage` (indexing into `index` when given; borrowed, must outlive the service), and the
// Processor consuming queues opened with `queue_settings`.
class ProcessorService {
 public:
  ProcessorService(const Config& config, storage::CrashStorage& storage, queue::QueueSettings queue_settings,
                   std::vector<std::string> worker_command, index::CrashIndex* index = nullptr);
  void start() { processor_->start(); }
  void stop() { processor_->stop(); }
  Processor& processor() { return *processor_; }
  WorkerPool& workers() { return *pool_; }
  const ProcessorSettings& settings() const { return settings_; }

 private:
  ProcessorSettings settings_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<signature::SignatureGenerator> signatures_;
  std::unique_ptr<CrashPipeline> pipeline_;
  queue::QueueSettings queue_settings_;
  std::unique_ptr<Processor> processor_;
};

}  // namespace bw::processor
