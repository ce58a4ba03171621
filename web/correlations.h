// Correlations of a signature (docs/web.md "Signature"): which values of a few fields are
// over-represented among a signature's crashes compared with all crashes of the same products in
// the same period. crash-stats outsourced this to a Telemetry job; here it is a pure computation
// over two Super Search facet answers (one filtered on the signature, one not).
//
// For each field and each value the signature facet lists:
//   signature share = signature count / signature total
//   overall share   = overall count / overall total
//   ratio           = signature share / overall share
// A value is kept when its signature share is at least `min_support` and its ratio is above 1;
// the result is ordered by ratio (highest first), then signature count, field and value, and cut
// to `limit` rows.
//
// What it does not claim: a ratio is an association in one period, not a cause; small counts
// make large ratios by chance (min_support keeps the rarest values out, nothing more is tested).
// Counts come from two queries: the overall counts are clamped so they are never below the
// signature's own (the signature's crashes are part of every crash). When the overall facet was
// cut (`truncated`: it answered as many values as asked) and a value is not in it, its overall
// count is only known to be at most the smallest count listed: `overall_is_upper_bound` is set
// and the ratio is a lower bound.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw::web {

// One field's terms facet: (value, count) pairs as the search answered them.
struct FacetCounts {
  std::vector<std::pair<std::string, int64_t>> buckets;
  bool truncated = false;  // the facet answered as many buckets as asked: more values may exist
};

// Reads facet `field` of a Super Search answer's "facets" object; `asked` is the _facets_size the
// query used (a facet with that many buckets is marked truncated). Missing or malformed: empty.
FacetCounts facet_counts(const nlohmann::json& facets, const std::string& field, int asked);

struct CorrelationInput {
  int64_t signature_total = 0;
  int64_t overall_total = 0;
  std::map<std::string, FacetCounts> signature;  // field → facet over the signature's crashes
  std::map<std::string, FacetCounts> overall;    // field → facet over every crash
};

struct CorrelationOptions {
  double min_support = 0.05;  // least signature share a value needs
  size_t limit = 10;          // rows returned
};

struct Correlation {
  std::string field;
  std::string value;
  int64_t signature_count = 0;
  double signature_share = 0;  // 0..1
  int64_t overall_count = 0;
  double overall_share = 0;    // 0..1
  bool overall_is_upper_bound = false;
  double ratio = 0;            // signature_share / overall_share (a lower bound when the above is set)
};

std::vector<Correlation> compute_correlations(const CorrelationInput& input, const CorrelationOptions& options = {});

}  // namespace bw::web
