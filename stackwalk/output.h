// Output formats for a processed minidump:
// - Breakpad's `minidump_stackwalk` human-readable text and its `-m` machine-readable
//   pipe-separated format (the dump-writing thread left out, crashed thread first);
// - rust-minidump's `minidump-stackwalk --json` schema, which Socorro stores as `json_dump`.
// All three are pure functions of the ProcessState (and the dump it points to).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stackwalk/process.h"

namespace bw::stackwalk {

std::string format_breakpad_human(const ProcessState& state);
std::string format_breakpad_machine(const ProcessState& state);

struct JsonOptions {
  // Crash annotations sent with the report (a JSON object); rust-minidump takes them to fill in
  // fields the dump lacks. Unused keys are ignored.
  std::optional<nlohmann::json> annotations;
};
nlohmann::json to_json(const ProcessState& state, const JsonOptions& options = {});

// Breakpad's file-name part of a path, splitting at '/' or '\'.
std::string path_file_name(std::string_view path);

}  // namespace bw::stackwalk
