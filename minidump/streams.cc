// Parsing of the header, the stream directory and each stream (layouts from the Windows
// minidump format and Breakpad's / Crashpad's / Mozilla's documented extensions).
#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "fmt/format.h"
#include "minidump/parser.h"

namespace bw::minidump {

using detail::Cursor;
using detail::read_c_string;
using detail::read_le;
using detail::read_minidump_string;
using detail::slice;

namespace {

constexpr uint32_t kSignature = 0x504d444d;  // "MDMP"
constexpr uint32_t kVersion = 0xa793;
constexpr size_t kHeaderSize = 32;
constexpr size_t kDirectoryEntrySize = 12;

constexpr size_t kThreadSize = 48;
constexpr size_t kModuleSize = 108;
constexpr size_t kMemoryDescriptorSize = 16;
constexpr size_t kUnloadedModuleSize = 24;
constexpr size_t kHandleDescriptorSize = 32;
constexpr size_t kHandleDescriptor2Size = 40;
constexpr size_t kMemoryInfoSize = 48;

constexpr uint32_t kCvRsds = 0x53445352;  // "RSDS"
constexpr uint32_t kCvNb10 = 0x3031424e;  // "NB10"
constexpr uint32_t kCvElf = 0x4270454c;   // "LEpB": Breakpad's ELF build id record
constexpr uint32_t kVsFixedFileInfoSignature = 0xfeef04bd;

std::string stream_name(uint32_t type) {
  switch (static_cast<StreamType>(type)) {
    case StreamType::kThreadList: return "thread list";
    case StreamType::kModuleList: return "module list";
    case StreamType::kMemoryList: return "memory list";
    case StreamType::kException: return "exception";
    case StreamType::kSystemInfo: return "system info";
    case StreamType::kThreadExList: return "thread ex list";
    case StreamType::kMemory64List: return "memory64 list";
    case StreamType::kHandleData: return "handle data";
    case StreamType::kUnloadedModuleList: return "unloaded module list";
    case StreamType::kMiscInfo: return "misc info";
    case StreamType::kMemoryInfoList: return "memory info list";
    case StreamType::kThreadInfoList: return "thread info list";
    case StreamType::kThreadNameList: return "thread name list";
    case StreamType::kBreakpadInfo: return "breakpad info";
    case StreamType::kAssertionInfo: return "assertion info";
    case StreamType::kLinuxCpuInfo: return "linux cpuinfo";
    case StreamType::kLinuxProcStatus: return "linux proc status";
    case StreamType::kLinuxLsbRelease: return "linux lsb release";
    case StreamType::kLinuxCmdLine: return "linux cmdline";
    case StreamType::kLinuxEnviron: return "linux environ";
    case StreamType::kLinuxAuxv: return "linux auxv";
    case StreamType::kLinuxMaps: return "linux maps";
    case StreamType::kLinuxDsoDebug: return "linux dso debug";
    case StreamType::kCrashpadInfo: return "crashpad info";
    case StreamType::kMozMacosCrashInfo: return "macos crash info";
    case StreamType::kMozMacosBootargs: return "macos boot args";
    case StreamType::kMozLinuxLimits: return "linux limits";
  }
  return fmt::format("stream 0x{:08x}", type);
}

Cpu cpu_from_architecture(uint16_t arch) {
  switch (arch) {
    case 0: return Cpu::kX86;      // PROCESSOR_ARCHITECTURE_INTEL
    case 1: return Cpu::kMips;
    case 3: return Cpu::kPpc;
    case 5: return Cpu::kArm;
    case 9: return Cpu::kAmd64;
    case 10: return Cpu::kX86;     // IA32 on Win64
    case 12: return Cpu::kArm64;   // PROCESSOR_ARCHITECTURE_ARM64
    case 0x8001: return Cpu::kSparc;
    case 0x8002: return Cpu::kPpc64;
    case 0x8003: return Cpu::kArm64;  // Breakpad's older arm64 value
    case 0x8004: return Cpu::kMips64;
    case 0x8005: return Cpu::kRiscv;
    case 0x8006: return Cpu::kRiscv64;
    default: return Cpu::kUnknown;
  }
}

Os os_from_platform(uint32_t platform) {
  switch (platform) {
    case 0:  // VER_PLATFORM_WIN32s
    case 1:  // VER_PLATFORM_WIN32_WINDOWS
    case 2:  // VER_PLATFORM_WIN32_NT
    case 3: return Os::kWindows;  // VER_PLATFORM_WIN32_CE
    case 0x8101: return Os::kMacOs;
    case 0x8102: return Os::kIos;
    case 0x8201: return Os::kLinux;
    case 0x8202: return Os::kSolaris;
    case 0x8203: return Os::kAndroid;
    case 0x8204: return Os::kPs3;
    case 0x8205: return Os::kNaCl;
    case 0x8206: return Os::kFuchsia;
    default: return Os::kUnknown;
  }
}

// GUID fields as printed in debug ids: data1, data2, data3 as little-endian integers, then the
// eight data4 bytes in order; uppercase, no separators.
std::string guid_hex(detail::Bytes guid16, bool upper) {
  auto d1 = read_le<uint32_t>(guid16, 0).value_or(0);
  auto d2 = read_le<uint16_t>(guid16, 4).value_or(0);
  auto d3 = read_le<uint16_t>(guid16, 6).value_or(0);
  std::string out = upper ? fmt::format("{:08X}{:04X}{:04X}", d1, d2, d3) : fmt::format("{:08x}{:04x}{:04x}", d1, d2, d3);
  for (size_t i = 8; i < 16 && i < guid16.size(); ++i) {
    out += upper ? fmt::format("{:02X}", guid16[i]) : fmt::format("{:02x}", guid16[i]);
  }
  return out;
}

// Crashpad UUIDs: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", data1..3 little-endian.
std::string uuid_text(detail::Bytes b) {
  if (b.size() < 16) return {};
  std::string hex = guid_hex(b, false);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) +
         "-" + hex.substr(20, 12);
}

std::string as_text(detail::Bytes b) {
  return detail::valid_utf8(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

std::vector<std::string> split_nul(detail::Bytes b) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= b.size(); ++i) {
    if (i == b.size() || b[i] == 0) {
      if (i > start) out.push_back(as_text(b.subspan(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}


}  // namespace

std::optional<Error> Parser::parse() {
  if (auto err = parse_header_and_directory()) return err;
  parse_system_info();
  parse_misc_info();
  parse_breakpad_info();
  parse_thread_list();
  parse_thread_names();
  parse_exception();
  parse_module_list();
  parse_unloaded_modules();
  parse_memory_lists();
  resolve_stacks_from_memory_list();
  parse_assertion();
  parse_crashpad_info();
  parse_handle_data();
  parse_memory_info();
  parse_linux_streams();
  parse_mac_streams();
  return std::nullopt;
}

std::optional<Error> Parser::parse_header_and_directory() {
  if (file_.size() < kHeaderSize) {
    return Error{fmt::format("file too small for a minidump header ({} bytes, need {})", file_.size(), kHeaderSize)};
  }
  Cursor c(file_);
  uint32_t signature = c.u32();
  uint32_t version = c.u32();
  uint32_t count = c.u32();
  uint32_t dir_rva = c.u32();
  c.u32();  // checksum
  md_.timestamp_ = c.u32();
  md_.flags_ = c.u64();
  if (signature != kSignature) {
    if (signature == 0x4d444d50) return Error{"big-endian minidumps are not supported"};
    return Error{fmt::format("not a minidump: signature 0x{:08x}, expected 0x{:08x} (\"MDMP\")", signature, kSignature)};
  }
  if ((version & 0xffff) != kVersion) {
    return Error{fmt::format("unsupported minidump version 0x{:04x} (expected 0x{:04x})", version & 0xffff, kVersion)};
  }
  md_.version_ = version;
  if (!slice(file_, dir_rva, static_cast<uint64_t>(count) * kDirectoryEntrySize)) {
    return Error{fmt::format("stream directory of {} entries at offset {} does not fit in the file ({} bytes)", count,
                             dir_rva, file_.size())};
  }
  md_.directory_.reserve(count);
  std::map<uint32_t, int> seen;
  for (uint32_t i = 0; i < count; ++i) {
    Cursor e(file_, dir_rva + static_cast<size_t>(i) * kDirectoryEntrySize);
    StreamEntry entry;
    entry.type = e.u32();
    entry.size = e.u32();
    entry.offset = e.u32();
    md_.directory_.push_back(entry);
    if (entry.type == 0) continue;  // UnusedStream
    if (seen[entry.type]++ == 1) {
      md_.stream_errors_.emplace_back(entry.type,
                                      fmt::format("{}: appears more than once; the first readable one is used",
                                                  stream_name(entry.type)));
    }
    if (!slice(file_, entry.offset, entry.size)) {
      md_.stream_errors_.emplace_back(
          entry.type, fmt::format("{}: range [{}, {}) is outside the file ({} bytes)", stream_name(entry.type),
                                  entry.offset, static_cast<uint64_t>(entry.offset) + entry.size, file_.size()));
    }
  }
  return std::nullopt;
}

std::optional<detail::Bytes> Parser::stream(StreamType type) const { return md_.stream_bytes(static_cast<uint32_t>(type)); }

void Parser::stream_error(StreamType type, std::string reason) {
  md_.stream_errors_.emplace_back(static_cast<uint32_t>(type), stream_name(static_cast<uint32_t>(type)) + ": " + reason);
}

std::optional<std::pair<size_t, uint32_t>> Parser::list_start(StreamType type, Bytes s, size_t entry_size,
                                                             const char* what) {
  auto count = read_le<uint32_t>(s, 0);
  if (!count) {
    stream_error(type, "too small for its count");
    return std::nullopt;
  }
  uint64_t need = static_cast<uint64_t>(*count) * entry_size;
  // Some writers pad the count to 8 bytes; the stream size says which.
  size_t start = (s.size() >= 8 && s.size() - 8 == need) ? 8 : 4;
  if (need > s.size() - std::min<size_t>(start, s.size())) {
    stream_error(type, fmt::format("{} {} of {} bytes do not fit in {} bytes", *count, what, entry_size, s.size()));
    return std::nullopt;
  }
  return std::make_pair(start, *count);
}

std::optional<CpuContext> Parser::read_context(uint32_t size, uint32_t rva, std::string* why) const {
  auto bytes = slice(file_, rva, size);
  if (!bytes) {
    *why = fmt::format("context [{}, +{}) is outside the file", rva, size);
    return std::nullopt;
  }
  Cpu hint = md_.system_info_ ? md_.system_info_->cpu : Cpu::kUnknown;
  auto layout = CpuContext::detect_layout(*bytes, hint);
  if (!layout) {
    auto flags = read_le<uint32_t>(*bytes, 0).value_or(0);
    *why = fmt::format("context of {} bytes (flags 0x{:08x}) is of no known CPU layout", size, flags);
    return std::nullopt;
  }
  return CpuContext::parse(*layout, *bytes);
}

void Parser::parse_system_info() {
  auto s = stream(StreamType::kSystemInfo);
  if (!s) return;
  Cursor c(*s);
  SystemInfo info;
  info.processor_architecture = c.u16();
  info.processor_level = c.u16();
  info.processor_revision = c.u16();
  info.number_of_processors = c.u8();
  info.product_type = c.u8();
  info.major_version = c.u32();
  info.minor_version = c.u32();
  info.build_number = c.u32();
  info.platform_id = c.u32();
  uint32_t csd_rva = c.u32();
  info.suite_mask = c.u16();
  c.u16();  // reserved
  auto cpu_union = c.take(24);
  if (c.failed()) {
    stream_error(StreamType::kSystemInfo, fmt::format("{} bytes, need 56", s->size()));
    return;
  }
  info.cpu = cpu_from_architecture(info.processor_architecture);
  info.os = os_from_platform(info.platform_id);
  if (csd_rva != 0) {
    if (auto csd = read_minidump_string(file_, csd_rva)) {
      info.csd_version = std::move(*csd);
    } else {
      stream_error(StreamType::kSystemInfo, fmt::format("CSD version string at {} is outside the file", csd_rva));
    }
  }
  if (info.cpu == Cpu::kX86 || info.cpu == Cpu::kAmd64) {
    Cursor u(cpu_union);
    std::string vendor;
    for (int i = 0; i < 3; ++i) {
      uint32_t w = u.u32();
      for (int b = 0; b < 4; ++b) vendor.push_back(static_cast<char>((w >> (8 * b)) & 0xff));
    }
    vendor.resize(std::strlen(vendor.c_str()));  // NUL-padded
    info.cpu_vendor = detail::valid_utf8(vendor);
    info.cpu_version_information = u.u32();
    info.cpu_feature_information = u.u32();
    info.cpu_amd_extended_features = u.u32();
  } else {
    Cursor u(cpu_union);
    info.processor_features = {u.u64(), u.u64()};
  }
  md_.system_info_ = std::move(info);
}

void Parser::parse_misc_info() {
  auto s = stream(StreamType::kMiscInfo);
  if (!s) return;
  Cursor c(*s);
  MiscInfo m;
  m.size_of_info = c.u32();
  m.flags1 = c.u32();
  if (c.failed() || m.size_of_info < 24 || s->size() < 24) {
    stream_error(StreamType::kMiscInfo, fmt::format("{} bytes, need at least 24", s->size()));
    return;
  }
  // Fields beyond what the stream actually holds are treated as absent.
  size_t avail = std::min<size_t>(m.size_of_info, s->size());
  uint32_t pid = c.u32(), create = c.u32(), user = c.u32(), kernel = c.u32();
  if (m.flags1 & 0x1) m.process_id = pid;
  if (m.flags1 & 0x2) {
    m.process_create_time = create;
    m.process_user_time = user;
    m.process_kernel_time = kernel;
  }
  if (avail >= 44) {
    uint32_t a = c.u32(), b = c.u32(), d = c.u32(), e = c.u32(), f = c.u32();
    if (m.flags1 & 0x4) {
      m.processor_max_mhz = a;
      m.processor_current_mhz = b;
      m.processor_mhz_limit = d;
      m.processor_max_idle_state = e;
      m.processor_current_idle_state = f;
    }
  }
  if (avail >= 232) {
    uint32_t integrity = c.u32(), exec = c.u32(), prot = c.u32(), tz_id = c.u32();
    if (m.flags1 & 0x10) m.process_integrity_level = integrity;
    if (m.flags1 & 0x20) m.process_execute_flags = exec;
    if (m.flags1 & 0x80) m.protected_process = prot;
    MiscInfo::TimeZone tz;
    tz.id = tz_id;
    tz.bias = c.i32();
    tz.standard_name = detail::utf16le_to_utf8(c.take(64), true);
    c.skip(16);  // standard_date SYSTEMTIME
    tz.standard_bias = c.i32();
    tz.daylight_name = detail::utf16le_to_utf8(c.take(64), true);
    c.skip(16);
    tz.daylight_bias = c.i32();
    if (m.flags1 & 0x40) m.time_zone = std::move(tz);
  }
  if (avail >= 832) {
    auto build = detail::utf16le_to_utf8(c.take(520), true);
    auto dbg = detail::utf16le_to_utf8(c.take(80), true);
    if (m.flags1 & 0x100) {
      m.build_string = std::move(build);
      m.debug_build_string = std::move(dbg);
    }
  }
  if (avail >= 1364) {
    MiscInfo::XState x;
    x.size_of_info = c.u32();
    x.context_size = c.u32();
    x.enabled_features = c.u64();
    for (auto& f : x.features) {
      f.offset = c.u32();
      f.size = c.u32();
    }
    uint32_t cookie = c.u32();
    if (x.size_of_info != 0) m.xstate = x;
    if (m.flags1 & 0x200) m.process_cookie = cookie;
  }
  if (c.failed()) {
    stream_error(StreamType::kMiscInfo, fmt::format("size_of_info {} exceeds the stream", m.size_of_info));
    return;
  }
  md_.misc_info_ = std::move(m);
}

void Parser::parse_breakpad_info() {
  auto s = stream(StreamType::kBreakpadInfo);
  if (!s) return;
  Cursor c(*s);
  uint32_t validity = c.u32(), dump_tid = c.u32(), req_tid = c.u32();
  if (c.failed()) {
    stream_error(StreamType::kBreakpadInfo, fmt::format("{} bytes, need 12", s->size()));
    return;
  }
  BreakpadInfo info;
  if (validity & 0x1) info.dump_thread_id = dump_tid;
  if (validity & 0x2) info.requesting_thread_id = req_tid;
  md_.breakpad_info_ = info;
}

void Parser::parse_thread_list() {
  auto s = stream(StreamType::kThreadList);
  if (!s) return;
  auto start = list_start(StreamType::kThreadList, *s, kThreadSize, "threads");
  if (!start) return;
  md_.has_thread_list_ = true;
  md_.threads_.reserve(start->second);
  for (uint32_t i = 0; i < start->second; ++i) {
    Cursor c(*s, start->first + static_cast<size_t>(i) * kThreadSize);
    Thread t;
    t.id = c.u32();
    t.suspend_count = c.u32();
    t.priority_class = c.u32();
    t.priority = c.u32();
    t.teb = c.u64();
    uint64_t stack_start = c.u64();
    uint32_t stack_size = c.u32();
    uint32_t stack_rva = c.u32();
    uint32_t ctx_size = c.u32();
    uint32_t ctx_rva = c.u32();
    if (stack_rva == 0 && stack_size != 0) {
      // Full-memory dumps leave the descriptor's RVA at 0 and keep the stack in the memory lists.
      t.stack = MemoryRegion(stack_start, {});
      stacks_in_memory_list_.emplace_back(md_.threads_.size(), stack_size);
    } else if (auto bytes = slice(file_, stack_rva, stack_size)) {
      t.stack = MemoryRegion(stack_start, *bytes);
    } else {
      t.stack = MemoryRegion(stack_start, {});
      stream_error(StreamType::kThreadList, fmt::format("thread {} stack memory [{}, +{}) is outside the file", t.id,
                                                        stack_rva, stack_size));
    }
    std::string why;
    t.context = read_context(ctx_size, ctx_rva, &why);
    if (!t.context) stream_error(StreamType::kThreadList, fmt::format("thread {}: {}", t.id, why));
    md_.threads_.push_back(std::move(t));
  }
}

void Parser::parse_thread_names() {
  auto s = stream(StreamType::kThreadNameList);
  if (!s) return;
  // MINIDUMP_THREAD_NAME is packed: u32 thread id, u64 rva of a MINIDUMP_STRING.
  auto start = list_start(StreamType::kThreadNameList, *s, 12, "thread names");
  if (!start) return;
  std::unordered_map<uint32_t, size_t> by_id;
  for (size_t i = 0; i < md_.threads_.size(); ++i) by_id.emplace(md_.threads_[i].id, i);
  for (uint32_t i = 0; i < start->second; ++i) {
    Cursor c(*s, start->first + static_cast<size_t>(i) * 12);
    uint32_t id = c.u32();
    uint64_t rva = c.u64();
    auto name = read_minidump_string(file_, rva);
    if (!name) {
      stream_error(StreamType::kThreadNameList, fmt::format("name of thread {} at {} is outside the file", id, rva));
      continue;
    }
    // Thread ids are unique in real dumps; a hostile dump naming one id many times keeps the first.
    auto it = by_id.find(id);
    if (it != by_id.end() && md_.threads_[it->second].name.empty()) md_.threads_[it->second].name = std::move(*name);
  }
}

void Parser::parse_exception() {
  auto s = stream(StreamType::kException);
  if (!s) return;
  Cursor c(*s);
  ExceptionInfo e;
  e.thread_id = c.u32();
  c.u32();  // alignment
  e.code = c.u32();
  e.flags = c.u32();
  e.record = c.u64();
  e.address = c.u64();
  uint32_t nparams = c.u32();
  c.u32();  // alignment
  uint64_t params[15];
  for (auto& p : params) p = c.u64();
  uint32_t ctx_size = c.u32();
  uint32_t ctx_rva = c.u32();
  if (c.failed()) {
    stream_error(StreamType::kException, fmt::format("{} bytes, need 168", s->size()));
    return;
  }
  e.parameters.assign(params, params + std::min<uint32_t>(nparams, 15));
  std::string why;
  e.context = read_context(ctx_size, ctx_rva, &why);
  if (!e.context) stream_error(StreamType::kException, why);
  md_.exception_ = std::move(e);
}

Module Parser::read_module(Bytes record) {
  Cursor c(record);
  Module m;
  m.base = c.u64();
  m.size = c.u32();
  m.checksum = c.u32();
  m.timestamp = c.u32();
  uint32_t name_rva = c.u32();
  m.version_signature = c.u32();
  uint32_t struct_version = c.u32();
  m.file_version_hi = c.u32();
  m.file_version_lo = c.u32();
  m.product_version_hi = c.u32();
  m.product_version_lo = c.u32();
  c.skip(7 * 4);  // flags mask, flags, os, type, subtype, date hi/lo
  uint32_t cv_size = c.u32(), cv_rva = c.u32();
  uint32_t misc_size = c.u32(), misc_rva = c.u32();

  if (auto name = read_minidump_string(file_, name_rva)) {
    m.code_file = std::move(*name);
  } else {
    stream_error(StreamType::kModuleList, fmt::format("module at 0x{:x}: name at {} is outside the file", m.base, name_rva));
  }
  if (m.version_signature == kVsFixedFileInfoSignature && (struct_version & 0xffff0000U) == 0x00010000U) {
    m.version = fmt::format("{}.{}.{}.{}", m.file_version_hi >> 16, m.file_version_hi & 0xffff,
                            m.file_version_lo >> 16, m.file_version_lo & 0xffff);
  }
  const Os os = md_.system_info_ ? md_.system_info_->os : Os::kUnknown;
  const bool pe_rule = os == Os::kWindows || os == Os::kUnknown;
  if (pe_rule && (m.timestamp != 0 || m.size != 0)) {
    m.code_id = fmt::format("{:08x}{:x}", m.timestamp, m.size);
  }

  if (cv_size != 0) {
    auto cv = slice(file_, cv_rva, cv_size);
    if (!cv) {
      stream_error(StreamType::kModuleList,
                   fmt::format("module {}: CodeView record [{}, +{}) is outside the file", m.code_file, cv_rva, cv_size));
    } else {
      m.codeview_record = *cv;
      uint32_t sig = read_le<uint32_t>(*cv, 0).value_or(0);
      if (sig == kCvRsds && cv->size() >= 24) {
        m.codeview = CodeViewKind::kPdb70;
        auto guid = cv->subspan(4, 16);
        uint32_t age = read_le<uint32_t>(*cv, 20).value_or(0);
        m.debug_id = guid_hex(guid, true) + fmt::format("{:X}", age);
        m.debug_file = std::string(path_basename(read_c_string(*cv, 24)));
        if (os == Os::kMacOs || os == Os::kIos) m.code_id = guid_hex(guid, false);
      } else if (sig == kCvNb10 && cv->size() >= 16) {
        m.codeview = CodeViewKind::kPdb20;
        uint32_t signature = read_le<uint32_t>(*cv, 8).value_or(0);
        uint32_t age = read_le<uint32_t>(*cv, 12).value_or(0);
        m.debug_id = fmt::format("{:08X}{:X}", signature, age);
        m.debug_file = std::string(path_basename(read_c_string(*cv, 16)));
      } else if (sig == kCvElf) {
        m.codeview = CodeViewKind::kElf;
        auto build_id = cv->subspan(4);
        // The first 16 bytes (zero-padded) as a GUID, plus age 0.
        uint8_t guid[16] = {};
        std::copy_n(build_id.begin(), std::min<size_t>(16, build_id.size()), guid);
        m.debug_id = guid_hex(guid, true) + "0";
        m.code_id = detail::hex_lower(build_id);
        m.debug_file = std::string(path_basename(m.code_file));
      } else {
        m.codeview = CodeViewKind::kOther;
      }
    }
  }
  if (misc_size != 0) {
    if (auto misc = slice(file_, misc_rva, misc_size)) {
      m.misc_record = *misc;
      // IMAGE_DEBUG_MISC: data type 1 (exe name), length, unicode flag, 3 reserved, data.
      if (m.debug_file.empty() && read_le<uint32_t>(*misc, 0).value_or(0) == 1 && misc->size() > 12) {
        bool unicode = (*misc)[8] != 0;
        auto data = misc->subspan(12);
        m.debug_file = unicode ? detail::utf16le_to_utf8(data, true) : read_c_string(data);
      }
    }
  }
  return m;
}

void Parser::parse_module_list() {
  auto s = stream(StreamType::kModuleList);
  if (!s) return;
  auto start = list_start(StreamType::kModuleList, *s, kModuleSize, "modules");
  if (!start) return;
  md_.has_module_list_ = true;
  md_.modules_.reserve(start->second);
  for (uint32_t i = 0; i < start->second; ++i) {
    md_.modules_.push_back(read_module(s->subspan(start->first + static_cast<size_t>(i) * kModuleSize, kModuleSize)));
  }
  md_.modules_by_base_.resize(md_.modules_.size());
  for (size_t i = 0; i < md_.modules_.size(); ++i) md_.modules_by_base_[i] = i;
  std::stable_sort(md_.modules_by_base_.begin(), md_.modules_by_base_.end(),
                   [&](size_t a, size_t b) { return md_.modules_[a].base < md_.modules_[b].base; });
  for (size_t i = 1; i < md_.modules_by_base_.size(); ++i) {
    const Module& prev = md_.modules_[md_.modules_by_base_[i - 1]];
    if (md_.modules_[md_.modules_by_base_[i]].base < prev.end()) md_.modules_overlap_ = true;
  }
}

void Parser::parse_unloaded_modules() {
  auto s = stream(StreamType::kUnloadedModuleList);
  if (!s) return;
  Cursor c(*s);
  uint32_t header_size = c.u32(), entry_size = c.u32(), count = c.u32();
  if (c.failed() || header_size < 12 || entry_size < kUnloadedModuleSize) {
    stream_error(StreamType::kUnloadedModuleList, "bad header");
    return;
  }
  if (header_size > s->size() || static_cast<uint64_t>(count) * entry_size > s->size() - header_size) {
    stream_error(StreamType::kUnloadedModuleList,
                 fmt::format("{} entries of {} bytes do not fit in {} bytes", count, entry_size, s->size()));
    return;
  }
  const Os os = md_.system_info_ ? md_.system_info_->os : Os::kUnknown;
  for (uint32_t i = 0; i < count; ++i) {
    Cursor e(*s, header_size + static_cast<size_t>(i) * entry_size);
    UnloadedModule m;
    m.base = e.u64();
    m.size = e.u32();
    m.checksum = e.u32();
    m.timestamp = e.u32();
    uint32_t name_rva = e.u32();
    if (auto name = read_minidump_string(file_, name_rva)) {
      m.code_file = std::move(*name);
    } else {
      stream_error(StreamType::kUnloadedModuleList, fmt::format("name at {} is outside the file", name_rva));
    }
    if (os == Os::kWindows || os == Os::kUnknown) m.code_id = fmt::format("{:08x}{:x}", m.timestamp, m.size);
    md_.unloaded_modules_.push_back(std::move(m));
  }
}

void Parser::parse_memory_lists() {
  std::vector<MemoryRegion> regions;
  if (auto s = stream(StreamType::kMemoryList)) {
    if (auto start = list_start(StreamType::kMemoryList, *s, kMemoryDescriptorSize, "memory ranges")) {
      for (uint32_t i = 0; i < start->second; ++i) {
        Cursor c(*s, start->first + static_cast<size_t>(i) * kMemoryDescriptorSize);
        uint64_t base = c.u64();
        uint32_t size = c.u32();
        uint32_t rva = c.u32();
        if (auto bytes = slice(file_, rva, size)) {
          regions.emplace_back(base, *bytes);
        } else {
          stream_error(StreamType::kMemoryList,
                       fmt::format("range at 0x{:x} ([{}, +{}) in the file) is outside the file", base, rva, size));
        }
      }
    }
  }
  if (auto s = stream(StreamType::kMemory64List)) {
    Cursor c(*s);
    uint64_t count = c.u64();
    uint64_t data_rva = c.u64();
    if (c.failed() || count > (s->size() - 16) / 16) {
      stream_error(StreamType::kMemory64List, fmt::format("{} ranges do not fit in {} bytes", count, s->size()));
    } else {
      uint64_t offset = data_rva;
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t base = c.u64();
        uint64_t size = c.u64();
        auto bytes = slice(file_, offset, size);
        if (!bytes) {
          stream_error(StreamType::kMemory64List,
                       fmt::format("range {} at 0x{:x} ({} bytes at {}) is outside the file; the rest are dropped", i,
                                   base, size, offset));
          break;
        }
        regions.emplace_back(base, *bytes);
        offset += size;  // cannot overflow: offset + size <= file size
      }
    }
  }
  md_.memory_ = MemoryMap(std::move(regions));
}

void Parser::resolve_stacks_from_memory_list() {
  for (const auto& [index, size] : stacks_in_memory_list_) {
    Thread& t = md_.threads_[index];
    const MemoryRegion* r = md_.memory_.find(t.stack.base());
    if (r == nullptr) {
      stream_error(StreamType::kThreadList, fmt::format("thread {}: stack at 0x{:x} has no bytes in the file (RVA 0) "
                                                        "and no memory list range holds it", t.id, t.stack.base()));
      continue;
    }
    const uint64_t offset = t.stack.base() - r->base();
    const uint64_t len = std::min<uint64_t>(size, r->size() - offset);
    t.stack = MemoryRegion(t.stack.base(), r->bytes().subspan(static_cast<size_t>(offset), static_cast<size_t>(len)));
  }
}

void Parser::parse_assertion() {
  auto s = stream(StreamType::kAssertionInfo);
  if (!s) return;
  Cursor c(*s);
  AssertionInfo a;
  a.expression = detail::utf16le_to_utf8(c.take(256), true);
  a.function = detail::utf16le_to_utf8(c.take(256), true);
  a.file = detail::utf16le_to_utf8(c.take(256), true);
  a.line = c.u32();
  a.type = c.u32();
  if (c.failed()) {
    stream_error(StreamType::kAssertionInfo, fmt::format("{} bytes, need 776", s->size()));
    return;
  }
  md_.assertion_ = std::move(a);
}

std::optional<detail::Bytes> Parser::byte_array(uint32_t rva) const {
  auto length = read_le<uint32_t>(file_, rva);
  if (!length) return std::nullopt;
  return slice(file_, static_cast<uint64_t>(rva) + 4, *length);
}

std::optional<std::string> Parser::utf8_string(uint32_t rva) const {
  auto bytes = byte_array(rva);
  if (!bytes) return std::nullopt;
  return as_text(*bytes);
}

void Parser::parse_crashpad_info() {
  auto s = stream(StreamType::kCrashpadInfo);
  if (!s) return;
  Cursor c(*s);
  CrashpadInfo info;
  info.version = c.u32();
  info.report_id = uuid_text(c.take(16));
  info.client_id = uuid_text(c.take(16));
  uint32_t simple_size = c.u32(), simple_rva = c.u32();
  uint32_t modules_size = c.u32(), modules_rva = c.u32();
  if (c.failed()) {
    stream_error(StreamType::kCrashpadInfo, fmt::format("{} bytes, need 52", s->size()));
    return;
  }
  bool damaged = false;
  // MinidumpSimpleStringDictionary: count, then (key rva, value rva) of MinidumpUTF8Strings.
  auto read_dictionary = [&](uint32_t size, uint32_t rva, std::vector<std::pair<std::string, std::string>>& out) {
    if (size == 0) return;
    auto dict = slice(file_, rva, size);
    auto count = dict ? read_le<uint32_t>(*dict, 0) : std::nullopt;
    if (!count || static_cast<uint64_t>(*count) * 8 > dict->size() - 4) {
      damaged = true;
      return;
    }
    for (uint32_t i = 0; i < *count; ++i) {
      Cursor e(*dict, 4 + static_cast<size_t>(i) * 8);
      auto key = utf8_string(e.u32());
      auto value = utf8_string(e.u32());
      if (!key || !value) {
        damaged = true;
        continue;
      }
      out.emplace_back(std::move(*key), std::move(*value));
    }
  };
  read_dictionary(simple_size, simple_rva, info.simple_annotations);
  if (modules_size != 0) {
    auto list = slice(file_, modules_rva, modules_size);
    auto count = list ? read_le<uint32_t>(*list, 0) : std::nullopt;
    if (!count || static_cast<uint64_t>(*count) * 12 > list->size() - 4) {
      damaged = true;
    } else {
      for (uint32_t i = 0; i < *count; ++i) {
        Cursor link(*list, 4 + static_cast<size_t>(i) * 12);
        CrashpadModuleInfo mod;
        mod.module_index = link.u32();
        uint32_t info_size = link.u32(), info_rva = link.u32();
        auto mbytes = slice(file_, info_rva, info_size);
        if (!mbytes) {
          damaged = true;
          continue;
        }
        Cursor mc(*mbytes);
        mc.u32();  // version
        uint32_t list_size = mc.u32(), list_rva = mc.u32();
        uint32_t msimple_size = mc.u32(), msimple_rva = mc.u32();
        uint32_t objects_size = mc.u32(), objects_rva = mc.u32();
        if (mc.failed()) {
          // Older writers stop after the simple annotations.
          objects_size = 0;
          if (mbytes->size() < 20) {
            damaged = true;
            continue;
          }
        }
        if (list_size != 0) {
          auto rvas = slice(file_, list_rva, list_size);
          auto n = rvas ? read_le<uint32_t>(*rvas, 0) : std::nullopt;
          if (!n || static_cast<uint64_t>(*n) * 4 > rvas->size() - 4) {
            damaged = true;
          } else {
            for (uint32_t k = 0; k < *n; ++k) {
              auto str = utf8_string(read_le<uint32_t>(*rvas, 4 + static_cast<size_t>(k) * 4).value_or(0));
              if (str) mod.list_annotations.push_back(std::move(*str));
              else damaged = true;
            }
          }
        }
        read_dictionary(msimple_size, msimple_rva, mod.simple_annotations);
        if (objects_size != 0) {
          auto objs = slice(file_, objects_rva, objects_size);
          auto n = objs ? read_le<uint32_t>(*objs, 0) : std::nullopt;
          if (!n || static_cast<uint64_t>(*n) * 12 > objs->size() - 4) {
            damaged = true;
          } else {
            for (uint32_t k = 0; k < *n; ++k) {
              Cursor oc(*objs, 4 + static_cast<size_t>(k) * 12);
              uint32_t name_rva = oc.u32();
              Annotation a;
              a.type = oc.u16();
              oc.u16();  // reserved
              uint32_t value_rva = oc.u32();
              auto name = utf8_string(name_rva);
              auto value = byte_array(value_rva);
              if (!name || !value) {
                damaged = true;
                continue;
              }
              a.name = std::move(*name);
              a.value.assign(value->begin(), value->end());  // raw bytes, not made UTF-8
              mod.annotation_objects.push_back(std::move(a));
            }
          }
        }
        info.modules.push_back(std::move(mod));
      }
    }
  }
  if (damaged) stream_error(StreamType::kCrashpadInfo, "some annotations are outside the file and were skipped");
  md_.crashpad_info_ = std::move(info);
}

void Parser::parse_handle_data() {
  auto s = stream(StreamType::kHandleData);
  if (!s) return;
  Cursor c(*s);
  uint32_t header_size = c.u32(), desc_size = c.u32(), count = c.u32();
  if (c.failed() || header_size < 16 || (desc_size != kHandleDescriptorSize && desc_size < kHandleDescriptor2Size)) {
    stream_error(StreamType::kHandleData, "bad header");
    return;
  }
  if (header_size > s->size() || static_cast<uint64_t>(count) * desc_size > s->size() - header_size) {
    stream_error(StreamType::kHandleData, fmt::format("{} handles of {} bytes do not fit in {} bytes", count, desc_size,
                                                      s->size()));
    return;
  }
  std::vector<HandleDescriptor> handles;
  handles.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Cursor d(*s, header_size + static_cast<size_t>(i) * desc_size);
    HandleDescriptor h;
    h.handle = d.u64();
    uint32_t type_rva = d.u32(), object_rva = d.u32();
    h.attributes = d.u32();
    h.granted_access = d.u32();
    h.handle_count = d.u32();
    h.pointer_count = d.u32();
    if (desc_size >= kHandleDescriptor2Size) h.object_info_rva = d.u32();
    if (type_rva != 0) h.type_name = read_minidump_string(file_, type_rva).value_or("");
    if (object_rva != 0) h.object_name = read_minidump_string(file_, object_rva).value_or("");
    handles.push_back(std::move(h));
  }
  md_.handles_ = std::move(handles);
}

void Parser::parse_memory_info() {
  auto s = stream(StreamType::kMemoryInfoList);
  if (!s) return;
  Cursor c(*s);
  uint32_t header_size = c.u32(), entry_size = c.u32();
  uint64_t count = c.u64();
  if (c.failed() || header_size < 16 || entry_size < kMemoryInfoSize) {
    stream_error(StreamType::kMemoryInfoList, "bad header");
    return;
  }
  if (header_size > s->size() || count > (s->size() - header_size) / entry_size) {
    stream_error(StreamType::kMemoryInfoList,
                 fmt::format("{} entries of {} bytes do not fit in {} bytes", count, entry_size, s->size()));
    return;
  }
  std::vector<MemoryInfo> infos;
  infos.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    Cursor e(*s, header_size + static_cast<size_t>(i) * entry_size);
    MemoryInfo m;
    m.base_address = e.u64();
    m.allocation_base = e.u64();
    m.allocation_protection = e.u32();
    e.u32();
    m.region_size = e.u64();
    m.state = e.u32();
    m.protection = e.u32();
    m.type = e.u32();
    infos.push_back(m);
  }
  md_.memory_info_ = std::move(infos);
}

void Parser::parse_linux_streams() {
  LinuxStreams& l = md_.linux_;
  if (auto s = stream(StreamType::kLinuxCpuInfo)) l.cpu_info = as_text(*s);
  if (auto s = stream(StreamType::kLinuxProcStatus)) l.proc_status = as_text(*s);
  if (auto s = stream(StreamType::kLinuxLsbRelease)) l.lsb_release = as_text(*s);
  if (auto s = stream(StreamType::kLinuxCmdLine)) l.cmdline = split_nul(*s);
  if (auto s = stream(StreamType::kLinuxEnviron)) l.environ = split_nul(*s);
  const unsigned ptr = [&] {
    Cpu cpu = md_.cpu();
    return (cpu == Cpu::kX86 || cpu == Cpu::kArm || cpu == Cpu::kMips || cpu == Cpu::kPpc) ? 4U : 8U;
  }();
  if (auto s = stream(StreamType::kLinuxAuxv)) {
    std::vector<std::pair<uint64_t, uint64_t>> auxv;
    Cursor c(*s);
    while (c.remaining() >= 2 * ptr) {
      uint64_t type = ptr == 4 ? c.u32() : c.u64();
      uint64_t value = ptr == 4 ? c.u32() : c.u64();
      auxv.emplace_back(type, value);
    }
    l.auxv = std::move(auxv);
  }
  if (auto s = stream(StreamType::kLinuxMaps)) {
    std::vector<LinuxMapping> maps;
    std::string_view text(reinterpret_cast<const char*>(s->data()), s->size());
    bool bad = false;
    while (!text.empty()) {
      auto nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      if (line.empty()) continue;
      // start-end perms offset dev inode [path]
      LinuxMapping m;
      auto next_field = [&line]() {
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        auto sp = line.find(' ');
        std::string_view f = line.substr(0, sp);
        line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp);
        return f;
      };
      auto parse_hex = [](std::string_view f, uint64_t& out) {
        if (f.empty() || f.size() > 16) return false;
        uint64_t v = 0;
        for (char ch : f) {
          int d = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                  : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
          if (d < 0) return false;
          v = (v << 4) | static_cast<uint64_t>(d);
        }
        out = v;
        return true;
      };
      std::string_view range = next_field();
      auto dash = range.find('-');
      std::string_view perms = next_field();
      std::string_view offset = next_field();
      std::string_view dev = next_field();
      std::string_view inode = next_field();
      uint64_t inode_value = 0;
      bool inode_ok = !inode.empty() && inode.size() <= 19 &&
                      std::all_of(inode.begin(), inode.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      for (char ch : inode) inode_value = inode_value * 10 + static_cast<uint64_t>(ch - '0');
      if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), m.start) ||
          !parse_hex(range.substr(dash + 1), m.end) || !parse_hex(offset, m.offset) || perms.size() != 4 ||
          !inode_ok) {
        bad = true;
        continue;
      }
      m.permissions = std::string(perms);
      m.device = detail::valid_utf8(dev);
      m.inode = inode_value;
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      m.path = detail::valid_utf8(line);
      maps.push_back(std::move(m));
    }
    if (bad) stream_error(StreamType::kLinuxMaps, "some lines are not /proc/<pid>/maps lines and were skipped");
    l.maps = std::move(maps);
  }
  if (auto s = stream(StreamType::kLinuxDsoDebug)) {
    // MDRawDebug: version, map rva, dso count, then brk, ldbase, dynamic as pointers (aligned).
    Cursor c(*s);
    LinuxDsoDebug d;
    d.version = c.u32();
    d.map_rva = c.u32();
    d.dso_count = c.u32();
    if (ptr == 8) c.u32();
    d.brk = ptr == 4 ? c.u32() : c.u64();
    d.ldbase = ptr == 4 ? c.u32() : c.u64();
    d.dynamic = ptr == 4 ? c.u32() : c.u64();
    if (c.failed()) {
      stream_error(StreamType::kLinuxDsoDebug, fmt::format("{} bytes is too small", s->size()));
    } else {
      // MDRawLinkMap: addr, name rva, ld (pointer-aligned).
      const size_t entry = ptr == 4 ? 12 : 24;
      auto maps = slice(file_, d.map_rva, static_cast<uint64_t>(d.dso_count) * entry);
      if (d.dso_count != 0 && !maps) {
        stream_error(StreamType::kLinuxDsoDebug, fmt::format("{} link map entries at {} are outside the file",
                                                             d.dso_count, d.map_rva));
      } else if (maps) {
        for (uint32_t i = 0; i < d.dso_count; ++i) {
          Cursor e(*maps, static_cast<size_t>(i) * entry);
          LinuxDsoDebug::Entry en;
          en.addr = ptr == 4 ? e.u32() : e.u64();
          uint32_t name_rva = e.u32();
          if (ptr == 8) e.u32();
          en.ld = ptr == 4 ? e.u32() : e.u64();
          en.name = read_minidump_string(file_, name_rva).value_or("");
          d.link_map.push_back(std::move(en));
        }
      }
      l.dso_debug = std::move(d);
    }
  }
}

void Parser::parse_mac_streams() {
  if (auto s = stream(StreamType::kMozMacosBootargs)) {
    Cursor c(*s);
    c.u32();  // stream type
    uint32_t rva = c.u32();
    auto args = c.ok() ? read_minidump_string(file_, rva) : std::nullopt;
    if (args) md_.mac_boot_args_ = std::move(*args);
    else stream_error(StreamType::kMozMacosBootargs, "boot args string is outside the file");
  }
  if (auto s = stream(StreamType::kMozMacosCrashInfo)) {
    Cursor c(*s);
    c.u32();  // stream type
    uint32_t count = c.u32();
    uint32_t record_start = c.u32();
    if (c.failed() || count > 20) {
      stream_error(StreamType::kMozMacosCrashInfo, "bad header");
      return;
    }
    MacCrashInfo info;
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t size = c.u32(), rva = c.u32();
      auto rec = slice(file_, rva, size);
      if (c.failed() || !rec || record_start > rec->size()) {
        stream_error(StreamType::kMozMacosCrashInfo, fmt::format("record {} is outside the file", i));
        continue;
      }
      // MDRawMacCrashInfoRecord: stream type, then u64 version, thread, dialog mode, abort cause
      // (naturally aligned), then five NUL-terminated strings from record_start.
      Cursor r(*rec);
      r.u32();
      r.u32();
      uint64_t version = r.u64();
      MacCrashInfo::Record out;
      out.thread = r.u64();
      out.dialog_mode = r.u64();
      if (version > 4) out.abort_cause = r.u64();
      size_t pos = record_start;
      std::string* fields[] = {&out.module_path, &out.message, &out.signature_string, &out.backtrace, &out.message2};
      for (auto* f : fields) {
        *f = read_c_string(*rec, pos);
        pos += f->size() + 1;
      }
      info.records.push_back(std::move(out));
    }
    md_.mac_crash_info_ = std::move(info);
  }
}

}  // namespace bw::minidump
