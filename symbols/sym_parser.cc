// The .sym parser: one pass over the text, line by line, into block lists; then sorting,
// de-duplication and overlap resolution into the compact arrays (compact_format.h).
//
// Record syntax follows Breakpad's symbol_files.md. Numbers: addresses, sizes and parameter sizes
// are hex without 0x; line numbers, FILE / INLINE_ORIGIN ids and inline depths are decimal. A
// number that overflows 64 bits (or 32 bits where the compact form stores 32) makes the line bad.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <string>
#include <utility>

#include "symbols/compact_format.h"
#include "symbols/module_symbols.h"

namespace bw::symbols {
namespace {

using namespace compact;

constexpr size_t kMaxErrorsKept = 16;
constexpr size_t kMaxLineLength = size_t{64} << 20;  // a longer "line" is garbage, skipped

// Memory for parse-time blocks, taken from and given back to the OS directly (mmap/munmap), so
// that freeing them while the final arrays are built really lowers the footprint instead of
// leaving holes in the malloc heap. This is what keeps peak memory near the final size.
class OsBlock {
 public:
  OsBlock() = default;
  explicit OsBlock(size_t bytes) : size_(bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
  }
  OsBlock(OsBlock&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  OsBlock& operator=(OsBlock&& o) noexcept {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }
  ~OsBlock() { release(); }
  char* data() const { return data_; }
  size_t size() const { return size_; }
  void release() {
    if (data_) ::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

// An append-only array of trivially copyable records in fixed blocks, so growing never copies and
// never needs twice the memory; flattened once at the end, freeing blocks as it goes.
template <typename T>
class BlockList {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr size_t kPerBlock = (size_t{4} << 20) / sizeof(T);
  void push_back(const T& v) {
    if (size_ == blocks_.size() * kPerBlock) blocks_.emplace_back(kPerBlock * sizeof(T));
    std::memcpy(blocks_.back().data() + (size_ % kPerBlock) * sizeof(T), &v, sizeof(T));
    ++size_;
  }
  size_t size() const { return size_; }
  // A copy of element i; set(i, v) writes it back.
  T get(size_t i) const {
    T v;
    std::memcpy(&v, blocks_[i / kPerBlock].data() + (i % kPerBlock) * sizeof(T), sizeof(T));
    return v;
  }
  void set(size_t i, const T& v) {
    std::memcpy(blocks_[i / kPerBlock].data() + (i % kPerBlock) * sizeof(T), &v, sizeof(T));
  }
  std::vector<T> flatten() {
    std::vector<T> out(size_);
    size_t done = 0;
    for (auto& b : blocks_) {
      size_t n = std::min(kPerBlock, size_ - done);
      if (n > 0) std::memcpy(static_cast<void*>(out.data() + done), b.data(), n * sizeof(T));
      done += n;
      b.release();
    }
    blocks_.clear();
    size_ = 0;
    return out;
  }

 private:
  std::vector<OsBlock> blocks_;
  size_t size_ = 0;
};

uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

// Interned strings: each distinct string is stored once; its StrRef offset is its position in the
// final blob. Storage is in chunks so that growing never copies.
class Interner {
 public:
  // false when the blob would exceed 4 GiB (offsets are 32-bit).
  bool intern(std::string_view s, StrRef* out) {
    if (slots_.empty()) slots_.assign(1 << 12, 0);
    uint64_t h = hash_bytes(s);
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i] != 0) {
      if (static_cast<uint32_t>(slots_[i] >> 32) == tag) {
        const Entry& e = entries_[static_cast<uint32_t>(slots_[i]) - 1];
        if (e.len == s.size() && std::memcmp(e.ptr, s.data(), s.size()) == 0) {
          *out = StrRef{e.offset, e.len};
          return true;
        }
      }
      i = (i + 1) & mask;
    }
    if (s.size() > 0xffffffffu || total_ + s.size() > 0xffffffffull) return false;
    const char* stored = store(s);
    Entry e{stored, static_cast<uint32_t>(s.size()), static_cast<uint32_t>(total_ - s.size())};
    entries_.push_back(e);
    slots_[i] = (uint64_t{tag} << 32) | entries_.size();
    if (entries_.size() * 2 > slots_.size()) grow();
    *out = StrRef{e.offset, e.len};
    return true;
  }

  std::vector<char> take_blob() {
    std::vector<uint64_t>().swap(slots_);
    std::vector<Entry>().swap(entries_);
    std::vector<char> blob;
    blob.reserve(total_);
    for (auto& c : chunks_) {
      blob.insert(blob.end(), c.data.data(), c.data.data() + c.used);
      c.data.release();
    }
    chunks_.clear();
    return blob;
  }

 private:
  struct Chunk {
    OsBlock data;
    size_t used = 0;
  };
  struct Entry {
    const char* ptr;
    uint32_t len;
    uint32_t offset;
  };
  const char* store(std::string_view s) {
    if (chunks_.empty() || chunks_.back().data.size() - chunks_.back().used < s.size()) {
      Chunk c;
      c.data = OsBlock(std::max<size_t>(size_t{4} << 20, (s.size() + 4095) / 4096 * 4096));
      chunks_.push_back(std::move(c));
    }
    Chunk& c = chunks_.back();
    char* p = c.data.data() + c.used;
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    c.used += s.size();
    total_ += s.size();
    return p;
  }
  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    size_t mask = bigger.size() - 1;
    for (uint32_t idx = 0; idx < entries_.size(); ++idx) {
      const Entry& e = entries_[idx];
      uint64_t h = hash_bytes({e.ptr, e.len});
      size_t i = h & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = (uint64_t{static_cast<uint32_t>(h >> 32)} << 32) | (idx + 1);
    }
    slots_.swap(bigger);
  }

  std::vector<Chunk> chunks_;
  uint64_t total_ = 0;
  std::vector<Entry> entries_;
  std::vector<uint64_t> slots_;  // (hash tag << 32) | (entry index + 1); 0 = empty
};

// Splits off the next space- or tab-separated token.
std::string_view next_token(std::string_view& rest) {
  size_t b = 0;
  while (b < rest.size() && (rest[b] == ' ' || rest[b] == '\t')) ++b;
  size_t e = b;
  while (e < rest.size() && rest[e] != ' ' && rest[e] != '\t') ++e;
  std::string_view tok = rest.substr(b, e - b);
  rest.remove_prefix(e);
  return tok;
}

// The rest of the line after separators, with trailing separators removed (names may hold spaces).
std::string_view rest_of_line(std::string_view rest) {
  size_t b = 0;
  while (b < rest.size() && (rest[b] == ' ' || rest[b] == '\t')) ++b;
  rest.remove_prefix(b);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return rest;
}

bool parse_hex(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return false;
    if (v >> 60) return false;  // would overflow
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

bool parse_hex32(std::string_view s, uint32_t* out) {
  uint64_t v;
  if (!parse_hex(s, &v) || v > 0xffffffffull) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool parse_dec32(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffull) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool all_hex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

class Builder {
 public:
  void add_line(std::string_view line) {
    ++stats_.lines;
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    std::string_view rest = line;
    std::string_view kind = next_token(rest);
    if (kind.empty()) return;  // blank line
    const char* why = nullptr;
    if (kind == "FUNC") why = on_func(rest);
    else if (kind == "STACK") why = on_stack(rest);
    else if (kind == "PUBLIC") why = on_public(rest);
    else if (kind == "FILE") why = on_named(rest, files_, "bad FILE record");
    else if (kind == "INLINE") why = on_inline(rest);
    else if (kind == "INLINE_ORIGIN") why = on_origin(rest);
    else if (kind == "MODULE") why = on_module(rest);
    else if (kind == "INFO") why = on_info(rest);
    else if (all_hex(kind)) why = on_line(kind, rest);
    else why = "unknown record type";
    if (why) bad(why);
  }

  void bad_line(const char* why) {
    ++stats_.lines;
    bad(why);
  }

  std::shared_ptr<const ModuleSymbols> finish();

 private:
  void bad(const char* why) {
    ++stats_.bad_lines;
    if (stats_.first_errors.size() < kMaxErrorsKept) {
      stats_.first_errors.push_back("line " + std::to_string(stats_.lines) + ": " + why);
    }
  }

  const char* on_module(std::string_view rest) {
    if (have_module_) return "second MODULE record";
    std::string_view os = next_token(rest), cpu = next_token(rest), id = next_token(rest);
    std::string_view name = rest_of_line(rest);
    if (os.empty() || cpu.empty() || id.empty() || name.empty()) return "bad MODULE record";
    info_.os = os;
    info_.cpu = cpu;
    info_.debug_id = id;
    info_.debug_file = name;
    have_module_ = true;
    return nullptr;
  }

  const char* on_info(std::string_view rest) {
    std::string_view what = next_token(rest);
    if (what == "CODE_ID") {
      std::string_view id = next_token(rest);
      if (id.empty()) return "bad INFO CODE_ID record";
      info_.code_id = id;
      info_.code_file = rest_of_line(rest);
    }
    return nullptr;  // other INFO records (GENERATOR...) carry nothing we use
  }

  const char* on_named(std::string_view rest, std::vector<Named>& table, const char* bad_why) {
    uint32_t id;
    if (!parse_dec32(next_token(rest), &id)) return bad_why;
    std::string_view name = rest_of_line(rest);
    if (name.empty()) return bad_why;
    Named n;
    n.id = id;
    if (!strings_.intern(name, &n.name)) return "string table full";
    table.push_back(n);
    return nullptr;
  }

  const char* on_origin(std::string_view rest) {
    // New format: INLINE_ORIGIN <id> <name>; old: INLINE_ORIGIN <id> <file id> <name>, told apart
    // (as Breakpad does) by whether the field after the id is a number (or -1).
    std::string_view probe = rest;
    uint32_t id;
    if (!parse_dec32(next_token(probe), &id)) return "bad INLINE_ORIGIN record";
    std::string_view after = probe;
    std::string_view second = next_token(after);
    bool old_format = !second.empty() && rest_of_line(after).size() > 0 &&
                      (second == "-1" || second.find_first_not_of("0123456789") == std::string_view::npos);
    std::string_view name = rest_of_line(old_format ? after : probe);
    if (name.empty()) return "bad INLINE_ORIGIN record";
    Named n;
    n.id = id;
    if (!strings_.intern(name, &n.name)) return "string table full";
    origins_.push_back(n);
    return nullptr;
  }

  const char* on_func(std::string_view rest) {
    in_func_ = false;
    std::string_view tok = next_token(rest);
    uint32_t multiple = 0;
    if (tok == "m") {
      multiple = 1;
      tok = next_token(rest);
    }
    Func f;
    uint64_t size;
    if (!parse_hex(tok, &f.address) || !parse_hex(next_token(rest), &size) ||
        !parse_hex32(next_token(rest), &f.parameter_size)) {
      return "bad FUNC record";
    }
    if (size > 0xffffffffull) return "FUNC size too large";
    if (f.address + size < f.address) return "FUNC range wraps around";
    std::string_view name = rest_of_line(rest);
    if (name.empty()) return "FUNC without a name";
    if (!strings_.intern(name, &f.name)) return "string table full";
    f.size = static_cast<uint32_t>(size);
    f.multiple = multiple;
    f.first_line = static_cast<uint32_t>(lines_.size());
    f.first_inline_range = static_cast<uint32_t>(inline_ranges_.size());
    if (size == 0) {
      ++stats_.dropped_records;  // cannot contain any address; its lines and inlines go too
      return nullptr;
    }
    funcs_.push_back(f);
    in_func_ = true;
    return nullptr;
  }

  const char* on_line(std::string_view first, std::string_view rest) {
    uint64_t address, size;
    Line l;
    if (!parse_hex(first, &address) || !parse_hex(next_token(rest), &size) ||
        !parse_dec32(next_token(rest), &l.line) || !parse_dec32(next_token(rest), &l.file) ||
        !rest_of_line(rest).empty()) {
      return "bad line record";
    }
    if (!in_func_) return "line record outside a FUNC";
    Func f = funcs_.get(funcs_.size() - 1);
    if (size == 0 || address < f.address || address - f.address >= f.size) {
      ++stats_.dropped_records;  // empty, or outside its function: no lookup can reach it
      return nullptr;
    }
    l.offset = static_cast<uint32_t>(address - f.address);
    l.size = static_cast<uint32_t>(std::min<uint64_t>(size, f.size - l.offset));
    lines_.push_back(l);
    ++f.line_count;
    funcs_.set(funcs_.size() - 1, f);
    return nullptr;
  }

  const char* on_inline(std::string_view rest) {
    // New: INLINE <depth> <call line> <call file> <origin> (<address> <size>)+
    // Old: INLINE <depth> <call line> <origin> (<address> <size>)+ -- told apart by field parity.
    std::string_view fields[512];
    size_t n = 0;
    for (std::string_view t = next_token(rest); !t.empty(); t = next_token(rest)) {
      if (n == 512) return "INLINE record with too many ranges";
      fields[n++] = t;
    }
    if (n < 5) return "bad INLINE record";
    bool has_file = n % 2 == 0;
    Inline rec;
    size_t i = 0;
    if (!parse_dec32(fields[i++], &rec.depth) || !parse_dec32(fields[i++], &rec.call_line)) {
      return "bad INLINE record";
    }
    if (has_file) {
      if (fields[i] == "-1") {
        rec.call_file = kNone;
        ++i;
      } else if (!parse_dec32(fields[i++], &rec.call_file) || rec.call_file == kNone) {
        return "bad INLINE record";
      }
    }
    if (!parse_dec32(fields[i++], &rec.origin)) return "bad INLINE record";
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (; i + 1 < n; i += 2) {
      uint64_t a, s;
      if (!parse_hex(fields[i], &a) || !parse_hex(fields[i + 1], &s)) return "bad INLINE range";
      if (s > 0xffffffffull || a + s < a) return "INLINE range too large";
      ranges.emplace_back(a, s);
    }
    if (!in_func_) return "INLINE record outside a FUNC";
    uint32_t index = static_cast<uint32_t>(inlines_.size());
    inlines_.push_back(rec);
    Func f = funcs_.get(funcs_.size() - 1);
    for (auto [a, s] : ranges) {
      if (s == 0) {
        ++stats_.dropped_records;
        continue;
      }
      inline_ranges_.push_back(InlineRange{a, static_cast<uint32_t>(s), index});
      ++f.inline_range_count;
    }
    funcs_.set(funcs_.size() - 1, f);
    return nullptr;
  }

  const char* on_public(std::string_view rest) {
    std::string_view tok = next_token(rest);
    Public p;
    if (tok == "m") {
      p.multiple = 1;
      tok = next_token(rest);
    }
    if (!parse_hex(tok, &p.address) || !parse_hex32(next_token(rest), &p.parameter_size)) {
      return "bad PUBLIC record";
    }
    std::string_view name = rest_of_line(rest);
    if (name.empty()) return "PUBLIC without a name";
    if (!strings_.intern(name, &p.name)) return "string table full";
    publics_.push_back(p);
    return nullptr;
  }

  static bool rules_look_valid(std::string_view rules) {
    std::string_view r = rules;
    std::string_view first = next_token(r);
    return first.size() >= 2 && first.back() == ':';
  }

  const char* on_stack(std::string_view rest) {
    std::string_view what = next_token(rest);
    if (what == "CFI") {
      std::string_view tok = next_token(rest);
      if (tok == "INIT") {
        CfiInit c;
        if (!parse_hex(next_token(rest), &c.address) || !parse_hex(next_token(rest), &c.size)) {
          return "bad STACK CFI INIT record";
        }
        if (c.address + c.size < c.address) return "STACK CFI INIT range wraps around";
        std::string_view rules = rest_of_line(rest);
        if (!rules_look_valid(rules)) return "bad STACK CFI INIT rules";
        if (!strings_.intern(rules, &c.rules)) return "string table full";
        if (c.size == 0) {
          ++stats_.dropped_records;
          return nullptr;
        }
        cfi_inits_.push_back(c);
        return nullptr;
      }
      CfiDelta d;
      if (!parse_hex(tok, &d.address)) return "bad STACK CFI record";
      std::string_view rules = rest_of_line(rest);
      if (!rules_look_valid(rules)) return "bad STACK CFI rules";
      if (!strings_.intern(rules, &d.rules)) return "string table full";
      cfi_deltas_.push_back(d);
      return nullptr;
    }
    if (what == "WIN") return on_win(rest);
    return "unknown STACK record";
  }

  const char* on_win(std::string_view rest) {
    // STACK WIN <type> <rva> <code size> <prolog> <epilog> <params> <saved regs> <locals>
    //           <max stack> <has program string> <program string | allocates base pointer>
    Win w;
    uint32_t type, has_program;
    uint64_t size;
    if (!parse_hex32(next_token(rest), &type) || type > 4 ||
        !parse_hex(next_token(rest), &w.address) || !parse_hex(next_token(rest), &size) ||
        !parse_hex32(next_token(rest), &w.prolog_size) ||
        !parse_hex32(next_token(rest), &w.epilog_size) ||
        !parse_hex32(next_token(rest), &w.parameter_size) ||
        !parse_hex32(next_token(rest), &w.saved_registers_size) ||
        !parse_hex32(next_token(rest), &w.locals_size) ||
        !parse_hex32(next_token(rest), &w.max_stack_size) ||
        !parse_hex32(next_token(rest), &has_program) || has_program > 1) {
      return "bad STACK WIN record";
    }
    if (size > 0xffffffffull || w.address + size < w.address) return "STACK WIN size too large";
    w.type = static_cast<uint8_t>(type);
    w.size = static_cast<uint32_t>(size);
    w.has_program_string = static_cast<uint8_t>(has_program);
    std::string_view tail = rest_of_line(rest);
    if (has_program) {
      if (tail.empty()) return "STACK WIN without a program string";
      if (!strings_.intern(tail, &w.program)) return "string table full";
    } else {
      std::string_view r = tail;
      uint32_t allocates;
      if (!parse_hex32(next_token(r), &allocates) || allocates > 1 || !rest_of_line(r).empty()) {
        return "bad STACK WIN allocates_base_pointer";
      }
      w.allocates_base_pointer = static_cast<uint8_t>(allocates);
    }
    if (size == 0) {
      ++stats_.dropped_records;
      return nullptr;
    }
    wins_.push_back(w);
    return nullptr;
  }

  ModuleInfo info_;
  bool have_module_ = false;
  ParseStats stats_;
  Interner strings_;
  BlockList<Func> funcs_;  // in file order until finish()
  BlockList<Line> lines_;
  BlockList<Public> publics_;
  std::vector<Named> files_;
  std::vector<Named> origins_;
  BlockList<Inline> inlines_;
  BlockList<InlineRange> inline_ranges_;
  BlockList<CfiInit> cfi_inits_;
  BlockList<CfiDelta> cfi_deltas_;
  BlockList<Win> wins_;
  bool in_func_ = false;
};

// Sorts by id and keeps the first record of each id (file order), as Breakpad's map insert does.
size_t sort_named(std::vector<Named>& table) {
  std::stable_sort(table.begin(), table.end(), [](const Named& a, const Named& b) { return a.id < b.id; });
  auto end = std::unique(table.begin(), table.end(), [](const Named& a, const Named& b) { return a.id == b.id; });
  size_t dropped = static_cast<size_t>(table.end() - end);
  table.erase(end, table.end());
  return dropped;
}

std::shared_ptr<const ModuleSymbols> Builder::finish() {
  Arrays a;
  // The string index is only needed while parsing: drop it before the arrays are assembled.
  a.strings = strings_.take_blob();
  a.funcs = funcs_.flatten();
  a.lines = lines_.flatten();

  // Lines: within each function (its lines are one run, functions still in file order), sort by
  // offset if needed and drop lines overlapping an earlier kept one; compact in one pass.
  size_t w = 0;
  for (Func& f : a.funcs) {
    auto first = a.lines.begin() + f.first_line;
    auto last = first + f.line_count;
    if (!std::is_sorted(first, last, [](const Line& x, const Line& y) { return x.offset < y.offset; })) {
      std::stable_sort(first, last, [](const Line& x, const Line& y) { return x.offset < y.offset; });
    }
    size_t start = w;
    uint64_t kept_end = 0;
    for (auto it = first; it != last; ++it) {
      if (w > start && it->offset < kept_end) {
        ++stats_.dropped_records;
        continue;
      }
      kept_end = uint64_t{it->offset} + it->size;
      a.lines[w++] = *it;
    }
    f.first_line = static_cast<uint32_t>(start);
    f.line_count = static_cast<uint32_t>(w - start);
  }
  a.lines.resize(w);
  a.lines.shrink_to_fit();

  // Functions: by address; a function overlapping an earlier-kept one is dropped (the first of
  // equal addresses in file order wins, as with Breakpad's range map).
  auto by_address = [](const auto& x, const auto& y) { return x.address < y.address; };
  if (!std::is_sorted(a.funcs.begin(), a.funcs.end(), by_address)) {
    std::stable_sort(a.funcs.begin(), a.funcs.end(), by_address);
  }
  w = 0;
  for (size_t i = 0; i < a.funcs.size(); ++i) {
    if (w > 0 && a.funcs[i].address < a.funcs[w - 1].address + a.funcs[w - 1].size) {
      ++stats_.dropped_records;
      continue;
    }
    a.funcs[w++] = a.funcs[i];
  }
  a.funcs.resize(w);

  // PUBLIC: by address, first of equal addresses wins.
  a.publics = publics_.flatten();
  if (!std::is_sorted(a.publics.begin(), a.publics.end(), by_address)) {
    std::stable_sort(a.publics.begin(), a.publics.end(), by_address);
  }
  auto pend = std::unique(a.publics.begin(), a.publics.end(),
                          [](const Public& x, const Public& y) { return x.address == y.address; });
  stats_.dropped_records += static_cast<uint64_t>(a.publics.end() - pend);
  a.publics.erase(pend, a.publics.end());

  stats_.dropped_records += sort_named(files_);
  stats_.dropped_records += sort_named(origins_);
  a.files = std::move(files_);
  a.origins = std::move(origins_);
  a.inlines = inlines_.flatten();
  a.inline_ranges = inline_ranges_.flatten();

  // CFI INIT: by address, overlaps dropped. Deltas: by address, the last of equal addresses wins
  // (Breakpad assigns them into a map).
  a.cfi_inits = cfi_inits_.flatten();
  if (!std::is_sorted(a.cfi_inits.begin(), a.cfi_inits.end(), by_address)) {
    std::stable_sort(a.cfi_inits.begin(), a.cfi_inits.end(), by_address);
  }
  w = 0;
  for (size_t i = 0; i < a.cfi_inits.size(); ++i) {
    if (w > 0 && a.cfi_inits[i].address < a.cfi_inits[w - 1].address + a.cfi_inits[w - 1].size) {
      ++stats_.dropped_records;
      continue;
    }
    a.cfi_inits[w++] = a.cfi_inits[i];
  }
  a.cfi_inits.resize(w);
  a.cfi_deltas = cfi_deltas_.flatten();
  if (!std::is_sorted(a.cfi_deltas.begin(), a.cfi_deltas.end(), by_address)) {
    std::stable_sort(a.cfi_deltas.begin(), a.cfi_deltas.end(), by_address);
  }
  w = 0;
  for (size_t i = 0; i < a.cfi_deltas.size(); ++i) {
    if (w > 0 && a.cfi_deltas[i].address == a.cfi_deltas[w - 1].address) {
      a.cfi_deltas[w - 1] = a.cfi_deltas[i];
      ++stats_.dropped_records;
      continue;
    }
    a.cfi_deltas[w++] = a.cfi_deltas[i];
  }
  a.cfi_deltas.resize(w);

  // STACK WIN: per type a tree of nested ranges (Breakpad's contained range map): sorted by
  // (type, address, size descending); each record's parent is the innermost one containing it.
  // Exact duplicates and partial overlaps are dropped.
  a.wins = wins_.flatten();
  std::stable_sort(a.wins.begin(), a.wins.end(), [](const Win& x, const Win& y) {
    if (x.type != y.type) return x.type < y.type;
    if (x.address != y.address) return x.address < y.address;
    return x.size > y.size;
  });
  w = 0;
  std::vector<uint32_t> open;  // indices (in the kept prefix) of enclosing ranges
  for (size_t i = 0; i < a.wins.size(); ++i) {
    Win cur = a.wins[i];
    uint64_t cur_end = cur.address + cur.size;
    while (!open.empty()) {
      const Win& top = a.wins[open.back()];
      if (top.type == cur.type && cur.address < top.address + uint64_t{top.size}) break;
      open.pop_back();
    }
    if (!open.empty()) {
      const Win& top = a.wins[open.back()];
      bool duplicate = top.address == cur.address && top.size == cur.size;
      if (duplicate || cur_end > top.address + uint64_t{top.size}) {
        ++stats_.dropped_records;
        continue;
      }
      cur.parent = open.back();
    } else {
      cur.parent = kNone;
    }
    a.wins[w] = cur;
    open.push_back(static_cast<uint32_t>(w));
    ++w;
  }
  a.wins.resize(w);

  return std::make_shared<const ModuleSymbols>(std::move(info_), std::move(stats_),
                                               std::make_unique<ModuleSymbols::Storage>(std::move(a)));
}

}  // namespace

std::shared_ptr<const ModuleSymbols> ModuleSymbols::parse(std::string_view text) {
  Builder b;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    b.add_line(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return b.finish();
}

std::shared_ptr<const ModuleSymbols> ModuleSymbols::parse_file(const std::filesystem::path& path,
                                                               std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return nullptr;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Builder b;
  constexpr size_t kBlock = size_t{4} << 20;
  std::unique_ptr<char[]> block(new char[kBlock]);
  std::string partial;       // a line split across blocks
  bool skipping = false;     // inside an over-long line
  for (;;) {
    ssize_t n = ::read(fd, block.get(), kBlock);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (error) *error = "cannot read " + path.string() + ": " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    if (n == 0) break;
    std::string_view data(block.get(), static_cast<size_t>(n));
    while (!data.empty()) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        if (!skipping) {
          if (partial.size() + data.size() > kMaxLineLength) {
            skipping = true;
            partial.clear();
            b.bad_line("line too long");
          } else {
            partial.append(data);
          }
        }
        break;
      }
      std::string_view line = data.substr(0, nl);
      data.remove_prefix(nl + 1);
      if (skipping) {
        skipping = false;
        continue;
      }
      if (!partial.empty()) {
        if (partial.size() + line.size() > kMaxLineLength) {
          b.bad_line("line too long");
        } else {
          partial.append(line);
          b.add_line(partial);
        }
        partial.clear();
      } else {
        b.add_line(line);
      }
    }
  }
  ::close(fd);
  if (!partial.empty()) b.add_line(partial);
  return b.finish();
}

}  // namespace bw::symbols
