// Super Search queries: from the decoded query-string pairs of /api/SuperSearch/ to a typed,
// validated query both backends execute the same way (docs/search.md has the user's view).
//
// Grammar (crash-stats' Super Search, docs/design.md §11):
// - `<field>=<value>` for any exposed field the caller may see. The value may start with an
//   operator: none (is one of), `=` (is), `~` (contains), `^` (starts with), `$` (ends with),
//   `@` (RE2 regular expression matching the whole value), `>` `<` `>=` `<=`, `__null__` (has no
//   value), `__true__` (is true); a leading `!` negates any of them. Which operators a field
//   takes depends on its type (Field::takes). String comparisons are case-sensitive.
// - Values of one field with the same operator and negation are OR'ed (`product=A&product=B`);
//   different groups are AND'ed (`date=>=X&date=<Y` is a range). A negated group matches crashes
//   matching none of its values, including crashes without the field.
// - A date without a time (`date=2026-11-01`) with no operator means that whole UTC day; with
//   `>=`/`<` it means that day's midnight. When no lower date bound is given the range starts 7
//   days before the upper bound; when no upper bound is given it ends now. A range longer than
//   365 days is refused.
// - `_columns` (default uuid, date, signature, product, version), `_sort` (fields, `-` for
//   descending, several allowed; default -date; ties always end ordered by uuid; missing values
//   sort last both ways), `_results_number` (default 100, 0..1000), `_results_offset` (offset +
//   number ≤ 10,000, as crash-stats).
// - `_facets` (terms aggregations; default signature), `_facets_size` (default 50, 1..10000),
//   `_aggs.<field>=<sub>` and `_aggs.<field>.<field2>=<sub>` (nested terms), `_histogram.<field>=<sub>`
//   with `_histogram_interval.<field>` (day, hour or week for dates, default day; a positive
//   number for numbers, default 1), and `_cardinality.<field>` as a value of any of these.
//   Several of these parameters may be comma-separated or repeated.
// - Empty values are ignored (HTML forms send them); an operator with nothing after it is an error.
//
// Permissions: a filter on a field the caller may not see is refused exactly like an unknown field
// (QueryError, so the field's existence is not revealed); such fields are silently stripped from
// _columns, _sort, _facets, _aggs and _histogram, as crash-stats' public SuperSearch does.
//
// Errors: QueryError naming the parameter for an unknown field or parameter, an operator the field
// does not take, a value of the wrong type, a bad date or regex, or a limit exceeded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "index/crash_index.h"
#include "index/fields.h"

namespace re2 {
class RE2;
}

namespace bw::index {

struct QueryLimits {
  size_t max_values = 1000;            // filter values over all fields
  size_t max_pairs = 5000;             // query-string pairs of any kind
  int max_results_number = 1000;
  int max_window = 10000;              // _results_offset + _results_number
  int max_facets_size = 10000;
  size_t max_regex_length = 1000;      // bytes of one `@` pattern
  int64_t default_days = 7;
  int64_t max_days = 365;
};

// One AND'ed condition: the field matches any of `values` with `op` (none of them when negated).
struct Filter {
  const Field* field = nullptr;
  Op op = Op::kDefault;
  bool negated = false;
  // Typed operands: strings; int64 for integers and dates (microseconds); double for floats; bool
  // for booleans. Empty for kNull and kTrue. Dates with kDefault or kEquals hold [from, to) pairs
  // (microseconds, a whole UTC day for a date without time, one microsecond for an instant), so
  // `date=2026-11-01&date=2026-11-03` means either day.
  std::vector<nlohmann::json> values;
  // Compiled `@` patterns, one per value (RE2, whole-value match).
  std::vector<std::shared_ptr<const re2::RE2>> regexes;
};

struct SortKey {
  const Field* field = nullptr;
  bool descending = false;
};

struct Aggregation {
  enum class Kind { kTerms, kHistogram, kCardinality };
  Kind kind = Kind::kTerms;
  const Field* field = nullptr;
  // Histograms: bucket width; microseconds for dates (kDateWeek: Monday-based weeks).
  double interval = 1;
  bool weeks = false;                  // date histogram by ISO week (buckets start on Monday)
  std::vector<Aggregation> children;

  // The key in "facets": the field name, "histogram_<field>" or "cardinality_<field>".
  std::string name() const;
};

struct SuperSearchQuery {
  std::shared_ptr<const FieldCatalogue> catalogue;
  std::vector<Filter> filters;         // AND'ed; always includes the date range
  int64_t date_from_us = 0;            // the effective date range [from, to]
  int64_t date_to_us = 0;
  std::vector<const Field*> columns;
  std::vector<SortKey> sort;           // without the final uuid tie-break (backends add it)
  int results_number = 100;
  int results_offset = 0;
  int facets_size = 50;
  std::vector<Aggregation> aggregations;
};

// Parses and validates. `catalogue` must outlive nothing: the query keeps a reference to it.
SuperSearchQuery parse_super_search(std::shared_ptr<const FieldCatalogue> catalogue, const QueryPairs& pairs,
                                    const Permissions& permissions, std::chrono::system_clock::time_point now,
                                    const QueryLimits& limits = {});

// Compiles an `@` pattern as every backend must run it: RE2 syntax, the whole value must match,
// case-sensitive, bounded memory. Throws QueryError(parameter) for a bad or oversized pattern.
std::shared_ptr<const re2::RE2> compile_regex(const std::string& parameter, std::string_view pattern,
                                              size_t max_length = QueryLimits{}.max_regex_length);
bool regex_matches(const re2::RE2& regex, std::string_view value);

// A hit value as search returns it: dates formatted with format_date_us, everything else as stored.
nlohmann::json hit_value(const Field& field, const nlohmann::json& stored);

// The parts of a comma-separated parameter value, spaces around each trimmed, empty parts
// dropped ("a, b,,c" → a, b, c): how _columns, _sort, _facets and the web form's lists are read.
std::vector<std::string_view> split_commas(std::string_view text);

}  // namespace bw::index
