// Rules of the processing pipeline (docs/design.md §8): small classes, each a predicate and an
// action on one crash's ProcessingContext, run in the order of a Ruleset.
//
// Contract: a rule reads the raw crash, the dumps and what earlier rules put in `processed`, and
// writes its own processed fields. A rule that cannot do its work throws (any std::exception):
// the Ruleset turns that into a processor note and a failed processing, and the rules after it
// still run (except TransientProcessingError, which ends the run: the crash is retried later). Rules are stateless between crashes (whatever they share — the stack-walking pool,
// the signature generator — is thread-safe), so one Ruleset serves every consumer thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"

namespace bw::processor {

// One crash being processed.
struct ProcessingContext {
  explicit ProcessingContext(CrashId crash_id) : id(std::move(crash_id)) {}

  CrashId id;
  nlohmann::json raw_crash = nlohmann::json::object();
  // Dump name -> a file the stack walker can map (from CrashStorage::get_dumps_as_files).
  std::map<std::string, std::filesystem::path> dumps;
  nlohmann::json processed = nlohmann::json::object();
  // processor_notes of this run.
  std::vector<std::string> notes;
  // Set when a rule failed or the main dump could not be walked: the crash is saved with
  // success=false.
  bool failed = false;
  // The test hook named by the BreakwaterTestHook annotation; empty unless processor.test_hooks.
  std::string test_hook;
  // When this processing started (UTC); rules use it instead of reading the clock.
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

  void note(std::string text) { notes.push_back(std::move(text)); }
};

// Thrown by a rule when the crash cannot be processed now for a reason that is not the crash's
// fault (no stack-walking worker could be started): the Ruleset lets it through, so the message
// goes back to the queue instead of the crash being recorded as failed.
class TransientProcessingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Rule {
 public:
  virtual ~Rule() = default;
  virtual std::string_view name() const = 0;
  // Whether the action applies to this crash. Defaults to always.
  virtual bool predicate(const ProcessingContext& context) const {
    (void)context;
    return true;
  }
  virtual void action(ProcessingContext& context) = 0;
};

}  // namespace bw::processor
