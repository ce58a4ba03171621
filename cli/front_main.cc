// breakwater: the program users run.
//
// `breakwater stackwalk` runs here, in a small statically linked process, because a one-dump
// stack walk is dominated by process start-up: breakwater-all maps and relocates ~15 shared
// libraries (SQLite, librabbitmq, OpenSSL, RE2, spdlog, ...) before main, ~3 ms more per run.
// Every other command, help, and a stack walk that needs libcurl (symbols from HTTP servers) is
// breakwater-all's: this program execs it from its own folder with the same arguments, so the
// process id, signals and exit status are the command's own.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "cli/run_app.h"

namespace bw::cli {
void register_stackwalk_command(CLI::App&, SharedOptions&);
}  // namespace bw::cli

namespace {

void register_front_commands(CLI::App& app, bw::cli::SharedOptions& shared) {
  bw::cli::register_stackwalk_command(app, shared);
}

[[noreturn]] void exec_full_binary(char** argv) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "breakwater: cannot find its own folder: " << ec.message() << "\n";
    std::exit(127);
  }
  const std::string all = (self.parent_path() / "breakwater-all").string();
  ::execv(all.c_str(), argv);
  std::cerr << "breakwater: cannot run " << all << ": " << std::strerror(errno) << "\n";
  std::exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "stackwalk") == 0) {
    try {
      return bw::cli::run_app(argc, argv, register_front_commands);
    } catch (const bw::cli::NeedsFullBinary&) {
      std::cout.flush();  // nothing of the command's output was written; keep it that way
    }
  }
  exec_full_binary(argv);
}
