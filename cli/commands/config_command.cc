#include <iostream>

#include "cli/command.h"

namespace bw::cli {

void register_config_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("config", "check the configuration and print the effective values");
  shared.add_to(*sub);
  sub->callback([&shared] { std::cout << shared.load_and_init_logging().dump(); });
}

}  // namespace bw::cli
