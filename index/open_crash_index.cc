// open_crash_index: the backend index.url selects (crash_index.h).
#include "core/config.h"
#include "index/crash_index.h"
#include "index/fields.h"
#include "index/postgres_crash_index.h"
#include "index/sqlite_crash_index.h"

namespace bw::index {

std::unique_ptr<CrashIndex> open_crash_index(const IndexSettings& settings) {
  const std::string& url = settings.url;
  if (url.empty()) return std::make_unique<SqliteCrashIndex>(settings);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return std::make_unique<PostgresCrashIndex>(settings);
  }
  throw std::invalid_argument("index.url: \"" + url + "\" is neither empty (SQLite) nor a postgresql:// URL");
}

std::unique_ptr<CrashIndex> open_crash_index(const Config& config) {
  return open_crash_index(IndexSettings::from_config(config));
}

}  // namespace bw::index
