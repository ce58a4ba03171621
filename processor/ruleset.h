// An ordered list of rules run on one crash (docs/design.md §8).
//
// `run` calls each rule whose predicate holds, in order. A rule that throws adds the note
// "rule <name> failed: <reason>", marks the processing failed, and the rules after it still run;
// a TransientProcessingError is not the crash's fault and propagates to the caller.
// Each rule's time is observed in bw_processor_rule_seconds{rule} (global metrics registry).
// Thread safety: `run` may be called from many threads at once (rules are stateless).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "processor/rule.h"

namespace bw::processor {

class Ruleset {
 public:
  Ruleset() = default;
  explicit Ruleset(std::vector<std::unique_ptr<Rule>> rules);
  Ruleset(Ruleset&&) noexcept = default;
  Ruleset& operator=(Ruleset&&) noexcept = default;

  void run(ProcessingContext& context) const;
  std::vector<std::string> names() const;
  size_t size() const { return rules_.size(); }

 private:
  std::vector<std::unique_ptr<Rule>> rules_;
};

}  // namespace bw::processor
