// Lookups over the compact form, as Breakpad's resolver answers them.
#include "symbols/module_symbols.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "symbols/compact_format.h"

namespace bw::symbols {

namespace compact {

Views views_of(const Arrays& a) {
  Views v;
  v.strings = a.strings.span();
  v.funcs = a.funcs.span();
  v.lines = a.lines.span();
  v.publics = a.publics.span();
  v.files = a.files.span();
  v.origins = a.origins.span();
  v.inlines = a.inlines.span();
  v.inline_ranges = a.inline_ranges.span();
  v.cfi_inits = a.cfi_inits.span();
  v.cfi_deltas = a.cfi_deltas.span();
  v.wins = a.wins.span();
  return v;
}

namespace {
inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
constexpr uint64_t kP1 = 0x9e3779b185ebca87ull;
constexpr uint64_t kP2 = 0xc2b2ae3d27d4eb4full;
}  // namespace

Checksum::Checksum(uint64_t seed) : seed_(seed) {
  for (int i = 0; i < 8; ++i) lane_[i] = seed + kP1 * static_cast<uint64_t>(i + 1);
}

void Checksum::block(const unsigned char* p) {
  for (int k = 0; k < 8; ++k) {
    uint64_t w;
    std::memcpy(&w, p + 8 * k, 8);
    lane_[k] = rotl((lane_[k] ^ w) * kP2, 31);
  }
}

void Checksum::update(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += size;
  if (pending_size_ > 0) {
    size_t take = std::min(size, 64 - pending_size_);
    std::memcpy(pending_ + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    size -= take;
    if (pending_size_ < 64) return;
    block(pending_);
    pending_size_ = 0;
  }
  for (; size >= 64; p += 64, size -= 64) block(p);
  if (size > 0) {
    std::memcpy(pending_, p, size);
    pending_size_ = size;
  }
}

uint64_t Checksum::finish() const {
  uint64_t h = seed_ ^ (total_ * kP1);
  for (int k = 0; k < 8; ++k) h = rotl((h ^ lane_[k]) * kP1, 27) + kP2;
  for (size_t i = 0; i < pending_size_; ++i) h = rotl((h ^ pending_[i]) * kP2, 23);
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  return h;
}

uint64_t checksum(const void* data, size_t size, uint64_t seed) {
  Checksum c(seed);
  c.update(data, size);
  return c.finish();
}

}  // namespace compact

using namespace compact;

ModuleSymbols::Storage::Storage(Arrays a) : arrays(std::move(a)) { views = views_of(arrays); }

ModuleSymbols::Storage::Storage(const void* base, size_t size, const Views& mapped_views)
    : map_base(base), map_size(size), views(mapped_views) {}

ModuleSymbols::Storage::~Storage() {
  if (map_base) ::munmap(const_cast<void*>(map_base), map_size);
}

ModuleSymbols::ModuleSymbols(ModuleInfo info, ParseStats stats, std::unique_ptr<Storage> storage)
    : info_(std::move(info)), stats_(std::move(stats)), storage_(std::move(storage)) {}

ModuleSymbols::~ModuleSymbols() = default;

bool ModuleSymbols::from_cache() const { return storage_->map_base != nullptr; }

size_t ModuleSymbols::memory_bytes() const {
  if (storage_->map_base) return storage_->map_size + sizeof(*this);
  const Arrays& a = storage_->arrays;
  return sizeof(*this) + a.strings.capacity_bytes() + a.funcs.capacity_bytes() +
         a.lines.capacity_bytes() + a.publics.capacity_bytes() + a.files.capacity_bytes() +
         a.origins.capacity_bytes() + a.inlines.capacity_bytes() + a.inline_ranges.capacity_bytes() +
         a.cfi_inits.capacity_bytes() + a.cfi_deltas.capacity_bytes() + a.wins.capacity_bytes();
}

size_t ModuleSymbols::function_count() const { return storage_->views.funcs.size(); }
size_t ModuleSymbols::public_count() const { return storage_->views.publics.size(); }
size_t ModuleSymbols::line_count() const { return storage_->views.lines.size(); }
size_t ModuleSymbols::cfi_init_count() const { return storage_->views.cfi_inits.size(); }
size_t ModuleSymbols::win_frame_count() const { return storage_->views.wins.size(); }

namespace {

template <typename T>
bool spans_equal(std::span<const T> a, std::span<const T> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Index of the last element with address <= x, or -1.
template <typename T>
ptrdiff_t last_at_or_before(std::span<const T> arr, uint64_t x) {
  auto it = std::upper_bound(arr.begin(), arr.end(), x,
                             [](uint64_t v, const T& e) { return v < e.address; });
  return (it - arr.begin()) - 1;
}

std::string_view name_of(std::span<const Named> table, const Views& v, uint32_t id) {
  auto it = std::lower_bound(table.begin(), table.end(), id,
                             [](const Named& n, uint32_t want) { return n.id < want; });
  if (it == table.end() || it->id != id) return {};
  return v.str(it->name);
}

}  // namespace

bool ModuleSymbols::same_content(const ModuleSymbols& other) const {
  const Views& a = storage_->views;
  const Views& b = other.storage_->views;
  return info_.os == other.info_.os && info_.cpu == other.info_.cpu &&
         info_.debug_id == other.info_.debug_id && info_.debug_file == other.info_.debug_file &&
         info_.code_id == other.info_.code_id && info_.code_file == other.info_.code_file &&
         stats_.lines == other.stats_.lines && stats_.bad_lines == other.stats_.bad_lines &&
         stats_.dropped_records == other.stats_.dropped_records &&
         stats_.first_errors == other.stats_.first_errors && spans_equal(a.strings, b.strings) &&
         spans_equal(a.funcs, b.funcs) && spans_equal(a.lines, b.lines) &&
         spans_equal(a.publics, b.publics) && spans_equal(a.files, b.files) &&
         spans_equal(a.origins, b.origins) && spans_equal(a.inlines, b.inlines) &&
         spans_equal(a.inline_ranges, b.inline_ranges) && spans_equal(a.cfi_inits, b.cfi_inits) &&
         spans_equal(a.cfi_deltas, b.cfi_deltas) && spans_equal(a.wins, b.wins);
}

std::optional<SymbolLookup> ModuleSymbols::lookup(uint64_t offset) const {
  const Views& v = storage_->views;
  SymbolLookup r;
  ptrdiff_t fi = last_at_or_before(v.funcs, offset);
  const Func* func = fi >= 0 ? &v.funcs[static_cast<size_t>(fi)] : nullptr;
  if (func && offset - func->address < func->size) {
    r.function_name = v.str(func->name);
    r.function_start = func->address;
    r.function_size = func->size;
    r.parameter_size = func->parameter_size;
    r.is_multiple = func->multiple != 0;
    uint64_t rel = offset - func->address;

    // The line record containing the offset: lines of a function are sorted and disjoint.
    if (func->first_line <= v.lines.size() && func->line_count <= v.lines.size() - func->first_line) {
      auto lines = v.lines.subspan(func->first_line, func->line_count);
      auto it = std::upper_bound(lines.begin(), lines.end(), rel,
                                 [](uint64_t x, const Line& l) { return x < l.offset; });
      if (it != lines.begin()) {
        const Line& l = *(it - 1);
        if (rel - l.offset < l.size) {
          r.has_line = true;
          r.source_file = name_of(v.files, v, l.file);
          r.source_line = l.line;
          r.line_start = func->address + l.offset;
          r.line_size = l.size;
        }
      }
    }

    // Inline frames: for depth 0, 1, 2... the first INLINE record (file order) of that depth
    // whose ranges contain the offset, stopping at the first depth with none. Records are matched
    // by depth, not by parent: real files (Rust, macOS) list nested records out of tree order, and
    // Breakpad's answers on them match this rule.
    if (func->inline_range_count > 0 && func->first_inline_range <= v.inline_ranges.size() &&
        func->inline_range_count <= v.inline_ranges.size() - func->first_inline_range) {
      auto ranges = v.inline_ranges.subspan(func->first_inline_range, func->inline_range_count);
      std::vector<const InlineRange*> hits;
      for (const InlineRange& ir : ranges) {
        if (offset >= ir.address && offset - ir.address < ir.size && ir.record < v.inlines.size()) {
          hits.push_back(&ir);
        }
      }
      for (uint32_t depth = 0; depth <= hits.size(); ++depth) {
        const InlineRange* chosen = nullptr;
        for (const InlineRange* h : hits) {
          if (v.inlines[h->record].depth == depth && (!chosen || h->record < chosen->record)) chosen = h;
        }
        if (!chosen) break;
        const Inline& rec = v.inlines[chosen->record];
        InlineFrame frame;
        frame.function_name = name_of(v.origins, v, rec.origin);
        if (rec.call_file != kNone) frame.call_file = name_of(v.files, v, rec.call_file);
        frame.call_line = rec.call_line;
        frame.start = chosen->address;
        frame.size = chosen->size;
        r.inlines.push_back(frame);
      }
    }
    return r;
  }

  // Nearest preceding PUBLIC, unless a FUNC starts between it and the offset.
  ptrdiff_t pi = last_at_or_before(v.publics, offset);
  if (pi < 0) return std::nullopt;
  const Public& p = v.publics[static_cast<size_t>(pi)];
  if (func && p.address <= func->address) return std::nullopt;
  r.function_name = v.str(p.name);
  r.function_start = p.address;
  r.parameter_size = p.parameter_size;
  r.is_public = true;
  r.is_multiple = p.multiple != 0;
  return r;
}

const std::string_view* CfiRules::find(std::string_view name) const {
  for (const CfiRule& rule : rules) {
    if (rule.name == name) return &rule.expression;
  }
  return nullptr;
}

namespace {

// Applies one rule string ("name: expr... name: expr...") to `out`; false if malformed.
bool apply_cfi_rules(std::string_view text, CfiRules& out) {
  std::string_view name;
  const char* expr_begin = nullptr;
  const char* expr_end = nullptr;
  auto flush = [&]() -> bool {
    if (name.empty()) return expr_begin == nullptr;
    if (!expr_begin) return false;  // a name with no expression
    std::string_view expr(expr_begin, static_cast<size_t>(expr_end - expr_begin));
    for (CfiRule& r : out.rules) {
      if (r.name == name) {
        r.expression = expr;
        return true;
      }
    }
    out.rules.push_back(CfiRule{name, expr});
    return true;
  };
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t b = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (b == i) break;
    std::string_view tok = text.substr(b, i - b);
    if (tok.back() == ':') {
      if (!flush()) return false;
      name = tok.substr(0, tok.size() - 1);
      if (name.empty()) return false;
      expr_begin = expr_end = nullptr;
    } else {
      if (name.empty()) return false;  // an expression before any register name
      if (!expr_begin) expr_begin = tok.data();
      expr_end = tok.data() + tok.size();
    }
  }
  return flush();
}

}  // namespace

std::optional<CfiRules> ModuleSymbols::find_cfi(uint64_t offset) const {
  const Views& v = storage_->views;
  ptrdiff_t ii = last_at_or_before(v.cfi_inits, offset);
  if (ii < 0) return std::nullopt;
  const CfiInit& init = v.cfi_inits[static_cast<size_t>(ii)];
  if (offset - init.address >= init.size) return std::nullopt;
  CfiRules out;
  out.init_start = init.address;
  out.init_size = init.size;
  if (!apply_cfi_rules(v.str(init.rules), out)) return std::nullopt;
  auto it = std::lower_bound(v.cfi_deltas.begin(), v.cfi_deltas.end(), init.address,
                             [](const CfiDelta& d, uint64_t x) { return d.address < x; });
  for (; it != v.cfi_deltas.end() && it->address <= offset; ++it) {
    if (!apply_cfi_rules(v.str(it->rules), out)) return std::nullopt;
  }
  return out;
}

std::optional<WinFrameInfo> ModuleSymbols::find_win_frame(uint64_t offset) const {
  const Views& v = storage_->views;
  for (uint8_t type : {uint8_t{4}, uint8_t{0}}) {
    auto lo = std::lower_bound(v.wins.begin(), v.wins.end(), type,
                               [](const Win& w, uint8_t t) { return w.type < t; });
    auto hi = std::upper_bound(lo, v.wins.end(), type,
                               [](uint8_t t, const Win& w) { return t < w.type; });
    std::span<const Win> of_type(lo, hi);
    ptrdiff_t i = last_at_or_before(of_type, offset);
    size_t base = static_cast<size_t>(lo - v.wins.begin());
    // Walk up the nesting until a range contains the offset; parents always have smaller indices.
    while (i >= 0) {
      const Win& w = of_type[static_cast<size_t>(i)];
      if (offset >= w.address && offset - w.address < w.size) {
        WinFrameInfo out;
        out.type = static_cast<WinFrameType>(w.type);
        out.start = w.address;
        out.size = w.size;
        out.prolog_size = w.prolog_size;
        out.epilog_size = w.epilog_size;
        out.parameter_size = w.parameter_size;
        out.saved_registers_size = w.saved_registers_size;
        out.locals_size = w.locals_size;
        out.max_stack_size = w.max_stack_size;
        out.has_program_string = w.has_program_string != 0;
        if (out.has_program_string) out.program_string = v.str(w.program);
        out.allocates_base_pointer = w.allocates_base_pointer != 0;
        return out;
      }
      if (w.parent == kNone || w.parent < base || w.parent - base >= static_cast<size_t>(i)) break;
      i = static_cast<ptrdiff_t>(w.parent - base);
    }
  }
  return std::nullopt;
}

std::optional<SourceStamp> stamp_of(const std::filesystem::path& sym_file) {
  struct stat st {};
  if (::stat(sym_file.c_str(), &st) != 0) return std::nullopt;
  SourceStamp s;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

}  // namespace bw::symbols
