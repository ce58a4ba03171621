// `breakwater submit URL DUMP... [--annotation k=v]... [--annotations-file F.json] [--json-extra]
// [--gzip] [--chunked]`: posts a crash the way Breakpad and Crashpad clients do and prints the
// collector's answer. Exit code 0 when the collector answered 200, 1 otherwise.
#include <iostream>

#include "cli/command.h"
#include "collector/submission.h"
#include "collector/submit_client.h"
#include "core/fs_util.h"

namespace bw::cli {

void register_submit_command(CLI::App& app, SharedOptions&) {
  struct Args {
    std::string url;
    std::vector<std::string> dumps, annotations;
    std::string annotations_file;
    bool json_extra = false, gzip = false, chunked = false;
    int timeout = 300;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("submit", "post a crash report (dumps + annotations) to a collector");
  sub->add_option("url", args->url, "collector URL, e.g. http://127.0.0.1:8000/submit")->required();
  sub->add_option("dumps", args->dumps,
                  "dump files; the first is upload_file_minidump, others upload_file_minidump_2, ...; "
                  "NAME=FILE names one")
      ->required();
  sub->add_option("--annotation,-a", args->annotations, "an annotation KEY=VALUE; repeatable");
  sub->add_option("--annotations-file", args->annotations_file, "a JSON object of annotations")->check(CLI::ExistingFile);
  sub->add_flag("--json-extra", args->json_extra, "send annotations as one application/json part named extra (Firefox)");
  sub->add_flag("--gzip", args->gzip, "gzip the whole body (Content-Encoding: gzip, as Crashpad does)");
  sub->add_flag("--chunked", args->chunked, "send with Transfer-Encoding: chunked, no Content-Length (as Crashpad does)");
  sub->add_option("--timeout", args->timeout, "seconds to wait for the answer")->capture_default_str();
  sub->callback([args] {
    collector::SubmitRequest req;
    req.url = args->url;
    req.json_extra = args->json_extra;
    req.gzip = args->gzip;
    req.chunked = args->chunked;
    req.timeout = std::chrono::seconds(args->timeout);
    if (!args->annotations_file.empty()) {
      auto parsed = nlohmann::json::parse(fs::read_file(args->annotations_file), nullptr, false);
      if (!parsed.is_object()) throw CommandFailed(2, args->annotations_file + " is not a JSON object");
      req.annotations = std::move(parsed);
    }
    for (const auto& kv : args->annotations) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) throw CommandFailed(2, "--annotation takes KEY=VALUE, not '" + kv + "'");
      req.annotations[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (size_t i = 0; i < args->dumps.size(); ++i) {
      const std::string& d = args->dumps[i];
      auto eq = d.find('=');
      if (eq != std::string::npos && collector::is_acceptable_dump_name(d.substr(0, eq)) &&
          std::filesystem::exists(d.substr(eq + 1))) {
        req.dumps.emplace_back(d.substr(0, eq), d.substr(eq + 1));
      } else {
        req.dumps.emplace_back(i == 0 ? "upload_file_minidump" : "upload_file_minidump_" + std::to_string(i + 1), d);
      }
    }
    auto result = collector::submit_crash(req);
    std::cout << result.body;
    if (!result.body.empty() && result.body.back() != '\n') std::cout << "\n";
    if (result.status != 200) throw CommandFailed(1, "the collector answered HTTP " + std::to_string(result.status));
  });
}

}  // namespace bw::cli
