// The behaviour every CrashQueue implementation must show, as one parameterized GoogleTest suite
// (crash_queue_contract.cc). Each implementation's test binary provides a QueueBackend and
// instantiates the suite with it:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, CrashQueueContract, ::testing::Values(make_sqlite_backend));
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "queue/crash_queue.h"

namespace bw::queue::contract {

class QueueBackend {
 public:
  virtual ~QueueBackend() = default;
  // Settings for a fresh, empty set of queues private to the running test.
  virtual QueueSettings fresh_settings() = 0;
  // Puts a raw body (possibly invalid) on a queue, bypassing publish's validation.
  virtual void inject_raw(const QueueSettings& settings, QueueKind queue, const std::string& body) = 0;
  // Makes the backend unavailable for a while and brings it back (RabbitMQ: broker restart).
  virtual void interrupt() = 0;
  // How long until a delivery whose consumer died is offered again.
  virtual std::chrono::milliseconds redelivery_delay() const = 0;
  // True when a priority message published behind a backlog is strictly the next delivery;
  // false when deliveries already pushed to the consumer (prefetch) may come first.
  virtual bool strict_priority() const = 0;
  // A new instance on the queues `settings` name (default: open_crash_queue).
  virtual std::unique_ptr<CrashQueue> open(const QueueSettings& settings);
  // Consumes one delivery in a consumer that then dies without ending it; returns the body it got
  // ("none" when nothing came). Default: a forked child process that exits without cleaning up.
  virtual std::string consume_and_die(const QueueSettings& settings);
};

using BackendFactory = std::function<std::unique_ptr<QueueBackend>()>;

class CrashQueueContract : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override;
  std::unique_ptr<CrashQueue> open(const QueueSettings& settings) { return backend_->open(settings); }

  std::unique_ptr<QueueBackend> backend_;
  QueueSettings settings_;
};

// Crash ids for tests: distinct, valid, accepted today.
CrashId test_crash_id();

}  // namespace bw::queue::contract
