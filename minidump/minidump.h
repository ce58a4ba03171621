// The minidump reader: public API (docs/design.md §9, issue 4).
//
// Contract:
// - `Minidump::open(path)` memory-maps a file (read-only, RAII); `Minidump::from_bytes` copies a
//   buffer. Both parse the header, the stream directory and every stream they know at once, and
//   return either a `Minidump` or an `Error` with a human reason. Only an unreadable file, a bad
//   header or a bad stream directory fails the whole dump.
// - Every offset, size and count read from the file is checked against the file with
//   overflow-safe arithmetic; nothing is ever read outside the bytes. A stream that is damaged
//   degrades to "unavailable": its accessor returns nullopt / empty and `stream_errors()` says why;
//   the rest of the dump still reads.
// - Strings come out as valid UTF-8: MINIDUMP_STRING is UTF-16LE (unpaired surrogates become
//   U+FFFD); 8-bit strings (CodeView names, Crashpad and Linux text) have invalid UTF-8
//   sequences replaced by U+FFFD, so every string can go into JSON as it is.
// - Debug ids and code ids follow what Breakpad and rust-minidump print (see `Module`).
// - Spans of bytes (stack memory, memory regions) point into the mapped file or the owned buffer:
//   they live as long as the `Minidump` (moving a Minidump keeps them valid).
// - Thread safety: a `Minidump` is immutable after construction; any number of threads may read it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "minidump/cpu_context.h"

namespace bw::minidump {

struct Error {
  std::string reason;
};

// A value or an Error (std::expected is C++23).
template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Expected(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Stream types (MINIDUMP_STREAM_TYPE plus the Breakpad, Crashpad and Mozilla extensions).
enum class StreamType : uint32_t {
  kThreadList = 3,
  kModuleList = 4,
  kMemoryList = 5,
  kException = 6,
  kSystemInfo = 7,
  kThreadExList = 8,
  kMemory64List = 9,
  kHandleData = 12,
  kUnloadedModuleList = 14,
  kMiscInfo = 15,
  kMemoryInfoList = 16,
  kThreadInfoList = 17,
  kThreadNameList = 24,
  kBreakpadInfo = 0x47670001,
  kAssertionInfo = 0x47670002,
  kLinuxCpuInfo = 0x47670003,
  kLinuxProcStatus = 0x47670004,
  kLinuxLsbRelease = 0x47670005,
  kLinuxCmdLine = 0x47670006,
  kLinuxEnviron = 0x47670007,
  kLinuxAuxv = 0x47670008,
  kLinuxMaps = 0x47670009,
  kLinuxDsoDebug = 0x4767000A,
  kCrashpadInfo = 0x43500001,
  kMozMacosCrashInfo = 0x4d7a0001,
  kMozMacosBootargs = 0x4d7a0002,
  kMozLinuxLimits = 0x4d7a0003,
};

// An entry of the stream directory.
struct StreamEntry {
  uint32_t type = 0;
  uint32_t size = 0;
  uint32_t offset = 0;
};

// A contiguous block of the crashed process's memory saved in the dump.
class MemoryRegion {
 public:
  MemoryRegion() = default;
  MemoryRegion(uint64_t base, std::span<const uint8_t> bytes) : base_(base), bytes_(bytes) {}

  uint64_t base() const { return base_; }
  uint64_t size() const { return bytes_.size(); }
  // One past the last address (saturates at 2^64 - 1).
  uint64_t end() const;
  std::span<const uint8_t> bytes() const { return bytes_; }
  bool contains(uint64_t address, uint64_t length = 1) const;

  // Little-endian reads; nullopt if any byte of [address, address + size) is outside the region.
  std::optional<uint8_t> read_u8(uint64_t address) const;
  std::optional<uint16_t> read_u16(uint64_t address) const;
  std::optional<uint32_t> read_u32(uint64_t address) const;
  std::optional<uint64_t> read_u64(uint64_t address) const;
  // pointer_size 4 or 8.
  std::optional<uint64_t> read_pointer(uint64_t address, unsigned pointer_size) const;

 private:
  uint64_t base_ = 0;
  std::span<const uint8_t> bytes_;
};

// Memory list + Memory64 list, sorted by address, for lookups. Overlapping regions are dropped
// (the first one by address wins), as Breakpad does.
class MemoryMap {
 public:
  MemoryMap() = default;
  explicit MemoryMap(std::vector<MemoryRegion> regions);
  const std::vector<MemoryRegion>& regions() const { return regions_; }
  const MemoryRegion* find(uint64_t address) const;
  // Bounds-checked reads; nullopt unless all bytes lie in one region.
  std::optional<uint64_t> read_pointer(uint64_t address, unsigned pointer_size) const;
  std::optional<uint8_t> read_u8(uint64_t address) const;
  std::optional<uint16_t> read_u16(uint64_t address) const;
  std::optional<uint32_t> read_u32(uint64_t address) const;
  std::optional<uint64_t> read_u64(uint64_t address) const;

 private:
  std::vector<MemoryRegion> regions_;
};

enum class Os : uint8_t { kUnknown, kWindows, kMacOs, kIos, kLinux, kSolaris, kAndroid, kPs3, kNaCl, kFuchsia };

struct SystemInfo {
  uint16_t processor_architecture = 0;  // raw MINIDUMP value
  uint16_t processor_level = 0;
  uint16_t processor_revision = 0;
  uint8_t number_of_processors = 0;
  uint8_t product_type = 0;
  uint32_t major_version = 0;
  uint32_t minor_version = 0;
  uint32_t build_number = 0;
  uint32_t platform_id = 0;  // raw MINIDUMP value
  std::string csd_version;  // service pack / kernel version string
  uint16_t suite_mask = 0;
  // x86/amd64 CPU id data: vendor string ("GenuineIntel"), version information and features.
  std::string cpu_vendor;
  uint32_t cpu_version_information = 0;
  uint32_t cpu_feature_information = 0;
  uint32_t cpu_amd_extended_features = 0;
  // Other CPUs: the two processor feature words.
  std::array<uint64_t, 2> processor_features{};

  Cpu cpu = Cpu::kUnknown;
  Os os = Os::kUnknown;

  // "Windows NT", "Mac OS X", "iOS", "Linux", "Solaris", "Android", "PS3", "NaCl", "Fuchsia",
  // or the platform id in hex for others.
  std::string os_name() const;
  // Breakpad's version line: "5.1.2600 Service Pack 2", "0.0.0 Linux 4.9.60 ... x86_64".
  std::string os_version() const;
  // rust-minidump's os_ver: as Breakpad's, except on Linux/Android where it is the kernel release
  // and version from the CSD string ("4.9.60-linuxkit-aufs #1 SMP ...").
  std::string os_version_rust() const;
  // Breakpad's CPU line: "GenuineIntel family 6 model 13 stepping 8"; "family 6 model 70
  // stepping 1" without a vendor; arm: from the Linux cpuinfo when available (see Minidump).
  std::string cpu_info() const;
  unsigned cpu_count() const { return number_of_processors; }
};

// MINIDUMP_EXCEPTION_STREAM.
struct ExceptionInfo {
  uint32_t thread_id = 0;
  uint32_t code = 0;
  uint32_t flags = 0;
  uint64_t record = 0;   // address of a nested record
  uint64_t address = 0;  // where it happened (for access violations, see `parameters`)
  std::vector<uint64_t> parameters;  // up to 15 ExceptionInformation words
  std::optional<CpuContext> context;  // nullopt when the context is missing or damaged
};

enum class CodeViewKind : uint8_t { kNone, kPdb70, kPdb20, kElf, kOther };

// MINIDUMP_MODULE (and its CodeView record, version info), with derived identifiers.
struct Module {
  uint64_t base = 0;
  uint64_t size = 0;
  uint32_t checksum = 0;
  uint32_t timestamp = 0;
  // Full path as recorded ("C:\...\test_app.exe", "/usr/lib/libc.so.6").
  std::string code_file;
  // PE: "%08x%x" of timestamp and size ("45d35f6c2d000", rust-minidump's spelling; symbol
  // servers match it case-insensitively); ELF: build id in lowercase hex; Mach-O: the UUID in
  // lowercase hex; empty when unknown.
  std::string code_id;
  // PDB 7.0/2.0 (and Mach-O's RSDS): the base name of the recorded pdb path, as symbol stores
  // key it ("test_app.pdb"); ELF: the code file's base name; empty without a CodeView record.
  std::string debug_file;
  // Uppercase hex: GUID fields + age for PDB 7.0 and Mach-O; signature + age for PDB 2.0;
  // ELF: the first 16 bytes of the build id as a GUID + "0" (padded with zeros when shorter).
  // "000000000000000000000000000000000" when the module has an ELF record with no build id.
  // Empty when the module has no CodeView record.
  std::string debug_id;
  // "a.b.c.d" from VS_FIXEDFILEINFO when it carries the signature; else empty.
  std::string version;
  // The VS_FIXEDFILEINFO words (signature 0xfeef04bd when present).
  uint32_t version_signature = 0;
  uint32_t file_version_hi = 0;
  uint32_t file_version_lo = 0;
  uint32_t product_version_hi = 0;
  uint32_t product_version_lo = 0;
  CodeViewKind codeview = CodeViewKind::kNone;
  // The raw CodeView record and misc record bytes (views into the dump).
  std::span<const uint8_t> codeview_record;
  std::span<const uint8_t> misc_record;

  uint64_t end() const;  // base + size, saturating
  bool contains(uint64_t address) const { return address >= base && address - base < size; }
};

// MINIDUMP_UNLOADED_MODULE.
struct UnloadedModule {
  uint64_t base = 0;
  uint64_t size = 0;
  uint32_t checksum = 0;
  uint32_t timestamp = 0;
  std::string code_file;
  std::string code_id;  // as for Module (PE rule)
  bool contains(uint64_t address) const { return address >= base && address - base < size; }
};

struct Thread {
  uint32_t id = 0;
  uint32_t suspend_count = 0;
  uint32_t priority_class = 0;
  uint32_t priority = 0;
  uint64_t teb = 0;
  // The stack memory as saved (base = start of stack memory). Full-memory dumps record the stack
  // with RVA 0 and keep its bytes in the memory lists: the bytes are then taken from there. Size 0
  // when missing or outside the file.
  MemoryRegion stack;
  // nullopt when the context is missing or damaged.
  std::optional<CpuContext> context;
  // From the thread name list stream; empty if none.
  std::string name;
};

// MINIDUMP_MISC_INFO, versions 1 to 5 (fields are present according to the size and flags).
struct MiscInfo {
  uint32_t size_of_info = 0;
  uint32_t flags1 = 0;
  std::optional<uint32_t> process_id;  // MISC1_PROCESS_ID
  std::optional<uint32_t> process_create_time;  // MISC1_PROCESS_TIMES: time_t
  std::optional<uint32_t> process_user_time;
  std::optional<uint32_t> process_kernel_time;
  // Version 2: MISC1_PROCESSOR_POWER_INFO.
  std::optional<uint32_t> processor_max_mhz, processor_current_mhz, processor_mhz_limit,
      processor_max_idle_state, processor_current_idle_state;
  // Version 3.
  std::optional<uint32_t> process_integrity_level;  // MISC3_PROCESS_INTEGRITY
  std::optional<uint32_t> process_execute_flags;    // MISC3_PROCESS_EXECUTE_FLAGS
  std::optional<uint32_t> protected_process;        // MISC3_PROTECTED_PROCESS
  struct TimeZone {
    uint32_t id = 0;
    int32_t bias = 0;
    std::string standard_name;
    int32_t standard_bias = 0;
    std::string daylight_name;
    int32_t daylight_bias = 0;
  };
  std::optional<TimeZone> time_zone;  // MISC3_TIMEZONE
  // Version 4: MISC4_BUILDSTRING.
  std::optional<std::string> build_string;
  std::optional<std::string> debug_build_string;
  // Version 5: XSTATE_CONFIG_FEATURE_MSC_INFO and MISC5_PROCESS_COOKIE.
  struct XStateFeature {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct XState {
    uint32_t size_of_info = 0;
    uint32_t context_size = 0;
    uint64_t enabled_features = 0;
    std::array<XStateFeature, 64> features{};
  };
  std::optional<XState> xstate;
  std::optional<uint32_t> process_cookie;
  int version() const;  // 1..5 from size_of_info
};

// MDRawBreakpadInfo.
struct BreakpadInfo {
  std::optional<uint32_t> dump_thread_id;
  std::optional<uint32_t> requesting_thread_id;
};

// MDRawAssertionInfo.
struct AssertionInfo {
  std::string expression;
  std::string function;
  std::string file;
  uint32_t line = 0;
  uint32_t type = 0;  // 1 invalid parameter, 2 pure virtual call
};

// Crashpad's MinidumpCrashpadInfo with its annotations.
struct Annotation {
  std::string name;
  uint16_t type = 0;  // 1 string, 0x8000+ user types
  std::vector<uint8_t> value;  // raw bytes; for type 1 a UTF-8 string
  // The value as text, with invalid UTF-8 replaced by U+FFFD.
  std::string string_value() const;
};
struct CrashpadModuleInfo {
  uint32_t module_index = 0;  // index in the module list
  std::vector<std::string> list_annotations;
  std::vector<std::pair<std::string, std::string>> simple_annotations;
  std::vector<Annotation> annotation_objects;
};
struct CrashpadInfo {
  uint32_t version = 0;
  std::string report_id;  // UUID text, lowercase
  std::string client_id;  // UUID text, lowercase
  std::vector<std::pair<std::string, std::string>> simple_annotations;
  std::vector<CrashpadModuleInfo> modules;
};

// MINIDUMP_HANDLE_DESCRIPTOR(_2).
struct HandleDescriptor {
  uint64_t handle = 0;
  std::string type_name;
  std::string object_name;
  uint32_t attributes = 0;
  uint32_t granted_access = 0;
  uint32_t handle_count = 0;
  uint32_t pointer_count = 0;
  uint32_t object_info_rva = 0;
};

// MINIDUMP_MEMORY_INFO.
struct MemoryInfo {
  uint64_t base_address = 0;
  uint64_t allocation_base = 0;
  uint32_t allocation_protection = 0;
  uint64_t region_size = 0;
  uint32_t state = 0;
  uint32_t protection = 0;
  uint32_t type = 0;
  bool is_executable() const;  // PAGE_EXECUTE* in protection
};

// One line of /proc/<pid>/maps.
struct LinuxMapping {
  uint64_t start = 0;
  uint64_t end = 0;
  std::string permissions;  // "r-xp"
  uint64_t offset = 0;
  std::string device;
  uint64_t inode = 0;
  std::string path;  // may be empty
  bool is_executable() const { return permissions.size() >= 3 && permissions[2] == 'x'; }
};

// Breakpad's MD_LINUX_DSO_DEBUG stream: the r_debug link map.
struct LinuxDsoDebug {
  uint32_t version = 0;
  uint32_t map_rva = 0;    // where the link map entries are in the dump
  uint32_t dso_count = 0;
  uint64_t brk = 0;
  uint64_t ldbase = 0;
  uint64_t dynamic = 0;
  struct Entry {
    uint64_t addr = 0;
    std::string name;
    uint64_t ld = 0;
  };
  std::vector<Entry> link_map;
};

// The Linux /proc streams Breakpad writes, kept as text where they are text.
struct LinuxStreams {
  std::optional<std::string> cpu_info;     // /proc/cpuinfo
  std::optional<std::string> proc_status;  // /proc/<pid>/status
  std::optional<std::string> lsb_release;  // /etc/lsb-release (or os-release)
  std::optional<std::vector<std::string>> cmdline;  // NUL-separated arguments
  std::optional<std::vector<std::string>> environ;  // NUL-separated NAME=value
  std::optional<std::vector<std::pair<uint64_t, uint64_t>>> auxv;  // (type, value)
  std::optional<std::vector<LinuxMapping>> maps;
  std::optional<LinuxDsoDebug> dso_debug;

  // Parsed from lsb_release: DISTRIB_ID / DISTRIB_RELEASE / DISTRIB_CODENAME /
  // DISTRIB_DESCRIPTION (or os-release's ID, VERSION_ID, VERSION_CODENAME, PRETTY_NAME).
  struct LsbRelease {
    std::string id, release, codename, description;
  };
  std::optional<LsbRelease> lsb() const;
  // "Pid:" from proc_status.
  std::optional<uint32_t> pid() const;
};

enum class ReasonStyle : uint8_t { kBreakpad, kRustMinidump };

// Mozilla's macOS crash info stream (__crash_info records) and boot args.
struct MacCrashInfo {
  struct Record {
    std::string module_path, message, signature_string, backtrace, message2;
    uint64_t thread = 0, dialog_mode = 0, abort_cause = 0;
  };
  std::vector<Record> records;
};

class Minidump {
 public:
  static Expected<Minidump> open(const std::filesystem::path& path);
  static Expected<Minidump> from_bytes(std::span<const uint8_t> bytes);
  static Expected<Minidump> from_bytes(std::vector<uint8_t> bytes);

  Minidump(Minidump&&) noexcept;
  Minidump& operator=(Minidump&&) noexcept;
  Minidump(const Minidump&) = delete;
  Minidump& operator=(const Minidump&) = delete;
  ~Minidump();

  // Header.
  uint32_t version() const { return version_; }  // low 16 bits 0xa793
  uint32_t timestamp() const { return timestamp_; }  // time_t of the dump
  uint64_t flags() const { return flags_; }
  const std::vector<StreamEntry>& directory() const { return directory_; }
  // The raw bytes of the first stream of that type, if present and inside the file.
  std::optional<std::span<const uint8_t>> stream_bytes(uint32_t type) const;
  std::span<const uint8_t> file_bytes() const;

  // Streams that were present but could not be read: (stream type, reason).
  const std::vector<std::pair<uint32_t, std::string>>& stream_errors() const { return stream_errors_; }

  const std::optional<SystemInfo>& system_info() const { return system_info_; }
  // The CPU: from system info, else from the first thread's context, else kUnknown.
  Cpu cpu() const;
  // Breakpad's CPU info line, using /proc/cpuinfo on Linux arm/arm64 when present.
  std::string cpu_info() const;

  const std::optional<ExceptionInfo>& exception() const { return exception_; }
  const std::vector<Thread>& threads() const { return threads_; }
  bool has_thread_list() const { return has_thread_list_; }
  const Thread* thread_by_id(uint32_t id) const;
  const std::vector<Module>& modules() const { return modules_; }
  bool has_module_list() const { return has_module_list_; }
  // The module containing the address (modules sorted by base for the lookup), or nullptr.
  const Module* module_at(uint64_t address) const;
  // The main executable: the first module in the list (as Breakpad and rust-minidump take it).
  const Module* main_module() const { return modules_.empty() ? nullptr : &modules_.front(); }
  const std::vector<UnloadedModule>& unloaded_modules() const { return unloaded_modules_; }
  std::vector<const UnloadedModule*> unloaded_modules_at(uint64_t address) const;

  // Memory list and Memory64 list regions, merged.
  const MemoryMap& memory() const { return memory_; }
  const MemoryRegion* memory_at(uint64_t address) const { return memory_.find(address); }

  const std::optional<MiscInfo>& misc_info() const { return misc_info_; }
  const std::optional<BreakpadInfo>& breakpad_info() const { return breakpad_info_; }
  const std::optional<AssertionInfo>& assertion() const { return assertion_; }
  const std::optional<CrashpadInfo>& crashpad_info() const { return crashpad_info_; }
  const std::optional<std::vector<HandleDescriptor>>& handles() const { return handles_; }
  const std::optional<std::vector<MemoryInfo>>& memory_info() const { return memory_info_; }
  const MemoryInfo* memory_info_at(uint64_t address) const;
  const LinuxStreams& linux_streams() const { return linux_; }
  const std::optional<MacCrashInfo>& mac_crash_info() const { return mac_crash_info_; }
  const std::optional<std::string>& mac_boot_args() const { return mac_boot_args_; }

  // Process id: misc info, else Linux proc status.
  std::optional<uint32_t> process_id() const;
  // Process create time (time_t) from misc info.
  std::optional<uint32_t> process_create_time() const;

  // The crash reason as Breakpad prints it ("EXCEPTION_ACCESS_VIOLATION_WRITE",
  // "SIGSEGV /SEGV_MAPERR", "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"); empty without exception.
  // ReasonStyle::kRustMinidump spells Linux signals as rust-minidump does ("SIGSEGV / SEGV_MAPERR",
  // and just "SIGSEGV" for a code it does not know); other systems read the same in both.
  std::string crash_reason(ReasonStyle style = ReasonStyle::kBreakpad) const;
  // The crash address as Breakpad reports it: for Windows access violations the faulting data
  // address (parameter 1), otherwise the exception address; truncated to 32 bits on 32-bit CPUs.
  std::optional<uint64_t> crash_address() const;

 private:
  Minidump();
  struct Storage;
  friend class Parser;

  std::unique_ptr<Storage> storage_;
  uint32_t version_ = 0;
  uint32_t timestamp_ = 0;
  uint64_t flags_ = 0;
  std::vector<StreamEntry> directory_;
  std::vector<std::pair<uint32_t, std::string>> stream_errors_;
  std::optional<SystemInfo> system_info_;
  std::optional<ExceptionInfo> exception_;
  std::vector<Thread> threads_;
  bool has_thread_list_ = false;
  std::vector<Module> modules_;
  std::vector<size_t> modules_by_base_;
  bool modules_overlap_ = false;
  bool has_module_list_ = false;
  std::vector<UnloadedModule> unloaded_modules_;
  MemoryMap memory_;
  std::optional<MiscInfo> misc_info_;
  std::optional<BreakpadInfo> breakpad_info_;
  std::optional<AssertionInfo> assertion_;
  std::optional<CrashpadInfo> crashpad_info_;
  std::optional<std::vector<HandleDescriptor>> handles_;
  std::optional<std::vector<MemoryInfo>> memory_info_;
  LinuxStreams linux_;
  std::optional<MacCrashInfo> mac_crash_info_;
  std::optional<std::string> mac_boot_args_;
};

// The file name part of a path written on Windows or Unix ("C:\a\b.dll" -> "b.dll").
std::string_view path_basename(std::string_view path);

// A human-readable listing of everything the reader found (like Breakpad's minidump_dump), for
// debugging and tests.
std::string debug_dump(const Minidump& dump);

}  // namespace bw::minidump
