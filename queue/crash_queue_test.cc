// Message bodies, queue names, consumption order and settings: the parts both queues share.
#include "queue/crash_queue.h"

#include <gtest/gtest.h>

#include "core/config.h"

namespace bw::queue {
namespace {

const char* kId = "de1bb258-cbbf-4589-a673-34f800160918";

TEST(CrashMessage, EncodesTheIdAloneForTheDefaultRuleset) {
  auto id = *CrashId::parse(kId);
  EXPECT_EQ((CrashMessage{id}).encode(), kId);
  EXPECT_EQ((CrashMessage{id, Ruleset::kRegenerateSignature}).encode(), std::string(kId) + ":regenerate_signature");
}

TEST(CrashMessage, ParsesTheThreeForms) {
  auto plain = CrashMessage::parse(kId);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->id.str(), kId);
  EXPECT_EQ(plain->ruleset, Ruleset::kDefault);
  auto with_default = CrashMessage::parse(std::string(kId) + ":default");
  ASSERT_TRUE(with_default);
  EXPECT_EQ(with_default->ruleset, Ruleset::kDefault);
  auto regen = CrashMessage::parse(std::string(kId) + ":regenerate_signature");
  ASSERT_TRUE(regen);
  EXPECT_EQ(regen->ruleset, Ruleset::kRegenerateSignature);
  EXPECT_EQ(CrashMessage::parse(regen->encode()), regen);
}

TEST(CrashMessage, RefusesEverythingElseWithAReason) {
  const std::vector<std::string> bad = {
      "",
      "bp-de1bb258-cbbf-4589-a673-34f800160918",
      "DE1BB258-CBBF-4589-A673-34F800160918",
      "de1bb258-cbbf-4589-a673-34f800161318",  // month 13
      "de1bb258-cbbf-4589-a673-34f800160918:",
      "de1bb258-cbbf-4589-a673-34f800160918:reprocess",
      "de1bb258-cbbf-4589-a673-34f800160918:default:default",
      "de1bb258-cbbf-4589-a673-34f800160918 ",
      "../../../etc/passwd",
      std::string("de1bb258-cbbf-4589-a673-34f80016091\0", 36),
      ":default",
  };
  for (const auto& body : bad) {
    std::string why;
    EXPECT_FALSE(CrashMessage::parse(body, &why)) << body;
    EXPECT_FALSE(why.empty()) << body;
  }
}

TEST(QueueKind, NamesRoundTrip) {
  for (QueueKind kind : kAllQueueKinds) EXPECT_EQ(parse_queue_kind(to_string(kind)), kind);
  EXPECT_FALSE(parse_queue_kind("normal"));
}

TEST(ConsumptionOrder, PriorityAlwaysFirst) {
  ConsumptionOrder order(6);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order.next(true, true, true), QueueKind::kPriority);
  EXPECT_EQ(order.next(false, false, false), std::nullopt);
}

TEST(ConsumptionOrder, ReprocessingGetsOneInN) {
  ConsumptionOrder order(6);
  int reprocessing = 0;
  for (int i = 0; i < 600; ++i) {
    if (order.next(false, true, true) == QueueKind::kReprocessing) ++reprocessing;
  }
  EXPECT_EQ(reprocessing, 100);
  // Alone, each queue gets everything.
  EXPECT_EQ(order.next(false, false, true), QueueKind::kReprocessing);
  EXPECT_EQ(order.next(false, true, false), QueueKind::kStandard);
  EXPECT_THROW(ConsumptionOrder(1), std::invalid_argument);
}

TEST(QueueSettings, FromConfigReadsTheQueueSection) {
  Config::Sources src;
  src.overrides = {{"server.data", "/srv/bw"},
                   {"queue.priority_name", "socorro.priority"},
                   {"queue.max_deliveries", "3"},
                   {"queue.lease", "90s"},
                   {"queue.quorum", "true"}};
  auto s = QueueSettings::from_config(Config::load(src));
  EXPECT_EQ(s.embedded_path, std::filesystem::path("/srv/bw/queue/crash-queue.sqlite"));
  EXPECT_EQ(s.name(QueueKind::kPriority), "socorro.priority");
  EXPECT_EQ(s.dead_letter_name(QueueKind::kPriority), "socorro.priority.dead");
  EXPECT_EQ(s.name(QueueKind::kStandard), "breakwater.standard");
  EXPECT_EQ(s.max_deliveries, 3u);
  EXPECT_EQ(s.lease, std::chrono::seconds(90));
  EXPECT_TRUE(s.quorum);
}

TEST(QueueSettings, RefusesNonsense) {
  Config::Sources src;
  src.overrides = {{"queue.standard_name", "same"}, {"queue.priority_name", "same"}};
  EXPECT_THROW(QueueSettings::from_config(Config::load(src)), ConfigError);
  src.overrides = {{"queue.reprocessing_share", "1"}};
  EXPECT_THROW(QueueSettings::from_config(Config::load(src)), ConfigError);
  src.overrides = {{"queue.max_deliveries", "0"}};
  EXPECT_THROW(QueueSettings::from_config(Config::load(src)), ConfigError);
  QueueSettings s;
  s.url = "http://example.invalid/";
  EXPECT_THROW(open_crash_queue(s), std::invalid_argument);
}

}  // namespace
}  // namespace bw::queue
