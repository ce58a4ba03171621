// Top Crashers' per-day rows in memory, each with the version it was read at.
//
// The PostgreSQL backend (index/postgres_crash_index.h) ranks signatures of every version by
// summing the rollup topcrash_signature_daily over two periods: ~80,000 rows for 7 days at
// 1,000,000 crashes. Past days rarely change, so it keeps each product × day's rows here with the day's
// version from topcrash_day_versions (migration 7: a new value from one sequence every time one
// of the day's rows changes, in the same transaction). A reader looks up the versions in its
// snapshot and re-reads only the days whose version is not the one held; a day held at another
// version is never used, so an answer is always exactly the snapshot's. Versions are compared
// for equality only: two writers of one day may commit their versions out of order.
//
// Ownership: entries are shared, immutable once stored; a caller may keep one after it is
// replaced or evicted. Thread safety: every member may be called from any thread. Memory: at
// most `max_rows` rows are held; past that the least recently used days are dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bw::index {

class TopcrashDayCache {
 public:
  struct Row {
    int32_t signature_id;
    int32_t platform;      // name_of() gives these two back
    int32_t process_type;
    int64_t count;
  };
  struct Day {
    int64_t version = 0;
    std::vector<Row> rows;
  };
  using Key = std::pair<std::string, int64_t>;  // product, day

  explicit TopcrashDayCache(size_t max_rows = 2'000'000) : max_rows_(max_rows) {}

  // The day held at exactly `version`, or null.
  std::shared_ptr<const Day> find(const Key& key, int64_t version);
  // Holds `day` for `key` (replacing any other version), then drops least recently used days
  // while more than max_rows rows are held. A day larger than max_rows alone is not held.
  void store(const Key& key, std::shared_ptr<const Day> day);

  // A small number standing for a platform or process type name, the same for the life of the
  // cache.
  int32_t name_id(const std::string& name);
  // The id of a name already seen, or -1.
  int32_t known_name_id(const std::string& name) const;
  std::string name_of(int32_t id) const;

  size_t rows_held() const;

 private:
  struct Entry {
    std::shared_ptr<const Day> day;
    uint64_t last_used = 0;
  };
  const size_t max_rows_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> days_;
  size_t rows_ = 0;
  uint64_t clock_ = 0;
  std::unordered_map<std::string, int32_t> name_ids_;
  std::vector<std::string> names_;
};

}  // namespace bw::index
