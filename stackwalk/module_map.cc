#include "stackwalk/module_map.h"

#include <algorithm>

namespace bw::stackwalk {

ModuleMap::ModuleMap(const minidump::Minidump& dump) {
  const auto& modules = dump.modules();
  for (size_t i = 0; i < modules.size(); ++i) {
    if (modules[i].size == 0) continue;
    ranges_.push_back({modules[i].base, modules[i].end(), i});
  }
  std::stable_sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.base < b.base; });
  // Two modules at one base: the first listed wins. Otherwise a lower module ends where the
  // next begins.
  std::vector<Range> kept;
  for (const Range& r : ranges_) {
    if (!kept.empty() && kept.back().base == r.base) continue;
    if (!kept.empty() && kept.back().end > r.base) kept.back().end = r.base;
    kept.push_back(r);
  }
  ranges_ = std::move(kept);
}

std::optional<size_t> ModuleMap::find(uint64_t address) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const Range& r) { return a < r.base; });
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (address >= it->end) return std::nullopt;
  return it->index;
}

}  // namespace bw::stackwalk
