// Internal: the compact form of a parsed module, shared by the parser, the lookups and the cache
// file. Every record is a fixed-size, trivially copyable struct with explicit padding, so the
// arrays can be written to disk as they are and memory-mapped back. Strings live in one blob and
// are referenced by (offset, length). Indices refer to positions in other arrays; every access
// checks them, so a damaged cache file gives wrong answers at worst, never an out-of-bounds read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "symbols/module_symbols.h"
#include "symbols/os_array.h"

namespace bw::symbols::compact {

inline constexpr uint32_t kNone = 0xffffffffu;

struct StrRef {
  uint32_t offset = 0;
  uint32_t length = 0;
  bool operator==(const StrRef&) const = default;
};

// FUNC. Lines and inline ranges of a function are contiguous runs in their arrays.
struct Func {
  uint64_t address = 0;
  uint32_t size = 0;
  uint32_t parameter_size = 0;
  StrRef name;
  uint32_t first_line = 0;
  uint32_t line_count = 0;
  uint32_t first_inline_range = 0;
  uint32_t inline_range_count = 0;
  uint32_t multiple = 0;
  uint32_t pad = 0;
  bool operator==(const Func&) const = default;
};

// Line record; `offset` is relative to its function's address. Sorted and non-overlapping within
// a function.
struct Line {
  uint32_t offset = 0;
  uint32_t size = 0;
  uint32_t file = 0;  // FILE id
  uint32_t line = 0;
  bool operator==(const Line&) const = default;
};

struct Public {
  uint64_t address = 0;
  StrRef name;
  uint32_t parameter_size = 0;
  uint32_t multiple = 0;
  bool operator==(const Public&) const = default;
};

// FILE and INLINE_ORIGIN records: id -> name, sorted by id.
struct Named {
  uint32_t id = 0;
  uint32_t pad = 0;
  StrRef name;
  bool operator==(const Named&) const = default;
};

// One INLINE record; its address ranges are InlineRange entries. Lookups match records by depth
// and range, not by position in the file, which real files do not always order as a tree.
struct Inline {
  uint32_t origin = 0;
  uint32_t call_file = kNone;  // FILE id, kNone when absent (old format or -1)
  uint32_t call_line = 0;
  uint32_t depth = 0;
  uint32_t pad = 0;
  bool operator==(const Inline&) const = default;
};

struct InlineRange {
  uint64_t address = 0;
  uint32_t size = 0;
  uint32_t record = 0;  // index into the Inline array
  bool operator==(const InlineRange&) const = default;
};

struct CfiInit {
  uint64_t address = 0;
  uint64_t size = 0;
  StrRef rules;
  bool operator==(const CfiInit&) const = default;
};

struct CfiDelta {
  uint64_t address = 0;
  StrRef rules;
  bool operator==(const CfiDelta&) const = default;
};

// STACK WIN, sorted by (type, address, size descending); `parent` is the index of the innermost
// record of the same type that contains this one (always a smaller index), or kNone.
struct Win {
  uint64_t address = 0;
  uint32_t size = 0;
  uint32_t prolog_size = 0;
  uint32_t epilog_size = 0;
  uint32_t parameter_size = 0;
  uint32_t saved_registers_size = 0;
  uint32_t locals_size = 0;
  uint32_t max_stack_size = 0;
  uint32_t parent = kNone;
  StrRef program;
  uint8_t type = 0;
  uint8_t has_program_string = 0;
  uint8_t allocates_base_pointer = 0;
  uint8_t pad8 = 0;
  uint32_t pad32 = 0;
  bool operator==(const Win&) const = default;
};

static_assert(sizeof(Func) == 48 && sizeof(Line) == 16 && sizeof(Public) == 24 &&
              sizeof(Named) == 16 && sizeof(Inline) == 20 && sizeof(InlineRange) == 16 &&
              sizeof(CfiInit) == 24 && sizeof(CfiDelta) == 16 && sizeof(Win) == 56);

enum Section : uint32_t {
  kStrings, kFuncs, kLines, kPublics, kFiles, kOrigins, kInlines, kInlineRanges, kCfiInits,
  kCfiDeltas, kWins, kSectionCount
};

// The arrays as the parser builds them (owned, see os_array.h), or views into a mapping (cache file).
struct Arrays {
  OsArray<char> strings;
  OsArray<Func> funcs;
  OsArray<Line> lines;
  OsArray<Public> publics;
  OsArray<Named> files;
  OsArray<Named> origins;
  OsArray<Inline> inlines;
  OsArray<InlineRange> inline_ranges;
  OsArray<CfiInit> cfi_inits;
  OsArray<CfiDelta> cfi_deltas;
  OsArray<Win> wins;
};

struct Views {
  std::span<const char> strings;
  std::span<const Func> funcs;
  std::span<const Line> lines;
  std::span<const Public> publics;
  std::span<const Named> files;
  std::span<const Named> origins;
  std::span<const Inline> inlines;
  std::span<const InlineRange> inline_ranges;
  std::span<const CfiInit> cfi_inits;
  std::span<const CfiDelta> cfi_deltas;
  std::span<const Win> wins;

  // The string, or "" when the reference lies outside the blob.
  std::string_view str(StrRef ref) const {
    if (ref.offset > strings.size() || ref.length > strings.size() - ref.offset) return {};
    return {strings.data() + ref.offset, ref.length};
  }
};

Views views_of(const Arrays& arrays);

// A 64-bit checksum over a byte stream (8 independent multiply-rotate lanes over 64-byte blocks,
// then mixed): fast (a 4 KiB block in well under a microsecond), and any single changed byte
// changes the result. Not cryptographic: it detects damage, not tampering (lookups bound-check
// anyway).
class Checksum {
 public:
  explicit Checksum(uint64_t seed = 0);
  void update(const void* data, size_t size);
  uint64_t finish() const;

 private:
  void block(const unsigned char* p);
  uint64_t lane_[8];
  unsigned char pending_[64];
  size_t pending_size_ = 0;
  uint64_t total_ = 0;
  uint64_t seed_;
};
uint64_t checksum(const void* data, size_t size, uint64_t seed = 0);

// The cache file's data region is checked in blocks of this size, each against its own checksum.
inline constexpr uint64_t kBlockSize = 4096;
// Block checksums are seeded with the block's index, so blocks that trade places do not pass.
uint64_t block_seed(uint64_t block_index);
uint64_t block_checksum(const void* data, size_t size, uint64_t block_index);

// Lazy integrity checking of a mapped cache file. Verifying a few hundred MB on every load would
// cost more than the load itself, and a lookup reads a few dozen blocks: so each block is hashed
// the first time something reads from it, and remembered as good. A block that does not match
// marks the module damaged, makes the reading lookup answer nothing, and removes the cache file
// (if it is still the one mapped) so that the next load parses the .sym again.
// Thread-safe: the "verified" bits are atomics; two threads may hash one block at once, harmlessly.
class BlockVerifier {
 public:
  // `data`/`size`: the data region in the mapping; `sums`: one checksum per block (already
  // checked against the header). `file`, `dev`, `ino`: the cache file, removed on damage.
  BlockVerifier(const char* data, uint64_t size, const uint64_t* sums, std::string file,
                uint64_t dev, uint64_t ino);
  // True when every block overlapping [p, p + n) is intact. A range outside the data region is
  // never intact (section bounds are checked at load, so this means a bug or a crafted file).
  bool check(const void* p, size_t n) const {
    if (n == 0) return true;
    auto addr = reinterpret_cast<uintptr_t>(p);
    auto base = reinterpret_cast<uintptr_t>(data_);
    if (addr < base || addr - base > size_ || n > size_ - (addr - base)) return fail(~uint64_t{0});
    uint64_t off = addr - base;
    for (uint64_t b = off / kBlockSize, last = (off + n - 1) / kBlockSize; b <= last; ++b) {
      if (!(verified_[b / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (b % 64))) && !verify(b)) {
        return false;
      }
    }
    return true;
  }
  // Verifies every block now; false if any is damaged.
  bool check_all() const;
  bool damaged() const { return damaged_.load(std::memory_order_relaxed); }
  size_t memory_bytes() const { return words_ * sizeof(uint64_t) + sizeof(*this); }

 private:
  bool verify(uint64_t block) const;
  bool fail(uint64_t block) const;

  const char* data_;
  uint64_t size_;
  const uint64_t* sums_;
  uint64_t blocks_;
  size_t words_;
  std::unique_ptr<std::atomic<uint64_t>[]> verified_;
  mutable std::atomic<bool> damaged_{false};
  std::string file_;
  uint64_t dev_, ino_;
};

}  // namespace bw::symbols::compact

namespace bw::symbols {

// What ModuleSymbols owns: either the arrays themselves, or a mapped cache file the views point
// into. Defined here so the parser and the cache loader can build one.
struct ModuleSymbols::Storage {
  compact::Arrays arrays;  // empty when mapped
  const void* map_base = nullptr;
  size_t map_size = 0;
  compact::Views views;
  std::unique_ptr<compact::BlockVerifier> verifier;  // mapped only: lazy block checks

  Storage() = default;
  explicit Storage(compact::Arrays a);  // takes the arrays and points the views at them
  Storage(const void* base, size_t size, const compact::Views& mapped_views);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

}  // namespace bw::symbols
