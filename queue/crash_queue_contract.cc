// Behavioural tests shared by every CrashQueue implementation (see crash_queue_contract.h).
#include "queue/crash_queue_contract.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/child_process/child_process.h"

namespace bw::queue::contract {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<CrashMessage> make_messages(size_t n) {
  std::vector<CrashMessage> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(CrashMessage{test_crash_id()});
  return out;
}

}  // namespace

std::unique_ptr<CrashQueue> QueueBackend::open(const QueueSettings& settings) { return open_crash_queue(settings); }

std::string QueueBackend::consume_and_die(const QueueSettings& settings) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  test_support::ForkedChild consumer([&] {
    ::close(fds[0]);
    std::string got = "none";
    try {
      auto q = open(settings);
      if (auto d = q->consume(60s)) got = d->message.encode();
    } catch (...) {
      got = "error";
    }
    ssize_t w = ::write(fds[1], got.data(), got.size());
    (void)w;
    return 0;  // _exit: no destructors, the delivery is never acked nor released
  });
  ::close(fds[1]);
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  consumer.wait();
  return got;
}

CrashId test_crash_id() { return CrashId::generate(ThrottleResult::kAccept); }

void CrashQueueContract::SetUp() {
  backend_ = GetParam()();
  settings_ = backend_->fresh_settings();
}

TEST_P(CrashQueueContract, PublishConsumeAck) {
  auto q = open(settings_);
  CrashMessage a{test_crash_id()};
  CrashMessage b{test_crash_id(), Ruleset::kRegenerateSignature};
  q->publish(a, QueueKind::kStandard);
  q->publish(b, QueueKind::kStandard);
  EXPECT_EQ(q->stats().of(QueueKind::kStandard).ready + q->stats().of(QueueKind::kStandard).in_flight, 2u);

  auto d1 = q->consume(10s);
  ASSERT_TRUE(d1);
  EXPECT_EQ(d1->message, a);
  EXPECT_EQ(d1->queue, QueueKind::kStandard);
  EXPECT_EQ(d1->attempt, 1u);
  EXPECT_TRUE(q->ack(*d1));
  auto d2 = q->consume(10s);
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->message, b);
  EXPECT_EQ(d2->message.ruleset, Ruleset::kRegenerateSignature);
  EXPECT_TRUE(q->ack(*d2));

  EXPECT_FALSE(q->consume(300ms));
  // A second instance (another consumer) sees nothing either: acks are durable, not local.
  auto other = open(settings_);
  EXPECT_FALSE(other->consume(300ms));
  EXPECT_EQ(other->stats().of(QueueKind::kStandard).ready, 0u);
}

TEST_P(CrashQueueContract, InvalidBodiesAreDeadLetteredNeverDelivered) {
  backend_->inject_raw(settings_, QueueKind::kStandard, "../../etc/passwd");
  backend_->inject_raw(settings_, QueueKind::kStandard, "bp-de1bb258-cbbf-4589-a673-34f800160918");
  backend_->inject_raw(settings_, QueueKind::kStandard, "de1bb258-cbbf-4589-a673-34f800160918:drop_tables");
  CrashMessage good{test_crash_id()};
  auto q = open(settings_);
  q->publish(good, QueueKind::kStandard);
  std::vector<DeadLetter> dead;
  q->set_dead_letter_handler([&dead](const DeadLetter& d) { dead.push_back(d); });

  auto d = q->consume(10s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message, good);
  EXPECT_TRUE(q->ack(*d));
  ASSERT_EQ(dead.size(), 3u);
  for (const auto& letter : dead) {
    EXPECT_FALSE(letter.message) << letter.body;
    EXPECT_NE(letter.reason.find("invalid message"), std::string::npos) << letter.reason;
  }
  EXPECT_EQ(dead[0].body, "../../etc/passwd");
  EXPECT_EQ(q->stats().of(QueueKind::kStandard).dead_letters, 3u);
}

TEST_P(CrashQueueContract, PublishRefusesNothingButValidMessages) {
  // CrashMessage can only hold a validated id; the consumer side re-validates (test above).
  EXPECT_FALSE(CrashMessage::parse("de1bb258-cbbf-4589-a673-34f800160918:"));
  auto q = open(settings_);
  std::vector<CrashMessage> none;
  q->publish_batch(none, QueueKind::kStandard);  // an empty batch is a no-op
  EXPECT_EQ(q->stats().of(QueueKind::kStandard).ready, 0u);
}

TEST_P(CrashQueueContract, DeliveryOfADeadConsumerGoesToAnother) {
  CrashMessage m{test_crash_id()};
  {
    auto q = open(settings_);
    q->publish(m, QueueKind::kStandard);
  }
  EXPECT_EQ(backend_->consume_and_die(settings_), m.encode());

  auto q = open(settings_);
  auto d = q->consume(backend_->redelivery_delay() + 30s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message, m);
  EXPECT_EQ(d->attempt, 2u);
  EXPECT_TRUE(q->ack(*d));
  EXPECT_FALSE(q->consume(300ms));
}

TEST_P(CrashQueueContract, RetryDeliversAgainAndCountsAttempts) {
  auto q = open(settings_);
  CrashMessage m{test_crash_id()};
  q->publish(m, QueueKind::kPriority);
  auto d = q->consume(10s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->attempt, 1u);
  EXPECT_TRUE(q->retry(*d, "symbol server timed out"));
  auto again = q->consume(10s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->message, m);
  EXPECT_EQ(again->queue, QueueKind::kPriority);
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_TRUE(q->ack(*again));
  EXPECT_FALSE(q->consume(300ms));
}

TEST_P(CrashQueueContract, PoisonMessageIsDeadLetteredAfterMaxDeliveries) {
  settings_.max_deliveries = 3;
  CrashMessage poison{test_crash_id()};
  CrashMessage healthy{test_crash_id()};
  {
    auto q = open(settings_);
    q->publish(poison, QueueKind::kStandard);
  }
  // Three consumers die on it in turn.
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(backend_->redelivery_delay());
    ASSERT_EQ(backend_->consume_and_die(settings_), poison.encode()) << "death " << i + 1;
  }
  auto q = open(settings_);
  std::vector<DeadLetter> dead;
  q->set_dead_letter_handler([&dead](const DeadLetter& d) { dead.push_back(d); });
  q->publish(healthy, QueueKind::kStandard);
  auto d = q->consume(backend_->redelivery_delay() + 30s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message, healthy) << "the poison message must not be delivered a fourth time";
  EXPECT_TRUE(q->ack(*d));
  EXPECT_FALSE(q->consume(backend_->redelivery_delay() + 500ms));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message, poison);
  EXPECT_EQ(dead[0].deliveries, 3u);
  EXPECT_NE(dead[0].reason.find("not acknowledged"), std::string::npos) << dead[0].reason;
  EXPECT_EQ(q->stats().of(QueueKind::kStandard).dead_letters, 1u);
}

TEST_P(CrashQueueContract, RetryingUntilTheLimitDeadLettersWithTheReason) {
  settings_.max_deliveries = 4;
  auto q = open(settings_);
  std::vector<DeadLetter> dead;
  q->set_dead_letter_handler([&dead](const DeadLetter& d) { dead.push_back(d); });
  CrashMessage m{test_crash_id()};
  q->publish(m, QueueKind::kReprocessing);
  for (uint32_t attempt = 1; attempt <= 4; ++attempt) {
    auto d = q->consume(10s);
    ASSERT_TRUE(d) << "attempt " << attempt;
    EXPECT_EQ(d->attempt, attempt);
    EXPECT_TRUE(q->retry(*d, "stackwalker crashed"));
  }
  EXPECT_FALSE(q->consume(500ms));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].queue, QueueKind::kReprocessing);
  EXPECT_EQ(dead[0].deliveries, 4u);
  EXPECT_NE(dead[0].reason.find("stackwalker crashed"), std::string::npos);
  EXPECT_EQ(q->stats().of(QueueKind::kReprocessing).dead_letters, 1u);
}

TEST_P(CrashQueueContract, GiveUpDeadLettersAtOnce) {
  auto q = open(settings_);
  std::vector<DeadLetter> dead;
  q->set_dead_letter_handler([&dead](const DeadLetter& d) { dead.push_back(d); });
  CrashMessage m{test_crash_id()};
  q->publish(m, QueueKind::kStandard);
  auto d = q->consume(10s);
  ASSERT_TRUE(d);
  EXPECT_TRUE(q->give_up(*d, "raw crash is corrupt"));
  EXPECT_FALSE(q->ack(*d)) << "a delivery that was given up is no longer ours";
  EXPECT_FALSE(q->consume(300ms));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "raw crash is corrupt");
  EXPECT_EQ(dead[0].message, m);
}

TEST_P(CrashQueueContract, PriorityOvertakesA10000MessageStandardBacklog) {
  auto q = open(settings_);
  auto backlog = make_messages(10000);
  for (size_t i = 0; i < backlog.size(); i += 1000) {
    q->publish_batch(std::span<const CrashMessage>(backlog).subspan(i, 1000), QueueKind::kStandard);
  }
  CrashMessage urgent{test_crash_id()};
  q->publish(urgent, QueueKind::kPriority);
  // Within a window of what a consumer may already hold (prefetch, per queue).
  size_t window = backend_->strict_priority() ? 1 : 2 * settings_.prefetch + 1;
  auto find_urgent = [&](const CrashMessage& want) -> size_t {
    for (size_t n = 1; n <= window; ++n) {
      auto d = q->consume(10s);
      if (!d) return 0;
      EXPECT_TRUE(q->ack(*d));
      if (d->message == want) {
        EXPECT_EQ(d->queue, QueueKind::kPriority);
        return n;
      }
    }
    return 0;
  };
  size_t at = find_urgent(urgent);
  EXPECT_GE(at, 1u) << "priority message not among the first " << window << " of 10,001 deliveries";
  // Mid-stream too: a consumer busy on the backlog takes a new priority message next.
  CrashMessage urgent2{test_crash_id()};
  q->publish(urgent2, QueueKind::kPriority);
  window = backend_->strict_priority() ? 1 : settings_.prefetch + 1;
  at = find_urgent(urgent2);
  EXPECT_GE(at, 1u) << "mid-stream priority message not among the next " << window;
  EXPECT_GE(q->stats().of(QueueKind::kStandard).ready, 9000u);
  EXPECT_GE(q->purge(QueueKind::kStandard), 9000u);
}

TEST_P(CrashQueueContract, ReprocessingGetsABoundedShareWhileStandardHasWork) {
  settings_.reprocessing_share = 6;
  auto q = open(settings_);
  q->publish_batch(make_messages(200), QueueKind::kStandard);
  q->publish_batch(make_messages(100), QueueKind::kReprocessing);
  size_t reprocessing = 0;
  const size_t n = 120;
  for (size_t i = 0; i < n; ++i) {
    auto d = q->consume(10s);
    ASSERT_TRUE(d);
    if (d->queue == QueueKind::kReprocessing) ++reprocessing;
    q->ack(*d);
  }
  // 1 in 6 = 20 of 120; a consumer's buffers may shift it by a few.
  EXPECT_GE(reprocessing, 15u);
  EXPECT_LE(reprocessing, 25u);
  // Once standard is empty, reprocessing gets everything.
  size_t rest_standard = 0, rest_reprocessing = 0;
  while (auto d = q->consume(1s)) {
    (d->queue == QueueKind::kStandard ? rest_standard : rest_reprocessing)++;
    q->ack(*d);
  }
  EXPECT_EQ(rest_standard + (n - reprocessing), 200u);
  EXPECT_EQ(rest_reprocessing + reprocessing, 100u);
}

TEST_P(CrashQueueContract, IdleConsumerIsWokenByAPriorityMessage) {
  auto consumer = open(settings_);
  auto publisher = open(settings_);
  EXPECT_FALSE(consumer->consume(200ms));  // connected and idle
  std::optional<Delivery> got;
  Clock::time_point received;
  std::thread t([&] {
    got = consumer->consume(20s);
    received = Clock::now();
  });
  std::this_thread::sleep_for(300ms);
  CrashMessage m{test_crash_id()};
  auto sent = Clock::now();
  publisher->publish(m, QueueKind::kPriority);
  t.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->message, m);
  // The goal is 100 ms (measured by bench/queue); this only proves there is no polling sleep.
  EXPECT_LT(received - sent, 1500ms);
  consumer->ack(*got);
}

TEST_P(CrashQueueContract, OutageDuringAStreamOf2000LosesNothing) {
  settings_.publish_timeout = 120s;
  const size_t total = 2000;
  auto messages = make_messages(total);
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> stored;  // what a processor would have saved, keyed by crash id
  size_t deliveries = 0;
  std::atomic<bool> stop{false};
  std::atomic<size_t> published{0};
  std::atomic<size_t> publish_errors{0};

  std::thread publisher([&] {
    auto q = open(settings_);
    for (const auto& m : messages) {
      for (;;) {
        try {
          q->publish(m, QueueKind::kStandard);
          break;
        } catch (const QueueUnavailable&) {
          ++publish_errors;  // a caller that wants the message keeps trying
        }
      }
      ++published;
    }
  });
  std::thread consumer([&] {
    auto q = open(settings_);
    while (!stop) {
      std::optional<Delivery> d;
      try {
        d = q->consume(500ms);
      } catch (const QueueUnavailable&) {
        continue;  // the same instance reconnects on the next call
      }
      if (!d) continue;
      {
        std::lock_guard lock(mutex);
        stored[d->message.id.str()]++;
        ++deliveries;
      }
      changed.notify_all();
      q->ack(*d);
    }
  });

  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 120s, [&] { return stored.size() >= 500; }));
  }
  backend_->interrupt();
  {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 300s, [&] { return stored.size() >= total; });
  }
  stop = true;
  publisher.join();
  consumer.join();

  EXPECT_EQ(published.load(), total);
  EXPECT_EQ(stored.size(), total) << "messages lost";
  for (const auto& m : messages) EXPECT_EQ(stored.count(m.id.str()), 1u) << m.id.str();
  size_t duplicates = deliveries - stored.size();
  RecordProperty("duplicate_deliveries", static_cast<int>(duplicates));
  RecordProperty("publish_errors", static_cast<int>(publish_errors.load()));
  // At-least-once: a restart may redeliver what was in flight, never more than that.
  EXPECT_LE(duplicates, 4 * static_cast<size_t>(settings_.prefetch) + 10);
}

TEST_P(CrashQueueContract, ParallelConsumersEachGetEveryMessageOnce) {
  settings_.lease = std::chrono::minutes(5);  // this test is about sharing, not lease expiry
  auto q = open(settings_);
  auto messages = make_messages(600);
  q->publish_batch(messages, QueueKind::kStandard);
  std::mutex mutex;
  std::multiset<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      auto mine = open(settings_);
      while (auto d = mine->consume(2s)) {
        {
          std::lock_guard lock(mutex);
          seen.insert(d->message.id.str());
        }
        EXPECT_TRUE(mine->ack(*d));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), messages.size());
  for (const auto& m : messages) EXPECT_EQ(seen.count(m.id.str()), 1u);
}

TEST_P(CrashQueueContract, PurgeAndStats) {
  auto q = open(settings_);
  q->publish_batch(make_messages(5), QueueKind::kReprocessing);
  q->publish(CrashMessage{test_crash_id()}, QueueKind::kPriority);
  auto stats = q->stats();
  EXPECT_EQ(stats.of(QueueKind::kReprocessing).ready, 5u);
  EXPECT_EQ(stats.of(QueueKind::kPriority).ready, 1u);
  EXPECT_EQ(stats.of(QueueKind::kStandard).ready, 0u);
  EXPECT_EQ(q->purge(QueueKind::kReprocessing), 5u);
  EXPECT_EQ(q->stats().of(QueueKind::kReprocessing).ready, 0u);
  EXPECT_EQ(q->stats().of(QueueKind::kPriority).ready, 1u);
}

}  // namespace bw::queue::contract
