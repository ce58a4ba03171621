#include "queue/memory_crash_queue.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

namespace bw::queue {

namespace {

size_t slot(QueueKind kind) { return static_cast<size_t>(kind); }

struct Message {
  uint64_t seq = 0;  // publication order; a message given back returns to its place
  std::string body;
  uint32_t deliveries = 0;
};

struct Outstanding {
  Message message;
  QueueKind queue = QueueKind::kStandard;
  uint64_t owner = 0;  // the instance that received it
};

}  // namespace

struct MemoryQueueBroker::State {
  std::mutex mutex;
  std::condition_variable changed;
  bool available = true;
  uint64_t next_seq = 1;
  uint64_t next_handle = 1;
  uint64_t next_owner = 1;
  std::array<std::deque<Message>, 3> ready;
  std::map<uint64_t, Outstanding> outstanding;  // by delivery handle
  std::array<uint64_t, 3> dead_letters{};

  // Caller holds `mutex` (as for every function below).
  bool any_ready() const {
    return std::any_of(ready.begin(), ready.end(), [](const auto& q) { return !q.empty(); });
  }
  void give_back(Outstanding o) {
    auto& q = ready[slot(o.queue)];
    auto at = std::lower_bound(q.begin(), q.end(), o.message.seq,
                               [](const Message& m, uint64_t seq) { return m.seq < seq; });
    q.insert(at, std::move(o.message));
    changed.notify_all();
  }
  void give_back_all_of(uint64_t owner) {
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      if (owner == 0 || it->second.owner == owner) {
        give_back(std::move(it->second));
        it = outstanding.erase(it);
      } else {
        ++it;
      }
    }
  }
};

namespace {

class MemoryCrashQueue final : public CrashQueue {
 public:
  using State = MemoryQueueBroker::State;

  MemoryCrashQueue(std::shared_ptr<State> state, QueueSettings settings)
      : state_(std::move(state)), settings_(std::move(settings)), order_(settings_.reprocessing_share) {
    std::lock_guard lock(state_->mutex);
    owner_ = state_->next_owner++;
  }
  ~MemoryCrashQueue() override {
    std::lock_guard lock(state_->mutex);
    state_->give_back_all_of(owner_);
  }

  void publish(const CrashMessage& message, QueueKind queue) override { publish_batch({&message, 1}, queue); }

  void publish_batch(std::span<const CrashMessage> messages, QueueKind queue) override {
    std::unique_lock lock(state_->mutex);
    if (!state_->changed.wait_for(lock, settings_.publish_timeout, [this] { return state_->available; })) {
      throw QueueUnavailable("in-memory queue: unavailable for " + std::to_string(settings_.publish_timeout.count()) +
                             " ms");
    }
    for (const auto& m : messages) state_->ready[slot(queue)].push_back(Message{state_->next_seq++, m.encode(), 0});
    if (!messages.empty()) state_->changed.notify_all();
  }

  std::optional<Delivery> consume(std::chrono::milliseconds wait) override {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      std::vector<DeadLetter> dead;
      std::optional<Delivery> delivery;
      {
        std::unique_lock lock(state_->mutex);
        if (!state_->changed.wait_until(lock, deadline, [this] { return state_->available && state_->any_ready(); })) {
          if (!state_->available) throw QueueUnavailable("in-memory queue: unavailable");
          return std::nullopt;
        }
        delivery = take(dead);
      }
      // The handler runs without the lock: it may use the queue.
      for (const auto& letter : dead) report_dead_letter(letter);
      if (delivery) return delivery;
    }
  }

  bool ack(const Delivery& delivery) override {
    std::lock_guard lock(state_->mutex);
    return take_outstanding(delivery).has_value();
  }

  bool retry(const Delivery& delivery, std::string_view reason) override {
    std::optional<DeadLetter> letter;
    {
      std::lock_guard lock(state_->mutex);
      auto o = take_outstanding(delivery);
      if (!o) return false;
      if (o->message.deliveries >= settings_.max_deliveries) {
        std::string why = std::string(reason) + " (gave up after " + std::to_string(o->message.deliveries) + " deliveries)";
        letter = dead_letter(std::move(*o), std::move(why));
      } else {
        state_->give_back(std::move(*o));
      }
    }
    if (letter) report_dead_letter(*letter);
    return true;
  }

  bool give_up(const Delivery& delivery, std::string_view reason) override {
    DeadLetter letter;
    {
      std::lock_guard lock(state_->mutex);
      auto o = take_outstanding(delivery);
      if (!o) return false;
      letter = dead_letter(std::move(*o), std::string(reason));
    }
    report_dead_letter(letter);
    return true;
  }

  QueueStats stats() override {
    std::lock_guard lock(state_->mutex);
    if (!state_->available) throw QueueUnavailable("in-memory queue: unavailable");
    QueueStats stats;
    for (QueueKind kind : kAllQueueKinds) {
      stats.queues[slot(kind)].ready = state_->ready[slot(kind)].size();
      stats.queues[slot(kind)].dead_letters = state_->dead_letters[slot(kind)];
    }
    for (const auto& [handle, o] : state_->outstanding) stats.queues[slot(o.queue)].in_flight++;
    return stats;
  }

  uint64_t purge(QueueKind queue) override {
    std::lock_guard lock(state_->mutex);
    if (!state_->available) throw QueueUnavailable("in-memory queue: unavailable");
    uint64_t n = state_->ready[slot(queue)].size();
    state_->ready[slot(queue)].clear();
    return n;
  }

 private:
  // Caller holds the mutex. The next message in consumption order, dead-lettering on the way the
  // ones that may not be delivered.
  std::optional<Delivery> take(std::vector<DeadLetter>& dead) {
    for (;;) {
      auto& ready = state_->ready;
      auto kind = order_.next(!ready[slot(QueueKind::kPriority)].empty(), !ready[slot(QueueKind::kStandard)].empty(),
                              !ready[slot(QueueKind::kReprocessing)].empty());
      if (!kind) return std::nullopt;
      Outstanding o{std::move(ready[slot(*kind)].front()), *kind, owner_};
      ready[slot(*kind)].pop_front();
      if (o.message.deliveries >= settings_.max_deliveries) {
        std::string reason = "not acknowledged after " + std::to_string(o.message.deliveries) +
                             " deliveries (consumer gone)";
        dead.push_back(dead_letter(std::move(o), std::move(reason)));
        continue;
      }
      std::string why;
      auto message = CrashMessage::parse(o.message.body, &why);
      if (!message) {
        dead.push_back(dead_letter(std::move(o), "invalid message: " + why));
        continue;
      }
      o.message.deliveries++;
      uint64_t handle = state_->next_handle++;
      Delivery d{*message, *kind, o.message.deliveries, handle, owner_};
      state_->outstanding.emplace(handle, std::move(o));
      return d;
    }
  }

  // Caller holds the mutex. Removes and returns the delivery when it is still this instance's.
  std::optional<Outstanding> take_outstanding(const Delivery& delivery) {
    auto it = state_->outstanding.find(delivery.handle);
    if (it == state_->outstanding.end() || it->second.owner != owner_ || delivery.lease != owner_) return std::nullopt;
    Outstanding o = std::move(it->second);
    state_->outstanding.erase(it);
    return o;
  }

  // Caller holds the mutex.
  DeadLetter dead_letter(Outstanding o, std::string reason) {
    state_->dead_letters[slot(o.queue)]++;
    auto message = CrashMessage::parse(o.message.body);
    return DeadLetter{o.queue, std::move(o.message.body), message, o.message.deliveries, std::move(reason)};
  }

  std::shared_ptr<State> state_;
  QueueSettings settings_;
  ConsumptionOrder order_;
  uint64_t owner_ = 0;
};

}  // namespace

MemoryQueueBroker::MemoryQueueBroker() : state_(std::make_shared<State>()) {}
MemoryQueueBroker::~MemoryQueueBroker() = default;

std::unique_ptr<CrashQueue> MemoryQueueBroker::connect(const QueueSettings& settings) {
  settings.validate_delivery();
  return std::make_unique<MemoryCrashQueue>(state_, settings);
}

void MemoryQueueBroker::inject_raw(QueueKind queue, std::string body) {
  std::lock_guard lock(state_->mutex);
  state_->ready[slot(queue)].push_back(Message{state_->next_seq++, std::move(body), 0});
  state_->changed.notify_all();
}

void MemoryQueueBroker::set_available(bool available) {
  std::lock_guard lock(state_->mutex);
  state_->available = available;
  if (!available) state_->give_back_all_of(0);  // every connection dropped
  state_->changed.notify_all();
}

}  // namespace bw::queue
