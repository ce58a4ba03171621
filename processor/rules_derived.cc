// derived, truncate and dates: fields computed from json_dump and the annotations.
#include <set>

#include "core/timestamp.h"
#include "processor/rules.h"
#include "signature/crash_input.h"

namespace bw::processor {
namespace {

using nlohmann::json;

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const json& object, const char* key) {
  const json* v = member(object, key);
  if (v && v->is_string()) return v->get<std::string>();
  return std::nullopt;
}

// A non-negative integer member (parsed JSON gives unsigned; built JSON may give signed).
std::optional<size_t> index_member(const json& object, const char* key) {
  const json* v = member(object, key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<size_t>();
  if (v->is_number_integer() && v->get<int64_t>() >= 0) return static_cast<size_t>(v->get<int64_t>());
  return std::nullopt;
}

// The crashing thread's frames, found as signature generation finds the thread.
const json* crashing_frames(const json& dump) {
  const json* thread = signature::find_crashing_thread(dump, nullptr, nullptr);
  if (thread == nullptr) return nullptr;
  const json* frames = member(*thread, "frames");
  return frames && frames->is_array() ? frames : nullptr;
}

// "debug_file/debug_id" of a module entry of json_dump.modules, or nullopt.
std::optional<std::string> module_key(const json& module) {
  auto file = string_member(module, "debug_file");
  auto id = string_member(module, "debug_id");
  if (!file || !id) return std::nullopt;
  return *file + "/" + *id;
}

}  // namespace

bool DerivedFieldsRule::predicate(const ProcessingContext& context) const {
  const json* dump = member(context.processed, "json_dump");
  return dump && dump->is_object() && member(*dump, "threads") != nullptr;
}

void DerivedFieldsRule::action(ProcessingContext& context) {
  json& p = context.processed;
  const json& dump = p["json_dump"];
  const json* info = member(dump, "crash_info");
  // A plain index with a sentinel: GCC 12 misreads std::optional here (-Wmaybe-uninitialized).
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t crashing = kNone;
  if (info) crashing = index_member(*info, "crashing_thread").value_or(kNone);
  p["crashing_thread"] = crashing != kNone ? json(crashing) : json(nullptr);
  p["reason"] = info && string_member(*info, "type") ? json(*string_member(*info, "type")) : json(nullptr);
  p["address"] = info && string_member(*info, "address") ? json(*string_member(*info, "address")) : json(nullptr);
  if (const json* threads = member(dump, "threads"); threads && threads->is_array() &&
                                                     crashing < threads->size()) {
    auto name = string_member((*threads)[crashing], "thread_name");
    p["crashing_thread_name"] = name ? json(*name) : json(nullptr);
  }

  const json* sys = member(dump, "system_info");
  auto copy = [&](const char* to, const char* from) {
    const json* v = sys ? member(*sys, from) : nullptr;
    p[to] = v && (v->is_string() || v->is_number()) ? *v : json(nullptr);
  };
  copy("cpu_arch", "cpu_arch");
  copy("cpu_info", "cpu_info");
  copy("cpu_count", "cpu_count");
  copy("os_name", "os");
  copy("os_version", "os_ver");

  // Modules by file name, as frames name them.
  std::map<std::string, const json*> by_filename;
  json missing = json::array();
  if (const json* modules = member(dump, "modules"); modules && modules->is_array()) {
    for (const auto& m : *modules) {
      if (auto f = string_member(m, "filename")) by_filename.emplace(*f, &m);
      const json* miss = member(m, "missing_symbols");
      if (miss && miss->is_boolean() && miss->get<bool>()) {
        if (auto key = module_key(m)) missing.push_back(*key);
      }
    }
  }
  p["missing_symbols"] = std::move(missing);

  json in_stack = json::array();
  json topmost = json::array();
  std::set<std::string> seen;
  if (const json* frames = crashing_frames(dump)) {
    for (const auto& frame : *frames) {
      if (auto module = string_member(frame, "module")) {
        auto it = by_filename.find(*module);
        std::string key = it != by_filename.end() ? module_key(*it->second).value_or(*module) : *module;
        if (seen.insert(key).second) in_stack.push_back(key);
      }
      if (topmost.empty()) {
        // Inlined frames come before the frame that holds them (innermost first).
        if (const json* inl = member(frame, "inlines"); inl && inl->is_array()) {
          for (const auto& i : *inl) {
            if (auto file = string_member(i, "file"); file && topmost.empty()) topmost.push_back(*file);
          }
        }
        if (auto file = string_member(frame, "file"); file && topmost.empty()) topmost.push_back(*file);
      }
    }
  }
  p["modules_in_stack"] = std::move(in_stack);
  p["topmost_filenames"] = std::move(topmost);
}

TruncateStacksRule::TruncateStacksRule(size_t max_frames) : max_frames_(max_frames < 2 ? 2 : max_frames) {}

bool TruncateStacksRule::predicate(const ProcessingContext& context) const {
  const json* dump = member(context.processed, "json_dump");
  return dump && dump->is_object();
}

void TruncateStacksRule::action(ProcessingContext& context) {
  json& dump = context.processed["json_dump"];
  size_t head = max_frames_ / 2, tail = max_frames_ - head;
  auto truncate = [&](json& thread, const std::string& label, bool report) {
    if (!thread.is_object()) return;
    auto it = thread.find("frames");
    if (it == thread.end() || !it->is_array() || it->size() <= max_frames_) return;
    json& frames = *it;
    size_t total = frames.size();
    json kept = json::array();
    for (size_t i = 0; i < head; ++i) kept.push_back(std::move(frames[i]));
    for (size_t i = total - tail; i < total; ++i) kept.push_back(std::move(frames[i]));
    frames = std::move(kept);
    thread["truncated"] = true;
    if (report) {
      context.note(label + ": " + std::to_string(total) + " frames truncated to the first " + std::to_string(head) +
                   " and the last " + std::to_string(tail));
    }
  };
  if (auto it = dump.find("threads"); it != dump.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) truncate((*it)[i], "thread " + std::to_string(i), true);
  }
  if (auto it = dump.find("crashing_thread"); it != dump.end()) truncate(*it, "crashing thread", false);
}

void DatesRule::action(ProcessingContext& context) {
  json& p = context.processed;
  std::optional<int64_t> submitted;
  if (auto ts = string_member(context.raw_crash, "submitted_timestamp")) submitted = parse_iso_seconds(*ts);
  if (auto ts = string_member(p, "submitted_timestamp"); !submitted && ts) submitted = parse_iso_seconds(*ts);
  // date_processed is when the crash came in (Socorro's meaning), so reprocessing keeps it.
  if (submitted) {
    p["date_processed"] = iso_from_seconds(*submitted);
  } else {
    p["date_processed"] = iso_timestamp(context.started);
    context.note("no valid submitted_timestamp; date_processed is the processing time");
  }

  std::optional<int64_t> crash_time;
  if (auto it = context.raw_crash.find("CrashTime"); it != context.raw_crash.end()) {
    if (it->is_number_integer()) {
      crash_time = it->get<int64_t>();
    } else if (it->is_string()) {
      try {
        size_t used = 0;
        std::string s = it->get<std::string>();
        long long v = std::stoll(s, &used);
        if (used == s.size()) crash_time = v;
      } catch (const std::exception&) {
        // Not a number: noted below.
      }
      if (!crash_time) context.note("annotation CrashTime is not an integer; the submission time is used");
    }
  }
  if (!crash_time) crash_time = submitted;
  if (crash_time) {
    p["crash_time"] = *crash_time;
    p["client_crash_date"] = iso_from_seconds(*crash_time);
  } else {
    p["crash_time"] = nullptr;
    p["client_crash_date"] = nullptr;
  }

  auto since = [&](const char* field) -> json {
    auto it = p.find(field);
    if (!crash_time || it == p.end() || !it->is_number_integer()) return nullptr;
    int64_t d = *crash_time - it->get<int64_t>();
    return d < 0 ? 0 : d;  // clocks of clients disagree; a negative age means "just now"
  };
  p["install_age"] = since("install_time");
  json uptime = since("startup_time");
  if (uptime.is_null()) {
    // Without StartupTime, the process uptime the minidump recorded.
    const json* dump = member(p, "json_dump");
    const json* pu = dump ? member(*dump, "process_uptime") : nullptr;
    if (pu && pu->is_number()) uptime = pu->get<int64_t>();
  }
  p["uptime"] = uptime;
}

const std::vector<std::string>& default_rule_names() {
  static const std::vector<std::string> names = {"cleanup", "annotations", "stackwalk", "derived",
                                                 "truncate", "dates", "signature"};
  return names;
}

std::unique_ptr<Rule> make_rule(std::string_view name, const RuleDependencies& deps) {
  if (name == "cleanup") return std::make_unique<CleanupRule>();
  if (name == "annotations") return std::make_unique<AnnotationsRule>();
  if (name == "stackwalk") {
    if (!deps.walker) throw std::invalid_argument("rule stackwalk needs a dump walker");
    return std::make_unique<StackwalkRule>(*deps.walker);
  }
  if (name == "derived") return std::make_unique<DerivedFieldsRule>();
  if (name == "truncate") return std::make_unique<TruncateStacksRule>(deps.max_frames);
  if (name == "dates") return std::make_unique<DatesRule>();
  if (name == "signature") {
    if (!deps.signatures) throw std::invalid_argument("rule signature needs a signature generator");
    return std::make_unique<SignatureRule>(*deps.signatures);
  }
  std::string known;
  for (const auto& n : default_rule_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown processor rule '" + std::string(name) + "' (known: " + known + ")");
}

Ruleset make_ruleset(const std::vector<std::string>& names, const RuleDependencies& deps) {
  std::vector<std::unique_ptr<Rule>> rules;
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) throw std::invalid_argument("processor rule '" + n + "' listed twice");
    rules.push_back(make_rule(n, deps));
  }
  return Ruleset(std::move(rules));
}

}  // namespace bw::processor
