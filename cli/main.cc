// breakwater: one binary, one subcommand per role or tool.
#include <csignal>
#include <iostream>

#include "cli/command.h"
#include "core/config.h"

namespace bw::cli {
int g_exit_code = 0;
}

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Breakwater: a crash-reporting server (collector, crash mover, processors, web reporter)", "breakwater"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  bw::cli::SharedOptions shared;
  bw::cli::register_all_commands(app, shared);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const bw::cli::CommandFailed& e) {
    if (*e.what()) std::cerr << "breakwater: " << e.what() << "\n";
    return e.exit_code();
  } catch (const bw::ConfigError& e) {
    std::cerr << "breakwater: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "breakwater: " << e.what() << "\n";
    return 1;
  }
  return bw::cli::g_exit_code;
}
