#include "index/super_search_query.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/ascii.h"

namespace bw::index {
namespace {

using json = nlohmann::json;

constexpr int64_t kMicrosPerHour = 3'600'000'000;

[[noreturn]] void fail(const std::string& parameter, const std::string& message) {
  throw QueryError(parameter, message);
}

std::string show(std::string_view text) {
  // Keeps error messages short and printable whatever the caller sent.
  std::string out = "\"";
  size_t n = 0;
  for (char c : text) {
    if (++n > 80) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int parse_count(const std::string& parameter, std::string_view text, int min, int max) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    fail(parameter, parameter + ": " + show(text) + " is not an integer");
  }
  if (v < min || v > max) {
    fail(parameter, parameter + ": " + std::to_string(v) + " is out of range (" + std::to_string(min) + " to " +
                        std::to_string(max) + ")");
  }
  return static_cast<int>(v);
}

struct ParsedValue {
  Op op = Op::kDefault;
  bool negated = false;
  std::string_view operand;
};

ParsedValue split_operator(std::string_view value) {
  ParsedValue out;
  if (!value.empty() && value.front() == '!') {
    out.negated = true;
    value.remove_prefix(1);
  }
  if (value == "__null__") {
    out.op = Op::kNull;
    return out;
  }
  if (value == "__true__") {
    out.op = Op::kTrue;
    return out;
  }
  static const std::pair<std::string_view, Op> prefixes[] = {
      {">=", Op::kGreaterEq}, {"<=", Op::kLessEq}, {">", Op::kGreater}, {"<", Op::kLess}, {"=", Op::kEquals},
      {"~", Op::kContains},   {"^", Op::kStartsWith}, {"$", Op::kEndsWith}, {"@", Op::kRegex}};
  for (const auto& [prefix, op] : prefixes) {
    if (value.starts_with(prefix)) {
      out.op = op;
      value.remove_prefix(prefix.size());
      break;
    }
  }
  out.operand = value;
  return out;
}

// The operator's symbol, with words where the symbol alone would not say what it does.
std::string op_words(Op op) {
  switch (op) {
    case Op::kDefault: return "is one of";
    case Op::kEquals: return "= (is)";
    case Op::kContains: return "~ (contains)";
    case Op::kStartsWith: return "^ (starts with)";
    case Op::kEndsWith: return "$ (ends with)";
    case Op::kRegex: return "@ (regex)";
    case Op::kGreater:
    case Op::kLess:
    case Op::kGreaterEq:
    case Op::kLessEq:
    case Op::kNull:
    case Op::kTrue: return std::string(to_string(op));
  }
  return "?";
}

class Parser {
 public:
  Parser(std::shared_ptr<const FieldCatalogue> catalogue, const Permissions& permissions,
         std::chrono::system_clock::time_point now, const QueryLimits& limits)
      : catalogue_(std::move(catalogue)), permissions_(permissions), limits_(limits) {
    now_us_ = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    query_.catalogue = catalogue_;
  }

  SuperSearchQuery run(const QueryPairs& pairs) {
    if (pairs.size() > limits_.max_pairs) {
      fail("_", "too many query parameters (" + std::to_string(pairs.size()) + "; at most " +
                    std::to_string(limits_.max_pairs) + ")");
    }
    for (const auto& [key, value] : pairs) {
      if (!key.empty() && key.front() == '_') {
        control(key, value);
      } else {
        filter(key, value);
      }
    }
    finish_dates();
    finish_columns();
    finish_sort();
    finish_paging();
    finish_aggregations();
    return std::move(query_);
  }

 private:
  // A field the caller may use, or nullptr when it is unknown to them.
  const Field* visible(std::string_view name) const {
    const Field* f = catalogue_->find(name);
    if (!f || !f->visible_to(permissions_)) return nullptr;
    return f;
  }

  void filter(const std::string& key, const std::string& value) {
    const Field* field = visible(key);
    if (!field || !field->exposed) fail(key, "unknown field " + show(key));
    if (value.empty()) return;  // HTML forms send empty fields
    ParsedValue pv = split_operator(value);
    if (!field->takes(pv.op)) {
      fail(key, key + ": operator " + op_words(pv.op) + " does not apply to " + std::string(to_string(field->type)) +
                    " field " + key);
    }
    bool no_operand = pv.op == Op::kNull || pv.op == Op::kTrue;
    if (!no_operand && pv.operand.empty()) fail(key, key + ": " + show(value) + " has an operator but no value");
    Filter& f = group(field, pv.op, pv.negated);
    if (no_operand) return;
    if (++value_count_ > limits_.max_values) {
      fail(key, "too many filter values (more than " + std::to_string(limits_.max_values) + ")");
    }
    f.values.push_back(operand(key, *field, pv.op, pv.operand));
    if (pv.op == Op::kRegex) f.regexes.push_back(compile_regex(key, pv.operand, limits_.max_regex_length));
  }

  Filter& group(const Field* field, Op op, bool negated) {
    for (auto& f : query_.filters) {
      if (f.field == field && f.op == op && f.negated == negated) return f;
    }
    Filter f;
    f.field = field;
    f.op = op;
    f.negated = negated;
    query_.filters.push_back(std::move(f));
    return query_.filters.back();
  }

  json operand(const std::string& key, const Field& field, Op op, std::string_view text) {
    switch (field.type) {
      case FieldType::kString:
      case FieldType::kEnum:
        return std::string(text);
      case FieldType::kInteger: {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size()) fail(key, key + ": " + show(text) + " is not an integer");
        return v;
      }
      case FieldType::kFloat: {
        double v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
          fail(key, key + ": " + show(text) + " is not a number");
        }
        return v;
      }
      case FieldType::kDate: {
        bool date_only = false;
        auto us = parse_date_us(text, &date_only);
        if (!us) {
          fail(key, key + ": " + show(text) +
                        " is not a date (use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.ffffff]] with an optional Z or +HH:MM)");
        }
        if (op == Op::kDefault || op == Op::kEquals) {
          return json::array({*us, *us + (date_only ? kMicrosPerDay : 1)});
        }
        return *us;
      }
      case FieldType::kBoolean: {
        std::string t = ascii_lowered(text);
        if (t == "true" || t == "1" || t == "yes") return true;
        if (t == "false" || t == "0" || t == "no") return false;
        fail(key, key + ": " + show(text) + " is not a boolean (true or false)");
      }
    }
    fail(key, "unsupported field type");
  }

  void control(const std::string& key, const std::string& value) {
    if (key == "_columns") {
      columns_given_ = true;
      for (auto name : split_commas(value)) column_names_.emplace_back(name);
    } else if (key == "_sort") {
      sort_given_ = true;
      for (auto name : split_commas(value)) sort_names_.emplace_back(name);
    } else if (key == "_results_number") {
      if (!value.empty()) results_number_ = parse_count(key, value, 0, limits_.max_results_number);
    } else if (key == "_results_offset") {
      if (!value.empty()) results_offset_ = parse_count(key, value, 0, limits_.max_window);
    } else if (key == "_facets") {
      facets_given_ = true;
      for (auto name : split_commas(value)) facet_names_.emplace_back(name);
    } else if (key == "_facets_size") {
      if (!value.empty()) query_.facets_size = parse_count(key, value, 1, limits_.max_facets_size);
    } else if (key.starts_with("_aggs.")) {
      aggs(key, value);
    } else if (key.starts_with("_histogram_interval.")) {
      std::string name = key.substr(std::string_view("_histogram_interval.").size());
      const Field* f = catalogue_->find(name);
      if (!f) fail(key, "unknown field " + show(name) + " in " + key);
      intervals_[name] = {key, value};
    } else if (key.starts_with("_histogram.")) {
      std::string name = key.substr(std::string_view("_histogram.").size());
      const Field* f = catalogue_->find(name);
      if (!f) fail(key, "unknown field " + show(name) + " in " + key);
      if (!f->visible_to(permissions_)) return;  // stripped
      if (!f->histogrammable()) fail(key, key + ": histograms need a date, integer or float field; " + name + " is " + std::string(to_string(f->type)));
      Aggregation& h = top_level(Aggregation::Kind::kHistogram, f);
      for (auto sub : split_commas(value)) add_child(key, h, sub);
    } else if (key == "_return_query") {
      fail(key, "_return_query is not supported");
    } else {
      fail(key, "unknown parameter " + show(key));
    }
  }

  Aggregation& top_level(Aggregation::Kind kind, const Field* field) {
    for (auto& a : query_.aggregations) {
      if (a.kind == kind && a.field == field) return a;
    }
    count_aggregation("_aggs");
    Aggregation a;
    a.kind = kind;
    a.field = field;
    if (kind == Aggregation::Kind::kHistogram && field->type == FieldType::kDate) a.interval = static_cast<double>(kMicrosPerDay);
    query_.aggregations.push_back(std::move(a));
    return query_.aggregations.back();
  }

  void count_aggregation(const std::string& key) {
    if (++aggregation_count_ > 100) fail(key, "too many aggregations (at most 100)");
  }

  // `sub` is a field name (terms) or `_cardinality.<field>`. Fields the caller may not see are
  // stripped; unknown ones are errors.
  void add_child(const std::string& key, Aggregation& parent, std::string_view sub) {
    Aggregation::Kind kind = Aggregation::Kind::kTerms;
    std::string_view name = sub;
    if (sub.starts_with("_cardinality.")) {
      kind = Aggregation::Kind::kCardinality;
      name.remove_prefix(std::string_view("_cardinality.").size());
    }
    const Field* f = catalogue_->find(name);
    if (!f) fail(key, "unknown field " + show(name) + " in " + key);
    if (!f->visible_to(permissions_)) return;
    for (const auto& c : parent.children) {
      if (c.kind == kind && c.field == f) return;
    }
    count_aggregation(key);
    Aggregation a;
    a.kind = kind;
    a.field = f;
    parent.children.push_back(std::move(a));
  }

  void aggs(const std::string& key, const std::string& value) {
    std::string_view path = std::string_view(key).substr(std::string_view("_aggs.").size());
    std::vector<std::string_view> names;
    while (true) {
      size_t dot = path.find('.');
      names.push_back(path.substr(0, dot));
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
    if (names.size() > 2) fail(key, key + ": at most two fields before the value (_aggs.<field>.<field2>)");
    std::vector<const Field*> fields;
    for (auto n : names) {
      const Field* f = catalogue_->find(n);
      if (!f) fail(key, "unknown field " + show(n) + " in " + key);
      if (!f->visible_to(permissions_)) return;  // the whole aggregation is stripped
      fields.push_back(f);
    }
    if (fields.size() == 2 && fields[0] == fields[1]) fail(key, key + ": a field cannot be nested in itself");
    Aggregation* node = &top_level(Aggregation::Kind::kTerms, fields[0]);
    if (fields.size() == 2) {
      Aggregation* child = nullptr;
      for (auto& c : node->children) {
        if (c.kind == Aggregation::Kind::kTerms && c.field == fields[1]) child = &c;
      }
      if (!child) {
        count_aggregation(key);
        Aggregation a;
        a.field = fields[1];
        node->children.push_back(std::move(a));
        child = &node->children.back();
      }
      node = child;
    }
    for (auto sub : split_commas(value)) add_child(key, *node, sub);
  }

  void finish_dates() {
    const Field* date = catalogue_->find("date");
    std::optional<int64_t> lower, upper;  // [lower, upper]
    for (const auto& f : query_.filters) {
      if (f.field != date || f.negated || f.values.empty()) continue;
      int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
      for (const auto& v : f.values) {
        if (v.is_array()) {
          lo = std::min(lo, v[0].get<int64_t>());
          hi = std::max(hi, v[1].get<int64_t>() - 1);
        } else {
          lo = std::min(lo, v.get<int64_t>());
          hi = std::max(hi, v.get<int64_t>());
        }
      }
      switch (f.op) {
        case Op::kGreater:
        case Op::kGreaterEq:
          if (f.op == Op::kGreater) ++lo;  // the bounds are inclusive
          lower = lower ? std::max(*lower, lo) : lo;
          break;
        case Op::kLess:
        case Op::kLessEq:
          if (f.op == Op::kLess) --hi;
          upper = upper ? std::min(*upper, hi) : hi;
          break;
        case Op::kDefault:
        case Op::kEquals:
          lower = lower ? std::max(*lower, lo) : lo;
          upper = upper ? std::min(*upper, hi) : hi;
          break;
        default:
          break;
      }
    }
    if (!upper) {
      upper = now_us_;
      group(date, Op::kLessEq, false).values.push_back(now_us_);
    }
    if (!lower) {
      lower = *upper - limits_.default_days * kMicrosPerDay;
      group(date, Op::kGreaterEq, false).values.push_back(*lower);
    }
    if (*upper - *lower > limits_.max_days * kMicrosPerDay) {
      fail("date", "date: the range is longer than " + std::to_string(limits_.max_days) + " days");
    }
    query_.date_from_us = *lower;
    query_.date_to_us = *upper;
  }

  void finish_columns() {
    if (!columns_given_) column_names_ = {"uuid", "date", "signature", "product", "version"};
    std::set<const Field*> seen;
    for (const auto& name : column_names_) {
      const Field* f = catalogue_->find(name);
      if (!f) fail("_columns", "unknown field " + show(name) + " in _columns");
      if (!f->visible_to(permissions_)) continue;
      if (seen.insert(f).second) query_.columns.push_back(f);
    }
  }

  void finish_sort() {
    if (!sort_given_) sort_names_ = {"-date"};
    std::set<const Field*> seen;
    for (const auto& spec : sort_names_) {
      std::string_view name = spec;
      bool desc = false;
      if (name.starts_with('-')) {
        desc = true;
        name.remove_prefix(1);
      }
      const Field* f = catalogue_->find(name);
      if (!f) fail("_sort", "unknown field " + show(name) + " in _sort");
      if (!f->visible_to(permissions_)) continue;
      if (!f->sortable()) fail("_sort", "_sort: " + std::string(name) + " is a list and cannot be sorted on");
      if (seen.insert(f).second) query_.sort.push_back(SortKey{f, desc});
    }
  }

  void finish_paging() {
    query_.results_number = results_number_;
    query_.results_offset = results_offset_;
    if (results_offset_ + results_number_ > limits_.max_window) {
      fail("_results_offset", "_results_offset + _results_number must be at most " + std::to_string(limits_.max_window) +
                                  " (narrow the query instead of paging deeper)");
    }
  }

  void finish_aggregations() {
    std::vector<Aggregation> facets;
    if (!facets_given_) facet_names_ = {"signature"};
    for (const auto& name : facet_names_) {
      std::string_view n = name;
      Aggregation::Kind kind = Aggregation::Kind::kTerms;
      if (n.starts_with("_cardinality.")) {
        kind = Aggregation::Kind::kCardinality;
        n.remove_prefix(std::string_view("_cardinality.").size());
      }
      const Field* f = catalogue_->find(n);
      if (!f) fail("_facets", "unknown field " + show(n) + " in _facets");
      if (!f->visible_to(permissions_)) continue;
      bool exists = std::any_of(query_.aggregations.begin(), query_.aggregations.end(),
                                [&](const Aggregation& a) { return a.kind == kind && a.field == f; });
      bool dup = std::any_of(facets.begin(), facets.end(),
                             [&](const Aggregation& a) { return a.kind == kind && a.field == f; });
      if (exists || dup) continue;
      count_aggregation("_facets");
      Aggregation a;
      a.kind = kind;
      a.field = f;
      facets.push_back(std::move(a));
    }
    // Plain facets first, in the order given, then _aggs and _histogram ones.
    facets.insert(facets.end(), std::make_move_iterator(query_.aggregations.begin()),
                  std::make_move_iterator(query_.aggregations.end()));
    query_.aggregations = std::move(facets);

    for (const auto& [name, spec] : intervals_) {
      const auto& [key, value] = spec;
      const Field* f = catalogue_->find(name);
      Aggregation* h = nullptr;
      for (auto& a : query_.aggregations) {
        if (a.kind == Aggregation::Kind::kHistogram && a.field == f) h = &a;
      }
      if (!f->visible_to(permissions_)) continue;
      if (!h) fail(key, key + " needs _histogram." + name);
      if (f->type == FieldType::kDate) {
        if (value == "day" || value == "1d") {
          h->interval = static_cast<double>(kMicrosPerDay);
        } else if (value == "hour" || value == "1h") {
          h->interval = static_cast<double>(kMicrosPerHour);
        } else if (value == "week" || value == "1w") {
          h->interval = static_cast<double>(7 * kMicrosPerDay);
          h->weeks = true;
        } else {
          fail(key, key + ": " + show(value) + " is not an interval (day, hour or week)");
        }
      } else {
        double v = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || p != value.data() + value.size() || !(v > 0) || !std::isfinite(v) ||
            (f->type == FieldType::kInteger && v != std::floor(v))) {
          fail(key, key + ": " + show(value) + " is not a positive " +
                        (f->type == FieldType::kInteger ? "integer" : "number"));
        }
        h->interval = v;
      }
    }
  }

  std::shared_ptr<const FieldCatalogue> catalogue_;
  const Permissions& permissions_;
  QueryLimits limits_;
  int64_t now_us_ = 0;
  SuperSearchQuery query_;
  size_t value_count_ = 0;
  int aggregation_count_ = 0;
  bool columns_given_ = false, sort_given_ = false, facets_given_ = false;
  std::vector<std::string> column_names_, sort_names_, facet_names_;
  int results_number_ = 100, results_offset_ = 0;
  std::map<std::string, std::pair<std::string, std::string>> intervals_;
};

}  // namespace

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string Aggregation::name() const {
  switch (kind) {
    case Kind::kTerms: return field->name;
    case Kind::kHistogram: return "histogram_" + field->name;
    case Kind::kCardinality: return "cardinality_" + field->name;
  }
  return field->name;
}

SuperSearchQuery parse_super_search(std::shared_ptr<const FieldCatalogue> catalogue, const QueryPairs& pairs,
                                    const Permissions& permissions, std::chrono::system_clock::time_point now,
                                    const QueryLimits& limits) {
  return Parser(std::move(catalogue), permissions, now, limits).run(pairs);
}

std::shared_ptr<const re2::RE2> compile_regex(const std::string& parameter, std::string_view pattern, size_t max_length) {
  if (pattern.size() > max_length) {
    fail(parameter, parameter + ": the regular expression is longer than " + std::to_string(max_length) + " bytes");
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // bounds the DFA; RE2 falls back to the (still linear) NFA
  options.set_encoding(RE2::Options::EncodingUTF8);
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) fail(parameter, parameter + ": bad regular expression " + show(pattern) + ": " + re->error());
  return re;
}

bool regex_matches(const re2::RE2& regex, std::string_view value) {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), regex);
}

json hit_value(const Field& field, const json& stored) {
  if (field.type == FieldType::kDate && stored.is_number_integer()) return format_date_us(stored.get<int64_t>());
  return stored;
}

}  // namespace bw::index
