// The RabbitMQ queue against a real broker (tests/rabbitmq): the shared behavioural suite plus
// what only RabbitMQ shows (quorum queues, dead-letter queue contents, URL parsing).
#include "queue/rabbitmq_crash_queue.h"

#include <amqp_framing.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "queue/crash_queue_contract.h"
#include "tests/rabbitmq/rabbitmq_server.h"

namespace bw::queue {
namespace {

using namespace std::chrono_literals;

// One broker for the whole binary: it takes seconds to start.
bw::testing::RabbitMqServer* g_broker = nullptr;

class BrokerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!bw::testing::RabbitMqServer::available()) return;
    g_broker = new bw::testing::RabbitMqServer();
  }
  void TearDown() override {
    delete g_broker;
    g_broker = nullptr;
  }
};
const auto* const g_environment = ::testing::AddGlobalTestEnvironment(new BrokerEnvironment);

std::atomic<int> g_namespace{0};

QueueSettings broker_settings() {
  QueueSettings s;
  s.url = g_broker->url();
  std::string prefix = "t" + std::to_string(g_namespace.fetch_add(1)) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (QueueKind kind : kAllQueueKinds) s.names[static_cast<size_t>(kind)] = prefix + "." + std::string(to_string(kind));
  s.publish_timeout = 30s;
  return s;
}

class RabbitMqBackend : public contract::QueueBackend {
 public:
  QueueSettings fresh_settings() override {
    if (!g_broker) throw std::runtime_error("rabbitmq-server is not installed");
    return broker_settings();
  }
  void inject_raw(const QueueSettings& settings, QueueKind queue, const std::string& body) override {
    RabbitMqCrashQueue(settings).stats();  // declares the queues
    AmqpConnection c(AmqpEndpoint::parse(settings.url), 0s, 5000ms);
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    AmqpConnection::check_status(
        amqp_basic_publish(c.state(), AmqpConnection::kChannel, amqp_cstring_bytes(""),
                           amqp_cstring_bytes(settings.name(queue).c_str()), 0, 0, &props, amqp_cstring_bytes(body.c_str())),
        "publish");
    // A synchronous call on the same channel: the broker has routed the message once it answers.
    amqp_queue_declare(c.state(), AmqpConnection::kChannel, amqp_cstring_bytes(settings.name(queue).c_str()), 1, 0, 0,
                       0, amqp_empty_table);
    c.check_rpc("passive declare");
  }
  void interrupt() override {
    g_broker->stop();
    std::this_thread::sleep_for(1s);
    g_broker->start();
  }
  std::chrono::milliseconds redelivery_delay() const override { return 0ms; }
  bool strict_priority() const override { return false; }
};

using contract::CrashQueueContract;
INSTANTIATE_TEST_SUITE_P(RabbitMq, CrashQueueContract,
                         ::testing::Values(contract::BackendFactory([] { return std::make_unique<RabbitMqBackend>(); })));

TEST(AmqpEndpoint, ParsesUrls) {
  auto e = AmqpEndpoint::parse("amqp://bw:s%40cret@mq.example:5673/crashes");
  EXPECT_EQ(e.host, "mq.example");
  EXPECT_EQ(e.port, 5673);
  EXPECT_EQ(e.user, "bw");
  EXPECT_EQ(e.password, "s@cret");
  EXPECT_EQ(e.vhost, "crashes");
  EXPECT_EQ(AmqpEndpoint::parse("amqp://localhost").vhost, "/");
  EXPECT_EQ(AmqpEndpoint::parse("amqp://h/%2f").vhost, "/");
  EXPECT_EQ(e.display(), "mq.example:5673/crashes");
  EXPECT_THROW(AmqpEndpoint::parse("amqps://h/"), std::invalid_argument);
  EXPECT_THROW(AmqpEndpoint::parse("amqp://h:99999/"), std::invalid_argument);
}

TEST(RabbitMqCrashQueue, QuorumQueuesWork) {
  if (!g_broker) GTEST_SKIP() << "rabbitmq-server is not installed";
  auto s = broker_settings();
  s.quorum = true;
  RabbitMqCrashQueue q(s);
  CrashMessage m{CrashId::generate(ThrottleResult::kAccept)};
  q.publish(m, QueueKind::kStandard);
  auto d = q.consume(10s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message, m);
  EXPECT_TRUE(q.ack(*d));
  // Declaring the same names as classic queues must fail loudly, not silently mix types.
  s.quorum = false;
  s.publish_timeout = 1s;
  RabbitMqCrashQueue classic(s);
  EXPECT_THROW(classic.publish(m, QueueKind::kStandard), QueueUnavailable);
}

TEST(RabbitMqCrashQueue, DeadLetterQueueHoldsTheMessageAndReason) {
  if (!g_broker) GTEST_SKIP() << "rabbitmq-server is not installed";
  auto s = broker_settings();
  RabbitMqCrashQueue q(s);
  CrashMessage m{CrashId::generate(ThrottleResult::kAccept)};
  q.publish(m, QueueKind::kPriority);
  auto d = q.consume(10s);
  ASSERT_TRUE(d);
  ASSERT_TRUE(q.give_up(*d, "minidump is empty"));
  EXPECT_EQ(q.dead_letter_depth(QueueKind::kPriority), 1u);
  // A passive declare counts ready messages only: in_flight is not reported (queue_metrics.h).
  EXPECT_FALSE(q.stats().in_flight_reported);

  // Read the dead letter back: the body is intact and the reason is in its headers.
  AmqpConnection c(AmqpEndpoint::parse(s.url), 0s, 5000ms);
  std::string dlq = s.dead_letter_name(QueueKind::kPriority);
  amqp_rpc_reply_t reply = amqp_basic_get(c.state(), AmqpConnection::kChannel, amqp_cstring_bytes(dlq.c_str()), 1);
  ASSERT_EQ(reply.reply_type, AMQP_RESPONSE_NORMAL);
  ASSERT_EQ(reply.reply.id, AMQP_BASIC_GET_OK_METHOD);
  amqp_message_t message;
  ASSERT_EQ(amqp_read_message(c.state(), AmqpConnection::kChannel, &message, 0).reply_type, AMQP_RESPONSE_NORMAL);
  std::string body(static_cast<const char*>(message.body.bytes), message.body.len);
  EXPECT_EQ(body, m.encode());
  std::string reason, source;
  for (int i = 0; i < message.properties.headers.num_entries; ++i) {
    const auto& e = message.properties.headers.entries[i];
    std::string key(static_cast<const char*>(e.key.bytes), e.key.len);
    if (e.value.kind != AMQP_FIELD_KIND_UTF8) continue;
    std::string value(static_cast<const char*>(e.value.value.bytes.bytes), e.value.value.bytes.len);
    if (key == "x-bw-reason") reason = value;
    if (key == "x-bw-source-queue") source = value;
  }
  EXPECT_EQ(reason, "minidump is empty");
  EXPECT_EQ(source, s.name(QueueKind::kPriority));
  EXPECT_TRUE(message.properties._flags & AMQP_BASIC_DELIVERY_MODE_FLAG);
  EXPECT_EQ(message.properties.delivery_mode, AMQP_DELIVERY_PERSISTENT);
  amqp_destroy_message(&message);
}

TEST(RabbitMqCrashQueue, PublishFailsCleanlyWhenNoBrokerListens) {
  QueueSettings s;
  s.url = "amqp://guest:guest@127.0.0.1:1/";
  s.publish_timeout = 500ms;
  RabbitMqCrashQueue q(s);
  EXPECT_THROW(q.publish(CrashMessage{CrashId::generate(ThrottleResult::kAccept)}, QueueKind::kStandard),
               QueueUnavailable);
  EXPECT_THROW(q.consume(300ms), QueueUnavailable);
}

}  // namespace
}  // namespace bw::queue
