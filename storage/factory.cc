#include "storage/factory.h"

namespace bw::storage {

StorageRoots storage_roots(const Config& config) {
  auto root = [&](const char* key, const char* default_sub) {
    return config.data_path(config.get_string("storage", key), default_sub);
  };
  return StorageRoots{root("collector_root", "collector"), root("standard_root", "crashes/standard"),
                      root("deferred_root", "crashes/deferred"), root("processed_root", "crashes/processed")};
}

std::unique_ptr<FileSystemRawCrashStorage> make_collector_buffer(const Config& config) {
  return std::make_unique<FileSystemRawCrashStorage>(storage_roots(config).collector);
}

std::unique_ptr<FileSystemCrashStorage> make_primary_storage(const Config& config) {
  auto roots = storage_roots(config);
  // No date tree: the queue is what says which crashes await processing, and links nobody
  // confirms would pile up until retention (and cost an fsync per moved crash).
  FileSystemStorageOptions options;
  options.standard_date_tree = false;
  options.deferred_date_tree = false;
  return std::make_unique<FileSystemCrashStorage>(roots.standard, roots.deferred, roots.processed, options);
}

}  // namespace bw::storage
