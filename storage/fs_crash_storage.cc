#include "storage/fs_crash_storage.h"

#include <algorithm>

#include "storage/records.h"

namespace bw::storage {
namespace {

constexpr const char* kRawCrashFile = "raw_crash.json";
constexpr const char* kDumpNamesFile = "dump_names.json";
constexpr const char* kProcessedFile = "processed_crash.json.gz";
// Candidates looked at per root per claim round: enough to step past what racing walkers take.
constexpr size_t kClaimBatch = 16;

}  // namespace

void FileSystemStorageBase::add_raw_root(std::filesystem::path path, bool date_tree,
                                         const FileSystemStorageOptions& options) {
  CrashRootOptions root_options;
  root_options.date_tree = date_tree;
  root_options.stale_temporary_age = options.stale_temporary_age;
  root_options.save_step_hook = options.save_step_hook;
  raw_roots_.push_back(std::make_unique<CrashRoot>(std::move(path), std::move(root_options)));
}

void FileSystemStorageBase::set_processed_root(std::filesystem::path path, const FileSystemStorageOptions& options) {
  CrashRootOptions root_options;
  root_options.date_tree = false;
  root_options.stale_temporary_age = options.stale_temporary_age;
  processed_root_ = std::make_unique<CrashRoot>(std::move(path), std::move(root_options));
}

CrashRoot& FileSystemStorageBase::root_for(const CrashId& id) {
  if (id.throttle() == ThrottleResult::kDefer && raw_roots_.size() > 1) return *raw_roots_[1];
  return *raw_roots_[0];
}

std::vector<CrashRoot*> FileSystemStorageBase::read_order(const CrashId& id) {
  std::vector<CrashRoot*> order{&root_for(id)};
  for (auto& r : raw_roots_) {
    if (r.get() != order.front()) order.push_back(r.get());
  }
  return order;
}

CrashRoot& FileSystemStorageBase::holder(const CrashId& id) {
  for (auto* r : read_order(id)) {
    if (r->has_crash(id)) return *r;
  }
  throw CrashNotFound("crash " + id.str() + " not found");
}

void FileSystemStorageBase::save_raw_crash(const CrashId& id, const nlohmann::json& raw_crash,
                                           const std::vector<DumpInput>& dumps) {
  root_for(id).save_crash(id, raw_crash, dumps);
}

void FileSystemStorageBase::save_processed(const CrashId& id, const nlohmann::json& processed) {
  if (!processed_root_) throw UnsupportedOperation("this storage keeps raw crashes only");
  processed_root_->save_file(id, kProcessedFile, records::encode_processed(processed));
}

nlohmann::json FileSystemStorageBase::get_raw_crash(const CrashId& id) {
  return records::decode_raw_crash(holder(id).read_file(id, kRawCrashFile));
}

std::vector<std::string> FileSystemStorageBase::get_dump_names(const CrashId& id) {
  return records::decode_dump_names(holder(id).read_file(id, kDumpNamesFile));
}

std::string FileSystemStorageBase::get_dump(const CrashId& id, const std::string& name) {
  check_dump_name(name);
  return holder(id).read_file(id, name + ".dump");
}

DumpFiles FileSystemStorageBase::get_dumps_as_files(const CrashId& id) {
  auto& root = holder(id);
  auto names = records::decode_dump_names(root.read_file(id, kDumpNamesFile));
  DumpFiles files;
  for (auto& name : names) files.add(name, root.crash_dir(id) / (name + ".dump"), /*temporary=*/false);
  return files;
}

nlohmann::json FileSystemStorageBase::get_processed(const CrashId& id) {
  if (!processed_root_) throw UnsupportedOperation("this storage keeps raw crashes only");
  return records::decode_processed(processed_root_->read_file(id, kProcessedFile));
}

std::vector<std::string> FileSystemStorageBase::processed_days() {
  if (!processed_root_) throw UnsupportedOperation("this storage keeps raw crashes only");
  return processed_root_->crash_days();
}

std::vector<CrashId> FileSystemStorageBase::processed_crash_ids(const std::string& day) {
  if (!processed_root_) throw UnsupportedOperation("this storage keeps raw crashes only");
  return processed_root_->crash_ids_with_file(day, kProcessedFile);
}

bool FileSystemStorageBase::has_raw_crash(const CrashId& id) {
  for (auto* r : read_order(id)) {
    if (r->has_crash(id)) return true;
  }
  return false;
}

void FileSystemStorageBase::remove(const CrashId& id) {
  bool any = false;
  for (auto& r : raw_roots_) any = r->remove_crash(id) || any;
  if (processed_root_) any = processed_root_->remove_crash(id) || any;
  if (!any) throw CrashNotFound("crash " + id.str() + " not found");
}

std::vector<CrashId> FileSystemStorageBase::new_crashes(size_t limit) {
  std::vector<NewCrashEntry> all;
  for (auto& r : raw_roots_) {
    auto entries = r->list_new(limit);
    all.insert(all.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
  }
  std::sort(all.begin(), all.end(), [](const NewCrashEntry& a, const NewCrashEntry& b) { return a.order_key() < b.order_key(); });
  std::vector<CrashId> ids;
  for (size_t i = 0; i < all.size() && i < limit; ++i) ids.push_back(all[i].id);
  return ids;
}

std::optional<CrashId> FileSystemStorageBase::claim_new_crash(std::chrono::seconds lease) {
  auto claimed = claim_new_crashes(1, lease);
  if (claimed.empty()) return std::nullopt;
  return claimed.front();
}

std::vector<CrashId> FileSystemStorageBase::claim_new_crashes(size_t max, std::chrono::seconds lease) {
  // Each round lists the oldest candidates of every root (a few more than wanted) and tries them
  // in order; a failed try means another walker took that crash, so the next listing no longer
  // shows it. One listing serves a whole batch: listing a busy minute folder is the cost.
  std::vector<CrashId> claimed;
  try {
    while (claimed.size() < max) {
      const size_t want = max - claimed.size();
      const size_t list = want + std::min<size_t>(want, kClaimBatch);
      std::vector<std::pair<NewCrashEntry, CrashRoot*>> candidates;
      bool more_waiting = false;
      for (auto& r : raw_roots_) {
        auto listed = r->list_new(list);
        more_waiting = more_waiting || listed.size() == list;
        for (auto& e : listed) candidates.emplace_back(std::move(e), r.get());
      }
      if (candidates.empty()) break;
      std::sort(candidates.begin(), candidates.end(),
                [](const auto& a, const auto& b) { return a.first.order_key() < b.first.order_key(); });
      for (auto& [entry, root] : candidates) {
        if (claimed.size() == max) break;
        if (root->try_claim(entry, lease)) claimed.push_back(entry.id);
      }
      // Short of `max` means every candidate was tried; if no listing was cut off at `list`,
      // those were all there were, and the ones we did not get went to other walkers.
      if (claimed.size() < max && !more_waiting) break;
    }
  } catch (...) {
    release_all(*this, claimed);
    throw;
  }
  return claimed;
}

void FileSystemStorageBase::confirm_new_crash(const CrashId& id) {
  for (auto* r : read_order(id)) {
    if (r->confirm(id)) return;
  }
}

void FileSystemStorageBase::release_new_crash(const CrashId& id) {
  for (auto* r : read_order(id)) {
    if (r->release(id)) return;
  }
}

size_t FileSystemStorageBase::remove_stale_temporaries() {
  size_t n = 0;
  for (auto& r : raw_roots_) n += r->remove_stale_temporaries();
  if (processed_root_) n += processed_root_->remove_stale_temporaries();
  return n;
}

FileSystemRawCrashStorage::FileSystemRawCrashStorage(std::filesystem::path root, FileSystemStorageOptions options) {
  add_raw_root(std::move(root), /*date_tree=*/true, options);
}

FileSystemThrottledCrashStorage::FileSystemThrottledCrashStorage(std::filesystem::path standard_root,
                                                                 std::filesystem::path deferred_root,
                                                                 FileSystemStorageOptions options) {
  add_raw_root(std::move(standard_root), options.standard_date_tree, options);
  add_raw_root(std::move(deferred_root), options.deferred_date_tree, options);
}

namespace {
bool same_path(const std::filesystem::path& a, const std::filesystem::path& b) {
  return std::filesystem::weakly_canonical(a) == std::filesystem::weakly_canonical(b);
}
}  // namespace

FileSystemCrashStorage::FileSystemCrashStorage(std::filesystem::path standard_root, std::filesystem::path deferred_root,
                                               std::filesystem::path processed_root, FileSystemStorageOptions options)
    : FileSystemThrottledCrashStorage(standard_root, deferred_root, options) {
  if (same_path(processed_root, standard_root) || same_path(processed_root, deferred_root)) {
    throw std::invalid_argument("the processed root must differ from the standard and deferred roots: " +
                                processed_root.string());
  }
  set_processed_root(std::move(processed_root), options);
}

}  // namespace bw::storage
