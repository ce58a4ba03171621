// Structured logging for every role (spdlog underneath).
//
// `init_logging` is called once at start-up; before it, logs go to stderr as plain text at info.
// Format "plain" writes human lines; "json" writes one JSON object per line with ts, level, logger,
// msg and any fields passed through `log_fields`. Never log protected crash fields or dump bytes:
// log crash ids, sizes, counts and reasons only.
//
// Thread safety: all functions may be called from any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace bw {

enum class LogFormat { kPlain, kJson };

// level: trace, debug, info, warn, error, critical, off. Throws std::invalid_argument on bad names.
void init_logging(std::string_view level, LogFormat format);
LogFormat parse_log_format(std::string_view name);  // "plain" | "json"; throws std::invalid_argument

// A logger for one part ("collector", "storage", ...). Cheap to call repeatedly.
std::shared_ptr<spdlog::logger> logger(const std::string& part);

// Logs `msg` with key=value fields: rendered as "msg key=value ..." in plain mode and as JSON
// members in json mode.
void log_fields(spdlog::logger& log, spdlog::level::level_enum level, std::string_view msg,
                std::initializer_list<std::pair<std::string_view, std::string>> fields);

}  // namespace bw
