// stackwalk: every minidump of the crash walked in an isolated worker.
#include <chrono>

#include "core/metrics.h"
#include "processor/rules.h"

#ifndef BW_PROJECT_VERSION
#error "BW_PROJECT_VERSION must be defined by processor/CMakeLists.txt"
#endif

namespace bw::processor {
namespace {

using nlohmann::json;

constexpr std::string_view kMainDump = "upload_file_minidump";
constexpr const char* kNoMinidump = "NO_MINIDUMP";
// Walker notes copied into processor notes per dump, at most (a hostile dump can make many).
constexpr size_t kMaxWalkNotes = 20;

void copy_walk_notes(ProcessingContext& context, const std::string& dump, const WalkResult& result) {
  size_t n = 0;
  for (const auto& note : result.notes) {
    if (n++ == kMaxWalkNotes) {
      context.note(dump + ": " + std::to_string(result.notes.size() - kMaxWalkNotes) + " more stack-walk notes left out");
      break;
    }
    context.note(dump + ": " + note);
  }
}

}  // namespace

std::string stackwalk_version() { return std::string("breakwater-stackwalk ") + BW_PROJECT_VERSION; }

void StackwalkRule::action(ProcessingContext& context) {
  auto& registry = metrics::Registry::global();
  auto& latency = registry.histogram("bw_processor_stackwalk_seconds", "time to walk one dump (in a worker process)",
                                     metrics::default_latency_buckets());
  json& p = context.processed;
  p["stackwalk_version"] = stackwalk_version();
  bool main_seen = false;
  for (const auto& [name, path] : context.dumps) {
    if (!name.starts_with(kMainDump)) continue;
    auto start = std::chrono::steady_clock::now();
    WalkResult result = walker_.walk(WalkRequest{path, context.test_hook});
    latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    registry.counter("bw_processor_stackwalk_total", "dumps walked, by mdsw status", {{"status", result.status}}).inc();
    if (result.symbol_hits) registry.counter("bw_processor_symbol_cache_hits_total", "symbol modules found in a worker's cache").inc(static_cast<double>(result.symbol_hits));
    if (result.symbol_misses) registry.counter("bw_processor_symbol_cache_misses_total", "symbol modules loaded or looked up anew").inc(static_cast<double>(result.symbol_misses));
    copy_walk_notes(context, name, result);
    if (name == kMainDump) {
      main_seen = true;
      p["mdsw_status_string"] = result.status;
      p["json_dump"] = std::move(result.json_dump);
      if (result.status != kStatusOk) {
        context.failed = true;
        context.note("stack walk of " + name + " failed: " + result.status);
      }
    } else {
      bool ok = result.ok();
      p[name] = json{{"json_dump", std::move(result.json_dump)}, {"mdsw_status_string", result.status}, {"success", ok}};
      if (!ok) context.note("stack walk of " + name + " failed: " + result.status);
    }
  }
  if (!main_seen) {
    p["mdsw_status_string"] = kNoMinidump;
    p["json_dump"] = json{{"status", kNoMinidump}};
    context.failed = true;
    context.note("no upload_file_minidump dump in this crash");
  }
}

}  // namespace bw::processor
