// `breakwater stackwalk`: walk a minidump's threads and print them the way users of
// rust-minidump's minidump-stackwalk (--json, --human) and Breakpad's minidump_stackwalk (-m) know.
//
//   breakwater stackwalk [--json | --human | --machine] [--pretty] [--symbols-path DIR]...
//                        [--symbols-url URL]... [--symbols-cache DIR] [--annotations FILE.json]
//                        DUMP [SYMBOL_DIR]...
//
// Trailing SYMBOL_DIRs are local symbol stores like --symbols-path (Breakpad's usage). Exit code 0
// when the dump was read (even if symbols are missing), 1 when it could not be read.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "minidump/minidump.h"
#include "stackwalk/output.h"
#include "stackwalk/process.h"
#include "symbols/symbol_supplier.h"

namespace bw::cli {

namespace {

struct StackwalkOptions {
  bool json = false;
  bool human = false;
  bool machine = false;
  bool pretty = false;
  std::string symbols_cache;
  std::string annotations;
  std::string dump;
  std::vector<std::string> symbol_dirs;
};

void run_stackwalk(const StackwalkOptions& o, SharedOptions& shared) {
  Config cfg = shared.load_and_init_logging();
  std::vector<std::filesystem::path> extra_paths(o.symbol_dirs.begin(), o.symbol_dirs.end());
  symbols::SymbolOptions so = symbols::symbol_options_for_walk(cfg, extra_paths, o.symbols_cache);

  stackwalk::JsonOptions jo;
  if (!o.annotations.empty()) {
    std::ifstream in(o.annotations);
    if (!in) throw CommandFailed(1, "cannot read annotations file " + o.annotations);
    try {
      jo.annotations = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw CommandFailed(1, "annotations file " + o.annotations + " is not JSON: " + e.what());
    }
  }

  auto dump = minidump::Minidump::open(o.dump);
  if (!dump.ok()) throw CommandFailed(1, "cannot read minidump " + o.dump + ": " + dump.error().reason);

  std::unique_ptr<symbols::SymbolSupplier> supplier;
  if (!so.paths.empty() || !so.urls.empty()) supplier = symbols::make_symbol_supplier(so);
  stackwalk::ProcessState state = stackwalk::process_minidump(*dump, supplier.get());

  std::string out;
  if (o.machine) {
    out = stackwalk::format_breakpad_machine(state);
  } else if (o.json) {
    out = stackwalk::to_json(state, jo).dump(o.pretty ? 2 : -1);
    out += "\n";
  } else {
    out = stackwalk::format_breakpad_human(state);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void register_stackwalk_command(CLI::App& app, SharedOptions& shared) {
  auto o = std::make_shared<StackwalkOptions>();
  auto* sub = app.add_subcommand("stackwalk", "walk a minidump's stacks and print them (JSON, human or machine format)");
  shared.add_to(*sub);
  auto* json = sub->add_flag("--json", o->json, "rust-minidump's JSON (Socorro's json_dump)");
  auto* human = sub->add_flag("--human", o->human, "Breakpad's human-readable text (the default)");
  auto* machine = sub->add_flag("--machine,-m", o->machine, "Breakpad's pipe-separated machine format");
  json->excludes(human)->excludes(machine);
  human->excludes(machine);
  sub->add_flag("--pretty", o->pretty, "indent the JSON");
  sub->add_option("--symbols-cache", o->symbols_cache, "folder for downloaded and parsed symbols (symbols.cache_dir)");
  sub->add_option("--annotations", o->annotations, "the crash's annotations (JSON object)")->check(CLI::ExistingFile);
  sub->add_option("dump", o->dump, "the minidump")->required()->check(CLI::ExistingFile);
  sub->add_option("symbol_dirs", o->symbol_dirs, "local symbol stores, as --symbols-path");
  sub->callback([o, &shared] { run_stackwalk(*o, shared); });
}

}  // namespace bw::cli
