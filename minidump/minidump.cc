// Opening a minidump: storage (mmap or owned buffer), header, stream directory, and the
// accessors. The streams themselves are parsed in streams.cc.
#include "minidump/minidump.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "minidump/byte_reader.h"
#include "minidump/parser.h"

namespace bw::minidump {

using detail::read_le;
using detail::slice;

// The bytes of a dump: either a read-only private mapping of the file or an owned buffer.
struct Minidump::Storage {
  std::vector<uint8_t> owned;
  void* map = nullptr;
  size_t map_size = 0;
  std::span<const uint8_t> bytes;

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (map != nullptr) munmap(map, map_size);
  }
};

Minidump::Minidump() = default;
Minidump::Minidump(Minidump&&) noexcept = default;
Minidump& Minidump::operator=(Minidump&&) noexcept = default;
Minidump::~Minidump() = default;

std::span<const uint8_t> Minidump::file_bytes() const { return storage_ ? storage_->bytes : std::span<const uint8_t>{}; }

Expected<Minidump> Minidump::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("cannot open {}: {}", path.string(), std::strerror(errno))};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error{fmt::format("cannot stat {}: {}", path.string(), std::strerror(err))};
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{fmt::format("{} is not a regular file", path.string())};
  }
  auto storage = std::make_unique<Storage>();
  auto size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return Error{fmt::format("cannot map {}: {}", path.string(), std::strerror(err))};
    }
    storage->map = map;
    storage->map_size = size;
    storage->bytes = std::span<const uint8_t>(static_cast<const uint8_t*>(map), size);
  }
  ::close(fd);
  Minidump dump;
  dump.storage_ = std::move(storage);
  Parser parser(dump);
  if (auto err = parser.parse()) return std::move(*err);
  return dump;
}

Expected<Minidump> Minidump::from_bytes(std::span<const uint8_t> bytes) {
  return from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Expected<Minidump> Minidump::from_bytes(std::vector<uint8_t> bytes) {
  auto storage = std::make_unique<Storage>();
  storage->owned = std::move(bytes);
  storage->bytes = storage->owned;
  Minidump dump;
  dump.storage_ = std::move(storage);
  Parser parser(dump);
  if (auto err = parser.parse()) return std::move(*err);
  return dump;
}

std::optional<std::span<const uint8_t>> Minidump::stream_bytes(uint32_t type) const {
  for (const auto& entry : directory_) {
    if (entry.type != type) continue;
    if (auto s = slice(file_bytes(), entry.offset, entry.size)) return *s;
  }
  return std::nullopt;
}

Cpu Minidump::cpu() const {
  if (system_info_ && system_info_->cpu != Cpu::kUnknown) return system_info_->cpu;
  for (const auto& t : threads_) {
    if (t.context) return t.context->cpu();
  }
  if (exception_ && exception_->context) return exception_->context->cpu();
  return Cpu::kUnknown;
}

const Thread* Minidump::thread_by_id(uint32_t id) const {
  for (const auto& t : threads_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const Module* Minidump::module_at(uint64_t address) const {
  // modules_by_base_ is sorted by base: the candidate is the last module starting at or below
  // the address. Overlapping modules are rare (and malformed); only then fall back to a scan.
  auto it = std::upper_bound(modules_by_base_.begin(), modules_by_base_.end(), address,
                             [&](uint64_t a, size_t i) { return a < modules_[i].base; });
  if (it != modules_by_base_.begin()) {
    const Module& m = modules_[*std::prev(it)];
    if (m.contains(address)) return &m;
  }
  if (modules_overlap_) {
    for (const auto& m : modules_) {
      if (m.contains(address)) return &m;
    }
  }
  return nullptr;
}

std::vector<const UnloadedModule*> Minidump::unloaded_modules_at(uint64_t address) const {
  std::vector<const UnloadedModule*> out;
  for (const auto& m : unloaded_modules_) {
    if (m.contains(address)) out.push_back(&m);
  }
  return out;
}

const MemoryInfo* Minidump::memory_info_at(uint64_t address) const {
  if (!memory_info_) return nullptr;
  for (const auto& info : *memory_info_) {
    if (address >= info.base_address && address - info.base_address < info.region_size) return &info;
  }
  return nullptr;
}

std::optional<uint32_t> Minidump::process_id() const {
  if (misc_info_ && misc_info_->process_id) return misc_info_->process_id;
  return linux_.pid();
}

std::optional<uint32_t> Minidump::process_create_time() const {
  if (misc_info_) return misc_info_->process_create_time;
  return std::nullopt;
}

// --- MemoryRegion / MemoryMap ---

uint64_t MemoryRegion::end() const {
  uint64_t e = base_ + bytes_.size();
  return e < base_ ? ~0ULL : e;
}

bool MemoryRegion::contains(uint64_t address, uint64_t length) const {
  if (address < base_) return false;
  uint64_t off = address - base_;
  return off <= bytes_.size() && length <= bytes_.size() - off;
}

namespace {
template <typename T>
std::optional<T> region_read(const MemoryRegion& r, uint64_t address) {
  if (!r.contains(address, sizeof(T))) return std::nullopt;
  return read_le<T>(r.bytes(), address - r.base());
}
}  // namespace

std::optional<uint8_t> MemoryRegion::read_u8(uint64_t address) const { return region_read<uint8_t>(*this, address); }
std::optional<uint16_t> MemoryRegion::read_u16(uint64_t address) const { return region_read<uint16_t>(*this, address); }
std::optional<uint32_t> MemoryRegion::read_u32(uint64_t address) const { return region_read<uint32_t>(*this, address); }
std::optional<uint64_t> MemoryRegion::read_u64(uint64_t address) const { return region_read<uint64_t>(*this, address); }

std::optional<uint64_t> MemoryRegion::read_pointer(uint64_t address, unsigned pointer_size) const {
  if (pointer_size == 4) {
    auto v = read_u32(address);
    return v ? std::optional<uint64_t>(*v) : std::nullopt;
  }
  if (pointer_size == 8) return read_u64(address);
  return std::nullopt;
}

MemoryMap::MemoryMap(std::vector<MemoryRegion> regions) {
  std::stable_sort(regions.begin(), regions.end(),
                   [](const MemoryRegion& a, const MemoryRegion& b) { return a.base() < b.base(); });
  for (const auto& r : regions) {
    if (r.size() == 0) continue;
    if (!regions_.empty() && r.base() < regions_.back().end()) continue;  // overlaps: first wins
    regions_.push_back(r);
  }
}

const MemoryRegion* MemoryMap::find(uint64_t address) const {
  auto it = std::upper_bound(regions_.begin(), regions_.end(), address,
                             [](uint64_t a, const MemoryRegion& r) { return a < r.base(); });
  if (it == regions_.begin()) return nullptr;
  const MemoryRegion& r = *std::prev(it);
  return r.contains(address) ? &r : nullptr;
}

std::optional<uint64_t> MemoryMap::read_pointer(uint64_t address, unsigned pointer_size) const {
  const MemoryRegion* r = find(address);
  return r ? r->read_pointer(address, pointer_size) : std::nullopt;
}
std::optional<uint8_t> MemoryMap::read_u8(uint64_t address) const {
  const MemoryRegion* r = find(address);
  return r ? r->read_u8(address) : std::nullopt;
}
std::optional<uint16_t> MemoryMap::read_u16(uint64_t address) const {
  const MemoryRegion* r = find(address);
  return r ? r->read_u16(address) : std::nullopt;
}
std::optional<uint32_t> MemoryMap::read_u32(uint64_t address) const {
  const MemoryRegion* r = find(address);
  return r ? r->read_u32(address) : std::nullopt;
}
std::optional<uint64_t> MemoryMap::read_u64(uint64_t address) const {
  const MemoryRegion* r = find(address);
  return r ? r->read_u64(address) : std::nullopt;
}

// --- small helpers on the value types ---

uint64_t Module::end() const {
  uint64_t e = base + size;
  return e < base ? ~0ULL : e;
}

bool MemoryInfo::is_executable() const {
  // PAGE_EXECUTE 0x10, PAGE_EXECUTE_READ 0x20, PAGE_EXECUTE_READWRITE 0x40, PAGE_EXECUTE_WRITECOPY 0x80.
  return (protection & 0xf0U) != 0;
}

int MiscInfo::version() const {
  if (size_of_info >= 1364) return 5;
  if (size_of_info >= 832) return 4;
  if (size_of_info >= 232) return 3;
  if (size_of_info >= 44) return 2;
  return 1;
}

std::string Annotation::string_value() const {
  return detail::valid_utf8(std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
}

std::string_view path_basename(std::string_view path) {
  auto pos = path.find_last_of("/\\");
  return pos == std::string_view::npos ? path : path.substr(pos + 1);
}

}  // namespace bw::minidump
