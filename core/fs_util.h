// Durable file-system helpers shared by every part that writes to disk.
//
// "Durable" here means: file contents fsync'd, then the folder entry fsync'd, so that after the
// call returns a power cut or SIGKILL cannot lose what was written. Errors are thrown as
// std::system_error carrying errno and the path.
// Thread safety: functions are stateless; concurrent calls on different paths are safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace bw::fs {

// fsync of one file or folder.
void fsync_path(const std::filesystem::path& path);
// Creates `path` and its missing parents, fsync'ing each created folder's parent.
void create_directories_durably(const std::filesystem::path& path);
// Writes `bytes` to `path` (created or truncated, mode 0644) and fsyncs the file (not the folder).
void write_file_synced(const std::filesystem::path& path, std::string_view bytes);
// Writes to a temporary name beside `path`, fsyncs, renames over `path`, fsyncs the folder.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);
// Whole file into memory. Throws std::system_error (ENOENT when missing).
std::string read_file(const std::filesystem::path& path);
// A random name part for temporary files and folders ("tmp-<16 hex>").
std::string unique_temp_name();
// Free bytes on the file system holding `path`.
uint64_t free_bytes(const std::filesystem::path& path);

// Owns one file descriptor (or -1) and closes it when destroyed.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace bw::fs
