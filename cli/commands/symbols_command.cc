// `breakwater symbols add FILE.sym...|DIR...`: puts .sym files into the site's own symbol store
// (symbols/symbol_store.h; <data>/symbols unless symbols.store_dir says otherwise), where the
// site's processors read them and /symbols/ serves them. Every check and every write is the
// store's; this prints one line per file and a summary:
//   added     <debug_file>/<DEBUG_ID>/<name>.sym  <file> (<size>, <stored size> stored)
//   replaced  ...                                  (other content was stored under that key)
//   skipped   ...                                  (the same content is already stored)
//   refused   <file>: <reason>
// Exit code 0 when nothing was refused, 1 otherwise.
//
// `breakwater symbols upload DIR|ZIP|FILE.sym URL`: the same files to another site over HTTP
// (symbols/upload_client.h): packed into one zip, posted with the token of $BREAKWATER_TOKEN (or
// --token) to URL/symbols/upload with a progress bar on stderr, retried when worth it; prints the
// server's JSON summary. Exit code 0 when everything was taken, 1 when something was refused or
// left out, 2 when the upload failed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "symbols/symbol_store.h"
#include "symbols/upload_client.h"
#include "symbols/symbol_supplier.h"

namespace bw::cli {

namespace {

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
      std::cout << word << r.path << "  " << file.string() << " (" << format_size(r.sym_bytes) << ", "
                << format_size(r.stored_bytes) << " stored)\n";
    }
    std::cout.flush();
  }
};

struct UploadArgs {
  std::string input, url, token;
  int attempts = 5;
};

// A progress bar on a terminal; a line every 10 % otherwise.
class ProgressBar {
 public:
  explicit ProgressBar(bool terminal) : terminal_(terminal) {}
  void update(uint64_t sent, uint64_t total) {
    if (total == 0) return;
    int percent = static_cast<int>(sent * 100 / total);
    if (percent == last_) return;
    if (!terminal_ && percent / 10 == last_ / 10 && percent != 100) return;
    last_ = percent;
    constexpr int kWidth = 30;
    std::string bar(static_cast<size_t>(percent * kWidth / 100), '#');
    bar.resize(kWidth, ' ');
    std::cerr << (terminal_ ? "\r" : "") << "[" << bar << "] " << percent << "% " << format_size(sent) << " of "
              << format_size(total) << (terminal_ ? "" : "\n") << std::flush;
    if (terminal_ && percent == 100) std::cerr << "\n";
  }

 private:
  bool terminal_;
  int last_ = -1;
};

// Exit codes: 0 everything stored (added, replaced or skipped), 1 something refused, 2 the upload failed.
int run_upload(const UploadArgs& args) {
  std::string token = args.token;
  if (token.empty()) {
    if (const char* env = std::getenv("BREAKWATER_TOKEN")) token = env;
  }
  if (token.empty()) {
    std::cerr << "symbols upload: give a token with upload_symbols (--token or $BREAKWATER_TOKEN)\n";
    return 2;
  }
  try {
    size_t packed = 0;
    int left_out = 0;
    auto scratch = std::filesystem::temp_directory_path();
    auto zip = symbols::pack_symbols(args.input, scratch, [&](const std::filesystem::path& file, const std::string& why) {
      ++left_out;
      std::cerr << "left out " << file.string() << ": " << why << "\n";
    }, &packed);
    struct RemoveOurZip {
      std::filesystem::path made;
      ~RemoveOurZip() {
        std::error_code ignored;
        if (!made.empty()) std::filesystem::remove(made, ignored);
      }
    } cleanup{zip == std::filesystem::path(args.input) ? std::filesystem::path() : zip};
    ProgressBar bar(::isatty(STDERR_FILENO) == 1);
    symbols::UploadRequest request;
    request.url = symbols::upload_url(args.url);
    request.token = token;
    request.attempts = args.attempts;
    request.progress = [&bar](uint64_t sent, uint64_t total) { bar.update(sent, total); };
    request.on_retry = [](int next, const std::string& why, std::chrono::seconds wait) {
      std::cerr << "\nupload failed (" << why << "); attempt " << next << " in " << wait.count() << " s\n";
    };
    if (packed > 0) std::cerr << "uploading " << packed << " .sym files to " << request.url << "\n";
    auto answer = symbols::post_upload(zip, request);
    std::cout << answer.body << (answer.body.ends_with('\n') ? "" : "\n");
    if (answer.status < 200 || answer.status >= 300) {
      std::cerr << "symbols upload: the server answered " << answer.status << "\n";
      return answer.status == 400 ? 1 : 2;
    }
    // The summary's refused list (symbols/symbol_upload.h).
    auto summary = nlohmann::json::parse(answer.body, nullptr, false);
    bool refused = summary.is_object() && summary.contains("refused") && !summary["refused"].empty();
    return refused || left_out > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "symbols upload: " << e.what() << "\n";
    return 2;
  }
}

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

  auto upload_args = std::make_shared<UploadArgs>();
  auto* upload = sub->add_subcommand(
      "upload", "send .sym files to a Breakwater site's POST /symbols/upload (a zip laid out as a symbol store; retried)");
  upload->add_option("input", upload_args->input, "DIR (every *.sym below it), a ZIP laid out as a symbol store, or FILE.sym")
      ->required();
  upload->add_option("url", upload_args->url, "the site (https://crashes.example.com) or its upload URL")->required();
  upload->add_option("--token", upload_args->token,
                     "a token with upload_symbols (default: $BREAKWATER_TOKEN; keeps it out of the process list)");
  upload->add_option("--attempts", upload_args->attempts, "tries in all for failures worth retrying")
      ->check(CLI::Range(1, 20));
  upload->callback([upload_args] { g_exit_code = run_upload(*upload_args); });
}

}  // namespace bw::cli
