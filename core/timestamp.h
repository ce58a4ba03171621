// ISO-8601 UTC timestamps as Breakwater writes them (raw crash `submitted_timestamp`, processed
// crash dates): "2024-05-01T12:34:56.123456+00:00". One place for the collector, the crash mover
// and the processor, so what one writes the others read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bw {

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+00:00|-00:00]" (a space may stand
// for the T); nullopt for anything else, other zones included.
std::optional<int64_t> parse_iso_seconds(std::string_view text);
// "2024-05-01T12:34:56+00:00".
std::string iso_from_seconds(int64_t seconds);
// With microseconds: "2024-05-01T12:34:56.123456+00:00".
std::string iso_timestamp(std::chrono::system_clock::time_point t);
// The UTC day: "2024-05-01".
std::string iso_day(std::chrono::system_clock::time_point t);

}  // namespace bw
