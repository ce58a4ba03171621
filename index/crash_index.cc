#include "index/crash_index.h"

#include "core/config.h"
#include "index/fields.h"
#include "index/super_search_query.h"

namespace bw::index {

using json = nlohmann::json;

void TopCrashersQuery::validate() const {
  if (product.empty()) throw QueryError("product", "product is required");
  if (days != 1 && days != 3 && days != 7 && days != 14 && days != 28) {
    throw QueryError("days", "days must be one of 1, 3, 7, 14, 28 (got " + std::to_string(days) + ")");
  }
  if (limit < 1 || limit > 10000) throw QueryError("limit", "limit must be between 1 and 10000");
  if (versions.size() > 100) throw QueryError("version", "at most 100 versions");
  for (const auto& v : versions) {
    if (v.empty()) throw QueryError("version", "an empty version");
  }
}

void MissingSymbolsQuery::validate() const {
  if (days < 1 || days > 365) throw QueryError("days", "days must be between 1 and 365 (got " + std::to_string(days) + ")");
  if (limit < 1 || limit > 10000) throw QueryError("limit", "limit must be between 1 and 10000");
}

json TopCrashersResult::to_json() const {
  json list = json::array();
  for (const auto& c : crashers) {
    list.push_back({
        {"rank", c.rank},
        {"signature", c.signature},
        {"count", c.count},
        {"percentage", c.percentage},
        {"platforms", c.platforms},
        {"previous_rank", c.previous_rank ? json(*c.previous_rank) : json(nullptr)},
        {"rank_change", c.rank_change ? json(*c.rank_change) : json(nullptr)},
        {"previous_percentage", c.previous_percentage},
        {"percentage_change", c.percentage_change},
        {"first_seen", c.first_seen},
    });
  }
  return {{"start_date", start_date}, {"end_date", end_date}, {"days", days}, {"total", total},
          {"previous_total", previous_total}, {"crashers", std::move(list)}};
}

IndexSettings IndexSettings::from_config(const Config& config) {
  IndexSettings s;
  s.url = config.get_string("index", "url");
  s.sqlite_path = config.data_path(config.get_string("index", "sqlite_path"), "index/crashes.sqlite");
  int64_t readers = config.get_int("index", "readers");
  if (readers < 1 || readers > 64) throw ConfigError("index.readers: must be between 1 and 64");
  s.readers = static_cast<int>(readers);
  s.sqlite_cache_bytes = config.get_size("index", "sqlite_cache_size");
  if (s.sqlite_cache_bytes < (uint64_t{1} << 20) || s.sqlite_cache_bytes > (uint64_t{1} << 40)) {
    throw ConfigError("index.sqlite_cache_size: must be between 1MiB and 1TiB");
  }
  try {
    s.fields = FieldCatalogue::with_annotations(config.get_string_list("index", "annotations"));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  return s;
}

void CrashIndex::upsert(const json& processed, const json& raw) {
  CrashInput one{processed, raw};
  upsert_batch(std::span<const CrashInput>(&one, 1));
}

json CrashIndex::search(const QueryPairs& pairs, const Permissions& permissions,
                        std::chrono::system_clock::time_point now) {
  // The catalogue is owned by the index; the query only needs it for the duration of the call.
  std::shared_ptr<const FieldCatalogue> catalogue(std::shared_ptr<const FieldCatalogue>(), &fields());
  return execute(parse_super_search(std::move(catalogue), pairs, permissions, now));
}

}  // namespace bw::index
