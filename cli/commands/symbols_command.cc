// `breakwater symbols add FILE.sym...|DIR...`: puts .sym files into the site's own symbol store
// (symbols/symbol_store.h; <data>/symbols unless symbols.store_dir says otherwise), where the
// site's processors read them and /symbols/ serves them. Every check and every write is the
// store's; this prints one line per file and a summary:
//   added     <debug_file>/<DEBUG_ID>/<name>.sym  <file> (<size>, <stored size> stored)
//   replaced  ...                                  (other content was stored under that key)
//   skipped   ...                                  (the same content is already stored)
//   refused   <file>: <reason>
// Exit code 0 when nothing was refused, 1 otherwise.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "symbols/symbol_store.h"
#include "symbols/symbol_supplier.h"

namespace bw::cli {

namespace {

std::string human_bytes(uint64_t n) {
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else if (n < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  }
  return buf;
}

struct Tally {
  int added = 0, replaced = 0, skipped = 0, refused = 0;

  void print(const std::filesystem::path& file, const symbols::StoreResult& r) {
    using symbols::StoreOutcome;
    switch (r.outcome) {
      case StoreOutcome::kAdded: ++added; break;
      case StoreOutcome::kReplaced: ++replaced; break;
      case StoreOutcome::kSkipped: ++skipped; break;
      case StoreOutcome::kRefused: ++refused; break;
    }
    std::string word = symbols::to_string(r.outcome);
    word.resize(9, ' ');
    if (r.outcome == StoreOutcome::kRefused) {
      std::cout << word << file.string() << ": " << r.reason << "\n";
    } else {
      std::cout << word << r.path << "  " << file.string() << " (" << human_bytes(r.sym_bytes) << ", "
                << human_bytes(r.stored_bytes) << " stored)\n";
    }
    std::cout.flush();
  }
};

}  // namespace

void register_symbols_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("symbols", "the site's own symbol store");
  sub->require_subcommand(1);

  auto files = std::make_shared<std::vector<std::string>>();
  auto* add = sub->add_subcommand(
      "add", "check .sym files and put them into the site's symbol store (<data>/symbols), where processors and /symbols/ find them");
  shared.add_to(*add);
  add->add_option("files", *files,
                  "FILE.sym or DIR (every *.sym below it; a DIR laid out <debug_file>/<debug_id>/<file>.sym must agree "
                  "with each file's MODULE record)")
      ->required();
  add->callback([&shared, files] {
    Config config = shared.load_and_init_logging();
    symbols::SymbolStore store(symbols::symbol_options_from_config(config).store_dir);
    Tally tally;
    auto each = [&tally](const std::filesystem::path& file, const symbols::StoreResult& r) { tally.print(file, r); };
    for (const auto& arg : *files) {
      std::error_code ec;
      if (std::filesystem::is_directory(arg, ec)) {
        store.add_folder(arg, each);
      } else {
        each(arg, store.add(arg));
      }
    }
    std::cout << tally.added << " added, " << tally.replaced << " replaced, " << tally.skipped << " skipped, "
              << tally.refused << " refused (store: " << store.dir().string() << ")\n";
    if (tally.refused > 0) g_exit_code = 1;
  });
}

}  // namespace bw::cli
