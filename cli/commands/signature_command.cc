// `breakwater signature [--json] FILE...`: the signature of processed crashes (or of bare
// stack-walker JSON), with the proto signature and the reason for every decision. Uses the lists
// and options of the [signature] config section, so a new list can be tried on stored crashes
// before it is deployed.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "signature/signature_generator.h"

namespace bw::cli {

void register_signature_command(CLI::App& app, SharedOptions& shared) {
  struct Options {
    std::vector<std::string> files;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "signature", "print the signature of processed crashes (processed_crash.json[.gz] or stack-walker JSON) with the reasons");
  shared.add_to(*sub);
  sub->add_flag("--json", options->json,
                "one JSON object per line and file: file, signature, proto_signature, signature_debug (or error)");
  sub->add_option("files", options->files, "processed crash or rust-minidump JSON files, gzip'd or not")->required();
  sub->callback([&shared, options] {
    Config config = shared.load_and_init_logging();
    std::unique_ptr<signature::SignatureGenerator> generator;
    try {
      generator = std::make_unique<signature::SignatureGenerator>(signature::SignatureGenerator::from_config(config));
    } catch (const signature::SignatureListError& e) {
      throw CommandFailed(2, std::string("signature lists: ") + e.what());
    }
    int failures = 0;
    for (const auto& file : options->files) {
      std::string error;
      auto doc = signature::load_crash_file(file, &error);
      std::optional<signature::SignatureInput> input;
      if (doc) input = signature::input_from_json(*doc, &error);
      if (!input) {
        ++failures;
        if (options->json) {
          std::cout << nlohmann::json{{"file", file}, {"error", error}}.dump() << "\n";
        } else {
          std::cerr << "breakwater signature: " << file << ": " << error << "\n";
        }
        continue;
      }
      auto result = generator->generate(*input);
      if (options->json) {
        nlohmann::json out = {{"file", file},
                              {"signature", result.signature},
                              {"proto_signature", result.proto_signature},
                              {"signature_debug", result.debug}};
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      } else {
        std::cout << file << "\n  signature:       " << result.signature
                  << "\n  proto_signature: " << result.proto_signature << "\n  reasons:\n";
        for (const auto& note : result.debug) std::cout << "    - " << note << "\n";
      }
    }
    std::cout.flush();
    if (failures > 0) g_exit_code = 1;
  });
}

}  // namespace bw::cli
