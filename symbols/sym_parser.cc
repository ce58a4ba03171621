// The .sym parser: one pass over the text, line by line, appending records to the arrays that
// become the compact form (compact_format.h, os_array.h); then sorting, de-duplication and
// overlap resolution in place. Line records, most of any file, have a one-pass fast path.
// The same Builder, with its tables replaced by counters, is the check-only pass (check_sym_file):
// every line goes through the same code, nothing is stored.
//
// Record syntax follows Breakpad's symbol_files.md. Numbers: addresses, sizes and parameter sizes
// are hex without 0x; line numbers, FILE / INLINE_ORIGIN ids and inline depths are decimal. A
// number that overflows 64 bits (or 32 bits where the compact form stores 32) makes the line bad.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <zlib.h>

#include "core/ascii.h"
#include "symbols/compact_format.h"
#include "symbols/module_record.h"
#include "symbols/module_symbols.h"

namespace bw::symbols {
namespace {

using namespace compact;

constexpr size_t kMaxErrorsKept = 16;
constexpr size_t kMaxLineLength = size_t{64} << 20;  // a longer "line" is garbage, skipped

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

// The string blob that becomes the final string section (a StrRef offset is a position in it).
// Strings that repeat (CFI rules, STACK WIN programs, file and inline origin names) are interned:
// each distinct one is stored once. Function and PUBLIC names are nearly all distinct, so they are
// appended as they come: looking each one up in a table of a million entries costs a cache miss
// per name and the table's memory, to save a few percent of the blob. The hash table holds
// (hash tag << 32) | (entry index + 1), and a slot's position comes from its tag, so growing the
// table never reads the strings again.
class Interner {
 public:
  // Stores `s` without looking for an earlier copy; false when the blob would exceed 4 GiB.
  bool append(std::string_view s, StrRef* out) {
    if (s.size() > 0xffffffffu || blob_.size() + s.size() > 0xffffffffull) return false;
    *out = StrRef{static_cast<uint32_t>(blob_.size()), static_cast<uint32_t>(s.size())};
    blob_.append(s.data(), s.size());
    return true;
  }

  // false when the blob would exceed 4 GiB (offsets are 32-bit).
  bool intern(std::string_view s, StrRef* out) {
    if (slots_.empty()) slots_.assign(1 << 12, 0);
    uint64_t h = hash_bytes(s);
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    size_t i = tag & mask;
    while (slots_[i] != 0) {
      if (static_cast<uint32_t>(slots_[i] >> 32) == tag) {
        const StrRef& e = entries_[static_cast<uint32_t>(slots_[i]) - 1];
        if (e.length == s.size() && std::memcmp(blob_.data() + e.offset, s.data(), s.size()) == 0) {
          *out = e;
          return true;
        }
      }
      i = (i + 1) & mask;
    }
    if (s.size() > 0xffffffffu || blob_.size() + s.size() > 0xffffffffull) return false;
    StrRef e{static_cast<uint32_t>(blob_.size()), static_cast<uint32_t>(s.size())};
    blob_.append(s.data(), s.size());
    entries_.push_back(e);
    slots_[i] = (uint64_t{tag} << 32) | entries_.size();
    if (entries_.size() * 2 > slots_.size()) grow();
    *out = e;
    return true;
  }

  // The blob; the index is dropped (it is only needed while parsing).
  OsArray<char> take_blob() {
    std::vector<uint64_t>().swap(slots_);
    entries_ = OsArray<StrRef>();
    return std::move(blob_);
  }

 private:
  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    size_t mask = bigger.size() - 1;
    for (uint64_t slot : slots_) {
      if (slot == 0) continue;
      size_t i = static_cast<uint32_t>(slot >> 32) & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = slot;
    }
    slots_.swap(bigger);
  }

  OsArray<char> blob_;
  OsArray<StrRef> entries_;
  std::vector<uint64_t> slots_;  // 0 = empty
};

// The check-only pass's stand-in for the Interner: keeps no string, counts their bytes to tell
// when the Interner would refuse one for passing 4 GiB ("string table full"). Appended strings
// (FUNC and PUBLIC names) are stored whole by the Interner; interned ones once per distinct string,
// which needs the table this pass does not keep, so they are counted with repeats: an upper bound
// of the blob. While that bound stays within 4 GiB the Interner cannot have refused a string
// either, so the answer is exact; once it passes, undecided() is true and the caller must decide
// another way. Every string is part of a line, so a file of at most 4 GiB never gets there.
class StringBudget {
 public:
  bool append(std::string_view s, StrRef*) { return add(s.size()); }
  bool intern(std::string_view s, StrRef*) { return add(s.size()); }
  bool undecided() const { return undecided_; }

 private:
  bool add(size_t n) {
    if (n > 0xffffffffu) return false;  // refused by the Interner whatever else it holds
    if (bytes_ + n > 0xffffffffull) undecided_ = true;
    else bytes_ += n;
    return true;
  }

  uint64_t bytes_ = 0;
  bool undecided_ = false;
};

// The check-only pass's stand-in for an OsArray: counts the records, keeps none.
template <typename T>
class CountOnly {
 public:
  void push_back(const T&) { ++size_; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
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
    int d = hex_digit_value(c);
    if (d < 0) return false;
    if (v >> 60) return false;  // would overflow
    v = (v << 4) | static_cast<unsigned>(d);
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

// Hex digit values, 0xff for anything else.
constexpr auto kHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'A' + 10);
  return t;
}();

// The fast path's scanners: same digits, limits and overflow rules as parse_hex / parse_dec32,
// stopping at the first character that is not a digit.
inline bool scan_hex(const char*& p, const char* end, uint64_t* out) {
  const char* start = p;
  uint64_t v = 0;
  for (; p < end; ++p) {
    uint8_t d = kHexValue[static_cast<unsigned char>(*p)];
    if (d == 0xff) break;
    if (v >> 60) return false;
    v = (v << 4) | d;
  }
  *out = v;
  return p != start;
}

inline bool scan_dec32(const char*& p, const char* end, uint32_t* out) {
  const char* start = p;
  uint64_t v = 0;
  for (; p < end && *p >= '0' && *p <= '9'; ++p) {
    if (p - start == 10) return false;
    v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  if (p == start || v > 0xffffffffull) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

inline bool scan_space(const char*& p, const char* end) {
  if (p == end || *p != ' ') return false;
  ++p;
  return true;
}

// kKeep: builds the compact form (ModuleSymbols::parse*). !kKeep: the check-only pass
// (check_sym_file): the tables are counters and the string blob a byte count, so every line is
// read and judged by the same code while memory does not grow with the file.
template <bool kKeep>
class Builder {
  template <typename T>
  using Table = std::conditional_t<kKeep, OsArray<T>, CountOnly<T>>;

 public:
  void add_line(std::string_view line) {
    ++stats_.lines;
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    // Line records are most of a file: try the one-pass form first (lowercase hex, as dump_syms
    // writes). Anything unusual falls through to the general parser, which reports errors.
    if (in_func_ && !line.empty() && kHexValue[static_cast<unsigned char>(line[0])] != 0xff &&
        fast_line_record(line)) {
      return;
    }
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

  // The check-only pass's verdict (!kKeep): the MODULE / INFO CODE_ID records and the line counts.
  SymCheck check_result() {
    static_assert(!kKeep);
    SymCheck out;
    out.info = std::move(info_);
    out.lines = stats_.lines;
    out.bad_lines = stats_.bad_lines;
    out.first_errors = std::move(stats_.first_errors);
    return out;
  }
  // !kKeep: whether "string table full" could not be ruled out (StringBudget).
  bool strings_undecided() const { return strings_.undecided(); }

 private:
  void bad(const char* why) {
    ++stats_.bad_lines;
    if (stats_.first_errors.size() < kMaxErrorsKept) {
      stats_.first_errors.push_back("line " + std::to_string(stats_.lines) + ": " + why);
    }
  }

  const char* on_module(std::string_view rest) {
    if (have_module_) return "second MODULE record";
    auto module = parse_module_record(rest);
    if (!module) return "bad MODULE record";
    info_.os = std::move(module->os);
    info_.cpu = std::move(module->cpu);
    info_.debug_id = std::move(module->debug_id);
    info_.debug_file = std::move(module->debug_file);
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

  const char* on_named(std::string_view rest, Table<Named>& table, const char* bad_why) {
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
    close_function();
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
    if (!strings_.append(name, &f.name)) return "string table full";
    f.size = static_cast<uint32_t>(size);
    f.multiple = multiple;
    f.first_line = static_cast<uint32_t>(lines_.size());
    f.first_inline_range = static_cast<uint32_t>(inline_ranges_.size());
    if (size == 0) {
      ++stats_.dropped_records;  // cannot contain any address; its lines and inlines go too
      return nullptr;
    }
    cur_ = f;
    cur_line_end_ = 0;
    cur_lines_unordered_ = false;
    in_func_ = true;
    return nullptr;
  }

  // The function being read is complete.
  void close_function() {
    if (!in_func_) return;
    in_func_ = false;
    if constexpr (kKeep) store_function();  // nothing it does can make a line bad
  }

  // Puts the closed function's lines in order (dropping overlaps, the first kept wins, as
  // Breakpad's range map does) and stores it.
  void store_function() {
    if (cur_lines_unordered_) {
      Line* run = lines_.data() + cur_.first_line;
      size_t n = cur_.line_count;
      std::stable_sort(run, run + n, [](const Line& x, const Line& y) { return x.offset < y.offset; });
      size_t w = 0;
      uint64_t kept_end = 0;
      for (size_t i = 0; i < n; ++i) {
        if (w > 0 && run[i].offset < kept_end) {
          ++stats_.dropped_records;
          continue;
        }
        kept_end = uint64_t{run[i].offset} + run[i].size;
        run[w++] = run[i];
      }
      cur_.line_count = static_cast<uint32_t>(w);
      lines_.resize(cur_.first_line + w);
    }
    funcs_.push_back(cur_);
  }

  // One-pass parse of "<hex address> <hex size> <dec line> <dec file>"; false (nothing done) for
  // anything else, which the general parser then handles.
  bool fast_line_record(std::string_view text) {
    const char* p = text.data();
    const char* end = p + text.size();
    uint64_t address, size;
    uint32_t line, file;
    if (!scan_hex(p, end, &address) || !scan_space(p, end) || !scan_hex(p, end, &size) ||
        !scan_space(p, end) || !scan_dec32(p, end, &line) || !scan_space(p, end) ||
        !scan_dec32(p, end, &file) || p != end) {
      return false;
    }
    add_line_record(address, size, line, file);
    return true;
  }

  void add_line_record(uint64_t address, uint64_t size, uint32_t line, uint32_t file) {
    if constexpr (kKeep) store_line_record(address, size, line, file);  // never makes the line bad
  }

  void store_line_record(uint64_t address, uint64_t size, uint32_t line, uint32_t file) {
    if (size == 0 || address < cur_.address || address - cur_.address >= cur_.size) {
      ++stats_.dropped_records;  // empty, or outside its function: no lookup can reach it
      return;
    }
    Line l;
    l.offset = static_cast<uint32_t>(address - cur_.address);
    l.size = static_cast<uint32_t>(std::min<uint64_t>(size, cur_.size - l.offset));
    l.file = file;
    l.line = line;
    // Lines normally come in address order without overlaps; anything else is sorted out when
    // the function closes.
    if (l.offset < cur_line_end_) cur_lines_unordered_ = true;
    else cur_line_end_ = uint64_t{l.offset} + l.size;
    lines_.push_back(l);
    ++cur_.line_count;
  }

  const char* on_line(std::string_view first, std::string_view rest) {
    uint64_t address, size;
    uint32_t line, file;
    if (!parse_hex(first, &address) || !parse_hex(next_token(rest), &size) ||
        !parse_dec32(next_token(rest), &line) || !parse_dec32(next_token(rest), &file) ||
        !rest_of_line(rest).empty()) {
      return "bad line record";
    }
    if (!in_func_) return "line record outside a FUNC";
    add_line_record(address, size, line, file);
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
    for (auto [a, s] : ranges) {
      if (s == 0) {
        ++stats_.dropped_records;
        continue;
      }
      inline_ranges_.push_back(InlineRange{a, static_cast<uint32_t>(s), index});
      ++cur_.inline_range_count;
    }
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
    if (!strings_.append(name, &p.name)) return "string table full";
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
  std::conditional_t<kKeep, Interner, StringBudget> strings_;
  Table<Func> funcs_;  // in file order until finish()
  Table<Line> lines_;  // each function's lines are one run, in order once it is closed
  Table<Public> publics_;
  Table<Named> files_;
  Table<Named> origins_;
  Table<Inline> inlines_;
  Table<InlineRange> inline_ranges_;
  Table<CfiInit> cfi_inits_;
  Table<CfiDelta> cfi_deltas_;
  Table<Win> wins_;
  bool in_func_ = false;     // the last FUNC was valid: cur_ is open and takes lines and INLINEs
  Func cur_;                 // stored by close_function()
  uint64_t cur_line_end_ = 0;  // end of cur_'s last line, while they come in order
  bool cur_lines_unordered_ = false;
};

// Sorts by id and keeps the first record of each id (file order), as Breakpad's map insert does.
size_t sort_named(OsArray<Named>& table) {
  std::stable_sort(table.begin(), table.end(), [](const Named& a, const Named& b) { return a.id < b.id; });
  auto end = std::unique(table.begin(), table.end(), [](const Named& a, const Named& b) { return a.id == b.id; });
  size_t dropped = static_cast<size_t>(table.end() - end);
  table.resize(table.size() - dropped);
  return dropped;
}

// Sorts by address, stably (file order breaks ties). Real files are sorted or nearly so, a few
// records out of place: the records in order stay where they are, the others are taken out,
// sorted and merged back, in O(n + k log k) time and k records of memory, where a plain stable
// sort would need a buffer of n/2 records (fresh pages) and n log n moves. Mostly unsorted
// input gets the plain stable sort.
template <typename T>
void sort_by_address(OsArray<T>& arr) {
  const size_t n = arr.size();
  // A record is out of place when it is below the last record kept in place.
  size_t out_of_place = 0;
  uint64_t last_kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && arr[i].address < last_kept) ++out_of_place;
    else last_kept = arr[i].address;
  }
  if (out_of_place == 0) return;
  if (out_of_place > n / 8) {
    std::stable_sort(arr.begin(), arr.end(), [](const T& x, const T& y) { return x.address < y.address; });
    return;
  }
  std::vector<T> rest;
  rest.reserve(out_of_place);
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (kept > 0 && arr[i].address < arr[kept - 1].address) rest.push_back(arr[i]);
    else arr[kept++] = arr[i];
  }
  std::stable_sort(rest.begin(), rest.end(), [](const T& x, const T& y) { return x.address < y.address; });
  // Merge from the back. On equal addresses the record kept in place goes first: every kept
  // record with the address of a taken-out one came before it in the file (later kept records
  // are at or above the address that made it out of place), so file order is preserved.
  size_t i = kept, j = rest.size(), k = n;
  while (j > 0) {
    if (i > 0 && arr[i - 1].address > rest[j - 1].address) arr[--k] = arr[--i];
    else arr[--k] = rest[--j];
  }
}

// Keeps, in address order, each range that does not overlap the last kept one.
template <typename T>
uint64_t drop_overlaps(OsArray<T>& arr) {
  size_t w = 0;
  for (size_t i = 0; i < arr.size(); ++i) {
    if (w > 0 && arr[i].address < arr[w - 1].address + arr[w - 1].size) continue;
    arr[w++] = arr[i];
  }
  uint64_t dropped = arr.size() - w;
  arr.resize(w);
  return dropped;
}

template <bool kKeep>
std::shared_ptr<const ModuleSymbols> Builder<kKeep>::finish() {
  static_assert(kKeep);
  close_function();
  Arrays a;
  // The string index is only needed while parsing: drop it before the arrays are assembled.
  a.strings = strings_.take_blob();
  // Lines are already in their final order (close_function); functions that lose below keep
  // their runs in the array, unreferenced.
  a.lines = std::move(lines_);

  // Functions: by address; a function overlapping an earlier-kept one is dropped (the first of
  // equal addresses in file order wins, as with Breakpad's range map).
  a.funcs = std::move(funcs_);
  sort_by_address(a.funcs);
  stats_.dropped_records += drop_overlaps(a.funcs);

  // PUBLIC: by address, first of equal addresses wins.
  a.publics = std::move(publics_);
  sort_by_address(a.publics);
  auto pend = std::unique(a.publics.begin(), a.publics.end(),
                          [](const Public& x, const Public& y) { return x.address == y.address; });
  stats_.dropped_records += static_cast<uint64_t>(a.publics.end() - pend);
  a.publics.resize(static_cast<size_t>(pend - a.publics.begin()));

  stats_.dropped_records += sort_named(files_);
  stats_.dropped_records += sort_named(origins_);
  a.files = std::move(files_);
  a.origins = std::move(origins_);
  a.inlines = std::move(inlines_);
  a.inline_ranges = std::move(inline_ranges_);

  // CFI INIT: by address, overlaps dropped. Deltas: by address, the last of equal addresses wins
  // (Breakpad assigns them into a map).
  a.cfi_inits = std::move(cfi_inits_);
  sort_by_address(a.cfi_inits);
  stats_.dropped_records += drop_overlaps(a.cfi_inits);
  a.cfi_deltas = std::move(cfi_deltas_);
  sort_by_address(a.cfi_deltas);
  size_t w = 0;
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
  a.wins = std::move(wins_);
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

  // Growth leaves spare capacity; give it back before the module is kept for a long time.
  a.strings.shrink_to_fit();
  a.funcs.shrink_to_fit();
  a.lines.shrink_to_fit();
  a.publics.shrink_to_fit();
  a.files.shrink_to_fit();
  a.origins.shrink_to_fit();
  a.inlines.shrink_to_fit();
  a.inline_ranges.shrink_to_fit();
  a.cfi_inits.shrink_to_fit();
  a.cfi_deltas.shrink_to_fit();
  a.wins.shrink_to_fit();
  return std::make_shared<const ModuleSymbols>(std::move(info_), std::move(stats_),
                                               std::make_unique<ModuleSymbols::Storage>(std::move(a)));
}

}  // namespace

std::shared_ptr<const ModuleSymbols> ModuleSymbols::parse(std::string_view text) {
  Builder<true> b;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    b.add_line(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return b.finish();
}

namespace {

// Feeds the blocks `read` returns (0 at the end, -1 on error with *error set) to a Builder line
// by line; a line split across blocks is joined, an over-long one is counted bad and skipped.
// Whether a line is over-long does not depend on the block size (block_size <= kMaxLineLength):
// a line within one block is shorter than the block, and a joined one is measured whole.
// False on a read error.
template <typename B, typename Read>
bool feed_blocks(B& b, Read read, size_t block_size, std::string* error) {
  std::unique_ptr<char[]> block(new char[block_size]);
  // A line split across blocks. Grown in place (mremap past 256 KiB) and given back when done, so
  // a long line costs its length once, and only while it is read.
  OsArray<char> partial;
  bool skipping = false;     // inside an over-long line
  for (;;) {
    ssize_t n = read(block.get(), block_size, error);
    if (n < 0) return false;
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
            partial.append(data.data(), data.size());
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
          partial.append(line.data(), line.size());
          b.add_line(std::string_view(partial.data(), partial.size()));
        }
        partial.clear();
      } else {
        b.add_line(line);
      }
    }
  }
  if (!partial.empty()) b.add_line(std::string_view(partial.data(), partial.size()));
  return true;
}

constexpr size_t kParseBlock = size_t{4} << 20;
constexpr size_t kCheckBlock = size_t{1} << 20;

// Opens a .sym for streaming; -1 with *error set when it cannot be opened.
int open_sym(const std::filesystem::path& path, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return -1;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

// feed_blocks' reader for a plain file.
auto fd_reader(int fd, const std::filesystem::path& path) {
  return [fd, &path](char* buf, size_t size, std::string* why) -> ssize_t {
    for (;;) {
      ssize_t n = ::read(fd, buf, size);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (why) *why = "cannot read " + path.string() + ": " + std::strerror(errno);
      return -1;
    }
  };
}

}  // namespace

std::shared_ptr<const ModuleSymbols> ModuleSymbols::parse_file(const std::filesystem::path& path,
                                                               std::string* error) {
  int fd = open_sym(path, error);
  if (fd < 0) return nullptr;
  Builder<true> b;
  bool read = feed_blocks(b, fd_reader(fd, path), kParseBlock, error);
  ::close(fd);
  return read ? b.finish() : nullptr;
}

std::optional<SymCheck> check_sym_file(const std::filesystem::path& path, std::string* error) {
  int fd = open_sym(path, error);
  if (fd < 0) return std::nullopt;
  Builder<false> b;
  bool read = feed_blocks(b, fd_reader(fd, path), kCheckBlock, error);
  ::close(fd);
  if (!read) return std::nullopt;
  if (b.strings_undecided()) {
    // Over 4 GiB of strings counted with repeats: only the real string table can tell whether one
    // overflowed it (module_symbols.h, check_sym_file).
    auto parsed = ModuleSymbols::parse_file(path, error);
    if (!parsed) return std::nullopt;
    SymCheck out;
    out.info = parsed->info();
    out.lines = parsed->stats().lines;
    out.bad_lines = parsed->stats().bad_lines;
    out.first_errors = parsed->stats().first_errors;
    return out;
  }
  return b.check_result();
}

std::shared_ptr<const ModuleSymbols> ModuleSymbols::parse_gzip_file(const std::filesystem::path& path,
                                                                    std::string* error) {
  int fd = open_sym(path, error);
  if (fd < 0) return nullptr;
  gzFile gz = gzdopen(fd, "rb");  // owns fd from here on
  if (!gz) {
    ::close(fd);
    if (error) *error = "cannot read " + path.string() + ": out of memory";
    return nullptr;
  }
  gzbuffer(gz, 1 << 20);
  bool header_checked = false;
  Builder<true> b;
  bool read = feed_blocks(
      b,
      [&](char* buf, size_t size, std::string* why) -> ssize_t {
        int n = gzread(gz, buf, static_cast<unsigned>(std::min<size_t>(size, 1u << 30)));
        if (!header_checked) {
          header_checked = true;
          // zlib reads a file without the gzip magic as plain bytes: the store never holds one.
          if (n >= 0 && gzdirect(gz)) {
            if (why) *why = path.string() + " is not gzip data";
            return -1;
          }
        }
        if (n > 0) return n;
        int err = Z_OK;
        const char* msg = gzerror(gz, &err);
        // At the end, Z_BUF_ERROR means the stream stopped before its trailer (truncated).
        if (n < 0 || err != Z_OK) {
          if (why) *why = "bad gzip data in " + path.string() + ": " + (err == Z_BUF_ERROR ? "truncated" : msg);
          return -1;
        }
        return 0;
      },
      kParseBlock, error);
  gzclose(gz);
  return read ? b.finish() : nullptr;
}

std::optional<ModuleInfo> parse_module_record(std::string_view rest) {
  std::string_view os = next_token(rest), cpu = next_token(rest), id = next_token(rest);
  std::string_view name = rest_of_line(rest);
  if (os.empty() || cpu.empty() || id.empty() || name.empty()) return std::nullopt;
  ModuleInfo info;
  info.os = os;
  info.cpu = cpu;
  info.debug_id = id;
  info.debug_file = name;
  return info;
}

}  // namespace bw::symbols
