#include "core/disk_usage.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace bw {

namespace stdfs = std::filesystem;

namespace {

// lstat, with "vanished meanwhile" as false rather than an error.
bool stat_entry(const stdfs::path& path, struct stat& st) {
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  throw stdfs::filesystem_error("measure disk usage", path, std::error_code(errno, std::generic_category()));
}

void add_file(const struct stat& st, DiskUsage& usage) {
  if (!S_ISREG(st.st_mode)) return;
  usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  usage.files += 1;
}

}  // namespace

DiskUsage measure_disk_usage(const stdfs::path& root, const std::function<bool()>& stop) {
  DiskUsage usage;
  struct stat st {};
  if (!stat_entry(root, st)) return usage;
  if (!S_ISDIR(st.st_mode)) {
    add_file(st, usage);
    return usage;
  }
  // Depth first with an explicit stack: deep trees cannot exhaust the call stack, and a folder
  // that vanishes between its listing and its visit is skipped, not an error.
  std::vector<stdfs::path> folders{root};
  while (!folders.empty()) {
    if (stop && stop()) break;
    stdfs::path folder = std::move(folders.back());
    folders.pop_back();
    std::error_code ec;
    stdfs::directory_iterator it(folder, ec);
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) continue;
      throw stdfs::filesystem_error("measure disk usage", folder, ec);
    }
    for (const stdfs::directory_iterator end; it != end; it.increment(ec)) {
      if (ec) throw stdfs::filesystem_error("measure disk usage", folder, ec);
      if (!stat_entry(it->path(), st)) continue;
      // lstat: a symbolic link is neither followed into a folder nor counted as its target.
      if (S_ISDIR(st.st_mode)) {
        folders.push_back(it->path());
      } else {
        add_file(st, usage);
      }
    }
    if (ec) throw stdfs::filesystem_error("measure disk usage", folder, ec);
  }
  return usage;
}

}  // namespace bw
