#include "core/log.h"

#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace bw {
namespace {

using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

std::mutex g_mutex;
LogFormat g_format = LogFormat::kPlain;
spdlog::level::level_enum g_level = spdlog::level::info;
spdlog::sink_ptr g_sink;
// Fields of the log_fields call in progress on this thread (loggers are synchronous).
thread_local const Fields* t_fields = nullptr;

// One JSON object per line: {"ts","level","logger","msg", fields...}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json j;
    j["ts"] = std::chrono::duration<double>(msg.time.time_since_epoch()).count();
    auto lvl = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(lvl.data(), lvl.size());
    j["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    j["msg"] = std::string(msg.payload.data(), msg.payload.size());
    if (t_fields) {
      for (const auto& [k, v] : *t_fields) j[std::string(k)] = v;
    }
    auto text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

spdlog::sink_ptr sink_locked() {
  if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return g_sink;
}

void apply_format(spdlog::logger& l) {
  if (g_format == LogFormat::kJson) {
    l.set_formatter(std::make_unique<JsonFormatter>());
  } else {
    l.set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v", spdlog::pattern_time_type::utc));
  }
}

}  // namespace

LogFormat parse_log_format(std::string_view name) {
  if (name == "plain") return LogFormat::kPlain;
  if (name == "json") return LogFormat::kJson;
  throw std::invalid_argument("log format must be 'plain' or 'json', not '" + std::string(name) + "'");
}

void init_logging(std::string_view level, LogFormat format) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + std::string(level) + "'");
  }
  std::lock_guard lock(g_mutex);
  g_format = format;
  g_level = lvl;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) {
    l->set_level(g_level);
    apply_format(*l);
  });
}

std::shared_ptr<spdlog::logger> logger(const std::string& part) {
  if (auto existing = spdlog::get(part)) return existing;
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(part)) return existing;
  auto l = std::make_shared<spdlog::logger>(part, sink_locked());
  l->set_level(g_level);
  apply_format(*l);
  spdlog::register_logger(l);
  return l;
}

void log_fields(spdlog::logger& log, spdlog::level::level_enum level, std::string_view msg, Fields fields) {
  if (!log.should_log(level)) return;
  if (g_format == LogFormat::kJson) {
    t_fields = &fields;
    log.log(level, "{}", msg);
    t_fields = nullptr;
    return;
  }
  std::string line(msg);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line.append(k);
    line += '=';
    line += v;
  }
  log.log(level, "{}", line);
}

}  // namespace bw
