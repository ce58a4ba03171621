// MemoryCrashStorage: the whole Crash Storage API in memory, for unit tests of code above the
// API (collector, crash mover, processor). Same semantics as the file-system storages: whole
// replacement on save, CrashNotFound for anything missing, dump names checked, new crashes
// oldest first (in save order) with claims that expire and come back. Deferred crashes are new
// crashes too, as in the collector's buffer.
//
// Thread safety: one mutex around everything. Ownership: holds copies of everything saved;
// dumps given as files are read in at save time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "storage/crash_storage.h"

namespace bw::storage {

class MemoryCrashStorage : public CrashStorage {
 public:
  void save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps) override;
  void save_processed(const CrashId& id, const nlohmann::json& processed) override;
  nlohmann::json get_raw_crash(const CrashId& id) override;
  std::vector<std::string> get_dump_names(const CrashId& id) override;
  std::string get_dump(const CrashId& id, const std::string& name) override;
  // Writes each dump to a temporary file, removed when the returned DumpFiles goes away.
  DumpFiles get_dumps_as_files(const CrashId& id) override;
  nlohmann::json get_processed(const CrashId& id) override;
  bool has_raw_crash(const CrashId& id) override;
  void remove(const CrashId& id) override;
  std::vector<CrashId> new_crashes(size_t limit) override;
  std::optional<CrashId> claim_new_crash(std::chrono::seconds lease = std::chrono::seconds(300)) override;
  void confirm_new_crash(const CrashId& id) override;
  void release_new_crash(const CrashId& id) override;
  std::vector<std::string> processed_days() override;
  std::vector<CrashId> processed_crash_ids(const std::string& day) override;

  size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Raw {
    nlohmann::json raw_crash;
    std::vector<std::string> dump_names;
    std::map<std::string, std::string> dumps;
  };
  struct Stored {
    std::optional<Raw> raw;
    std::optional<nlohmann::json> processed;
  };
  struct NewState {
    uint64_t order = 0;
    std::optional<Clock::time_point> claimed_until;
  };
  const Raw& raw_locked(const CrashId& id) const;

  mutable std::mutex mu_;
  std::map<CrashId, Stored> crashes_;
  std::map<CrashId, NewState> new_;
  std::map<uint64_t, CrashId> new_order_;
  uint64_t next_order_ = 0;
};

}  // namespace bw::storage
