#include "processor/admin.h"

namespace bw::processor {
namespace {

AdminRequestResult publish(queue::CrashQueue& queue, storage::CrashStorage* storage, const std::vector<std::string>& ids,
                           queue::Ruleset ruleset, queue::QueueKind kind) {
  AdminRequestResult result;
  std::vector<queue::CrashMessage> messages;
  for (const auto& text : ids) {
    std::string why;
    auto id = CrashId::parse(text, &why);
    if (!id) {
      result.refused.push_back(text + ": not a crash id (" + why + ")");
      continue;
    }
    if (storage && !storage->has_raw_crash(*id)) {
      result.refused.push_back(text + ": no such crash is stored");
      continue;
    }
    messages.push_back({*id, ruleset});
  }
  if (!messages.empty()) queue.publish_batch(messages, kind);
  for (const auto& m : messages) result.published.push_back(m.id);
  return result;
}

}  // namespace

AdminRequestResult request_processing(queue::CrashQueue& queue, storage::CrashStorage* storage,
                                      const std::vector<std::string>& ids, queue::Ruleset ruleset, queue::QueueKind kind) {
  return publish(queue, storage, ids, ruleset, kind);
}

AdminRequestResult request_reprocessing(queue::CrashQueue& queue, storage::CrashStorage* storage,
                                        const std::vector<std::string>& ids, queue::Ruleset ruleset) {
  return publish(queue, storage, ids, ruleset, queue::QueueKind::kReprocessing);
}

AdminRequestResult request_priority(queue::CrashQueue& queue, storage::CrashStorage* storage,
                                    const std::vector<std::string>& ids) {
  return publish(queue, storage, ids, queue::Ruleset::kDefault, queue::QueueKind::kPriority);
}

}  // namespace bw::processor
