#include "web/symbol_healing.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/metrics.h"
#include "web/html.h"

namespace bw::web {

struct SymbolHealer::Impl {
  index::CrashIndex& index;
  queue::CrashQueue& queue;
  Options options;
  std::shared_ptr<spdlog::logger> log = logger("symbols");
  metrics::Counter& healed = metrics::Registry::global().counter(
      "bw_symbols_healed_crashes_total", "Crashes queued for reprocessing because their missing symbols arrived");
  metrics::Counter& failures = metrics::Registry::global().counter(
      "bw_symbols_healing_failures_total", "Symbol arrivals whose crashes could not be queued for reprocessing");
};

SymbolHealer::SymbolHealer(index::CrashIndex& index, queue::CrashQueue& queue, Options options)
    : impl_(std::make_unique<Impl>(Impl{index, queue, options})) {}

SymbolHealer::~SymbolHealer() = default;

size_t SymbolHealer::heal(const symbols::StoreResult& stored) {
  const std::string& debug_file = stored.module.debug_file;
  const std::string& debug_id = stored.module.debug_id;
  size_t queued = 0;
  try {
    auto ids = impl_->index.crashes_missing_symbols(debug_file, debug_id, impl_->options.max_crashes);
    std::vector<queue::CrashMessage> batch;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto id = CrashId::parse(ids[i]);
      if (!id) continue;  // the index holds validated ids; never trust it blindly
      batch.push_back({*id, queue::Ruleset::kDefault});
      if (batch.size() == impl_->options.batch_size) {
        impl_->queue.publish_batch(batch, queue::QueueKind::kReprocessing);
        queued += batch.size();
        impl_->healed.inc(static_cast<double>(batch.size()));
        batch.clear();
      }
    }
    if (!batch.empty()) {
      impl_->queue.publish_batch(batch, queue::QueueKind::kReprocessing);
      queued += batch.size();
      impl_->healed.inc(static_cast<double>(batch.size()));
    }
    if (queued > 0) {
      log_fields(*impl_->log, spdlog::level::info, "symbols arrived: crashes queued for reprocessing",
                 {{"module", stored.path}, {"crashes", std::to_string(queued)}});
    }
  } catch (const std::exception& e) {
    impl_->failures.inc();
    log_fields(*impl_->log, spdlog::level::warn, "healing failed: crashes missing these symbols were not all queued",
               {{"module", stored.path},
                {"queued", std::to_string(queued)},
                {"error", std::string(html::utf8_prefix(e.what(), 500))}});
  }
  return queued;
}

symbols::StoredHook SymbolHealer::hook() {
  return [this](const symbols::StoreResult& stored) { heal(stored); };
}

}  // namespace bw::web
