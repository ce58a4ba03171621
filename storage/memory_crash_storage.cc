#include "storage/memory_crash_storage.h"

#include <set>
#include <system_error>

#include "core/fs_util.h"
#include "storage/records.h"

namespace bw::storage {

void MemoryCrashStorage::save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash,
                                        const std::vector<DumpInput>& dumps) {
  if (dumps.size() > records::kMaxDumps) throw std::invalid_argument("too many dumps");
  Raw raw;
  std::set<std::string> seen;
  for (const auto& d : dumps) {
    check_dump_name(d.name);
    if (!seen.insert(d.name).second) throw std::invalid_argument("duplicate dump name " + d.name);
  }
  // Round-trip through the on-disk encoding so tests see what a real store would give back.
  raw.raw_crash = records::decode_raw_crash(records::encode_json(raw_crash));
  for (const auto& d : dumps) {
    std::string bytes;
    if (const auto* b = std::get_if<std::string>(&d.content)) {
      bytes = *b;
    } else {
      const auto& path = std::get<std::filesystem::path>(d.content);
      try {
        bytes = fs::read_file(path);
      } catch (const std::system_error& e) {
        if (e.code().value() == ENOENT) throw std::invalid_argument("dump file does not exist: " + path.string());
        throw TransientStorageError(e.what());
      }
    }
    raw.dump_names.push_back(d.name);
    raw.dumps[d.name] = std::move(bytes);
  }
  std::lock_guard lock(mu_);
  crashes_[id].raw = std::move(raw);
  if (!new_.count(id)) {
    uint64_t order = next_order_++;
    new_[id] = NewState{order, std::nullopt};
    new_order_.emplace(order, id);
  }
}

void MemoryCrashStorage::save_processed(const CrashId& id, const nlohmann::json& processed) {
  auto copy = records::decode_processed(records::encode_processed(processed));
  std::lock_guard lock(mu_);
  crashes_[id].processed = std::move(copy);
}

const MemoryCrashStorage::Raw& MemoryCrashStorage::raw_locked(const CrashId& id) const {
  auto it = crashes_.find(id);
  if (it == crashes_.end() || !it->second.raw) throw CrashNotFound("crash " + id.str() + " not found");
  return *it->second.raw;
}

nlohmann::json MemoryCrashStorage::get_raw_crash(const CrashId& id) {
  std::lock_guard lock(mu_);
  return raw_locked(id).raw_crash;
}

std::vector<std::string> MemoryCrashStorage::get_dump_names(const CrashId& id) {
  std::lock_guard lock(mu_);
  return raw_locked(id).dump_names;
}

std::string MemoryCrashStorage::get_dump(const CrashId& id, const std::string& name) {
  check_dump_name(name);
  std::lock_guard lock(mu_);
  const auto& raw = raw_locked(id);
  auto it = raw.dumps.find(name);
  if (it == raw.dumps.end()) throw CrashNotFound("crash " + id.str() + ": no dump " + name);
  return it->second;
}

DumpFiles MemoryCrashStorage::get_dumps_as_files(const CrashId& id) {
  std::map<std::string, std::string> dumps;
  {
    std::lock_guard lock(mu_);
    dumps = raw_locked(id).dumps;
  }
  DumpFiles files;
  for (auto& [name, bytes] : dumps) {
    auto path = std::filesystem::temp_directory_path() / ("bw-dump-" + fs::unique_temp_name() + "-" + name + ".dump");
    try {
      fs::write_file_synced(path, bytes);
    } catch (const std::system_error& e) {
      throw TransientStorageError(e.what());  // `files` removes what was written so far
    }
    files.add(name, path, /*temporary=*/true);
  }
  return files;
}

nlohmann::json MemoryCrashStorage::get_processed(const CrashId& id) {
  std::lock_guard lock(mu_);
  auto it = crashes_.find(id);
  if (it == crashes_.end() || !it->second.processed) throw CrashNotFound("crash " + id.str() + ": not processed");
  return *it->second.processed;
}

std::vector<std::string> MemoryCrashStorage::processed_days() {
  std::lock_guard lock(mu_);
  std::set<std::string> days;
  for (auto& [id, stored] : crashes_) {
    if (stored.processed) days.insert(id.date_folder());
  }
  return {days.begin(), days.end()};
}

std::vector<CrashId> MemoryCrashStorage::processed_crash_ids(const std::string& day) {
  std::lock_guard lock(mu_);
  std::vector<CrashId> ids;  // crashes_ is ordered by id, so this is sorted
  for (auto& [id, stored] : crashes_) {
    if (stored.processed && id.date_folder() == day) ids.push_back(id);
  }
  return ids;
}

bool MemoryCrashStorage::has_raw_crash(const CrashId& id) {
  std::lock_guard lock(mu_);
  auto it = crashes_.find(id);
  return it != crashes_.end() && it->second.raw.has_value();
}

void MemoryCrashStorage::remove(const CrashId& id) {
  std::lock_guard lock(mu_);
  if (crashes_.erase(id) == 0) throw CrashNotFound("crash " + id.str() + " not found");
  if (auto it = new_.find(id); it != new_.end()) {
    new_order_.erase(it->second.order);
    new_.erase(it);
  }
}

std::vector<CrashId> MemoryCrashStorage::new_crashes(size_t limit) {
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  std::vector<CrashId> out;
  for (auto& [order, id] : new_order_) {
    if (out.size() >= limit) break;
    const auto& state = new_.at(id);
    if (state.claimed_until && *state.claimed_until > now) continue;
    out.push_back(id);
  }
  return out;
}

std::optional<CrashId> MemoryCrashStorage::claim_new_crash(std::chrono::seconds lease) {
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  for (auto& [order, id] : new_order_) {
    auto& state = new_.at(id);
    if (state.claimed_until && *state.claimed_until > now) continue;
    state.claimed_until = now + lease;
    return id;
  }
  return std::nullopt;
}

void MemoryCrashStorage::confirm_new_crash(const CrashId& id) {
  std::lock_guard lock(mu_);
  if (auto it = new_.find(id); it != new_.end()) {
    new_order_.erase(it->second.order);
    new_.erase(it);
  }
}

void MemoryCrashStorage::release_new_crash(const CrashId& id) {
  std::lock_guard lock(mu_);
  if (auto it = new_.find(id); it != new_.end()) it->second.claimed_until.reset();
}

size_t MemoryCrashStorage::size() const {
  std::lock_guard lock(mu_);
  return crashes_.size();
}

}  // namespace bw::storage
