#include "core/config.h"
#include "http/server.h"

namespace bw::http {

ServerOptions ServerOptions::from_config(const Config& config) {
  ServerOptions o;
  o.listen = config.get_string("server", "listen");
  auto count = [&](const char* key, int64_t min) {
    int64_t v = config.get_int("http", key);
    if (v < min) throw ConfigError(std::string("config key 'http.") + key + "' must be at least " + std::to_string(min));
    return v;
  };
  o.io_threads = static_cast<unsigned>(count("io_threads", 0));
  o.worker_threads = static_cast<unsigned>(count("worker_threads", 1));
  o.max_connections = static_cast<size_t>(count("max_connections", 1));
  o.max_header_size = static_cast<size_t>(config.get_size("http", "max_header_size"));
  o.header_timeout = config.get_duration("http", "header_timeout");
  o.read_timeout = config.get_duration("http", "read_timeout");
  o.request_timeout = config.get_duration("http", "request_timeout");
  o.min_body_rate = config.get_size("http", "min_body_rate");
  o.body_rate_grace = config.get_duration("http", "body_rate_grace");
  o.shutdown_timeout = config.get_duration("http", "shutdown_timeout");
  o.access_log = config.get_bool("http", "access_log");
  return o;
}

}  // namespace bw::http
