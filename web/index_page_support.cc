#include "web/index_page_support.h"

#include <cstdio>

#include "core/log.h"
#include "index/crash_index.h"
#include "web/html.h"
#include "web/layout.h"

namespace bw::web {

http::Response index_page_guarded(std::string_view page, const std::function<http::Response()>& work) {
  try {
    return work();
  } catch (const index::QueryError& e) {
    // The parameter name is the caller's text: cut, and escaped like everything else on the page.
    std::string parameter(html::utf8_prefix(e.parameter(), 100));
    return error_page(400, "Bad parameter: " + parameter, {e.what(), "Change it in the address and try again."});
  } catch (const index::IndexUnavailable& e) {
    log_fields(*logger("web"), spdlog::level::warn, "crash index unavailable",
               {{"page", std::string(page)}, {"error", std::string(html::utf8_prefix(e.what(), 500))}});
    http::Response r = error_page(503, "Crash index unavailable",
                                  {"The crash index cannot be read right now. Try again in a few seconds."});
    r.headers.emplace_back("Retry-After", "5");
    return r;
  } catch (const std::exception& e) {
    // The detail may hold anything (a database message): logged, never shown.
    log_fields(*logger("web"), spdlog::level::err, "page failed",
               {{"page", std::string(page)}, {"error", std::string(html::utf8_prefix(e.what(), 500))}});
    return error_page(500, "Server error", {"This page could not be built. The error has been logged."});
  }
}

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_percent(double percent) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %%", percent);
  return buf;
}

int64_t micros_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace bw::web
