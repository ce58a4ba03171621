#include "storage/crash_storage.h"

#include <system_error>

namespace bw::storage {

bool is_valid_dump_name(std::string_view name) {
  if (name.empty() || name.size() > 30) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

void check_dump_name(std::string_view name) {
  if (!is_valid_dump_name(name)) {
    std::string shown;
    for (char c : name.substr(0, 40)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    throw std::invalid_argument("invalid dump name '" + shown + "': want [A-Za-z0-9_]{1,30}");
  }
}

DumpFiles::~DumpFiles() { remove_temporaries(); }

DumpFiles& DumpFiles::operator=(DumpFiles&& other) noexcept {
  if (this != &other) {
    remove_temporaries();
    paths_ = std::move(other.paths_);
    temporaries_ = std::move(other.temporaries_);
    other.paths_.clear();
    other.temporaries_.clear();
  }
  return *this;
}

void DumpFiles::remove_temporaries() noexcept {
  for (const auto& path : temporaries_) {
    std::error_code ec;
    std::filesystem::remove(path, ec);  // best effort: runs from the destructor
  }
  temporaries_.clear();
}

void DumpFiles::add(std::string name, std::filesystem::path path, bool temporary) {
  if (temporary) temporaries_.push_back(path);
  paths_[std::move(name)] = std::move(path);
}

std::vector<CrashId> CrashStorage::claim_new_crashes(size_t max, std::chrono::seconds lease) {
  std::vector<CrashId> claimed;
  try {
    while (claimed.size() < max) {
      auto id = claim_new_crash(lease);
      if (!id) break;
      claimed.push_back(*id);
    }
  } catch (...) {
    release_all(*this, claimed);
    throw;
  }
  return claimed;
}

std::vector<std::string> CrashStorage::processed_days() {
  throw UnsupportedOperation("this storage keeps no processed crashes to list");
}

std::vector<CrashId> CrashStorage::processed_crash_ids(const std::string&) {
  throw UnsupportedOperation("this storage keeps no processed crashes to list");
}

void release_all(CrashStorage& storage, const std::vector<CrashId>& claimed) noexcept {
  for (const auto& id : claimed) {
    try {
      storage.release_new_crash(id);
    } catch (...) {
      // The claim expires by itself.
    }
  }
}

}  // namespace bw::storage
