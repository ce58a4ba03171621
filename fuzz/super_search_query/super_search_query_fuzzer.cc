// Super Search query strings come from anyone on the network: every input must either parse into
// a query within the limits or be refused with a QueryError naming a parameter, never crash,
// hang or throw anything else. Input: "key=value&key=value..." (no percent-decoding; the HTTP
// layer decodes); a first byte with its low bit set makes the caller hold view_pii.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "index/super_search_query.h"

namespace {

bw::index::QueryPairs split(std::string_view text) {
  bw::index::QueryPairs pairs;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      pairs.emplace_back(std::string(pair), "");
    } else {
      pairs.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return pairs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bw::index;
  if (size == 0) return 0;
  Permissions perms;
  if (data[0] & 1) perms.insert("view_pii");
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const auto catalogue = FieldCatalogue::with_annotations({"Flavor:enum:public", "Secret:string"});
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1793534400));
  QueryLimits limits;
  try {
    SuperSearchQuery q = parse_super_search(catalogue, split(text), perms, now, limits);
    if (q.results_number < 0 || q.results_number > limits.max_results_number) std::abort();
    if (q.results_offset < 0 || q.results_offset + q.results_number > limits.max_window) std::abort();
    if (q.facets_size < 1 || q.facets_size > limits.max_facets_size) std::abort();
    if (q.date_to_us - q.date_from_us > limits.max_days * bw::index::kMicrosPerDay) std::abort();
    size_t values = 0;
    for (const auto& f : q.filters) {
      if (!f.field->visible_to(perms) || !f.field->takes(f.op)) std::abort();
      if (f.op == Op::kRegex && f.regexes.size() != f.values.size()) std::abort();
      values += f.values.size();
    }
    if (values > limits.max_values + 2) std::abort();  // + the default date bounds
    for (const auto* c : q.columns) {
      if (!c->visible_to(perms)) std::abort();
    }
    for (const auto& s : q.sort) {
      if (!s.field->visible_to(perms) || !s.field->sortable()) std::abort();
    }
    for (const auto& a : q.aggregations) {
      if (!a.field->visible_to(perms)) std::abort();
      if (a.kind == Aggregation::Kind::kHistogram && !(a.interval > 0)) std::abort();
    }
  } catch (const QueryError& e) {
    if (std::string_view(e.what()).empty()) std::abort();
  }
  return 0;
}
