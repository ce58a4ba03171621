#include "web/correlations.h"

#include <algorithm>

namespace bw::web {

using nlohmann::json;

FacetCounts facet_counts(const json& facets, const std::string& field, int asked) {
  FacetCounts out;
  if (!facets.is_object()) return out;
  auto it = facets.find(field);
  if (it == facets.end() || !it->is_array()) return out;
  for (const auto& b : *it) {
    if (!b.is_object()) continue;
    auto term = b.find("term");
    auto count = b.find("count");
    if (term == b.end() || count == b.end() || !count->is_number_integer()) continue;
    std::string value = term->is_string() ? term->get<std::string>() : term->dump();
    out.buckets.emplace_back(std::move(value), count->get<int64_t>());
  }
  out.truncated = asked > 0 && it->size() >= static_cast<size_t>(asked);
  return out;
}

std::vector<Correlation> compute_correlations(const CorrelationInput& input, const CorrelationOptions& options) {
  std::vector<Correlation> out;
  if (input.signature_total <= 0) return out;
  // Two queries at two moments: the overall set always contains the signature's crashes.
  const int64_t overall_total = std::max(input.overall_total, input.signature_total);
  const auto sig_total = static_cast<double>(input.signature_total);
  for (const auto& [field, sig] : input.signature) {
    const FacetCounts* overall = nullptr;
    if (auto it = input.overall.find(field); it != input.overall.end()) overall = &it->second;
    for (const auto& [value, count] : sig.buckets) {
      if (count <= 0) continue;
      double share = static_cast<double>(count) / sig_total;
      if (share < options.min_support) continue;
      Correlation c;
      c.field = field;
      c.value = value;
      c.signature_count = count;
      c.signature_share = share;
      int64_t oc = -1;
      if (overall) {
        for (const auto& [v, n] : overall->buckets) {
          if (v == value) {
            oc = n;
            break;
          }
        }
        if (oc < 0 && overall->truncated && !overall->buckets.empty()) {
          int64_t smallest = overall->buckets.front().second;
          for (const auto& b : overall->buckets) smallest = std::min(smallest, b.second);
          oc = smallest;
          c.overall_is_upper_bound = true;
        }
      }
      if (oc < count) {
        // Not in a complete overall facet, or counted before the newest signature crashes: the
        // signature's own crashes are the least there can be. A bound below them is no bound.
        oc = count;
        c.overall_is_upper_bound = false;
      }
      c.overall_count = oc;
      c.overall_share = static_cast<double>(oc) / static_cast<double>(overall_total);
      c.ratio = c.signature_share / c.overall_share;
      // Strictly above 1, with room for rounding: a value exactly as common is not shown.
      if (c.ratio <= 1.0 + 1e-9) continue;
      out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(), [](const Correlation& a, const Correlation& b) {
    if (a.ratio != b.ratio) return a.ratio > b.ratio;
    if (a.signature_count != b.signature_count) return a.signature_count > b.signature_count;
    if (a.field != b.field) return a.field < b.field;
    return a.value < b.value;
  });
  if (out.size() > options.limit) out.resize(options.limit);
  return out;
}

}  // namespace bw::web
