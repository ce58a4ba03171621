// What the pages that read the crash index share (home, search, Top crashers, signature,
// symbols): index errors turned into pages, and numbers written the same way on all of them.
//
// Thread safety: pure functions (the logger is thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "http/server.h"

namespace bw::web {

// Runs `work` with the index's errors as pages: index::QueryError → 400 "Bad parameter" naming
// the parameter; index::IndexUnavailable → 503 with Retry-After: 5; anything else → 500 without
// detail. Both of the latter are logged with `page`.
http::Response index_page_guarded(std::string_view page, const std::function<http::Response()>& work);

// "12,345".
std::string format_count(int64_t n);
// A percentage with two decimals, as the API's value rounds: "33.33 %" for 33.333.
std::string format_percent(double percent);
// Microseconds since the epoch of `t`.
int64_t micros_since_epoch(std::chrono::system_clock::time_point t);

}  // namespace bw::web
