#include "processor/ruleset.h"

#include <chrono>
#include <exception>

#include "core/metrics.h"

namespace bw::processor {

Ruleset::Ruleset(std::vector<std::unique_ptr<Rule>> rules) : rules_(std::move(rules)) {}

void Ruleset::run(ProcessingContext& context) const {
  auto& registry = metrics::Registry::global();
  for (const auto& rule : rules_) {
    std::string name(rule->name());
    auto& latency = registry.histogram("bw_processor_rule_seconds", "time spent in each processing rule",
                                       metrics::default_latency_buckets(), {{"rule", name}});
    auto start = std::chrono::steady_clock::now();
    try {
      if (rule->predicate(context)) rule->action(context);
    } catch (const TransientProcessingError&) {
      throw;
    } catch (const std::exception& e) {
      context.note("rule " + name + " failed: " + e.what());
      context.failed = true;
      registry.counter("bw_processor_rule_failures_total", "rules that threw while processing a crash", {{"rule", name}})
          .inc();
    }
    latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

std::vector<std::string> Ruleset::names() const {
  std::vector<std::string> out;
  for (const auto& rule : rules_) out.emplace_back(rule->name());
  return out;
}

}  // namespace bw::processor
