#include "cli/run_app.h"

#include <csignal>
#include <iostream>

#include "core/config.h"

namespace bw::cli {

int g_exit_code = 0;

int run_app(int argc, char** argv, RegisterCommands register_commands) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Breakwater: a crash-reporting server (collector, crash mover, processors, web reporter)", "breakwater"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  SharedOptions shared;
  register_commands(app, shared);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const NeedsFullBinary&) {
    throw;
  } catch (const CommandFailed& e) {
    if (*e.what()) std::cerr << "breakwater: " << e.what() << "\n";
    return e.exit_code();
  } catch (const ConfigError& e) {
    std::cerr << "breakwater: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "breakwater: " << e.what() << "\n";
    return 1;
  }
  return g_exit_code;
}

}  // namespace bw::cli
