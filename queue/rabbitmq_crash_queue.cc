#include "queue/rabbitmq_crash_queue.h"

#include <amqp_framing.h>
#include <sys/time.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "core/log.h"

namespace bw::queue {
namespace {

constexpr size_t kConfirmWindow = 500;     // messages published before waiting for their confirms
constexpr size_t kMaxKeptBodyBytes = 4096;  // a hostile body is kept only this long in a dead letter
constexpr uint32_t kMaxFailureCount = 1000000;
constexpr auto kStandardGrace = std::chrono::milliseconds(100);

amqp_bytes_t bytes_of(const std::string& s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());
  return b;
}

std::string text_of(const amqp_bytes_t& b) {
  return b.bytes ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string();
}

timeval to_timeval(std::chrono::milliseconds ms) {
  if (ms.count() < 0) ms = std::chrono::milliseconds(0);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::chrono::milliseconds until(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

amqp_field_value_t utf8_value(const std::string& s) {
  amqp_field_value_t v{};
  v.kind = AMQP_FIELD_KIND_UTF8;
  v.value.bytes = bytes_of(s);
  return v;
}

amqp_field_value_t int_value(uint32_t n) {
  amqp_field_value_t v{};
  v.kind = AMQP_FIELD_KIND_I64;
  v.value.i64 = static_cast<int64_t>(n);
  return v;
}

// x-bw-failures of a delivery; 0 when absent or not an integer.
uint32_t failures_header(const amqp_basic_properties_t& props) {
  if (!(props._flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    if (text_of(e.key) != "x-bw-failures") continue;
    int64_t n = 0;
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_I8: n = e.value.value.i8; break;
      case AMQP_FIELD_KIND_U8: n = e.value.value.u8; break;
      case AMQP_FIELD_KIND_I16: n = e.value.value.i16; break;
      case AMQP_FIELD_KIND_U16: n = e.value.value.u16; break;
      case AMQP_FIELD_KIND_I32: n = e.value.value.i32; break;
      case AMQP_FIELD_KIND_U32: n = e.value.value.u32; break;
      case AMQP_FIELD_KIND_I64: n = e.value.value.i64; break;
      case AMQP_FIELD_KIND_U64: n = static_cast<int64_t>(std::min<uint64_t>(e.value.value.u64, kMaxFailureCount)); break;
      default: return 0;
    }
    return static_cast<uint32_t>(std::clamp<int64_t>(n, 0, kMaxFailureCount));
  }
  return 0;
}

std::string close_reason(const amqp_frame_t& frame) {
  if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* m = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
    return "channel closed by broker: " + std::to_string(m->reply_code) + " " + text_of(m->reply_text);
  }
  const auto* m = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
  return "connection closed by broker: " + std::to_string(m->reply_code) + " " + text_of(m->reply_text);
}

// Connects with backoff (100 ms doubling to 2 s) until `deadline`; QueueUnavailable after it.
std::unique_ptr<AmqpConnection> connect_until(const AmqpEndpoint& endpoint, std::chrono::seconds heartbeat,
                                              std::chrono::steady_clock::time_point deadline, const char* role) {
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    auto timeout = std::clamp(until(deadline), std::chrono::milliseconds(200), std::chrono::milliseconds(5000));
    try {
      return std::make_unique<AmqpConnection>(endpoint, heartbeat, timeout);
    } catch (const AmqpError& e) {
      if (std::chrono::steady_clock::now() + backoff >= deadline) {
        throw QueueUnavailable(std::string("RabbitMQ ") + role + " cannot connect: " + e.what());
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

}  // namespace

RabbitMqCrashQueue::RabbitMqCrashQueue(QueueSettings settings)
    : settings_(std::move(settings)), endpoint_(AmqpEndpoint::parse(settings_.url)),
      order_(settings_.reprocessing_share) {
  settings_.validate();
}

RabbitMqCrashQueue::~RabbitMqCrashQueue() = default;

void RabbitMqCrashQueue::declare_all(AmqpConnection& connection) {
  amqp_table_entry_t quorum_entry{};
  quorum_entry.key = amqp_cstring_bytes("x-queue-type");
  static const std::string kQuorum = "quorum";
  quorum_entry.value = utf8_value(kQuorum);
  amqp_table_t arguments = amqp_empty_table;
  if (settings_.quorum) {
    arguments.num_entries = 1;
    arguments.entries = &quorum_entry;
  }
  for (QueueKind kind : kAllQueueKinds) {
    for (const std::string& name : {settings_.name(kind), settings_.dead_letter_name(kind)}) {
      amqp_queue_declare(connection.state(), AmqpConnection::kChannel, bytes_of(name), 0, 1, 0, 0, arguments);
      connection.check_rpc("queue declare");
    }
  }
}

void RabbitMqCrashQueue::ensure_publisher(Clock::time_point deadline) {
  if (publisher_) return;
  auto connection = connect_until(endpoint_, settings_.heartbeat, deadline, "publisher");
  declare_all(*connection);
  amqp_confirm_select(connection->state(), AmqpConnection::kChannel);
  connection->check_rpc("confirm select");
  publisher_ = std::move(connection);
  next_publish_tag_ = 1;
}

void RabbitMqCrashQueue::publish_outgoing(const std::string& queue_name, std::vector<Outgoing> items,
                                          Clock::time_point deadline) {
  auto backoff = std::chrono::milliseconds(100);
  std::vector<bool> confirmed(items.size(), false);
  size_t remaining = items.size();
  while (remaining > 0) {
    try {
      ensure_publisher(deadline);
      amqp_connection_state_t state = publisher_->state();
      // Publish a window of unconfirmed items, then settle their confirms.
      std::map<uint64_t, size_t> outstanding;
      for (size_t i = 0; i < items.size() && outstanding.size() < kConfirmWindow; ++i) {
        if (confirmed[i]) continue;
        const Outgoing& item = items[i];
        std::vector<amqp_table_entry_t> headers;
        auto add = [&headers](const char* key, amqp_field_value_t value) {
          amqp_table_entry_t e{};
          e.key = amqp_cstring_bytes(key);
          e.value = value;
          headers.push_back(e);
        };
        add("x-bw-failures", int_value(item.failures));
        if (!item.last_error.empty()) add("x-bw-last-error", utf8_value(item.last_error));
        if (!item.dead_reason.empty()) {
          add("x-bw-reason", utf8_value(item.dead_reason));
          add("x-bw-deliveries", int_value(item.failures));
          add("x-bw-source-queue", utf8_value(item.source_queue));
        }
        amqp_basic_properties_t props{};
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
        props.content_type = amqp_cstring_bytes("text/plain");
        props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
        props.headers.num_entries = static_cast<int>(headers.size());
        props.headers.entries = headers.data();
        int status = amqp_basic_publish(state, AmqpConnection::kChannel, amqp_cstring_bytes(""), bytes_of(queue_name),
                                        /*mandatory=*/1, /*immediate=*/0, &props, bytes_of(item.body));
        AmqpConnection::check_status(status, "publish");
        outstanding.emplace(next_publish_tag_++, i);
      }
      // Settle: ack confirms, nack or return (unroutable: the queue vanished) leaves it to retry.
      std::multiset<std::string> returned;
      bool refused = false;
      auto settle = [&](uint64_t tag, bool multiple, bool ok) {
        auto last = multiple ? outstanding.upper_bound(tag) : outstanding.find(tag);
        auto first = multiple ? outstanding.begin() : last;
        if (!multiple) {
          if (last == outstanding.end()) return;
          ++last;
        }
        for (auto it = first; it != last;) {
          size_t index = it->second;
          auto r = returned.find(items[index].body);
          if (ok && r == returned.end()) {
            confirmed[index] = true;
            --remaining;
          } else {
            if (r != returned.end()) returned.erase(r);
            refused = true;
          }
          it = outstanding.erase(it);
        }
      };
      auto confirm_deadline = std::max(deadline, Clock::now() + std::chrono::seconds(5));
      while (!outstanding.empty()) {
        amqp_maybe_release_buffers(state);
        amqp_frame_t frame;
        timeval tv = to_timeval(until(confirm_deadline));
        int status = amqp_simple_wait_frame_noblock(state, &frame, &tv);
        if (status == AMQP_STATUS_TIMEOUT) throw AmqpError("no publisher confirm in time");
        AmqpConnection::check_status(status, "waiting for publisher confirms");
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        switch (frame.payload.method.id) {
          case AMQP_BASIC_ACK_METHOD: {
            const auto* m = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
            settle(m->delivery_tag, m->multiple != 0, true);
            break;
          }
          case AMQP_BASIC_NACK_METHOD: {
            const auto* m = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
            settle(m->delivery_tag, m->multiple != 0, false);
            break;
          }
          case AMQP_BASIC_RETURN_METHOD: {
            amqp_message_t message;
            amqp_rpc_reply_t reply = amqp_read_message(state, frame.channel, &message, 0);
            publisher_->check_reply(reply, "reading a returned message");
            returned.insert(text_of(message.body));
            amqp_destroy_message(&message);
            break;
          }
          case AMQP_CHANNEL_CLOSE_METHOD:
          case AMQP_CONNECTION_CLOSE_METHOD:
            throw AmqpError(close_reason(frame));
          default:
            break;
        }
      }
      if (refused) {
        // Declaring again on a fresh connection recreates a deleted queue.
        throw AmqpError("the broker refused or returned some messages");
      }
      backoff = std::chrono::milliseconds(100);
    } catch (const AmqpError& e) {
      if (publisher_) publisher_->mark_broken();
      publisher_.reset();
      if (Clock::now() + backoff >= deadline) {
        throw QueueUnavailable(std::string("RabbitMQ publish to ") + queue_name + " failed: " + e.what());
      }
      logger("queue")->warn("RabbitMQ publish to {} failed, reconnecting: {}", queue_name, e.what());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

void RabbitMqCrashQueue::publish(const CrashMessage& message, QueueKind queue) {
  publish_batch(std::span<const CrashMessage>(&message, 1), queue);
}

void RabbitMqCrashQueue::publish_batch(std::span<const CrashMessage> messages, QueueKind queue) {
  std::vector<Outgoing> items;
  items.reserve(messages.size());
  for (const auto& m : messages) {
    Outgoing o;
    o.body = m.encode();
    if (!CrashMessage::parse(o.body)) throw std::invalid_argument("invalid crash message " + o.body);
    items.push_back(std::move(o));
  }
  if (items.empty()) return;
  std::lock_guard lock(publisher_mutex_);
  publish_outgoing(settings_.name(queue), std::move(items), Clock::now() + settings_.publish_timeout);
}

void RabbitMqCrashQueue::ensure_consumer(Clock::time_point deadline) {
  if (consumer_) return;
  auto connection = connect_until(endpoint_, settings_.heartbeat, deadline, "consumer");
  declare_all(*connection);
  amqp_basic_qos(connection->state(), AmqpConnection::kChannel, 0, static_cast<uint16_t>(settings_.prefetch), 0);
  connection->check_rpc("basic qos");
  // Priority subscribes first so that its backlog is pushed first on a fresh connection.
  for (QueueKind kind : {QueueKind::kPriority, QueueKind::kStandard, QueueKind::kReprocessing}) {
    std::string tag = "bw-" + std::string(to_string(kind));
    amqp_basic_consume(connection->state(), AmqpConnection::kChannel, bytes_of(settings_.name(kind)), bytes_of(tag),
                       0, 0, 0, amqp_empty_table);
    connection->check_rpc("basic consume");
  }
  consumer_ = std::move(connection);
  ++consumer_generation_;
  for (auto& b : buffered_) b.clear();
  handed_out_.clear();
}

void RabbitMqCrashQueue::drop_consumer(const std::string& why) {
  logger("queue")->warn("RabbitMQ consumer connection lost, will reconnect: {}", why);
  if (consumer_) consumer_->mark_broken();
  consumer_.reset();
  // The broker requeues everything this connection held.
  for (auto& b : buffered_) b.clear();
  handed_out_.clear();
}

bool RabbitMqCrashQueue::read_delivery(std::chrono::milliseconds timeout) {
  amqp_connection_state_t state = consumer_->state();
  amqp_maybe_release_buffers(state);
  amqp_envelope_t envelope;
  timeval tv = to_timeval(timeout);
  amqp_rpc_reply_t reply = amqp_consume_message(state, &envelope, &tv, 0);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    std::string tag = text_of(envelope.consumer_tag);
    Buffered b;
    b.body = text_of(envelope.message.body);
    if (b.body.size() > kMaxKeptBodyBytes) b.body.resize(kMaxKeptBodyBytes);
    b.tag = envelope.delivery_tag;
    b.redelivered = envelope.redelivered != 0;
    b.failures = failures_header(envelope.message.properties);
    amqp_destroy_envelope(&envelope);
    for (QueueKind kind : kAllQueueKinds) {
      if (tag == "bw-" + std::string(to_string(kind))) {
        if (kind == QueueKind::kStandard) standard_seen_ = Clock::now();
        buffered_[static_cast<size_t>(kind)].push_back(std::move(b));
        return true;
      }
    }
    // Not one of our consumers: give it back untouched.
    amqp_basic_reject(state, AmqpConnection::kChannel, b.tag, 1);
    return true;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) return false;
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    amqp_frame_t frame;
    AmqpConnection::check_status(amqp_simple_wait_frame(state, &frame), "reading a frame");
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      switch (frame.payload.method.id) {
        case AMQP_BASIC_CANCEL_METHOD:
          throw AmqpError("the broker cancelled a consumer (queue deleted?)");
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
          throw AmqpError(close_reason(frame));
        default:
          break;
      }
    }
    return false;
  }
  throw AmqpError("consume: " + describe_reply(reply));
}

void RabbitMqCrashQueue::ack_tag(uint64_t tag) {
  if (amqp_basic_ack(consumer_->state(), AmqpConnection::kChannel, tag, 0) < 0) {
    drop_consumer("ack failed");
  }
}

void RabbitMqCrashQueue::dead_letter(QueueKind kind, const std::string& body, uint32_t deliveries,
                                     const std::string& reason) {
  Outgoing o;
  o.body = body;
  o.failures = deliveries;
  o.dead_reason = reason;
  o.source_queue = settings_.name(kind);
  {
    std::lock_guard lock(publisher_mutex_);
    publish_outgoing(settings_.dead_letter_name(kind), {std::move(o)}, Clock::now() + settings_.publish_timeout);
  }
  logger("queue")->warn("dead-lettered {} from {} after {} deliveries: {}", body, settings_.name(kind), deliveries,
                        reason);
  report_dead_letter(DeadLetter{kind, body, CrashMessage::parse(body), deliveries, reason});
}

std::optional<Delivery> RabbitMqCrashQueue::pick() {
  hold_until_.reset();
  for (;;) {
    if (buffered_[static_cast<size_t>(QueueKind::kPriority)].empty() &&
        buffered_[static_cast<size_t>(QueueKind::kStandard)].empty() &&
        !buffered_[static_cast<size_t>(QueueKind::kReprocessing)].empty() &&
        Clock::now() < standard_seen_ + kStandardGrace) {
      hold_until_ = standard_seen_ + kStandardGrace;
      return std::nullopt;
    }
    auto kind = order_.next(!buffered_[static_cast<size_t>(QueueKind::kPriority)].empty(),
                            !buffered_[static_cast<size_t>(QueueKind::kStandard)].empty(),
                            !buffered_[static_cast<size_t>(QueueKind::kReprocessing)].empty());
    if (!kind) return std::nullopt;
    auto& buffer = buffered_[static_cast<size_t>(*kind)];
    Buffered b = std::move(buffer.front());
    buffer.pop_front();
    try {
      std::string why;
      auto message = CrashMessage::parse(b.body, &why);
      if (!message) {
        dead_letter(*kind, b.body, b.failures + 1, "invalid message: " + why);
        ack_tag(b.tag);
      } else if (b.redelivered) {
        // The delivery before this one ended without an ack: count it.
        uint32_t failures = b.failures + 1;
        if (failures >= settings_.max_deliveries) {
          dead_letter(*kind, b.body, failures,
                      "not acknowledged after " + std::to_string(failures) +
                          " deliveries (consumer or connection lost)");
        } else {
          Outgoing o;
          o.body = b.body;
          o.failures = failures;
          o.last_error = "delivery not acknowledged (consumer or connection lost)";
          std::lock_guard lock(publisher_mutex_);
          publish_outgoing(settings_.name(*kind), {std::move(o)}, Clock::now() + settings_.publish_timeout);
        }
        ack_tag(b.tag);
      } else {
        handed_out_.insert(b.tag);
        return Delivery{*message, *kind, b.failures + 1, b.tag, consumer_generation_};
      }
    } catch (const QueueUnavailable& e) {
      // Could not republish: hand the message back to the broker untouched.
      logger("queue")->warn("RabbitMQ: cannot republish, returning the message: {}", e.what());
      if (amqp_basic_reject(consumer_->state(), AmqpConnection::kChannel, b.tag, 1) < 0) drop_consumer("reject failed");
    }
    if (!consumer_) return std::nullopt;
  }
}

std::optional<Delivery> RabbitMqCrashQueue::consume(std::chrono::milliseconds wait) {
  std::lock_guard lock(consumer_mutex_);
  auto deadline = Clock::now() + wait;
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    try {
      ensure_consumer(deadline);
      while (read_delivery(std::chrono::milliseconds(0))) {
      }
      if (auto delivery = pick()) return delivery;
      if (!consumer_) continue;
      auto remaining = until(deadline);
      if (hold_until_) {
        // Reprocessing waits for the standard delivery in transit (at most kStandardGrace, even
        // past the caller's deadline, since a reprocessing message is ready); then it goes.
        read_delivery(std::max(until(*hold_until_), std::chrono::milliseconds(0)));
        continue;
      }
      if (remaining.count() <= 0) return std::nullopt;
      read_delivery(remaining);
    } catch (const AmqpError& e) {
      drop_consumer(e.what());
      if (Clock::now() + backoff >= deadline) throw QueueUnavailable(std::string("RabbitMQ consume: ") + e.what());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

bool RabbitMqCrashQueue::take_outstanding(const Delivery& delivery) {
  if (!consumer_ || delivery.lease != consumer_generation_) return false;
  return handed_out_.erase(delivery.handle) == 1;
}

bool RabbitMqCrashQueue::ack(const Delivery& delivery) {
  std::lock_guard lock(consumer_mutex_);
  if (!take_outstanding(delivery)) return false;
  if (amqp_basic_ack(consumer_->state(), AmqpConnection::kChannel, delivery.handle, 0) < 0) {
    drop_consumer("ack failed");
    return false;
  }
  return true;
}

bool RabbitMqCrashQueue::retry(const Delivery& delivery, std::string_view reason) {
  std::lock_guard lock(consumer_mutex_);
  if (!take_outstanding(delivery)) return false;
  std::string body = delivery.message.encode();
  try {
    if (delivery.attempt >= settings_.max_deliveries) {
      dead_letter(delivery.queue, body, delivery.attempt,
                  std::string(reason) + " (gave up after " + std::to_string(delivery.attempt) + " deliveries)");
    } else {
      Outgoing o;
      o.body = body;
      o.failures = delivery.attempt;
      o.last_error = std::string(reason);
      std::lock_guard plock(publisher_mutex_);
      publish_outgoing(settings_.name(delivery.queue), {std::move(o)}, Clock::now() + settings_.publish_timeout);
    }
    ack_tag(delivery.handle);
  } catch (const QueueUnavailable& e) {
    // It comes back flagged redelivered, which counts the failure all the same.
    logger("queue")->warn("RabbitMQ retry: cannot republish, returning the message: {}", e.what());
    if (amqp_basic_reject(consumer_->state(), AmqpConnection::kChannel, delivery.handle, 1) < 0) {
      drop_consumer("reject failed");
    }
  }
  return true;
}

bool RabbitMqCrashQueue::give_up(const Delivery& delivery, std::string_view reason) {
  std::lock_guard lock(consumer_mutex_);
  if (!take_outstanding(delivery)) return false;
  try {
    dead_letter(delivery.queue, delivery.message.encode(), delivery.attempt, std::string(reason));
    ack_tag(delivery.handle);
  } catch (const QueueUnavailable& e) {
    logger("queue")->warn("RabbitMQ give_up: cannot dead-letter, returning the message: {}", e.what());
    if (amqp_basic_reject(consumer_->state(), AmqpConnection::kChannel, delivery.handle, 1) < 0) {
      drop_consumer("reject failed");
    }
  }
  return true;
}

QueueStats RabbitMqCrashQueue::stats() {
  std::lock_guard lock(publisher_mutex_);
  QueueStats stats;
  stats.in_flight_reported = false;  // a passive declare counts ready messages only
  try {
    ensure_publisher(Clock::now() + settings_.publish_timeout);
    for (QueueKind kind : kAllQueueKinds) {
      auto& depth = stats.queues[static_cast<size_t>(kind)];
      // A passive declare reports the depth without changing anything.
      auto* ok = amqp_queue_declare(publisher_->state(), AmqpConnection::kChannel, bytes_of(settings_.name(kind)), 1, 0,
                                    0, 0, amqp_empty_table);
      publisher_->check_rpc("queue declare (passive)");
      depth.ready = ok->message_count;
      ok = amqp_queue_declare(publisher_->state(), AmqpConnection::kChannel,
                              bytes_of(settings_.dead_letter_name(kind)), 1, 0, 0, 0, amqp_empty_table);
      publisher_->check_rpc("queue declare (passive)");
      depth.dead_letters = ok->message_count;
    }
  } catch (const AmqpError& e) {
    if (publisher_) publisher_->mark_broken();
    publisher_.reset();
    throw QueueUnavailable(std::string("RabbitMQ stats: ") + e.what());
  }
  return stats;
}

uint64_t RabbitMqCrashQueue::dead_letter_depth(QueueKind queue) { return stats().of(queue).dead_letters; }

uint64_t RabbitMqCrashQueue::purge(QueueKind queue) {
  std::lock_guard lock(publisher_mutex_);
  try {
    ensure_publisher(Clock::now() + settings_.publish_timeout);
    auto* ok = amqp_queue_purge(publisher_->state(), AmqpConnection::kChannel, bytes_of(settings_.name(queue)));
    publisher_->check_rpc("queue purge");
    return ok->message_count;
  } catch (const AmqpError& e) {
    if (publisher_) publisher_->mark_broken();
    publisher_.reset();
    throw QueueUnavailable(std::string("RabbitMQ purge: ") + e.what());
  }
}

}  // namespace bw::queue
