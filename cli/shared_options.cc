#include "cli/shared_options.h"

#include "core/log.h"

namespace bw::cli {

void SharedOptions::add_to(CLI::App& command) {
  command.add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);
  command.add_option("--listen", listen, "HOST:PORT to listen on (server.listen)");
  command.add_option("--data", data, "folder for every file-system root (server.data)");
  command.add_option("--queue-url", queue_url, "amqp://user:pass@host:port/vhost for RabbitMQ (queue.url)");
  command.add_option("--index-url", index_url, "postgresql://... for PostgreSQL (index.url)");
  command.add_option("--symbols-path", symbols_paths, "local symbol store; repeatable (symbols.paths)");
  command.add_option("--symbols-url", symbols_urls, "HTTP symbol server; repeatable (symbols.urls)");
  command.add_option("--set", set, "override any config key: section.key=value; repeatable");
  command.add_option("--log-level", log_level, "trace, debug, info, warn, error (log.level)");
  command.add_option("--log-format", log_format, "plain or json (log.format)");
}

Config SharedOptions::load_and_init_logging() const {
  Config::Sources src;
  if (!config_file.empty()) src.file = config_file;
  src.environment = process_environment();
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
  };
  for (const auto& kv : set) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw ConfigError("--set takes section.key=value, not '" + kv + "'");
    src.overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (listen) src.overrides.emplace_back("server.listen", *listen);
  if (data) src.overrides.emplace_back("server.data", *data);
  if (queue_url) src.overrides.emplace_back("queue.url", *queue_url);
  if (index_url) src.overrides.emplace_back("index.url", *index_url);
  if (!symbols_paths.empty()) src.overrides.emplace_back("symbols.paths", join(symbols_paths));
  if (!symbols_urls.empty()) src.overrides.emplace_back("symbols.urls", join(symbols_urls));
  if (log_level) src.overrides.emplace_back("log.level", *log_level);
  if (log_format) src.overrides.emplace_back("log.format", *log_format);
  Config cfg = Config::load(src);
  try {
    init_logging(cfg.get_string("log", "level"), parse_log_format(cfg.get_string("log", "format")));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("config key 'log.level' or 'log.format': ") + e.what());
  }
  for (const auto& warning : cfg.warnings()) logger("config")->warn("{}", warning);
  return cfg;
}

}  // namespace bw::cli
