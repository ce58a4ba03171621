// Compositions of crash storages (docs/design.md §5), each itself a CrashStorage:
//
//   PolyCrashStorage        saves to every store (all are tried even when one fails; then the
//                           first error is rethrown); reads and new-crash calls go to the first;
//                           remove removes from all (CrashNotFound only when none had it).
//   FallbackCrashStorage    saves to the primary, and to the fallback only when the primary
//                           fails (not for std::invalid_argument, a caller error); reads try the
//                           primary, then the fallback on CrashNotFound / UnsupportedOperation;
//                           new crashes come from the primary first, then the fallback.
//   PrimaryDeferredCrashStorage  raw crashes go to the primary or the deferred store by the id's
//                           throttle digit; processed crashes to the primary; reads try the id's
//                           store first, then the other; new crashes: primary's, then deferred's.
//
// Confirm and release go to every store that could hold the claim (they are no-ops elsewhere).
// Ownership: stores are shared_ptrs, so one store can sit in several compositions.
// Thread safety: as thread-safe as the stores they wrap; they add no state besides constants.
#pragma once

#include <memory>
#include <vector>

#include "storage/crash_storage.h"

namespace bw::storage {

class PolyCrashStorage : public CrashStorage {
 public:
  // Throws std::invalid_argument when `stores` is empty or holds a null.
  explicit PolyCrashStorage(std::vector<std::shared_ptr<CrashStorage>> stores);

  void save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps) override;
  void save_processed(const CrashId& id, const nlohmann::json& processed) override;
  nlohmann::json get_raw_crash(const CrashId& id) override { return first().get_raw_crash(id); }
  std::vector<std::string> get_dump_names(const CrashId& id) override { return first().get_dump_names(id); }
  std::string get_dump(const CrashId& id, const std::string& name) override { return first().get_dump(id, name); }
  DumpFiles get_dumps_as_files(const CrashId& id) override { return first().get_dumps_as_files(id); }
  nlohmann::json get_processed(const CrashId& id) override { return first().get_processed(id); }
  bool has_raw_crash(const CrashId& id) override { return first().has_raw_crash(id); }
  void remove(const CrashId& id) override;
  std::vector<CrashId> new_crashes(size_t limit) override { return first().new_crashes(limit); }
  std::optional<CrashId> claim_new_crash(std::chrono::seconds lease = std::chrono::seconds(300)) override {
    return first().claim_new_crash(lease);
  }
  std::vector<CrashId> claim_new_crashes(size_t max, std::chrono::seconds lease = std::chrono::seconds(300)) override {
    return first().claim_new_crashes(max, lease);
  }
  void confirm_new_crash(const CrashId& id) override { first().confirm_new_crash(id); }
  void release_new_crash(const CrashId& id) override { first().release_new_crash(id); }
  std::vector<std::string> processed_days() override { return first().processed_days(); }
  std::vector<CrashId> processed_crash_ids(const std::string& day) override { return first().processed_crash_ids(day); }

 private:
  CrashStorage& first() { return *stores_.front(); }
  std::vector<std::shared_ptr<CrashStorage>> stores_;
};

// Two stores tried in order: the shared behaviour of Fallback and PrimaryDeferred.
class PairCrashStorage : public CrashStorage {
 public:
  nlohmann::json get_raw_crash(const CrashId& id) override;
  std::vector<std::string> get_dump_names(const CrashId& id) override;
  std::string get_dump(const CrashId& id, const std::string& name) override;
  DumpFiles get_dumps_as_files(const CrashId& id) override;
  nlohmann::json get_processed(const CrashId& id) override;
  bool has_raw_crash(const CrashId& id) override;
  void remove(const CrashId& id) override;
  std::vector<CrashId> new_crashes(size_t limit) override;
  std::optional<CrashId> claim_new_crash(std::chrono::seconds lease = std::chrono::seconds(300)) override;
  std::vector<CrashId> claim_new_crashes(size_t max, std::chrono::seconds lease = std::chrono::seconds(300)) override;
  void confirm_new_crash(const CrashId& id) override;
  void release_new_crash(const CrashId& id) override;
  // Both stores' listings merged (a processed crash may be in either), without repeats.
  std::vector<std::string> processed_days() override;
  std::vector<CrashId> processed_crash_ids(const std::string& day) override;

 protected:
  // Throws std::invalid_argument on a null store.
  PairCrashStorage(std::shared_ptr<CrashStorage> first, std::shared_ptr<CrashStorage> second);
  // The order reads try the stores in for this id.
  virtual std::pair<CrashStorage*, CrashStorage*> read_order(const CrashId& id) {
    (void)id;
    return {first_.get(), second_.get()};
  }
  CrashStorage& first_store() { return *first_; }
  CrashStorage& second_store() { return *second_; }

 private:
  template <typename F>
  auto read(const CrashId& id, F&& f);

  std::shared_ptr<CrashStorage> first_;
  std::shared_ptr<CrashStorage> second_;
};

class FallbackCrashStorage : public PairCrashStorage {
 public:
  FallbackCrashStorage(std::shared_ptr<CrashStorage> primary, std::shared_ptr<CrashStorage> fallback)
      : PairCrashStorage(std::move(primary), std::move(fallback)) {}
  void save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps) override;
  void save_processed(const CrashId& id, const nlohmann::json& processed) override;
};

class PrimaryDeferredCrashStorage : public PairCrashStorage {
 public:
  PrimaryDeferredCrashStorage(std::shared_ptr<CrashStorage> primary, std::shared_ptr<CrashStorage> deferred)
      : PairCrashStorage(std::move(primary), std::move(deferred)) {}
  void save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps) override;
  void save_processed(const CrashId& id, const nlohmann::json& processed) override;

 protected:
  std::pair<CrashStorage*, CrashStorage*> read_order(const CrashId& id) override;
};

}  // namespace bw::storage
