#include <iostream>

#include "cli/command.h"

namespace bw::cli {
namespace {

const char* type_label(ConfigType t) {
  switch (t) {
    case ConfigType::kString: return "string";
    case ConfigType::kInt: return "integer";
    case ConfigType::kBool: return "boolean";
    case ConfigType::kFloat: return "number";
    case ConfigType::kSize: return "size";
    case ConfigType::kDuration: return "duration";
    case ConfigType::kStringList: return "list";
    case ConfigType::kTableArray: return "tables";
  }
  return "?";
}

// Every key as a Markdown table: docs/configuration.md embeds this output.
void print_keys() {
  std::cout << "| key | type | default | environment variable | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : config_schema()) {
    std::string env = env_name(k);
    if (k.type == ConfigType::kTableArray) env = "(file only)";
    std::cout << "| `" << k.section << "." << k.key << "` | " << type_label(k.type) << " | "
              << (k.default_value.empty() ? "" : "`" + k.default_value + "`") << " | `" << env << "` | " << k.help
              << " |\n";
  }
}

}  // namespace

void register_config_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("config", "check the configuration and print the effective values");
  shared.add_to(*sub);
  static bool keys = false;
  sub->add_flag("--keys", keys, "list every config key (Markdown table) instead");
  sub->callback([&shared] {
    if (keys) {
      print_keys();
      return;
    }
    std::cout << shared.load_and_init_logging().dump();
  });
}

}  // namespace bw::cli
