// The flags every role shares (docs/design.md §14) and how they become a Config.
//
// Each flag is also a config key and an environment variable:
//   --config FILE          (no key: names the file)
//   --listen HOST:PORT     server.listen      BREAKWATER_SERVER_LISTEN
//   --data DIR             server.data        BREAKWATER_SERVER_DATA
//   --queue-url URL        queue.url          BREAKWATER_QUEUE_URL
//   --index-url URL        index.url          BREAKWATER_INDEX_URL
//   --symbols-path DIR...  symbols.paths      BREAKWATER_SYMBOLS_PATHS (comma separated)
//   --symbols-url URL...   symbols.urls       BREAKWATER_SYMBOLS_URLS
//   --set section.key=value  any key
//   --log-level, --log-format  log.level, log.format
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/config.h"

namespace bw::cli {

struct SharedOptions {
  std::string config_file;
  std::optional<std::string> listen, data, queue_url, index_url, log_level, log_format;
  std::vector<std::string> symbols_paths, symbols_urls, set;

  // Adds the shared flags to a subcommand.
  void add_to(CLI::App& command);
  // Builds the effective Config (file ← environment ← flags) and starts logging from it.
  // Throws ConfigError naming the key.
  Config load_and_init_logging() const;
};

}  // namespace bw::cli
