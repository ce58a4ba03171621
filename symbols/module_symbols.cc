// Lookups over the compact form, as Breakpad's resolver answers them.
#include "symbols/module_symbols.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/log.h"
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

uint64_t block_seed(uint64_t block_index) { return 0x62776b626c6f636bull + block_index * kP1; }

uint64_t block_checksum(const void* data, size_t size, uint64_t block_index) {
  return checksum(data, size, block_seed(block_index));
}

BlockVerifier::BlockVerifier(const char* data, uint64_t size, const uint64_t* sums, std::string file,
                             uint64_t dev, uint64_t ino)
    : data_(data),
      size_(size),
      sums_(sums),
      blocks_((size + kBlockSize - 1) / kBlockSize),
      words_(static_cast<size_t>((blocks_ + 63) / 64)),
      verified_(new std::atomic<uint64_t>[words_ > 0 ? words_ : 1]),
      file_(std::move(file)),
      dev_(dev),
      ino_(ino) {
  for (size_t i = 0; i < (words_ > 0 ? words_ : 1); ++i) verified_[i].store(0, std::memory_order_relaxed);
}

bool BlockVerifier::verify(uint64_t block) const {
  uint64_t start = block * kBlockSize;
  size_t len = static_cast<size_t>(std::min(kBlockSize, size_ - start));
  if (block_checksum(data_ + start, len, block) != sums_[block]) return fail(block);
  verified_[block / 64].fetch_or(uint64_t{1} << (block % 64), std::memory_order_relaxed);
  return true;
}

bool BlockVerifier::check_all() const {
  bool ok = true;
  for (uint64_t b = 0; b < blocks_; ++b) {
    if (!(verified_[b / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (b % 64)))) ok = verify(b) && ok;
  }
  return ok;
}

bool BlockVerifier::fail(uint64_t block) const {
  if (damaged_.exchange(true)) return false;
  // First detection: remove the cache file, unless it has been replaced since it was mapped.
  struct stat st {};
  bool removed = false;
  if (::stat(file_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_dev) == dev_ &&
      static_cast<uint64_t>(st.st_ino) == ino_) {
    removed = ::unlink(file_.c_str()) == 0;
  }
  bw::log_fields(*bw::logger("symbols"), spdlog::level::warn, "symbol cache file damaged",
                 {{"file", file_},
                  {"block", block == ~uint64_t{0} ? std::string("outside the data") : std::to_string(block)},
                  {"removed", removed ? "yes" : "no"}});
  return false;
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

bool ModuleSymbols::damage_detected() const { return storage_->verifier && storage_->verifier->damaged(); }

bool ModuleSymbols::verify_cache() const { return !storage_->verifier || storage_->verifier->check_all(); }

size_t ModuleSymbols::memory_bytes() const {
  if (storage_->map_base) {
    return storage_->map_size + sizeof(*this) +
           (storage_->verifier ? storage_->verifier->memory_bytes() : 0);
  }
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

// Every read a lookup makes goes through here: for a mapped cache file, the blocks it touches are
// checked (once each) before their bytes are trusted. A lookup that touched a damaged block
// answers nothing (ok() is false); reads stay in bounds either way.
class Reader {
 public:
  explicit Reader(const ModuleSymbols::Storage& s) : v(s.views), verifier_(s.verifier.get()) {}

  template <typename T>
  const T& at(std::span<const T> arr, size_t i) {
    return touch(arr[i]);
  }
  template <typename T>
  const T& touch(const T& e) {
    if (verifier_ && !verifier_->check(&e, sizeof(T))) ok_ = false;
    return e;
  }
  std::string_view str(StrRef ref) {
    std::string_view s = v.str(ref);
    if (verifier_ && !verifier_->check(s.data(), s.size())) ok_ = false;
    return s;
  }
  bool ok() const { return ok_; }

  // Index of the last element with address <= x, or -1.
  template <typename T>
  ptrdiff_t last_at_or_before(std::span<const T> arr, uint64_t x) {
    auto it = std::upper_bound(arr.begin(), arr.end(), x,
                               [this](uint64_t val, const T& e) { return val < touch(e).address; });
    return (it - arr.begin()) - 1;
  }

  std::string_view name_of(std::span<const Named> table, uint32_t id) {
    auto it = std::lower_bound(table.begin(), table.end(), id,
                               [this](const Named& n, uint32_t want) { return touch(n).id < want; });
    if (it == table.end() || touch(*it).id != id) return {};
    return str(it->name);
  }

  const Views& v;

 private:
  const compact::BlockVerifier* verifier_;
  bool ok_ = true;
};

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
  Reader rd(*storage_);
  const Views& v = rd.v;
  SymbolLookup r;
  ptrdiff_t fi = rd.last_at_or_before(v.funcs, offset);
  const Func* func = fi >= 0 ? &rd.at(v.funcs, static_cast<size_t>(fi)) : nullptr;
  if (func && offset - func->address < func->size) {
    r.function_name = rd.str(func->name);
    r.function_start = func->address;
    r.function_size = func->size;
    r.parameter_size = func->parameter_size;
    r.is_multiple = func->multiple != 0;
    uint64_t rel = offset - func->address;

    // The line record containing the offset: lines of a function are sorted and disjoint.
    if (func->first_line <= v.lines.size() && func->line_count <= v.lines.size() - func->first_line) {
      auto lines = v.lines.subspan(func->first_line, func->line_count);
      auto it = std::upper_bound(lines.begin(), lines.end(), rel,
                                 [&rd](uint64_t x, const Line& l) { return x < rd.touch(l).offset; });
      if (it != lines.begin()) {
        const Line& l = rd.touch(*(it - 1));
        if (rel - l.offset < l.size) {
          r.has_line = true;
          r.source_file = rd.name_of(v.files, l.file);
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
        rd.touch(ir);
        if (offset >= ir.address && offset - ir.address < ir.size && ir.record < v.inlines.size()) {
          hits.push_back(&ir);
        }
      }
      for (uint32_t depth = 0; depth <= hits.size(); ++depth) {
        const InlineRange* chosen = nullptr;
        for (const InlineRange* h : hits) {
          if (rd.at(v.inlines, h->record).depth == depth && (!chosen || h->record < chosen->record)) chosen = h;
        }
        if (!chosen) break;
        const Inline& rec = v.inlines[chosen->record];
        InlineFrame frame;
        frame.function_name = rd.name_of(v.origins, rec.origin);
        if (rec.call_file != kNone) frame.call_file = rd.name_of(v.files, rec.call_file);
        frame.call_line = rec.call_line;
        frame.start = chosen->address;
        frame.size = chosen->size;
        r.inlines.push_back(frame);
      }
    }
    if (!rd.ok()) return std::nullopt;
    return r;
  }

  // Nearest preceding PUBLIC, unless a FUNC starts between it and the offset.
  ptrdiff_t pi = rd.last_at_or_before(v.publics, offset);
  if (pi < 0 || !rd.ok()) return std::nullopt;
  const Public& p = rd.at(v.publics, static_cast<size_t>(pi));
  if (func && p.address <= func->address) return std::nullopt;
  r.function_name = rd.str(p.name);
  r.function_start = p.address;
  r.parameter_size = p.parameter_size;
  r.is_public = true;
  r.is_multiple = p.multiple != 0;
  if (!rd.ok()) return std::nullopt;
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
  Reader rd(*storage_);
  const Views& v = rd.v;
  ptrdiff_t ii = rd.last_at_or_before(v.cfi_inits, offset);
  if (ii < 0) return std::nullopt;
  const CfiInit& init = rd.at(v.cfi_inits, static_cast<size_t>(ii));
  if (offset - init.address >= init.size || !rd.ok()) return std::nullopt;
  CfiRules out;
  out.init_start = init.address;
  out.init_size = init.size;
  if (!apply_cfi_rules(rd.str(init.rules), out)) return std::nullopt;
  auto it = std::lower_bound(v.cfi_deltas.begin(), v.cfi_deltas.end(), init.address,
                             [&rd](const CfiDelta& d, uint64_t x) { return rd.touch(d).address < x; });
  for (; it != v.cfi_deltas.end() && rd.touch(*it).address <= offset; ++it) {
    if (!apply_cfi_rules(rd.str(it->rules), out)) return std::nullopt;
  }
  if (!rd.ok()) return std::nullopt;
  return out;
}

std::optional<WinFrameInfo> ModuleSymbols::find_win_frame(uint64_t offset) const {
  Reader rd(*storage_);
  const Views& v = rd.v;
  for (uint8_t type : {uint8_t{4}, uint8_t{0}}) {
    auto lo = std::lower_bound(v.wins.begin(), v.wins.end(), type,
                               [&rd](const Win& w, uint8_t t) { return rd.touch(w).type < t; });
    auto hi = std::upper_bound(lo, v.wins.end(), type,
                               [&rd](uint8_t t, const Win& w) { return t < rd.touch(w).type; });
    std::span<const Win> of_type(lo, hi);
    ptrdiff_t i = rd.last_at_or_before(of_type, offset);
    size_t base = static_cast<size_t>(lo - v.wins.begin());
    // Walk up the nesting until a range contains the offset; parents always have smaller indices.
    while (i >= 0) {
      const Win& w = rd.at(of_type, static_cast<size_t>(i));
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
        if (out.has_program_string) out.program_string = rd.str(w.program);
        out.allocates_base_pointer = w.allocates_base_pointer != 0;
        if (!rd.ok()) return std::nullopt;
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
