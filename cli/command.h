// How subcommands plug into breakwater-all (and `stackwalk` into `breakwater`, front_main.cc).
//
// Each subcommand lives in cli/commands/<name>_command.cc and defines
//   void bw::cli::register_<name>_command(CLI::App& app, SharedOptions& shared);
// which adds the subcommand, its options (`shared.add_to(*sub)` for the shared flags) and its
// callback. The build finds these files and calls each register function in the order of
// BW_COMMAND_ORDER (cli/CMakeLists.txt), so a subcommand that is not written yet simply does not
// exist. A callback reports failure by throwing CommandFailed (exit code and message) or any
// std::exception (exit code 1).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/shared_options.h"

namespace bw::cli {

class CommandFailed : public std::runtime_error {
 public:
  CommandFailed(int exit_code, const std::string& message) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Set by main before parsing; the subcommand's exit code when its callback returns normally.
extern int g_exit_code;

void register_all_commands(CLI::App& app, SharedOptions& shared);

// The argv that starts a stack-walking worker: this same executable (/proc/self/exe) with the
// hidden subcommand processor_command.cc registers for it. Given to processor::ProcessorService
// by `processor` and `serve`.
std::vector<std::string> stackwalk_worker_command();

}  // namespace bw::cli
