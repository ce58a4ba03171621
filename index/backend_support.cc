#include "index/backend_support.h"

#include <chrono>
#include <limits>
#include <unordered_set>

namespace bw::index::backend {

CrashId crash_id_for_lookup(std::string_view text) {
  std::string why;
  auto id = CrashId::parse(text, &why);
  if (!id) throw QueryError("uuid", "uuid: \"" + std::string(text.substr(0, 80)) + "\" is not a crash id: " + why);
  return *id;
}

std::vector<const Field*> visible_fields(const FieldCatalogue& catalogue, const Permissions& permissions) {
  std::vector<const Field*> cols;
  for (const auto& f : catalogue.all()) {
    if (f.visible_to(permissions)) cols.push_back(&f);
  }
  return cols;
}

void drop_null_members(nlohmann::json& hit) {
  for (auto it = hit.begin(); it != hit.end();) {
    if (it->is_null()) {
      it = hit.erase(it);
    } else {
      ++it;
    }
  }
}

size_t total_counting_aggregation(const SuperSearchQuery& query) {
  for (size_t i = 0; i < query.aggregations.size(); ++i) {
    const auto& a = query.aggregations[i];
    if (a.kind != Aggregation::Kind::kCardinality && !a.field->is_list) return i;
  }
  return query.aggregations.size();
}

std::optional<DayRollupPlan> day_rollup_plan(const SuperSearchQuery& query) {
  DayRollupPlan plan;
  bool product_seen = false, version_seen = false;
  for (const auto& f : query.filters) {
    if (f.negated) return std::nullopt;
    if (f.field->name == "date") {
      if (f.op != Op::kGreater && f.op != Op::kGreaterEq && f.op != Op::kLess && f.op != Op::kLessEq) return std::nullopt;
      continue;
    }
    const bool product = f.field->name == "product", version = f.field->name == "version";
    if (!(product || version) || (f.op != Op::kDefault && f.op != Op::kEquals)) return std::nullopt;
    bool& seen = product ? product_seen : version_seen;
    if (seen) return std::nullopt;  // two groups AND'ed: rare, left to the scan
    seen = true;
    for (const auto& v : f.values) {
      if (!v.is_string()) return std::nullopt;
      (product ? plan.products : plan.versions).push_back(v.get<std::string>());
    }
  }
  for (const auto& a : query.aggregations) {
    if (a.kind != Aggregation::Kind::kHistogram || a.field->name != "date" || a.weeks ||
        a.interval != static_cast<double>(kMicrosPerDay) || !a.children.empty()) {
      return std::nullopt;
    }
  }
  if (query.date_to_us < query.date_from_us || query.date_to_us == std::numeric_limits<int64_t>::max()) {
    return std::nullopt;
  }
  const int64_t from = query.date_from_us, end = query.date_to_us + 1;  // [from, end)
  const int64_t first_day = floor_div(from, kMicrosPerDay), end_day = floor_div(end, kMicrosPerDay);
  if (first_day == end_day) {
    plan.partial.emplace_back(from, end);
    return plan;
  }
  plan.first_whole_day = first_day;
  if (from != first_day * kMicrosPerDay) {
    plan.partial.emplace_back(from, (first_day + 1) * kMicrosPerDay);
    ++plan.first_whole_day;
  }
  plan.last_whole_day = end_day - 1;
  if (end != end_day * kMicrosPerDay) plan.partial.emplace_back(end_day * kMicrosPerDay, end);
  return plan;
}

void fill_from_day_counts(const SuperSearchQuery& query, const std::map<int64_t, int64_t>& per_day,
                          nlohmann::json& out) {
  nlohmann::json list = nlohmann::json::array();
  int64_t total = 0;
  for (const auto& [day, count] : per_day) {
    if (count <= 0) continue;
    list.push_back({{"term", format_date_us(day * kMicrosPerDay)}, {"count", count}});
    total += count;
  }
  out["total"] = total;
  for (const auto& a : query.aggregations) out["facets"][a.name()] = list;
}

std::string select_list(const std::vector<const Field*>& cols, int& doc_column, std::string_view row_key,
                        ColumnOf column_of) {
  std::string sel;
  int n = 0;
  bool need_doc = false;
  for (const Field* f : cols) {
    std::string column = column_of ? column_of(*f) : f->column;
    if (!column.empty()) {
      sel += (n++ ? ", c." : "c.") + column;
    } else {
      need_doc = true;
    }
  }
  doc_column = -1;
  if (need_doc) {
    sel += n ? ", c.doc" : "c.doc";
    doc_column = n++;
  }
  if (n == 0) sel = std::string(row_key);
  return sel;
}

TopCrashersDays top_crashers_days(const TopCrashersQuery& query, TopCrashersResult& result) {
  auto end = query.end.value_or(std::chrono::system_clock::now());
  TopCrashersDays days;
  days.end_day =
      floor_div(std::chrono::duration_cast<std::chrono::microseconds>(end.time_since_epoch()).count(), kMicrosPerDay);
  days.start_day = days.end_day - query.days + 1;
  result.days = query.days;
  result.start_date = format_day(days.start_day);
  result.end_date = format_day(days.end_day);
  return days;
}

std::pair<int64_t, int64_t> missing_symbols_period(const MissingSymbolsQuery& query) {
  auto end = query.end.value_or(std::chrono::system_clock::now());
  const int64_t to = std::chrono::duration_cast<std::chrono::microseconds>(end.time_since_epoch()).count();
  return {to - int64_t{query.days} * kMicrosPerDay, to + 1};
}

std::string upper_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

void IdCount::add(std::string_view platform, int64_t n) {
  count += n;
  for (auto& p : platforms) {
    if (p.first == platform) {
      p.second += n;
      return;
    }
  }
  platforms.emplace_back(std::string(platform), n);
}

void fill_top_crashers_by_id(TopCrashersResult& result, const IdCounts& current, const IdCounts& previous, int limit,
                             const NameLookup& names, const PlatformLookup& platforms) {
  result.total = 0;
  result.previous_total = 0;
  for (const auto& [id, c] : current) result.total += c.count;
  for (const auto& [id, c] : previous) result.previous_total += c.count;
  if (current.empty() || limit <= 0) return;

  // The current period: ids by count; every id tied with the limit-th one needs its name.
  std::vector<std::pair<int64_t, int64_t>> by_count;  // (count, id)
  by_count.reserve(current.size());
  for (const auto& [id, c] : current) by_count.emplace_back(c.count, id);
  std::sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const size_t n = std::min(by_count.size(), static_cast<size_t>(limit));
  const int64_t boundary = by_count[n - 1].first;
  std::vector<int64_t> wanted;
  for (const auto& [count, id] : by_count) {
    if (count < boundary) break;
    wanted.push_back(id);
  }
  std::unordered_map<int64_t, std::string> known = names(wanted);
  std::vector<std::pair<int64_t, int64_t>> top(by_count.begin(), by_count.begin() + static_cast<long>(wanted.size()));
  std::sort(top.begin(), top.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return known.at(a.second) < known.at(b.second);
  });
  top.resize(n);

  // Previous ranks: 1 + ids with more crashes + ids as many whose name sorts first.
  std::vector<int64_t> previous_counts;
  previous_counts.reserve(previous.size());
  for (const auto& [id, c] : previous) previous_counts.push_back(c.count);
  std::sort(previous_counts.begin(), previous_counts.end(), std::greater<>());
  std::unordered_set<int64_t> tied_counts;
  for (const auto& [count, id] : top) {
    if (auto it = previous.find(id); it != previous.end()) tied_counts.insert(it->second.count);
  }
  std::vector<int64_t> tied;  // previous ids whose name decides a rank
  for (const auto& [id, c] : previous) {
    if (tied_counts.count(c.count) && !known.count(id)) tied.push_back(id);
  }
  if (!tied.empty()) known.merge(names(tied));
  std::unordered_map<int64_t, std::vector<std::string_view>> tied_names;  // previous count -> names, sorted
  for (const auto& [id, c] : previous) {
    if (tied_counts.count(c.count)) tied_names[c.count].push_back(known.at(id));
  }
  for (auto& [count, list] : tied_names) std::sort(list.begin(), list.end());

  std::unordered_map<int64_t, std::vector<std::pair<std::string, int64_t>>> split;
  if (platforms) {
    std::vector<int64_t> shown;
    for (const auto& [count, id] : top) shown.push_back(id);
    split = platforms(shown);
  }
  auto percent = [](int64_t part, int64_t total) {
    return total ? 100.0 * static_cast<double>(part) / static_cast<double>(total) : 0.0;
  };
  for (size_t i = 0; i < top.size(); ++i) {
    const auto& [count, id] = top[i];
    const IdCount& counted = current.at(id);
    TopCrasher tc;
    tc.rank = static_cast<int>(i + 1);
    tc.signature = known.at(id);
    tc.count = count;
    const auto& by_platform = platforms ? split[id] : counted.platforms;
    tc.platforms = std::map<std::string, int64_t>(by_platform.begin(), by_platform.end());
    tc.percentage = percent(count, result.total);
    if (auto it = previous.find(id); it != previous.end()) {
      const int64_t pc = it->second.count;
      // Counts are sorted descending: those greater than pc come first.
      auto greater = std::lower_bound(previous_counts.begin(), previous_counts.end(), pc, std::greater<>());
      const auto& same = tied_names.at(pc);
      int rank = 1 + static_cast<int>(greater - previous_counts.begin()) +
                 static_cast<int>(std::lower_bound(same.begin(), same.end(), std::string_view(tc.signature)) - same.begin());
      tc.previous_rank = rank;
      tc.rank_change = rank - tc.rank;
      tc.previous_percentage = percent(pc, result.previous_total);
    }
    tc.percentage_change = tc.percentage - tc.previous_percentage;
    result.crashers.push_back(std::move(tc));
  }
}

std::string order_by_terms(const std::vector<SortKey>& sort, ColumnOf expr) {
  std::string out;
  for (const auto& s : sort) {
    std::string e = expr(*s.field);
    bool not_null = s.field->name == "date" || s.field->name == "uuid";
    if (!not_null) out += "(" + e + " IS NULL), ";
    out += e + (s.descending ? " DESC, " : " ASC, ");
  }
  return out;
}

std::optional<nlohmann::json> loosest_bound(Op op, const std::vector<nlohmann::json>& values) {
  if (values.empty() || (op != Op::kGreater && op != Op::kGreaterEq && op != Op::kLess && op != Op::kLessEq)) {
    return std::nullopt;
  }
  bool lower = op == Op::kGreater || op == Op::kGreaterEq;
  nlohmann::json best = values.front();
  for (const auto& v : values) {
    if (lower ? v < best : v > best) best = v;
  }
  return best;
}

}  // namespace bw::index::backend
