#include "storage/compositions.h"

#include <algorithm>
#include <exception>

namespace bw::storage {

PolyCrashStorage::PolyCrashStorage(std::vector<std::shared_ptr<CrashStorage>> stores) : stores_(std::move(stores)) {
  if (stores_.empty()) throw std::invalid_argument("PolyCrashStorage needs at least one store");
  for (auto& s : stores_) {
    if (!s) throw std::invalid_argument("PolyCrashStorage: null store");
  }
}

void PolyCrashStorage::save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash,
                                      const std::vector<DumpInput>& dumps) {
  std::exception_ptr first_error;
  for (auto& s : stores_) {
    try {
      s->save_raw_crash(id, raw_crash, dumps);
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

void PolyCrashStorage::save_processed(const CrashId& id, const nlohmann::json& processed) {
  std::exception_ptr first_error;
  for (auto& s : stores_) {
    try {
      s->save_processed(id, processed);
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

void PolyCrashStorage::remove(const CrashId& id) {
  bool any = false;
  std::exception_ptr error;
  for (auto& s : stores_) {
    try {
      s->remove(id);
      any = true;
    } catch (const CrashNotFound&) {
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  if (!any) throw CrashNotFound("crash " + id.str() + " not found");
}

PairCrashStorage::PairCrashStorage(std::shared_ptr<CrashStorage> first, std::shared_ptr<CrashStorage> second)
    : first_(std::move(first)), second_(std::move(second)) {
  if (!first_ || !second_) throw std::invalid_argument("crash storage composition: null store");
}

template <typename F>
auto PairCrashStorage::read(const CrashId& id, F&& f) {
  auto [a, b] = read_order(id);
  try {
    return f(*a);
  } catch (const CrashNotFound&) {
  } catch (const UnsupportedOperation&) {
  }
  return f(*b);
}

nlohmann::json PairCrashStorage::get_raw_crash(const CrashId& id) {
  return read(id, [&](CrashStorage& s) { return s.get_raw_crash(id); });
}
std::vector<std::string> PairCrashStorage::get_dump_names(const CrashId& id) {
  return read(id, [&](CrashStorage& s) { return s.get_dump_names(id); });
}
std::string PairCrashStorage::get_dump(const CrashId& id, const std::string& name) {
  check_dump_name(name);
  return read(id, [&](CrashStorage& s) { return s.get_dump(id, name); });
}
DumpFiles PairCrashStorage::get_dumps_as_files(const CrashId& id) {
  return read(id, [&](CrashStorage& s) { return s.get_dumps_as_files(id); });
}
nlohmann::json PairCrashStorage::get_processed(const CrashId& id) {
  return read(id, [&](CrashStorage& s) { return s.get_processed(id); });
}
bool PairCrashStorage::has_raw_crash(const CrashId& id) {
  return first_->has_raw_crash(id) || second_->has_raw_crash(id);
}

void PairCrashStorage::remove(const CrashId& id) {
  bool any = false;
  for (auto* s : {first_.get(), second_.get()}) {
    try {
      s->remove(id);
      any = true;
    } catch (const CrashNotFound&) {
    }
  }
  if (!any) throw CrashNotFound("crash " + id.str() + " not found");
}

std::vector<CrashId> PairCrashStorage::new_crashes(size_t limit) {
  auto out = first_->new_crashes(limit);
  if (out.size() < limit) {
    for (auto& id : second_->new_crashes(limit - out.size())) out.push_back(id);
  }
  return out;
}

std::optional<CrashId> PairCrashStorage::claim_new_crash(std::chrono::seconds lease) {
  if (auto id = first_->claim_new_crash(lease)) return id;
  return second_->claim_new_crash(lease);
}

std::vector<CrashId> PairCrashStorage::claim_new_crashes(size_t max, std::chrono::seconds lease) {
  auto claimed = first_->claim_new_crashes(max, lease);
  if (claimed.size() < max) {
    try {
      auto more = second_->claim_new_crashes(max - claimed.size(), lease);
      claimed.insert(claimed.end(), more.begin(), more.end());
    } catch (...) {
      release_all(*first_, claimed);
      throw;
    }
  }
  return claimed;
}

void PairCrashStorage::confirm_new_crash(const CrashId& id) {
  first_->confirm_new_crash(id);
  second_->confirm_new_crash(id);
}

void PairCrashStorage::release_new_crash(const CrashId& id) {
  first_->release_new_crash(id);
  second_->release_new_crash(id);
}

namespace {

// The sorted union of one listing from two stores; a store that keeps no processed crashes
// (UnsupportedOperation) adds nothing, unless neither does.
template <typename T, typename F>
std::vector<T> merged_listing(CrashStorage& first, CrashStorage& second, F&& list) {
  std::vector<T> out;
  int supported = 0;
  for (CrashStorage* store : {&first, &second}) {
    try {
      auto part = list(*store);
      out.insert(out.end(), part.begin(), part.end());
      ++supported;
    } catch (const UnsupportedOperation&) {
      if (store == &second && supported == 0) throw;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<std::string> PairCrashStorage::processed_days() {
  return merged_listing<std::string>(*first_, *second_, [](CrashStorage& s) { return s.processed_days(); });
}

std::vector<CrashId> PairCrashStorage::processed_crash_ids(const std::string& day) {
  return merged_listing<CrashId>(*first_, *second_, [&](CrashStorage& s) { return s.processed_crash_ids(day); });
}

void FallbackCrashStorage::save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash,
                                          const std::vector<DumpInput>& dumps) {
  try {
    first_store().save_raw_crash(id, raw_crash, dumps);
  } catch (const std::invalid_argument&) {
    throw;  // the caller's mistake; the fallback would refuse it too
  } catch (const std::exception&) {
    second_store().save_raw_crash(id, raw_crash, dumps);
  }
}

void FallbackCrashStorage::save_processed(const CrashId& id, const nlohmann::json& processed) {
  try {
    first_store().save_processed(id, processed);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception&) {
    second_store().save_processed(id, processed);
  }
}

void PrimaryDeferredCrashStorage::save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash,
                                                 const std::vector<DumpInput>& dumps) {
  read_order(id).first->save_raw_crash(id, raw_crash, dumps);
}

void PrimaryDeferredCrashStorage::save_processed(const CrashId& id, const nlohmann::json& processed) {
  first_store().save_processed(id, processed);
}

std::pair<CrashStorage*, CrashStorage*> PrimaryDeferredCrashStorage::read_order(const CrashId& id) {
  if (id.throttle() == ThrottleResult::kDefer) return {&second_store(), &first_store()};
  return {&first_store(), &second_store()};
}

}  // namespace bw::storage
