// The crash report page's content (docs/design.md §12, crash-stats' report_index): rendering only,
// from crashes already reduced to their public parts (web/public_data.h); web_app.cc does the HTTP.
//
// Input is stored JSON and is trusted for nothing: any field may be missing, null or of another
// type, and every string may be hostile. Missing values show as a dash; every value goes
// through html::Writer (escaped, cut when long).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"
#include "web/html.h"
#include "web/public_data.h"

namespace bw::web {

// A frame's source file as shown and, when its path names a repository revision, where to read
// it online:
//   hg:<host>/<repo>:<path>:<rev>             → https://<host>/<repo>/file/<rev>/<path>#l<line>
//   git:github.com/<owner>/<repo>:<path>:<rev> → https://github.com/<owner>/<repo>/blob/<rev>/<path>#L<line>
// (the FILE record forms Mozilla's symbol dumper writes; rust-minidump's JSON keeps them as is).
// `display` is the plain path (the file name's path inside the repository for those forms).
struct SourceRef {
  std::string display;
  std::optional<std::string> url;
};
SourceRef source_ref(std::string_view file, std::optional<int64_t> line);

// "2 d 3 h 4 min 5 s" for a number of seconds (negative: "-").
std::string format_duration(int64_t seconds);

// The report's <main> content for a processed crash. `processed` and `raw` are what the caller may
// see (web/public_data.h: the public parts, or everything for view_pii; raw may be an empty object
// when the raw crash is gone); `permissions` says which notes and links to show (protected
// annotations present, dump downloads for view_rawdump). It never reduces the data itself.
html::Html render_report(const CrashId& id, const nlohmann::json& processed, const nlohmann::json& raw,
                         const Permissions& permissions = {});

// The <main> content while the crash waits to be processed. `queued`: a priority request is (or
// was within the last minute) on its way; false when the web app refused one (too many at once).
// Carries the data attributes pending.js reads.
html::Html render_pending(const CrashId& id, bool queued);

// The title of the report page for a processed crash.
std::string report_title(const CrashId& id, const nlohmann::json& processed);

}  // namespace bw::web
