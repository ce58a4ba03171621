// Crash queues (docs/design.md §7): how crash ids travel from the crash mover, the web app and the
// admin tools to the processors.
//
// Three queues: `standard` (new accepted crashes), `priority` (someone is waiting to see the
// crash) and `reprocessing` (crashes to process again). A message body is the crash id, or
// `<id>:<ruleset>` with ruleset `default` or `regenerate_signature`. Bodies are validated when
// published and again when consumed: an invalid body is never handed to a consumer, it is
// dead-lettered with the parse error as the reason.
//
// Delivery contract (both implementations):
// - `publish` returns only once the message is durable (RabbitMQ: publisher confirm of a
//   persistent message in a durable queue; embedded: SQLite commit with synchronous=FULL). It
//   retries through outages for `publish_timeout`, then throws QueueUnavailable.
// - `consume` hands out one delivery under a lease. The consumer ends it with `ack` (done),
//   `retry` (nack with requeue: deliver again later) or `give_up` (dead-letter now). A delivery
//   never ended (the consumer died, its connection dropped, or the embedded lease expired) is
//   delivered again, to any consumer. Delivery is at least once: consumers must be idempotent.
// - Bounded redelivery: a message is handed out at most `max_deliveries` times. When it would be
//   delivered again (or is retried on its last delivery) it is moved to the queue's dead-letter
//   queue with the reason, and the dead-letter handler is called so the failure can be recorded.
// - Order: priority first, always; then standard; reprocessing gets one delivery in
//   `reprocessing_share` while standard has work (ConsumptionOrder), so neither starves. An idle
//   consumer is woken by a new message (no polling sleeps).
//
// Thread safety: a CrashQueue instance may be used from several threads (calls are serialized
// inside); for parallel consumers open one instance per thread. Both implementations are safe
// across processes. Errors: QueueUnavailable (transient: broker or database unreachable) and
// std::invalid_argument (bad message or settings); ack/retry/give_up return false when the
// delivery is no longer this consumer's (lease expired, connection lost): it will be redelivered.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/crash_id.h"

namespace bw {
class Config;
}

namespace bw::queue {

enum class QueueKind : uint8_t { kStandard = 0, kPriority = 1, kReprocessing = 2 };
inline constexpr std::array<QueueKind, 3> kAllQueueKinds = {QueueKind::kStandard, QueueKind::kPriority,
                                                            QueueKind::kReprocessing};
// "standard", "priority", "reprocessing".
std::string_view to_string(QueueKind kind);
std::optional<QueueKind> parse_queue_kind(std::string_view text);

enum class Ruleset : uint8_t { kDefault, kRegenerateSignature };
std::string_view to_string(Ruleset ruleset);
// "default" or "regenerate_signature" (the names to_string gives); nullopt for anything else. The
// one parser of ruleset names: queue messages, `admin` commands and the reprocessing API use it.
std::optional<Ruleset> parse_ruleset(std::string_view text);
// What parse_ruleset accepts, for error messages.
inline constexpr std::string_view kRulesetNames = "default or regenerate_signature";

// One queue message: which crash, and which ruleset to run on it.
struct CrashMessage {
  CrashId id;
  Ruleset ruleset = Ruleset::kDefault;

  // "<id>" for the default ruleset, "<id>:regenerate_signature" otherwise.
  std::string encode() const;
  // Accepts "<id>", "<id>:default" and "<id>:regenerate_signature" (id strictly as CrashId::parse,
  // without "bp-"). On failure returns nullopt and sets `why`.
  static std::optional<CrashMessage> parse(std::string_view body, std::string* why = nullptr);

  friend bool operator==(const CrashMessage&, const CrashMessage&) = default;
};

class QueueUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One message handed to a consumer. `handle` and `lease` identify it to the implementation that
// produced it; they mean nothing elsewhere.
struct Delivery {
  CrashMessage message;
  QueueKind queue = QueueKind::kStandard;
  uint32_t attempt = 1;  // 1 on the first delivery
  uint64_t handle = 0;
  uint64_t lease = 0;
};

// A message moved to a dead-letter queue.
struct DeadLetter {
  QueueKind queue = QueueKind::kStandard;
  std::string body;                    // as received
  std::optional<CrashMessage> message;  // nullopt when the body was invalid
  uint32_t deliveries = 0;
  std::string reason;
};

struct QueueDepth {
  uint64_t ready = 0;        // waiting for a consumer
  uint64_t in_flight = 0;    // delivered, not yet ended (embedded queue; RabbitMQ reports 0)
  uint64_t dead_letters = 0;
};

struct QueueStats {
  std::array<QueueDepth, 3> queues{};  // indexed by QueueKind
  bool in_flight_reported = true;      // false for RabbitMQ, whose in_flight is always 0
  const QueueDepth& of(QueueKind kind) const { return queues[static_cast<size_t>(kind)]; }
};

struct QueueSettings {
  std::string url;                      // amqp://... selects RabbitMQ; empty selects the embedded queue
  std::filesystem::path embedded_path;  // the embedded queue's SQLite file
  std::array<std::string, 3> names = {"breakwater.standard", "breakwater.priority",
                                      "breakwater.reprocessing"};  // indexed by QueueKind
  std::string dead_letter_suffix = ".dead";
  uint32_t prefetch = 10;
  uint32_t max_deliveries = 5;
  std::chrono::milliseconds lease{std::chrono::minutes(5)};  // embedded queue
  bool quorum = false;                                        // RabbitMQ quorum queues
  uint32_t reprocessing_share = 6;                            // 1 delivery in N, N >= 2
  std::chrono::milliseconds publish_timeout{std::chrono::seconds(30)};
  std::chrono::seconds heartbeat{0};  // RabbitMQ heartbeat; 0 = off

  const std::string& name(QueueKind kind) const { return names[static_cast<size_t>(kind)]; }
  std::string dead_letter_name(QueueKind kind) const { return name(kind) + dead_letter_suffix; }
  // Throws std::invalid_argument naming the bad setting.
  void validate() const;
  // The part of validate() about delivery (prefetch, max_deliveries, lease, share, timeouts), for
  // a queue that needs neither url nor file.
  void validate_delivery() const;
  // From the [queue] section (and server.data for the default embedded path).
  static QueueSettings from_config(const Config& config);
};

class CrashQueue {
 public:
  using DeadLetterHandler = std::function<void(const DeadLetter&)>;

  virtual ~CrashQueue() = default;

  // Returns when the message is durable. Throws QueueUnavailable after publish_timeout.
  virtual void publish(const CrashMessage& message, QueueKind queue) = 0;
  // Several messages, each durable when this returns (one transaction / pipelined confirms).
  virtual void publish_batch(std::span<const CrashMessage> messages, QueueKind queue) = 0;

  // The next delivery in consumption order, waiting up to `wait`; nullopt when none came.
  // Throws QueueUnavailable when the backend could not be reached during the whole wait.
  virtual std::optional<Delivery> consume(std::chrono::milliseconds wait) = 0;
  virtual bool ack(const Delivery& delivery) = 0;
  // Deliver again later; on the last allowed delivery, dead-letter with `reason` instead.
  virtual bool retry(const Delivery& delivery, std::string_view reason) = 0;
  // Dead-letter now with `reason`.
  virtual bool give_up(const Delivery& delivery, std::string_view reason) = 0;

  virtual QueueStats stats() = 0;
  // Removes the ready messages of one queue; returns how many.
  virtual uint64_t purge(QueueKind queue) = 0;

  // Called (on the consuming thread) for every message this instance dead-letters.
  void set_dead_letter_handler(DeadLetterHandler handler) { dead_letter_handler_ = std::move(handler); }

 protected:
  void report_dead_letter(const DeadLetter& letter);

 private:
  DeadLetterHandler dead_letter_handler_;
};

// Chooses which queue the next delivery comes from. Not thread-safe (one per consumer).
class ConsumptionOrder {
 public:
  explicit ConsumptionOrder(uint32_t reprocessing_share);
  // nullopt when no queue has work.
  std::optional<QueueKind> next(bool priority_ready, bool standard_ready, bool reprocessing_ready);

 private:
  uint32_t share_;
  uint32_t standard_since_reprocessing_ = 0;
};

// RabbitMQ when settings.url is set, else the embedded queue at settings.embedded_path.
std::unique_ptr<CrashQueue> open_crash_queue(const QueueSettings& settings);

}  // namespace bw::queue
