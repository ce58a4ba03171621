// The compact cache file: a fixed header, a table of block checksums, then the data region: a
// metadata blob (module info, parse errors) and each array of the compact form, 64-byte aligned,
// exactly as it sits in memory. Loading maps the file and points the views into it; nothing is
// copied or rebuilt.
//
// Layout version 2, native byte order (the header records it; a file from another byte order is
// refused and rebuilt). The header carries its own checksum and one over the block table; the
// data region is checked in 4 KiB blocks (compact::BlockVerifier): the metadata at load, the
// rest as lookups first read it. Version 1 (one checksum over everything, verified on every
// load: 30-60 ms for a 300 MB file) is refused and rebuilt.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "symbols/compact_format.h"
#include "symbols/module_symbols.h"

namespace bw::symbols {
namespace {

using namespace compact;

constexpr char kMagic[8] = {'B', 'W', 'S', 'Y', 'M', 'C', '\r', '\n'};
constexpr uint32_t kVersion = 2;
constexpr uint32_t kEndianCheck = 0x01020304;
constexpr size_t kAlign = 64;
constexpr uint64_t kHeaderSeed = 0x6277686561646572ull;
constexpr uint64_t kTableSeed = 0x6277626c6b746162ull;

struct SectionEntry {
  uint64_t offset;
  uint64_t count;
  uint32_t element_size;
  uint32_t pad;
};

enum MetaField { kOs, kCpu, kDebugId, kDebugFile, kCodeId, kCodeFile, kErrors, kMetaCount };

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t endian_check;
  uint64_t header_size;
  uint64_t file_size;
  uint64_t source_size;
  int64_t source_mtime_ns;
  uint64_t stat_lines;
  uint64_t stat_bad_lines;
  uint64_t stat_dropped;
  uint64_t block_size;          // kBlockSize
  uint64_t block_table_offset;  // right after the header
  uint64_t block_count;         // blocks of the data region
  uint64_t block_table_checksum;
  uint64_t data_offset;         // page-aligned start of the data region
  uint64_t meta_offset;
  uint64_t meta_size;
  StrRef meta[kMetaCount];
  uint32_t pad;
  SectionEntry sections[kSectionCount];
  uint64_t header_checksum;  // over the header with this field zero
};
static_assert(sizeof(Header) % 8 == 0 && sizeof(Header) <= 512);

constexpr uint64_t round_up(uint64_t x, uint64_t to = kAlign) { return (x + to - 1) / to * to; }
constexpr uint64_t kHeaderSpace = round_up(sizeof(Header));

uint64_t header_checksum(Header h) {
  h.header_checksum = 0;
  return checksum(&h, sizeof(h), kHeaderSeed);
}

struct Piece {
  const void* data;
  uint64_t size;
  uint64_t count;
  uint32_t element_size;
};

template <typename T>
Piece piece(std::span<const T> s) {
  return Piece{s.data(), s.size_bytes(), s.size(), static_cast<uint32_t>(sizeof(T))};
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

bool ModuleSymbols::write_cache(const std::filesystem::path& path, const SourceStamp& source,
                                std::string* error) const {
  const Views& v = storage_->views;
  auto fail = [&](const std::string& what) {
    if (error) *error = what + ": " + std::strerror(errno);
    return false;
  };

  std::string meta;
  Header h;
  std::memset(static_cast<void*>(&h), 0, sizeof(h));  // padding too: the header checksum covers every byte
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.endian_check = kEndianCheck;
  h.header_size = kHeaderSpace;
  h.source_size = source.size;
  h.source_mtime_ns = source.mtime_ns;
  h.stat_lines = stats_.lines;
  h.stat_bad_lines = stats_.bad_lines;
  h.stat_dropped = stats_.dropped_records;
  std::string errors;
  for (const std::string& e : stats_.first_errors) errors += e + "\n";
  const std::string* fields[kMetaCount] = {&info_.os, &info_.cpu, &info_.debug_id,
                                           &info_.debug_file, &info_.code_id, &info_.code_file,
                                           &errors};
  for (int i = 0; i < kMetaCount; ++i) {
    h.meta[i] = StrRef{static_cast<uint32_t>(meta.size()), static_cast<uint32_t>(fields[i]->size())};
    meta += *fields[i];
  }

  // Lay out the data region first (relative offsets), then place it after the block table.
  Piece pieces[kSectionCount] = {
      piece(v.strings), piece(v.funcs), piece(v.lines), piece(v.publics),
      piece(v.files), piece(v.origins), piece(v.inlines), piece(v.inline_ranges),
      piece(v.cfi_inits), piece(v.cfi_deltas), piece(v.wins)};
  uint64_t rel[kSectionCount];
  uint64_t at = round_up(meta.size());
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    rel[i] = at;
    at = round_up(at + pieces[i].size);
  }
  const uint64_t data_size = at;
  h.block_size = kBlockSize;
  h.block_count = (data_size + kBlockSize - 1) / kBlockSize;
  h.block_table_offset = kHeaderSpace;
  h.data_offset = round_up(kHeaderSpace + h.block_count * sizeof(uint64_t), kBlockSize);
  h.meta_offset = h.data_offset;
  h.meta_size = meta.size();
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    h.sections[i] = SectionEntry{h.data_offset + rel[i], pieces[i].count, pieces[i].element_size, 0};
  }
  h.file_size = h.data_offset + data_size;

  std::error_code ec;
  std::filesystem::path dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::filesystem::create_directories(dir, ec);
  std::filesystem::path tmp = path;
  tmp += "." + bw::fs::unique_temp_name();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create " + tmp.string());
  FdCloser closer(fd);
  auto cleanup = [&](const std::string& what) {
    bool r = fail(what);
    std::filesystem::remove(tmp, ec);
    return r;
  };

  // The data region, with zero padding so every section starts aligned; each 4 KiB block is
  // checksummed as it is written.
  static const char zeros[kAlign] = {};
  std::vector<uint64_t> block_sums;
  block_sums.reserve(static_cast<size_t>(h.block_count));
  Checksum block_sum(block_seed(0));
  uint64_t pos = 0;  // within the data region
  auto hash = [&](const char* p, uint64_t size) {
    while (size > 0) {
      if (pos % kBlockSize == 0) block_sum = Checksum(block_seed(pos / kBlockSize));
      uint64_t take = std::min(size, kBlockSize - pos % kBlockSize);
      block_sum.update(p, static_cast<size_t>(take));
      pos += take;
      p += take;
      size -= take;
      if (pos % kBlockSize == 0) block_sums.push_back(block_sum.finish());
    }
  };
  auto emit = [&](const void* data, uint64_t size) {
    hash(static_cast<const char*>(data), size);
    return bw::fs::write_all(fd, {static_cast<const char*>(data), static_cast<size_t>(size)});
  };
  auto pad_to = [&](uint64_t target) {
    while (pos < target) {
      if (!emit(zeros, std::min<uint64_t>(kAlign, target - pos))) return false;
    }
    return true;
  };
  if (::lseek(fd, static_cast<off_t>(h.data_offset), SEEK_SET) < 0) return cleanup("seek");
  if (!emit(meta.data(), meta.size())) return cleanup("cannot write " + tmp.string());
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    if (!pad_to(rel[i]) || !emit(pieces[i].data, pieces[i].size)) {
      return cleanup("cannot write " + tmp.string());
    }
  }
  if (!pad_to(data_size)) return cleanup("cannot write " + tmp.string());
  if (pos % kBlockSize != 0) block_sums.push_back(block_sum.finish());
  if (block_sums.size() != h.block_count) {
    errno = EINVAL;
    return cleanup("internal error: block count");
  }
  h.block_table_checksum = checksum(block_sums.data(), block_sums.size() * sizeof(uint64_t), kTableSeed);
  h.header_checksum = header_checksum(h);
  std::string head(static_cast<size_t>(h.data_offset), '\0');
  std::memcpy(head.data(), &h, sizeof(h));
  if (!block_sums.empty()) {
    std::memcpy(head.data() + h.block_table_offset, block_sums.data(), block_sums.size() * sizeof(uint64_t));
  }
  if (::pwrite(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    return cleanup("cannot write " + tmp.string());
  }
  if (::fsync(fd) != 0) return cleanup("cannot fsync " + tmp.string());
  ::close(closer.release());
  if (::rename(tmp.c_str(), path.c_str()) != 0) return cleanup("cannot rename to " + path.string());
  try {
    bw::fs::fsync_path(dir);
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return false;
  }
  return true;
}

std::shared_ptr<const ModuleSymbols> ModuleSymbols::load_cache(
    const std::filesystem::path& path, const std::optional<SourceStamp>& expected_source,
    std::string* error) {
  auto fail = [&](const std::string& why) -> std::shared_ptr<const ModuleSymbols> {
    if (error) *error = path.string() + ": " + why;
    return nullptr;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(std::string("cannot stat: ") + std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderSpace) return fail("too small to be a cache file");
  // No MAP_POPULATE: pages come in as lookups touch them, so the load costs the same for any size.
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) return fail(std::string("cannot map: ") + std::strerror(errno));
  struct Unmapper {
    void* base;
    size_t size;
    ~Unmapper() {
      if (base) ::munmap(base, size);
    }
  } unmapper{base, size};
  const char* bytes = static_cast<const char*>(base);

  Header h;
  std::memcpy(&h, bytes, sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) return fail("not a symbol cache file");
  if (h.version != kVersion) return fail("cache format version " + std::to_string(h.version));
  if (h.endian_check != kEndianCheck) return fail("written with another byte order");
  if (h.header_checksum != header_checksum(h)) return fail("header checksum mismatch");
  if (h.header_size != kHeaderSpace || h.file_size != size) return fail("size mismatch (truncated?)");
  if (expected_source && (h.source_size != expected_source->size ||
                          h.source_mtime_ns != expected_source->mtime_ns)) {
    return fail("built from another version of the .sym file");
  }
  // The block table sits between the header and the data region and covers the data exactly.
  if (h.block_size != kBlockSize || h.block_table_offset != kHeaderSpace || h.data_offset % kBlockSize != 0 ||
      h.data_offset < h.block_table_offset || h.data_offset > size || h.block_count != (size - h.data_offset + kBlockSize - 1) / kBlockSize ||
      h.block_count > (h.data_offset - h.block_table_offset) / sizeof(uint64_t)) {
    return fail("bad block table bounds");
  }
  const auto* block_sums = reinterpret_cast<const uint64_t*>(bytes + h.block_table_offset);
  if (checksum(block_sums, h.block_count * sizeof(uint64_t), kTableSeed) != h.block_table_checksum) {
    return fail("block table checksum mismatch");
  }
  // Everything the views and the metadata point at lies inside the data region, so every byte a
  // lookup reads is covered by a block checksum.
  if (h.meta_offset < h.data_offset || h.meta_offset > size || h.meta_size > size - h.meta_offset) {
    return fail("bad metadata bounds");
  }
  static constexpr uint32_t kElementSize[kSectionCount] = {
      1, sizeof(Func), sizeof(Line), sizeof(Public), sizeof(Named), sizeof(Named),
      sizeof(Inline), sizeof(InlineRange), sizeof(CfiInit), sizeof(CfiDelta), sizeof(Win)};
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    const SectionEntry& s = h.sections[i];
    if (s.element_size != kElementSize[i] || s.offset % kAlign != 0 || s.offset < h.data_offset ||
        s.offset > size || s.count > (size - s.offset) / s.element_size) {
      return fail("bad section " + std::to_string(i));
    }
  }
  for (const StrRef& m : h.meta) {
    if (m.offset > h.meta_size || m.length > h.meta_size - m.offset) return fail("bad metadata field");
  }
  auto verifier = std::make_unique<BlockVerifier>(bytes + h.data_offset, size - h.data_offset, block_sums,
                                                  path.string(), static_cast<uint64_t>(st.st_dev),
                                                  static_cast<uint64_t>(st.st_ino));
  // The metadata is copied out now, so its blocks are checked now.
  if (!verifier->check(bytes + h.meta_offset, h.meta_size)) return fail("damaged metadata block");

  auto section = [&](int i) { return bytes + h.sections[i].offset; };
  auto count = [&](int i) { return static_cast<size_t>(h.sections[i].count); };
  Views v;
  v.strings = {section(kStrings), count(kStrings)};
  v.funcs = {reinterpret_cast<const Func*>(section(kFuncs)), count(kFuncs)};
  v.lines = {reinterpret_cast<const Line*>(section(kLines)), count(kLines)};
  v.publics = {reinterpret_cast<const Public*>(section(kPublics)), count(kPublics)};
  v.files = {reinterpret_cast<const Named*>(section(kFiles)), count(kFiles)};
  v.origins = {reinterpret_cast<const Named*>(section(kOrigins)), count(kOrigins)};
  v.inlines = {reinterpret_cast<const Inline*>(section(kInlines)), count(kInlines)};
  v.inline_ranges = {reinterpret_cast<const InlineRange*>(section(kInlineRanges)), count(kInlineRanges)};
  v.cfi_inits = {reinterpret_cast<const CfiInit*>(section(kCfiInits)), count(kCfiInits)};
  v.cfi_deltas = {reinterpret_cast<const CfiDelta*>(section(kCfiDeltas)), count(kCfiDeltas)};
  v.wins = {reinterpret_cast<const Win*>(section(kWins)), count(kWins)};

  const char* meta = bytes + h.meta_offset;
  auto field = [&](int i) { return std::string(meta + h.meta[i].offset, h.meta[i].length); };
  ModuleInfo info;
  info.os = field(kOs);
  info.cpu = field(kCpu);
  info.debug_id = field(kDebugId);
  info.debug_file = field(kDebugFile);
  info.code_id = field(kCodeId);
  info.code_file = field(kCodeFile);
  ParseStats stats;
  stats.lines = h.stat_lines;
  stats.bad_lines = h.stat_bad_lines;
  stats.dropped_records = h.stat_dropped;
  std::string errors = field(kErrors);
  for (size_t b = 0; b < errors.size();) {
    size_t e = errors.find('\n', b);
    if (e == std::string::npos) e = errors.size();
    stats.first_errors.push_back(errors.substr(b, e - b));
    b = e + 1;
  }
  auto storage = std::make_unique<Storage>(base, size, v);
  storage->verifier = std::move(verifier);
  unmapper.base = nullptr;
  return std::make_shared<const ModuleSymbols>(std::move(info), std::move(stats), std::move(storage));
}

}  // namespace bw::symbols
