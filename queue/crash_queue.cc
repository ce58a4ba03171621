#include "queue/crash_queue.h"

#include <string>

#include "core/config.h"
#include "queue/rabbitmq_crash_queue.h"
#include "queue/sqlite_crash_queue.h"

namespace bw::queue {

std::string_view to_string(QueueKind kind) {
  switch (kind) {
    case QueueKind::kStandard:
      return "standard";
    case QueueKind::kPriority:
      return "priority";
    case QueueKind::kReprocessing:
      return "reprocessing";
  }
  return "unknown";
}

std::optional<QueueKind> parse_queue_kind(std::string_view text) {
  for (QueueKind kind : kAllQueueKinds) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

std::string_view to_string(Ruleset ruleset) {
  return ruleset == Ruleset::kRegenerateSignature ? "regenerate_signature" : "default";
}

std::optional<Ruleset> parse_ruleset(std::string_view text) {
  for (Ruleset ruleset : {Ruleset::kDefault, Ruleset::kRegenerateSignature}) {
    if (text == to_string(ruleset)) return ruleset;
  }
  return std::nullopt;
}

std::string CrashMessage::encode() const {
  if (ruleset == Ruleset::kDefault) return id.str();
  return id.str() + ":" + std::string(to_string(ruleset));
}

std::optional<CrashMessage> CrashMessage::parse(std::string_view body, std::string* why) {
  auto fail = [why](std::string reason) -> std::optional<CrashMessage> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  std::string_view id_text = body;
  std::string_view ruleset_text;
  if (auto colon = body.find(':'); colon != std::string_view::npos) {
    id_text = body.substr(0, colon);
    ruleset_text = body.substr(colon + 1);
    if (ruleset_text.empty()) return fail("empty ruleset after ':'");
  }
  // CrashId::parse accepts "bp-"; a queue message carries the bare id only.
  if (id_text.size() != CrashId::kLength) return fail("crash id is not 36 characters");
  std::string id_why;
  auto id = CrashId::parse(id_text, &id_why);
  if (!id) return fail("invalid crash id: " + id_why);
  CrashMessage message{*id, Ruleset::kDefault};
  if (ruleset_text.empty()) return message;
  auto ruleset = parse_ruleset(ruleset_text);
  if (!ruleset) return fail("unknown ruleset (want " + std::string(kRulesetNames) + ")");
  message.ruleset = *ruleset;
  return message;
}

void CrashQueue::report_dead_letter(const DeadLetter& letter) {
  if (dead_letter_handler_) dead_letter_handler_(letter);
}

ConsumptionOrder::ConsumptionOrder(uint32_t reprocessing_share) : share_(reprocessing_share) {
  if (share_ < 2) throw std::invalid_argument("reprocessing_share must be at least 2");
}

std::optional<QueueKind> ConsumptionOrder::next(bool priority_ready, bool standard_ready,
                                                bool reprocessing_ready) {
  if (priority_ready) return QueueKind::kPriority;
  if (standard_ready && reprocessing_ready) {
    if (standard_since_reprocessing_ + 1 >= share_) {
      standard_since_reprocessing_ = 0;
      return QueueKind::kReprocessing;
    }
    ++standard_since_reprocessing_;
    return QueueKind::kStandard;
  }
  if (standard_ready) {
    // Standard alone: the share only applies while both compete.
    standard_since_reprocessing_ = 0;
    return QueueKind::kStandard;
  }
  if (reprocessing_ready) {
    standard_since_reprocessing_ = 0;
    return QueueKind::kReprocessing;
  }
  return std::nullopt;
}

void QueueSettings::validate() const {
  for (QueueKind kind : kAllQueueKinds) {
    const std::string& n = name(kind);
    if (n.empty() || n.size() > 200) {
      throw std::invalid_argument("queue name for " + std::string(to_string(kind)) + " must be 1..200 characters");
    }
    for (QueueKind other : kAllQueueKinds) {
      if (other != kind && name(other) == n) throw std::invalid_argument("queue names must differ: " + n);
    }
  }
  if (dead_letter_suffix.empty()) throw std::invalid_argument("queue.dead_letter_suffix must not be empty");
  validate_delivery();
  if (url.empty() && embedded_path.empty()) throw std::invalid_argument("no queue url and no embedded queue path");
}

void QueueSettings::validate_delivery() const {
  if (prefetch < 1 || prefetch > 65535) throw std::invalid_argument("queue.prefetch must be 1..65535");
  if (max_deliveries < 1) throw std::invalid_argument("queue.max_deliveries must be at least 1");
  if (lease.count() <= 0) throw std::invalid_argument("queue.lease must be positive");
  if (reprocessing_share < 2) throw std::invalid_argument("queue.reprocessing_share must be at least 2");
  if (publish_timeout.count() < 0) throw std::invalid_argument("queue.publish_timeout must not be negative");
}

QueueSettings QueueSettings::from_config(const Config& config) {
  auto positive = [&config](const char* key) -> uint32_t {
    int64_t v = config.get_int("queue", key);
    if (v < 0 || v > 0xffffffffLL) throw ConfigError(std::string("config key 'queue.") + key + "' is out of range");
    return static_cast<uint32_t>(v);
  };
  QueueSettings s;
  s.url = config.get_string("queue", "url");
  s.embedded_path = config.data_path(config.get_string("queue", "embedded_path"), "queue/crash-queue.sqlite");
  s.names[static_cast<size_t>(QueueKind::kStandard)] = config.get_string("queue", "standard_name");
  s.names[static_cast<size_t>(QueueKind::kPriority)] = config.get_string("queue", "priority_name");
  s.names[static_cast<size_t>(QueueKind::kReprocessing)] = config.get_string("queue", "reprocessing_name");
  s.dead_letter_suffix = config.get_string("queue", "dead_letter_suffix");
  s.prefetch = positive("prefetch");
  s.max_deliveries = positive("max_deliveries");
  s.lease = config.get_duration("queue", "lease");
  s.quorum = config.get_bool("queue", "quorum");
  s.reprocessing_share = positive("reprocessing_share");
  s.publish_timeout = config.get_duration("queue", "publish_timeout");
  s.heartbeat = std::chrono::duration_cast<std::chrono::seconds>(config.get_duration("queue", "heartbeat"));
  try {
    s.validate();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  return s;
}

std::unique_ptr<CrashQueue> open_crash_queue(const QueueSettings& settings) {
  settings.validate();
  if (!settings.url.empty()) return std::make_unique<RabbitMqCrashQueue>(settings);
  return std::make_unique<SqliteCrashQueue>(settings);
}

}  // namespace bw::queue
