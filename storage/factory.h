// Builds the storages the roles use from the configuration ([storage] in core/config_schema.cc):
//
//   storage.collector_root  → FileSystemRawCrashStorage, the collector's buffer
//                             (default <server.data>/collector)
//   storage.standard_root   ┐
//   storage.deferred_root   ├ FileSystemCrashStorage, the primary crash storage
//   storage.processed_root  ┘ (defaults <data>/crashes/standard, /deferred, /processed)
//
// Roots are created lazily by the first save; nothing here touches the disk.
// Errors: ConfigError from Config; std::invalid_argument for roots that collide.
#pragma once

#include <filesystem>
#include <memory>

#include "core/config.h"
#include "storage/fs_crash_storage.h"

namespace bw::storage {

struct StorageRoots {
  std::filesystem::path collector;
  std::filesystem::path standard;
  std::filesystem::path deferred;
  std::filesystem::path processed;
};

StorageRoots storage_roots(const Config& config);

std::unique_ptr<FileSystemRawCrashStorage> make_collector_buffer(const Config& config);
// Primary storage keeps no date tree (new_crashes() is always empty): the queues drive processing.
std::unique_ptr<FileSystemCrashStorage> make_primary_storage(const Config& config);

}  // namespace bw::storage
