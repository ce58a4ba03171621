// The RabbitMQ crash queue (docs/design.md §7), over librabbitmq.
//
// Layout on the broker: the three queues (names from settings) and one dead-letter queue beside
// each (`<name><dead_letter_suffix>`), all durable, quorum queues when settings.quorum is set.
// Messages are published through the default exchange as persistent, mandatory, with publisher
// confirms: publish returns once the broker confirmed every message (a nack or a return is
// retried). Two connections per instance: one publishes (confirm mode), one consumes with
// manual acks and a per-consumer prefetch on each of the three queues; deliveries are buffered
// locally and handed out in ConsumptionOrder, so a priority message overtakes any standard
// backlog.
//
// Bounded redelivery, identical for classic and quorum queues: the header `x-bw-failures` counts
// deliveries that did not end in ack. A delivery that arrives with the broker's `redelivered` flag
// (its consumer or connection was lost) counts as one failure: it is republished with the count
// raised (or dead-lettered at max_deliveries) and the original is acked, instead of being handed
// out. `retry` does the same with the consumer's reason. Dead letters carry `x-bw-reason`,
// `x-bw-deliveries` and `x-bw-source-queue`. A side effect worth knowing: messages prefetched
// but not yet handed out when a connection drops (broker restart) also count one failure.
//
// Recovery: any protocol or socket error drops the connection; the next call reconnects with
// backoff (100 ms doubling to 2 s) and declares everything again, so clients recover by
// themselves after a broker restart. publish keeps trying for publish_timeout; consume for its
// own wait; both then throw QueueUnavailable.
//
// Thread safety: publishing and consuming have separate locks; a thread blocked in consume holds
// the consumer lock (ack from another thread waits for it). One instance per consumer thread.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "queue/amqp_connection.h"
#include "queue/crash_queue.h"

namespace bw::queue {

class RabbitMqCrashQueue final : public CrashQueue {
 public:
  // Parses settings.url (throws std::invalid_argument); connects lazily.
  explicit RabbitMqCrashQueue(QueueSettings settings);
  ~RabbitMqCrashQueue() override;

  void publish(const CrashMessage& message, QueueKind queue) override;
  void publish_batch(std::span<const CrashMessage> messages, QueueKind queue) override;
  std::optional<Delivery> consume(std::chrono::milliseconds wait) override;
  bool ack(const Delivery& delivery) override;
  bool retry(const Delivery& delivery, std::string_view reason) override;
  bool give_up(const Delivery& delivery, std::string_view reason) override;
  QueueStats stats() override;
  uint64_t purge(QueueKind queue) override;

  // Messages in one dead-letter queue (diagnostics and tests).
  uint64_t dead_letter_depth(QueueKind queue);

 private:
  using Clock = std::chrono::steady_clock;
  struct Outgoing {
    std::string body;
    uint32_t failures = 0;
    std::string last_error;   // retry reason, "" for none
    std::string dead_reason;  // set: this is a dead letter
    std::string source_queue;
  };
  struct Buffered {
    std::string body;
    uint64_t tag = 0;
    bool redelivered = false;
    uint32_t failures = 0;
  };

  // Publisher side (publisher_mutex_ held).
  void ensure_publisher(Clock::time_point deadline);
  void publish_outgoing(const std::string& queue_name, std::vector<Outgoing> items, Clock::time_point deadline);
  void declare_all(AmqpConnection& connection);

  // Consumer side (consumer_mutex_ held).
  void ensure_consumer(Clock::time_point deadline);
  void drop_consumer(const std::string& why);
  bool read_delivery(std::chrono::milliseconds timeout);
  std::optional<Delivery> pick();
  void dead_letter(QueueKind kind, const std::string& body, uint32_t deliveries, const std::string& reason);
  void ack_tag(uint64_t tag);
  // True (and forgets it) when `delivery` is outstanding on the current connection.
  bool take_outstanding(const Delivery& delivery);

  QueueSettings settings_;
  AmqpEndpoint endpoint_;

  std::mutex publisher_mutex_;
  std::unique_ptr<AmqpConnection> publisher_;
  uint64_t next_publish_tag_ = 1;

  std::mutex consumer_mutex_;
  std::unique_ptr<AmqpConnection> consumer_;
  uint64_t consumer_generation_ = 0;
  std::array<std::deque<Buffered>, 3> buffered_;
  std::set<uint64_t> handed_out_;  // delivery tags given to the caller and not yet ended
  // When standard deliveries last arrived: reprocessing waits briefly for the next one, which is
  // in transit after each ack, so the share holds although the local buffer runs empty.
  Clock::time_point standard_seen_{};
  std::optional<Clock::time_point> hold_until_;
  ConsumptionOrder order_;
};

}  // namespace bw::queue
