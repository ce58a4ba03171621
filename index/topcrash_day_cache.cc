#include "index/topcrash_day_cache.h"

#include <algorithm>

namespace bw::index {

std::shared_ptr<const TopcrashDayCache::Day> TopcrashDayCache::find(const Key& key, int64_t version) {
  std::lock_guard lock(mutex_);
  auto it = days_.find(key);
  if (it == days_.end() || it->second.day->version != version) return nullptr;
  it->second.last_used = ++clock_;
  return it->second.day;
}

void TopcrashDayCache::store(const Key& key, std::shared_ptr<const Day> day) {
  std::lock_guard lock(mutex_);
  if (auto it = days_.find(key); it != days_.end()) {
    rows_ -= it->second.day->rows.size();
    days_.erase(it);
  }
  if (day->rows.size() > max_rows_) return;
  rows_ += day->rows.size();
  days_[key] = Entry{std::move(day), ++clock_};
  while (rows_ > max_rows_) {
    auto oldest = std::min_element(days_.begin(), days_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    rows_ -= oldest->second.day->rows.size();
    days_.erase(oldest);
  }
}

int32_t TopcrashDayCache::name_id(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto [it, added] = name_ids_.emplace(name, static_cast<int32_t>(names_.size()));
  if (added) names_.push_back(name);
  return it->second;
}

int32_t TopcrashDayCache::known_name_id(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = name_ids_.find(name);
  return it == name_ids_.end() ? -1 : it->second;
}

std::string TopcrashDayCache::name_of(int32_t id) const {
  std::lock_guard lock(mutex_);
  return names_.at(static_cast<size_t>(id));
}

size_t TopcrashDayCache::rows_held() const {
  std::lock_guard lock(mutex_);
  return rows_;
}

}  // namespace bw::index
