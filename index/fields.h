// The Super Search field catalogue: every searchable field as data, in one place. The query
// parser (super_search_query.h) validates against it, both backends take their columns and JSON
// keys from it, /api/SuperSearchFields/ prints it, and extract_row turns a processed crash into
// the typed values both backends store. A site adds searchable annotations by configuration
// (`index.annotations`), never by code.
//
// A field's value is read from the first of its processed-crash sources that is present, then
// from the first raw-crash annotation that is present (so crashes processed before the processor
// knew a client's convention still index well), and converted to the field's type; a value that
// does not convert is left out (null), never guessed.
//
// Thread safety: a FieldCatalogue is immutable once built; share it freely (shared_ptr).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "index/crash_index.h"

namespace bw::index {

enum class FieldType { kString, kEnum, kInteger, kFloat, kDate, kBoolean };
// "string", "enum", "integer", "float", "date", "boolean".
std::string_view to_string(FieldType type);
std::optional<FieldType> parse_field_type(std::string_view text);

// Super Search operators (value prefixes). kDefault is a value with no prefix: "is one of".
enum class Op { kDefault, kEquals, kContains, kStartsWith, kEndsWith, kRegex, kGreater, kLess, kGreaterEq, kLessEq, kNull, kTrue };
// The prefix as written ("", "=", "~", "^", "$", "@", ">", "<", ">=", "<=", "__null__", "__true__").
std::string_view to_string(Op op);

// The permission protected fields need.
inline constexpr std::string_view kViewPii = "view_pii";

struct Field {
  std::string name;                     // Super Search name (query key, hit key, facet name)
  FieldType type = FieldType::kString;
  bool is_list = false;                 // a list of strings: a filter matches any element, facets count elements
  bool exposed = true;                  // false: stored and returned, but not filterable
  std::string permission;               // "" (public) or "view_pii"
  std::vector<std::string> processed_sources;  // dotted paths into the processed crash; first present wins
  std::vector<std::string> raw_sources;        // raw-crash annotation names, when no processed source is present
  std::string column;                   // row-table column; empty: kept in the row's JSON document under `name`
  std::string description;

  bool indexed() const { return !column.empty(); }
  bool visible_to(const Permissions& permissions) const;
  // Operators this field takes (crash-stats' rules by type; `!` negates any of them).
  bool takes(Op op) const;
  // Histograms need an ordered number line.
  bool histogrammable() const { return !is_list && (type == FieldType::kDate || type == FieldType::kInteger || type == FieldType::kFloat); }
  bool sortable() const { return !is_list; }
};

class FieldCatalogue {
 public:
  // The built-in fields only.
  static std::shared_ptr<const FieldCatalogue> builtin();
  // Built-ins plus site annotations, each declared "Name:type" or "Name:type:public" (type one of
  // string, enum, integer, float, boolean, date; names [A-Za-z0-9_-]{1,64} not starting with `_`, distinct from every
  // other field). Site annotations need view_pii unless declared public (raw annotations are
  // protected by default, docs/design.md §12). Throws std::invalid_argument naming the declaration.
  static std::shared_ptr<const FieldCatalogue> with_annotations(const std::vector<std::string>& declarations);

  const std::vector<Field>& all() const { return fields_; }
  const Field* find(std::string_view name) const;
  // Position of a field in all() (the index of its value in CrashRow::values).
  size_t position(const Field& field) const { return static_cast<size_t>(&field - fields_.data()); }

  // /api/SuperSearchFields/: {name: {"name", "namespace", "in_database_name", "query_type",
  // "data_validation_type", "permissions_needed", "is_exposed", "is_returned", "is_mandatory",
  // "has_full_version", "form_field_choices", "description"}}. Lists every field; callers decide
  // whether to hide protected ones.
  nlohmann::json to_json() const;

 private:
  explicit FieldCatalogue(std::vector<Field> fields);
  std::vector<Field> fields_;
  std::unordered_map<std::string, size_t> by_name_;
};

// A processed crash as both backends store it.
struct CrashRow {
  std::string uuid;
  int64_t date_us = 0;                  // date_processed, microseconds since the epoch (UTC)
  // One value per catalogue field (same order as all()), converted to the field's type: string,
  // integer (int64; dates as microseconds), float, boolean, array of strings (lists), or null.
  std::vector<nlohmann::json> values;
  // The JSON document of the row: every non-column field that has a value, keyed by field name.
  nlohmann::json document;

  // Top Crashers rollup key; absent strings are "".
  int64_t day = 0;                      // days since the epoch (UTC) of date_us
  std::string product, version, platform, process_type, signature, build_id;

  // json_dump.modules[] with missing_symbols true and a debug file and id (at most
  // kMaxMissingModules, strings at most kMaxModuleText bytes, the id upper-cased, duplicates once).
  struct MissingModule {
    std::string debug_file, debug_id, code_file, code_id;
  };
  std::vector<MissingModule> missing_modules;
};

inline constexpr size_t kMaxMissingModules = 1000;
inline constexpr size_t kMaxModuleText = 1024;

// Longest string kept for one value (longer ones are cut at a UTF-8 boundary), as Elasticsearch
// keeps at most 10,000 characters of a keyword.
inline constexpr size_t kMaxValueBytes = 10000;

// Builds the row of a processed crash. Throws InvalidCrash when `uuid` is not a valid crash id or
// `date_processed` does not parse.
CrashRow extract_row(const FieldCatalogue& catalogue, const nlohmann::json& processed, const nlohmann::json& raw);

// Converts a JSON value to a field's type (the rules above); null when it does not convert.
nlohmann::json convert_value(const Field& field, const nlohmann::json& value);

// Dates as the index returns them: "2026-11-01T12:34:56.123456+00:00" (fraction only when
// non-zero); "YYYY-MM-DD" for days.
std::string format_date_us(int64_t micros);
std::string format_day(int64_t days_since_epoch);
// Parses the date forms Super Search accepts: "YYYY-MM-DD", then optionally "T" or " " and
// "HH:MM", "HH:MM:SS" or "HH:MM:SS.f" (1-9 fraction digits), then optionally a zone "Z",
// "+HH:MM", "+HHMM" or "+HH" (also "-"); no zone is UTC. Returns microseconds since the epoch;
// `date_only` (if given) tells whether the text had no time part. nullopt for anything else.
std::optional<int64_t> parse_date_us(std::string_view text, bool* date_only = nullptr);
// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
// Floor division helpers for dates before 1970.
inline int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline constexpr int64_t kMicrosPerDay = 86'400'000'000;

}  // namespace bw::index
