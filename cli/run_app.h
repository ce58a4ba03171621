// The part of main() both executables share: builds the CLI11 app with the given commands,
// parses argv, runs the chosen command and turns its failures into messages and exit codes
// (CommandFailed: its code; ConfigError: 2; other exceptions: 1; parse errors: CLI11's).
#pragma once

#include <stdexcept>

#include "cli/command.h"

namespace bw::cli {

// Thrown by a command running in `breakwater` (front_main.cc) that needs what only
// breakwater-all has (libcurl, for HTTP symbol downloads). run_app lets it through, before
// anything was printed, and the front execs breakwater-all with the same arguments.
class NeedsFullBinary : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using RegisterCommands = void (*)(CLI::App&, SharedOptions&);

int run_app(int argc, char** argv, RegisterCommands register_commands);

}  // namespace bw::cli
