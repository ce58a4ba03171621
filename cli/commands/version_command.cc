#include "cli/command.h"
#include "cli/version.h"

#include <iostream>

namespace bw::cli {

void register_version_command(CLI::App& app, SharedOptions&) {
  auto* sub = app.add_subcommand("version", "print the version and build information");
  sub->callback([] { std::cout << "breakwater " << kVersion << " (" << kGitCommit << ")\n"; });
}

}  // namespace bw::cli
