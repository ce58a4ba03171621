// ModuleSymbols: one Breakpad .sym file, parsed into a compact, immutable form and answering the
// lookups a stack walker needs, by module offset (address - module base), as Breakpad does them.
//
// Promises:
// - parse() never fails on content: every line that is not a valid record is counted, the first
//   few are kept with their line numbers, is_corrupt() becomes true, and parsing goes on.
// - The compact form is sorted arrays of fixed-size records plus one blob of interned strings,
//   with offsets instead of pointers, so it can be written to a cache file and memory-mapped back
//   (write_cache / load_cache). A cache file is versioned and checksummed; one whose header is
//   damaged, from another format version or built from another .sym is refused with a reason; its
//   data is checked block by block as lookups first read it (damage_detected()).
// - lookup(): the FUNC containing the offset, else the nearest preceding PUBLIC (only when no FUNC
//   starts after that PUBLIC and before the offset); the line record containing the offset; the
//   INLINE frames at the offset, outermost first. find_cfi(): the STACK CFI INIT rules covering the
//   offset with every STACK CFI delta from its start up to the offset applied in address order.
//   find_win_frame(): the innermost STACK WIN record of type 4 (FRAME_DATA) covering the offset,
//   else of type 0 (FPO).
// - Duplicate or overlapping ranges are resolved as Breakpad does (the first record in file order
//   wins); zero-sized FUNC, line and STACK records are dropped (Breakpad cannot store them).
//
// Ownership: string_views in results point into the ModuleSymbols and stay valid as long as it
// lives (hold the shared_ptr). Thread safety: immutable after construction; all const methods may
// be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bw::symbols {

// The MODULE and INFO CODE_ID records.
struct ModuleInfo {
  std::string os;          // "Linux", "windows", "mac", ...
  std::string cpu;         // "x86", "x86_64", "arm", "arm64", ...
  std::string debug_id;    // as written (33 hex digits for PDB/ELF/Mach-O ids)
  std::string debug_file;  // "xul.pdb", "libxul.so"
  std::string code_id;     // INFO CODE_ID first field; empty when absent
  std::string code_file;   // INFO CODE_ID second field (Windows); empty when absent
};

// One inlined call at the looked-up offset.
struct InlineFrame {
  std::string_view function_name;  // the INLINE_ORIGIN name; "" when the origin id is unknown
  std::string_view call_file;      // source file of the call site; "" when unknown
  uint32_t call_line = 0;          // line of the call site (0 = unknown)
  uint64_t start = 0;              // module offset of the INLINE range containing the offset
  uint64_t size = 0;
};

struct SymbolLookup {
  std::string_view function_name;
  uint64_t function_start = 0;   // module offset of the FUNC or PUBLIC
  uint64_t function_size = 0;    // 0 for PUBLIC symbols
  uint32_t parameter_size = 0;   // stack bytes of parameters (x86 Windows)
  bool is_public = false;        // found through a PUBLIC record, not a FUNC
  bool is_multiple = false;      // the `m` flag: identical code folded for several names

  bool has_line = false;         // a line record of the FUNC contains the offset
  std::string_view source_file;  // "" when the line's FILE id is unknown
  uint32_t source_line = 0;
  uint64_t line_start = 0;       // module offset where that line record starts
  uint64_t line_size = 0;

  // Inlined calls at the offset, outermost (depth 0) first. A stack walker shows them innermost
  // first: the innermost frame at source_file:source_line, each outer one at the call site of the
  // frame inside it, and the FUNC itself at the call site of inlines.front().
  std::vector<InlineFrame> inlines;
};

// One register rule of a CFI row: ".cfa", ".ra" or a register name ("$rbp", "x29", "r14"), and
// its postfix expression text, e.g. ".cfa" -> "$rsp 16 +", ".ra" -> ".cfa -8 + ^".
struct CfiRule {
  std::string_view name;
  std::string_view expression;
};

struct CfiRules {
  uint64_t init_start = 0;  // the STACK CFI INIT range that covers the offset
  uint64_t init_size = 0;
  std::vector<CfiRule> rules;  // one per register name, in first-appearance order

  // The expression for `name`, or nullptr.
  const std::string_view* find(std::string_view name) const;
};

// STACK WIN types (Windows frame data kinds).
enum class WinFrameType : uint8_t { kFpo = 0, kTrap = 1, kTss = 2, kStandard = 3, kFrameData = 4 };

struct WinFrameInfo {
  WinFrameType type = WinFrameType::kFpo;
  uint64_t start = 0;
  uint64_t size = 0;
  uint32_t prolog_size = 0;
  uint32_t epilog_size = 0;
  uint32_t parameter_size = 0;
  uint32_t saved_registers_size = 0;
  uint32_t locals_size = 0;
  uint32_t max_stack_size = 0;
  bool has_program_string = false;
  std::string_view program_string;      // when has_program_string
  bool allocates_base_pointer = false;  // when !has_program_string
};

struct ParseStats {
  uint64_t lines = 0;      // lines read (empty lines included)
  uint64_t bad_lines = 0;  // lines that were not valid records
  uint64_t dropped_records = 0;  // valid records dropped as duplicates/overlaps/zero-sized
  std::vector<std::string> first_errors;  // up to 16 "line N: reason" entries
};

// Identity of the .sym file a cache was built from, so a stale cache is refused.
struct SourceStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const SourceStamp&) const = default;
};
// The stamp of an existing file; nullopt if it cannot be stat'ed.
std::optional<SourceStamp> stamp_of(const std::filesystem::path& sym_file);

// What check_sym_file found: what ModuleSymbols::parse_file would say of the same file.
struct SymCheck {
  ModuleInfo info{};       // the MODULE and INFO CODE_ID records (debug_id empty: no MODULE record)
  uint64_t lines = 0;      // as ParseStats::lines
  uint64_t bad_lines = 0;  // as ParseStats::bad_lines
  std::vector<std::string> first_errors{};  // as ParseStats::first_errors
  bool is_corrupt() const { return bad_lines > 0; }
};

// Checks a .sym file without building its compact form: the parser's check-only pass, for deciding
// whether a file is acceptable (SymbolStore::add checks every stored or uploaded .sym with it).
//
// Promises: the verdict ModuleSymbols::parse_file gives the same file. info equals its info();
// lines, bad_lines and first_errors equal its stats() (every line goes through the same parsing
// code, a Builder whose tables are counters; only storing records is left out). The records
// dropped as duplicates or overlaps are not counted: finding them needs the sorted tables, and they
// never make a file corrupt.
// Memory: a 1 MiB read buffer; a line split across two reads is held whole while it is joined (so
// the longest such line: at most the parser's 64 MiB line limit; a longer line is counted bad and
// skipped as the parser does); one record's fields. Nothing grows with the number of records or
// the file's size: a file of any size with lines of ordinary length costs about 1 MiB. One
// exception, which no file of 4 GiB or less can reach: the compact form keeps its strings in one
// table of at most 4 GiB ("string table full" past it), where repeated FILE / INLINE_ORIGIN names,
// CFI rules and STACK WIN programs are kept once. Whether a string overflows it depends on which
// strings repeat, which this pass does not keep; so it counts their bytes with repeats, and when
// that count passes 4 GiB it gets the verdict from a full parse_file (memory as parse_file's).
// Thread safety: no shared state; any number of calls at once.
// Errors: nullopt with *error set only when the file cannot be opened or read (parse_file's
// messages); bad content is counted in bad_lines, never an error.
std::optional<SymCheck> check_sym_file(const std::filesystem::path& path, std::string* error);

class ModuleSymbols {
 public:
  // Parses .sym text (the whole file). Bad lines are counted, never fatal.
  static std::shared_ptr<const ModuleSymbols> parse(std::string_view text);
  // Parses a .sym file, streaming it in blocks (the text is never held whole). nullptr and
  // *error set only when the file cannot be read.
  static std::shared_ptr<const ModuleSymbols> parse_file(const std::filesystem::path& path,
                                                         std::string* error);
  // The same for a gzip'd .sym (one or more members), inflated as it is read. nullptr and *error
  // set when the file cannot be read, is not gzip, or its gzip data is damaged or truncated.
  static std::shared_ptr<const ModuleSymbols> parse_gzip_file(const std::filesystem::path& path,
                                                              std::string* error);

  // Writes the compact form to `path` atomically (temporary name, fsync, rename). `source` is
  // recorded in the header. Returns false and sets *error on I/O failure.
  bool write_cache(const std::filesystem::path& path, const SourceStamp& source,
                   std::string* error) const;
  // Maps a cache file. nullptr and *error set if it is missing, damaged (size, magic, version,
  // header or block-table checksum, section bounds, metadata blocks) or its recorded source
  // differs from `expected_source` (when given). The rest of the data is checked lazily, block by
  // block, as lookups first read it (see damage_detected()), so loading costs the same whatever
  // the module's size.
  static std::shared_ptr<const ModuleSymbols> load_cache(
      const std::filesystem::path& path, const std::optional<SourceStamp>& expected_source,
      std::string* error);

  std::optional<SymbolLookup> lookup(uint64_t module_offset) const;
  std::optional<CfiRules> find_cfi(uint64_t module_offset) const;
  std::optional<WinFrameInfo> find_win_frame(uint64_t module_offset) const;

  const ModuleInfo& info() const { return info_; }
  const ParseStats& stats() const { return stats_; }
  bool is_corrupt() const { return stats_.bad_lines > 0; }
  bool from_cache() const;
  // For a module mapped from a cache file: true once a lookup read a block of the file that does
  // not match its checksum. Lookups that would read a damaged block answer nothing; the cache file
  // has been removed, so the next load parses the .sym again (CachingSymbolSupplier does that).
  // Always false for a parsed module.
  bool damage_detected() const;
  // Checks every block of the cache file now (the full cost the lazy check avoids); false if any is
  // damaged. Always true for a parsed module.
  bool verify_cache() const;

  // Bytes this object holds (heap or mapped), what the LRU accounts.
  size_t memory_bytes() const;

  // Counts of stored records, for tests and diagnostics.
  size_t function_count() const;
  size_t public_count() const;
  size_t line_count() const;
  size_t cfi_init_count() const;
  size_t win_frame_count() const;

  // Exact equality of the compact forms (module info and every record), for round-trip tests.
  bool same_content(const ModuleSymbols& other) const;

  struct Storage;  // the sections (owned vectors or a mapped cache file); defined in the .cc
  ModuleSymbols(ModuleInfo info, ParseStats stats, std::unique_ptr<Storage> storage);
  ~ModuleSymbols();
  ModuleSymbols(const ModuleSymbols&) = delete;
  ModuleSymbols& operator=(const ModuleSymbols&) = delete;

 private:
  ModuleInfo info_;
  ParseStats stats_;
  std::unique_ptr<Storage> storage_;
};

}  // namespace bw::symbols
