// breakwater-all: every subcommand (roles and tools). Users run it through `breakwater`
// (front_main.cc), which execs it for everything but `stackwalk`.
#include "cli/run_app.h"

int main(int argc, char** argv) { return bw::cli::run_app(argc, argv, bw::cli::register_all_commands); }
