// An in-process crash queue for unit tests of the code above the queue (crash mover, processor):
// no file, no broker, no process boundary, and the same delivery contract as the real queues
// (crash_queue.h), proved by the shared suite in crash_queue_contract.cc.
//
// A MemoryQueueBroker holds the three queues and their dead-letter counts; each `connect` gives a
// CrashQueue instance, the analogue of one consumer's connection. A delivery belongs to the
// instance that received it: destroying the instance without ending it gives it back at once, as
// RabbitMQ does when a consumer's connection closes (`lease` is not used). A message is handed out
// at most `max_deliveries` times, like the real queues.
//
// What it does not do: survive the process (nothing is durable), or serve other processes. It is
// never selected by configuration; only tests construct it.
//
// Thread safety: the broker and every instance may be used from any thread; instances must not
// outlive their broker. `set_available(false)` simulates an outage: publish waits (then throws
// QueueUnavailable after publish_timeout), consume and stats throw QueueUnavailable, and every
// outstanding delivery is given back (its ack/retry/give_up then return false).
#pragma once

#include <memory>
#include <string>

#include "queue/crash_queue.h"

namespace bw::queue {

class MemoryQueueBroker {
 public:
  MemoryQueueBroker();
  ~MemoryQueueBroker();
  MemoryQueueBroker(const MemoryQueueBroker&) = delete;
  MemoryQueueBroker& operator=(const MemoryQueueBroker&) = delete;

  // A new instance on these queues. Uses the settings' max_deliveries, reprocessing_share and
  // publish_timeout; throws std::invalid_argument when those are invalid.
  std::unique_ptr<CrashQueue> connect(const QueueSettings& settings);
  // Puts a raw body (possibly invalid) at the end of a queue, as a misbehaving publisher could.
  void inject_raw(QueueKind queue, std::string body);
  void set_available(bool available);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace bw::queue
