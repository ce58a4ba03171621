#include "core/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "core/random.h"

namespace bw::fs {
namespace {

[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

using Fd = UniqueFd;

}  // namespace

void fsync_path(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno("open for fsync", path);
  if (::fsync(fd.get()) != 0) throw_errno("fsync", path);
}

void create_directories_durably(const std::filesystem::path& path) {
  if (path.empty()) return;
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      throw_errno("create folder", path);
    }
    return;
  }
  auto parent = path.parent_path();
  if (!parent.empty() && parent != path) create_directories_durably(parent);
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir", path);
  fsync_path(parent.empty() ? std::filesystem::path(".") : parent);
}

bool write_all(int fd, std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

void write_file_synced(const std::filesystem::path& path, std::string_view bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_errno("create", path);
  if (!write_all(fd.get(), bytes)) throw_errno("write", path);
  if (::fsync(fd.get()) != 0) throw_errno("fsync", path);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  auto tmp = path.parent_path() / ("." + path.filename().string() + "." + unique_temp_name());
  try {
    write_file_synced(tmp, bytes);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("rename", tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_path(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

std::string read_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno("open", path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string unique_temp_name() {
  unsigned char bytes[8];
  random_bytes(bytes, sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "tmp-";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

uint64_t free_bytes(const std::filesystem::path& path) {
  struct statvfs st{};
  if (::statvfs(path.c_str(), &st) != 0) throw_errno("statvfs", path);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

ScratchFile::ScratchFile(const std::filesystem::path& dir, std::string_view prefix)
    : path_(dir / ("." + std::string(prefix) + "-" + unique_temp_name())) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) throw_errno("create", path_);
}

ScratchFile::~ScratchFile() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

void ScratchFile::write(std::string_view bytes) {
  if (fd_ < 0) throw std::system_error(EBADF, std::generic_category(), "write " + path_.string());
  if (!write_all(fd_, bytes)) throw_errno("write", path_);
  size_ += bytes.size();
}

void ScratchFile::close() {
  if (fd_ < 0) return;
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw_errno("close", path_);
}

}  // namespace bw::fs
