#include "processor/crash_pipeline.h"

#include "core/log.h"
#include "core/timestamp.h"
#include "processor/rules.h"

namespace bw::processor {

using nlohmann::json;

CrashPipeline::CrashPipeline(storage::CrashStorage& storage, Ruleset default_rules, Ruleset regenerate_rules,
                             bool test_hooks, index::CrashIndex* index)
    : storage_(storage),
      default_rules_(std::move(default_rules)),
      regenerate_rules_(std::move(regenerate_rules)),
      test_hooks_(test_hooks),
      index_(index) {}

void CrashPipeline::save_and_index(const CrashId& id, const json& processed, const json* raw) {
  storage_.save_processed(id, processed);
  if (!index_) return;
  json stored_raw;
  if (!raw) {
    try {
      stored_raw = storage_.get_raw_crash(id);
    } catch (const storage::CrashNotFound&) {
      // Indexed from the processed crash alone: the annotation fallbacks are not used.
    } catch (const storage::CorruptCrashData&) {
    }
    raw = &stored_raw;
  }
  try {
    index_->upsert(processed, *raw);
  } catch (const index::InvalidCrash& e) {
    // Retrying cannot help: the crash is saved and stays readable by id, only not searchable.
    log_fields(*logger("processor"), spdlog::level::err, "processed crash saved but cannot be indexed",
               {{"crash_id", id.str()}, {"error", e.what()}});
  }
}

std::optional<json> CrashPipeline::previous_processed(const CrashId& id, std::vector<std::string>& notes) {
  try {
    json previous = storage_.get_processed(id);
    if (previous.is_object()) return previous;
    notes.push_back("the stored processed crash is not an object; its history is lost");
  } catch (const storage::CrashNotFound&) {
    // First processing.
  } catch (const storage::CorruptCrashData& e) {
    notes.push_back(std::string("the stored processed crash is unreadable; its history is lost: ") + e.what());
  }
  return std::nullopt;
}

json CrashPipeline::process(const CrashId& id, queue::Ruleset ruleset) {
  std::vector<std::string> notes;
  std::optional<json> previous = previous_processed(id, notes);
  if (ruleset == queue::Ruleset::kRegenerateSignature) {
    if (!previous || !previous->contains("json_dump")) {
      notes.push_back("regenerate_signature: no processed crash with a json_dump is stored; processed in full");
      return run_default(id, std::move(previous), std::move(notes));
    }
    ProcessingContext context(id);
    context.notes = std::move(notes);
    context.processed = *previous;
    regenerate_rules_.run(context);
    // The earlier run's outcome stands: only the signature was recomputed.
    auto it = previous->find("success");
    if (it != previous->end() && it->is_boolean() && !it->get<bool>()) context.failed = true;
    finish(context, previous, ruleset);
    save_and_index(id, context.processed, nullptr);
    return std::move(context.processed);
  }
  return run_default(id, std::move(previous), std::move(notes));
}

json CrashPipeline::run_default(const CrashId& id, std::optional<json> previous, std::vector<std::string> notes) {
  ProcessingContext context(id);
  context.notes = std::move(notes);
  context.raw_crash = storage_.get_raw_crash(id);
  storage::DumpFiles files = storage_.get_dumps_as_files(id);
  context.dumps = files.paths();
  if (test_hooks_ && context.raw_crash.is_object()) {
    auto it = context.raw_crash.find(kTestHookAnnotation);
    if (it != context.raw_crash.end() && it->is_string()) context.test_hook = it->get<std::string>();
  }
  default_rules_.run(context);
  finish(context, previous, queue::Ruleset::kDefault);
  save_and_index(id, context.processed, &context.raw_crash);
  return std::move(context.processed);
}

void CrashPipeline::finish(ProcessingContext& context, const std::optional<json>& previous, queue::Ruleset ruleset) {
  json history = json::array();
  if (previous) {
    if (auto it = previous->find("processor_history"); it != previous->end() && it->is_array()) history = *it;
    json entry = json::object();
    for (const char* key : {"started_datetime", "completed_datetime", "success", "processor_ruleset", "processor_notes"}) {
      if (auto it = previous->find(key); it != previous->end()) entry[key] = *it;
    }
    history.push_back(std::move(entry));
  }
  json& p = context.processed;
  p["processor_history"] = std::move(history);
  p["processor_notes"] = context.notes;
  p["processor_ruleset"] = std::string(queue::to_string(ruleset));
  p["started_datetime"] = iso_timestamp(context.started);
  p["completed_datetime"] = iso_timestamp(std::chrono::system_clock::now());
  p["success"] = !context.failed;
  p["uuid"] = context.id.str();
}

json CrashPipeline::record_failure(const CrashId& id, const std::string& reason) {
  // A processed crash exists only for a stored crash: never invent one for an id that was queued
  // without being stored (the dead-letter queue keeps the message and its reason).
  if (!storage_.has_raw_crash(id)) throw storage::CrashNotFound("no raw crash stored for " + id.str());
  std::vector<std::string> notes;
  std::optional<json> previous = previous_processed(id, notes);
  ProcessingContext context(id);
  context.notes = std::move(notes);
  if (previous) context.processed = *previous;
  context.note("processing failed: " + reason);
  context.failed = true;
  finish(context, previous, queue::Ruleset::kDefault);
  json& p = context.processed;
  if (!p.contains("date_processed")) {
    // Never processed: dated by its arrival like a processed crash, so it is findable by date.
    json raw;
    try {
      raw = storage_.get_raw_crash(id);
    } catch (const std::exception&) {
    }
    auto it = raw.is_object() ? raw.find("submitted_timestamp") : raw.end();
    p["date_processed"] = (raw.is_object() && it != raw.end() && it->is_string())
                              ? it->get<std::string>()
                              : iso_timestamp(std::chrono::system_clock::now());
  }
  try {
    save_and_index(id, p, nullptr);
  } catch (const index::IndexUnavailable& e) {
    // Saved (storage is the truth); `admin index rebuild` or a later processing indexes it.
    log_fields(*logger("processor"), spdlog::level::warn, "failed crash saved but not indexed",
               {{"crash_id", id.str()}, {"error", e.what()}});
  }
  return std::move(context.processed);
}

}  // namespace bw::processor
