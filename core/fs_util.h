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
// Writes all of `bytes` to `fd`, retrying short writes and EINTR; false (errno set) on an error.
bool write_all(int fd, std::string_view bytes);
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

// A new file "<dir>/.<prefix>-<tmp name>" (mode 0600), written piecewise and removed when the
// object is destroyed: for bodies and archive entries that exist only while a request uses them.
// Not fsync'd (nothing durable depends on it). Errors: std::system_error with the path.
class ScratchFile {
 public:
  ScratchFile(const std::filesystem::path& dir, std::string_view prefix);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  void write(std::string_view bytes);
  // Closes the descriptor (the file stays until destruction); writes after this are errors.
  void close();
  const std::filesystem::path& path() const { return path_; }
  uint64_t size() const { return size_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace bw::fs
