// What the SQLite and PostgreSQL backends share: the parts of the contract (crash_index.h) that do
// not depend on the SQL dialect. Internal to index/: only the backends include it.
// Thread safety: pure functions. Errors: crash_id_for_lookup throws QueryError("uuid", ...).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crash_id.h"
#include "index/crash_index.h"
#include "index/fields.h"
#include "index/super_search_query.h"

namespace bw::index::backend {

// The crash id of a get/remove by id, or a QueryError naming `uuid`.
CrashId crash_id_for_lookup(std::string_view text);

// The catalogue's fields the caller may see, in catalogue order.
std::vector<const Field*> visible_fields(const FieldCatalogue& catalogue, const Permissions& permissions);

// A hit as `get` returns it: members whose value is null are left out.
void drop_null_members(nlohmann::json& hit);

// "c.<column>, ..., c.doc": the row-table columns of `cols` in order, then the JSON document when
// a field lives there (`doc_column` gets its position, or -1). Without columns, `row_key` alone.
// `column_of` names a field's column, empty for a document field (default: Field::column).
using ColumnOf = std::string (*)(const Field&);

// The ORDER BY terms of `sort`, each "<expr> ASC|DESC, " with missing values last in both
// directions ("(<expr> IS NULL), " first; date and uuid are never missing). The caller appends
// the uuid tie-break.
std::string order_by_terms(const std::vector<SortKey>& sort, ColumnOf expr);

// An OR of one-way comparisons (>, >=, <, <=) is its loosest bound: that value; nullopt for any
// other operator.
std::optional<nlohmann::json> loosest_bound(Op op, const std::vector<nlohmann::json>& values);
std::string select_list(const std::vector<const Field*>& cols, int& doc_column, std::string_view row_key,
                        ColumnOf column_of = nullptr);

// The aggregation of `query` that counts the total on its way (one scan instead of two): the
// first that is neither a cardinality nor over a list field (whose rows repeat a crash). Returns
// query.aggregations.size() when there is none, and the total needs its own COUNT.
size_t total_counting_aggregation(const SuperSearchQuery& query);

// A search the per-day rollup (product_version_daily: every indexed crash counted by product,
// version and UTC day, kept by the same deltas as the crashes) can answer: its filters are one-way
// bounds on `date` (>, >=, <, <=, not negated) and at most one "is one of" / `=` group each on
// `product` and `version`; its aggregations are histograms of `date` by day without
// sub-aggregations. The range's whole days are summed from the rollup; only the matching crashes
// of a partial first or last day are counted. Saves reading every crash of a month to count them
// ("crashes per day", for everything or for a product).
struct DayRollupPlan {
  int64_t first_whole_day = 0;  // days since the epoch; no whole day when first > last
  int64_t last_whole_day = -1;
  std::vector<std::pair<int64_t, int64_t>> partial;  // [from, to) in microseconds, each within one day
  std::vector<std::string> products;  // any of them; empty: every product
  std::vector<std::string> versions;  // any of them; empty: every version
};
std::optional<DayRollupPlan> day_rollup_plan(const SuperSearchQuery& query);

// Fills `out`'s "total" and each of the query's day histograms from counts by day (days since
// the epoch; zero counts are left out, as a scan would leave them).
void fill_from_day_counts(const SuperSearchQuery& query, const std::map<int64_t, int64_t>& per_day,
                          nlohmann::json& out);

// The days a Top Crashers query covers: [start_day, end_day] (days since the epoch, UTC), with the
// result's days, start_date and end_date filled in.
struct TopCrashersDays {
  int64_t start_day = 0;
  int64_t end_day = 0;
};
TopCrashersDays top_crashers_days(const TopCrashersQuery& query, TopCrashersResult& result);

// The dates a missing-symbols query covers: [from, to) in microseconds since the epoch (UTC).
std::pair<int64_t, int64_t> missing_symbols_period(const MissingSymbolsQuery& query);

// ASCII upper case (debug ids are stored upper-cased).
std::string upper_case(std::string_view text);

// One signature's crashes in a period, as a backend counted them from its rollups. Platforms is any
// range of (platform, count) pairs (a backend picks what is fastest to fill).
template <typename Platforms>
struct SignatureCount {
  int64_t count = 0;
  Platforms platforms;
};
template <typename Platforms>
using RankedSignatures = std::vector<std::pair<std::string, SignatureCount<Platforms>>>;

// Most crashes first; ties by signature, ascending (TopCrasher::rank).
template <typename Platforms>
void rank_signatures(RankedSignatures<Platforms>& ranked) {
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second.count != b.second.count) return a.second.count > b.second.count;
    return a.first < b.first;
  });
}

// Fills result.crashers from the ranked periods: the first `limit` of `current`, with percentages
// and the change against `previous`. first_seen is left to the backend (a rollup lookup).
template <typename Platforms>
void fill_top_crashers(TopCrashersResult& result, RankedSignatures<Platforms> current,
                       const RankedSignatures<Platforms>& previous, int limit) {
  auto percent = [](int64_t part, int64_t total) {
    return total ? 100.0 * static_cast<double>(part) / static_cast<double>(total) : 0.0;
  };
  std::unordered_map<std::string, std::pair<int, int64_t>> previous_rank;
  for (size_t i = 0; i < previous.size(); ++i) {
    previous_rank[previous[i].first] = {static_cast<int>(i + 1), previous[i].second.count};
  }
  if (current.size() > static_cast<size_t>(limit)) current.resize(static_cast<size_t>(limit));
  for (size_t i = 0; i < current.size(); ++i) {
    auto& [signature, counted] = current[i];
    TopCrasher tc;
    tc.rank = static_cast<int>(i + 1);
    tc.signature = std::move(signature);
    tc.count = counted.count;
    tc.platforms = std::map<std::string, int64_t>(counted.platforms.begin(), counted.platforms.end());
    tc.percentage = percent(tc.count, result.total);
    if (auto it = previous_rank.find(tc.signature); it != previous_rank.end()) {
      tc.previous_rank = it->second.first;
      tc.rank_change = it->second.first - tc.rank;
      tc.previous_percentage = percent(it->second.second, result.previous_total);
    }
    tc.percentage_change = tc.percentage - tc.previous_percentage;
    result.crashers.push_back(std::move(tc));
  }
}

// ----- Top Crashers from a rollup keyed by signature id -----
//
// The default Top Crashers view (every version and process type) is ranked from a narrow rollup
// whose signatures are integer ids (signature_ids): summing a period then costs an integer lookup
// per row, not a string. Names are only fetched for the ids the answer needs: the top `limit`
// (with every id tied at the boundary, since ties rank by name) and, for the previous ranks, the
// ids tied with a top signature's previous count.

// One id's crashes in a period: total and per platform.
struct IdCount {
  int64_t count = 0;
  std::vector<std::pair<std::string, int64_t>> platforms;
  void add(std::string_view platform, int64_t n);
};
using IdCounts = std::unordered_map<int64_t, IdCount>;
// The names of the given ids (every id given must be answered).
using NameLookup = std::function<std::unordered_map<int64_t, std::string>(const std::vector<int64_t>& ids)>;

// The per-platform counts of the given ids in the current period, for a backend whose `current`
// counts carry no platforms (it ranks on counts alone and splits only the ids it shows).
using PlatformLookup =
    std::function<std::unordered_map<int64_t, std::vector<std::pair<std::string, int64_t>>>(const std::vector<int64_t>& ids)>;

// Fills result.total, result.previous_total and result.crashers (first_seen left to the backend),
// with exactly the ranks, percentages and changes fill_top_crashers gives for the same counts.
// Platforms come from `current` unless `platforms` is given.
void fill_top_crashers_by_id(TopCrashersResult& result, const IdCounts& current, const IdCounts& previous, int limit,
                             const NameLookup& names, const PlatformLookup& platforms = nullptr);

}  // namespace bw::index::backend
