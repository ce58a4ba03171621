// How much disk a folder tree takes: what /status/ and bw_storage_* show for each crash storage
// root, the symbol folders and the index (web/storage_usage.h measures them on a schedule).
//
// measure_disk_usage walks `root` and adds up every regular file; symbolic links (the storage
// date trees are made of them) are neither followed nor counted as their targets:
// `bytes` is the space allocated to them (st_blocks × 512, what `du` reports), `files` how many.
// A root that does not exist yet is empty ({0, 0}): roots are made by their first save.
// Entries that vanish during the walk (a crash moved, a temporary renamed) are skipped: the walk
// runs beside writers and its answer is a reading, not a snapshot. `stop`, when given, is asked
// before each folder: once it says true the walk ends and returns what it counted so far.
//
// Thread safety: none needed (no shared state). Errors: std::filesystem::filesystem_error when
// the root or a folder under it cannot be read (permissions, I/O).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace bw {

struct DiskUsage {
  uint64_t bytes = 0;  // allocated on disk
  uint64_t files = 0;  // regular files
};

DiskUsage measure_disk_usage(const std::filesystem::path& root, const std::function<bool()>& stop = {});

}  // namespace bw
