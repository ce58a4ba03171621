// Reading an uploaded zip of symbol files without trusting it: bounded directory, safe names,
// counted inflation.
#include "symbols/symbol_zip.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include "core/fs_util.h"

namespace bw::symbols {

namespace fs = std::filesystem;

namespace {

constexpr size_t kEocdSize = 22;
constexpr size_t kMaxComment = 65535;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EocdSize = 56;
constexpr uint64_t kRatioGrace = uint64_t{1} << 20;
constexpr size_t kBuffer = 256 * 1024;
constexpr size_t kMaxName = 1024;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) { return le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

// pread() of exactly n bytes at offset; false when the file is shorter or unreadable.
bool read_at(int fd, uint64_t offset, unsigned char* out, size_t n) {
  while (n > 0) {
    ssize_t got = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<size_t>(got);
  }
  return true;
}

// The entry count and central directory size the end records claim, checked against the limits
// before libzip loads the directory into memory.
void check_directory_claims(const fs::path& zip, const ZipLimits& limits) {
  bw::fs::UniqueFd file(::open(zip.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) throw std::system_error(errno, std::generic_category(), "open " + zip.string());
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) throw std::system_error(errno, std::generic_category(), "stat " + zip.string());
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kEocdSize) throw ZipError("not a zip file (too short to hold a zip directory)");
  const size_t tail_size = static_cast<size_t>(std::min<uint64_t>(size, kEocdSize + kMaxComment));
  const uint64_t tail_at = size - tail_size;
  std::vector<unsigned char> tail(tail_size);
  if (!read_at(file.get(), tail_at, tail.data(), tail_size)) throw ZipError("the zip file could not be read");

  // The last end record whose comment ends exactly at the end of the file.
  size_t at = tail_size - kEocdSize + 1;
  bool found = false;
  while (at-- > 0) {
    const unsigned char* p = tail.data() + at;
    if (p[0] == 'P' && p[1] == 'K' && p[2] == 5 && p[3] == 6 && at + kEocdSize + le16(p + 20) == tail_size) {
      found = true;
      break;
    }
  }
  if (!found) throw ZipError("not a zip file (no end of central directory record)");
  const unsigned char* eocd = tail.data() + at;
  uint64_t entries = le16(eocd + 10);
  uint64_t directory_bytes = le32(eocd + 12);
  const bool zip64 = entries == 0xFFFF || directory_bytes == 0xFFFFFFFF || le32(eocd + 16) == 0xFFFFFFFF;
  if (zip64) {
    const uint64_t eocd_at = tail_at + at;
    if (eocd_at < kZip64LocatorSize) throw ZipError("not a valid zip file (Zip64 locator missing)");
    unsigned char locator[kZip64LocatorSize];
    if (!read_at(file.get(), eocd_at - kZip64LocatorSize, locator, sizeof locator) || le32(locator) != 0x07064b50) {
      throw ZipError("not a valid zip file (Zip64 locator missing)");
    }
    const uint64_t record_at = le64(locator + 8);
    unsigned char record[kZip64EocdSize];
    if (record_at > size - kZip64EocdSize || !read_at(file.get(), record_at, record, sizeof record) ||
        le32(record) != 0x06064b50) {
      throw ZipError("not a valid zip file (Zip64 end record missing)");
    }
    entries = le64(record + 32);
    directory_bytes = le64(record + 40);
  }
  if (entries > limits.max_entries) {
    throw ZipError("the zip claims " + std::to_string(entries) + " entries; at most " +
                   std::to_string(limits.max_entries) + " are taken in one upload");
  }
  if (directory_bytes > limits.max_directory_bytes || directory_bytes > size) {
    throw ZipError("the zip's central directory claims " + std::to_string(directory_bytes) + " bytes; at most " +
                   std::to_string(limits.max_directory_bytes) + " are taken");
  }
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string libzip_error(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

// Why an entry's kind cannot be taken (links, devices, encryption, unknown compression), or "".
std::string kind_problem(zip_t* archive, zip_uint64_t index, const zip_stat_t& st) {
  zip_uint8_t opsys = 0;
  zip_uint32_t attributes = 0;
  if (zip_file_get_external_attributes(archive, index, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX) {
    const mode_t type = static_cast<mode_t>(attributes >> 16) & S_IFMT;
    if (type == S_IFLNK) return "a symbolic link: only regular files are taken";
    if (type != 0 && type != S_IFREG && type != S_IFDIR) return "a special file: only regular files are taken";
  }
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
    return "encrypted: encrypted entries are not taken";
  }
  if ((st.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st.comp_method, 0)) {
    return "compressed with method " + std::to_string(st.comp_method) + ", which this server cannot read";
  }
  return "";
}

}  // namespace

std::string zip_name_problem(std::string_view name) {
  if (name.empty()) return "an entry without a name";
  if (name.size() > kMaxName) return "a name longer than " + std::to_string(kMaxName) + " bytes";
  if (name.front() == '/') return "an absolute path";
  if (name.size() >= 2 && name[1] == ':') return "an absolute path (drive letter)";
  for (char c : name) {
    if (c == '\\') return "a path with a backslash";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a path with a control character";
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") return "a path that climbs out of the zip (\"..\")";
    if (part == ".") return "a path with a \".\" part";
    if (part.empty()) return "a path with an empty part";
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return "";
}

void read_zip(const fs::path& zip, const fs::path& scratch_dir, const ZipLimits& limits,
              const std::function<void(const ZipEntry&)>& each) {
  check_directory_claims(zip, limits);
  int code = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(zip.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!archive) throw ZipError("not a valid zip file (" + libzip_error(code) + ")");
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  if (count < 0 || static_cast<uint64_t>(count) > limits.max_entries) throw ZipError("the zip's entry count is not valid");

  std::vector<char> buffer(kBuffer);
  uint64_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    ZipEntry entry;
    if (zip_stat_index(archive.get(), i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || st.name == nullptr) {
      entry.name = "#" + std::to_string(i);
      entry.refused = "an entry whose header cannot be read";
      each(entry);
      continue;
    }
    entry.name = st.name;
    if (entry.name.ends_with('/')) continue;  // a folder: nothing to take
    entry.refused = zip_name_problem(entry.name);
    if (entry.refused.empty()) entry.refused = kind_problem(archive.get(), i, st);
    if (entry.refused.empty() && (st.valid & ZIP_STAT_SIZE) && st.size > limits.max_entry_bytes) {
      entry.refused = "inflates to " + std::to_string(st.size) + " bytes, over the limit of " +
                      std::to_string(limits.max_entry_bytes);
    }
    if (!entry.refused.empty()) {
      each(entry);
      continue;
    }
    const uint64_t compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
    std::unique_ptr<zip_file_t, ZipFileCloser> in(zip_fopen_index(archive.get(), i, 0));
    if (!in) {
      entry.refused = std::string("cannot be opened: ") + zip_strerror(archive.get());
      each(entry);
      continue;
    }
    bw::fs::ScratchFile out(scratch_dir, "zip-entry");
    for (;;) {
      const zip_int64_t got = zip_fread(in.get(), buffer.data(), buffer.size());
      if (got < 0) {
        entry.refused = std::string("cannot be inflated: ") + zip_file_strerror(in.get());
        break;
      }
      if (got == 0) break;
      entry.bytes += static_cast<uint64_t>(got);
      total += static_cast<uint64_t>(got);
      if (entry.bytes > limits.max_entry_bytes) {
        entry.refused = "inflates past the limit of " + std::to_string(limits.max_entry_bytes) + " bytes (a zip bomb?)";
        break;
      }
      if (total > limits.max_total_bytes) {
        entry.refused = "the zip inflates past the limit of " + std::to_string(limits.max_total_bytes) +
                        " bytes for one upload (a zip bomb?)";
        break;
      }
      if (entry.bytes > kRatioGrace && entry.bytes / std::max<uint64_t>(compressed, 1) > limits.max_ratio) {
        entry.refused = "inflates more than " + std::to_string(limits.max_ratio) + " times its compressed size (a zip bomb?)";
        break;
      }
      out.write(std::string_view(buffer.data(), static_cast<size_t>(got)));
    }
    if (entry.refused.empty()) {
      out.close();
      entry.file = out.path();
    }
    each(entry);
  }
}

}  // namespace bw::symbols
