// Display strings derived from the system info and exception streams, spelled as Breakpad's
// minidump_stackwalk prints them (the processors' signatures and reports depend on them).
#include <array>
#include <cstring>

#include "fmt/format.h"
#include "minidump/minidump.h"

namespace bw::minidump {

std::string SystemInfo::os_name() const {
  switch (os) {
    case Os::kWindows: return "Windows NT";
    case Os::kMacOs: return "Mac OS X";
    case Os::kIos: return "iOS";
    case Os::kLinux: return "Linux";
    case Os::kSolaris: return "Solaris";
    case Os::kAndroid: return "Android";
    case Os::kPs3: return "PS3";
    case Os::kNaCl: return "NaCl";
    case Os::kFuchsia: return "Fuchsia";
    case Os::kUnknown: break;
  }
  return fmt::format("0x{:08x}", platform_id);
}

std::string SystemInfo::os_version() const {
  return fmt::format("{}.{}.{} {}", major_version, minor_version, build_number, csd_version);
}

std::string SystemInfo::os_version_rust() const {
  // Linux writers put the uname in the CSD string: "Linux <release> <version> <machine>".
  if ((os == Os::kLinux || os == Os::kAndroid) && major_version == 0 && minor_version == 0 && build_number == 0) {
    std::string_view csd = csd_version;
    if (csd.starts_with("Linux ")) {
      csd.remove_prefix(6);
      auto last = csd.rfind(' ');
      if (last != std::string_view::npos) csd = csd.substr(0, last);
      return std::string(csd);
    }
  }
  if (csd_version.empty()) return fmt::format("{}.{}.{}", major_version, minor_version, build_number);
  return os_version();
}

std::string SystemInfo::cpu_info() const {
  switch (cpu) {
    case Cpu::kX86:
    case Cpu::kAmd64: {
      std::string out;
      if (cpu == Cpu::kX86 && !cpu_vendor.empty()) out = cpu_vendor + " ";
      out += fmt::format("family {} model {} stepping {}", processor_level, processor_revision >> 8,
                         processor_revision & 0xff);
      return out;
    }
    case Cpu::kArm: {
      std::string out = fmt::format("ARMv{}", processor_level);
      const auto cpuid = static_cast<uint32_t>(processor_features[0] & 0xffffffffU);
      const auto hwcaps = static_cast<uint32_t>(processor_features[0] >> 32);
      if (cpuid != 0) {
        struct Named {
          uint32_t id;
          const char* name;
        };
        static constexpr Named kVendors[] = {{0x41, "ARM"}, {0x51, "Qualcomm"}, {0x56, "Marvell"}, {0x69, "Intel/Marvell"}};
        static constexpr Named kParts[] = {
            {0x4100c050, "Cortex-A5"}, {0x4100c080, "Cortex-A8"},   {0x4100c090, "Cortex-A9"},
            {0x4100c0f0, "Cortex-A15"}, {0x4100c140, "Cortex-R4"},  {0x4100c150, "Cortex-R5"},
            {0x4100b360, "ARM1136"},   {0x4100b560, "ARM1156"},     {0x4100b760, "ARM1176"},
            {0x4100b020, "ARM11-MPCore"}, {0x41009260, "ARM926"},   {0x41009460, "ARM946"},
            {0x41009660, "ARM966"},    {0x510006f0, "Krait"},       {0x510000f0, "Scorpion"}};
        const uint32_t vendor = (cpuid >> 24) & 0xff;
        const char* vendor_name = nullptr;
        for (const auto& v : kVendors) {
          if (v.id == vendor) vendor_name = v.name;
        }
        out += vendor_name ? fmt::format(" {}", vendor_name) : fmt::format(" vendor(0x{:x})", vendor);
        const uint32_t part = cpuid & 0xff00fff0U;
        const char* part_name = nullptr;
        for (const auto& p : kParts) {
          if (p.id == part) part_name = p.name;
        }
        out += part_name ? fmt::format(" {}", part_name) : fmt::format(" part(0x{:x})", part);
      }
      if (hwcaps != 0) {
        static constexpr std::array<const char*, 19> kFeatures = {
            "swp", "half", "thumb", "26bit", "fastmult", "fpa", "vfpv2", "edsp", "java", "iwmmxt",
            "crunch", "thumbee", "neon", "vfpv3", "vfpv3d16", "tls", "vfpv4", "idiva", "idivt"};
        out += " features: ";
        bool first = true;
        for (size_t bit = 0; bit < kFeatures.size(); ++bit) {
          if ((hwcaps >> bit) & 1U) {
            if (!first) out += ",";
            out += kFeatures[bit];
            first = false;
          }
        }
      }
      return out;
    }
    default: return {};
  }
}

std::string Minidump::cpu_info() const { return system_info_ ? system_info_->cpu_info() : std::string{}; }

namespace {

std::string hex32(uint32_t v) { return fmt::format("0x{:08x}", v); }

const char* windows_code_name(uint32_t code) {
  switch (code) {
    case 0x40010005: return "DBG_CONTROL_C";
    case 0x80000001: return "EXCEPTION_GUARD_PAGE";
    case 0x80000002: return "EXCEPTION_DATATYPE_MISALIGNMENT";
    case 0x80000003: return "EXCEPTION_BREAKPOINT";
    case 0x80000004: return "EXCEPTION_SINGLE_STEP";
    case 0xc0000005: return "EXCEPTION_ACCESS_VIOLATION";
    case 0xc0000006: return "EXCEPTION_IN_PAGE_ERROR";
    case 0xc0000008: return "EXCEPTION_INVALID_HANDLE";
    case 0xc000001d: return "EXCEPTION_ILLEGAL_INSTRUCTION";
    case 0xc0000025: return "EXCEPTION_NONCONTINUABLE_EXCEPTION";
    case 0xc0000026: return "EXCEPTION_INVALID_DISPOSITION";
    case 0xc000008c: return "EXCEPTION_ARRAY_BOUNDS_EXCEEDED";
    case 0xc000008d: return "EXCEPTION_FLT_DENORMAL_OPERAND";
    case 0xc000008e: return "EXCEPTION_FLT_DIVIDE_BY_ZERO";
    case 0xc000008f: return "EXCEPTION_FLT_INEXACT_RESULT";
    case 0xc0000090: return "EXCEPTION_FLT_INVALID_OPERATION";
    case 0xc0000091: return "EXCEPTION_FLT_OVERFLOW";
    case 0xc0000092: return "EXCEPTION_FLT_STACK_CHECK";
    case 0xc0000093: return "EXCEPTION_FLT_UNDERFLOW";
    case 0xc0000094: return "EXCEPTION_INT_DIVIDE_BY_ZERO";
    case 0xc0000095: return "EXCEPTION_INT_OVERFLOW";
    case 0xc0000096: return "EXCEPTION_PRIV_INSTRUCTION";
    case 0xc00000fd: return "EXCEPTION_STACK_OVERFLOW";
    case 0xc0000194: return "EXCEPTION_POSSIBLE_DEADLOCK";
    case 0xc0000374: return "EXCEPTION_HEAP_CORRUPTION";
    case 0xc0000409: return "EXCEPTION_STACK_BUFFER_OVERRUN";
    case 0xe06d7363: return "Unhandled C++ Exception";
    case 0x4000001f: return "STATUS_WX86_BREAKPOINT";
    default: return nullptr;
  }
}

const char* fast_fail_name(uint64_t code) {
  static constexpr const char* kNames[] = {
      "FAST_FAIL_LEGACY_GS_VIOLATION", "FAST_FAIL_VTGUARD_CHECK_FAILURE", "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE",
      "FAST_FAIL_CORRUPT_LIST_ENTRY", "FAST_FAIL_INCORRECT_STACK", "FAST_FAIL_INVALID_ARG",
      "FAST_FAIL_GS_COOKIE_INIT", "FAST_FAIL_FATAL_APP_EXIT", "FAST_FAIL_RANGE_CHECK_FAILURE",
      "FAST_FAIL_UNSAFE_REGISTRY_ACCESS", "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE",
      "FAST_FAIL_GUARD_WRITE_CHECK_FAILURE", "FAST_FAIL_INVALID_FIBER_SWITCH",
      "FAST_FAIL_INVALID_SET_OF_CONTEXT", "FAST_FAIL_INVALID_REFERENCE_COUNT", nullptr, nullptr, nullptr,
      "FAST_FAIL_INVALID_JUMP_BUFFER", "FAST_FAIL_MRDATA_MODIFIED", "FAST_FAIL_CERTIFICATION_FAILURE",
      "FAST_FAIL_INVALID_EXCEPTION_CHAIN", "FAST_FAIL_CRYPTO_LIBRARY", "FAST_FAIL_INVALID_CALL_IN_DLL_CALLOUT",
      "FAST_FAIL_INVALID_IMAGE_BASE", "FAST_FAIL_DLOAD_PROTECTION_FAILURE", "FAST_FAIL_UNSAFE_EXTENSION_CALL",
      "FAST_FAIL_DEPRECATED_SERVICE_INVOKED", "FAST_FAIL_INVALID_BUFFER_ACCESS",
      "FAST_FAIL_INVALID_BALANCED_TREE", "FAST_FAIL_INVALID_NEXT_THREAD",
      "FAST_FAIL_GUARD_ICALL_CHECK_SUPPRESSED", "FAST_FAIL_APCS_DISABLED", "FAST_FAIL_INVALID_IDLE_STATE",
      "FAST_FAIL_MRDATA_PROTECTION_FAILURE", "FAST_FAIL_UNEXPECTED_HEAP_EXCEPTION",
      "FAST_FAIL_INVALID_LOCK_STATE", "FAST_FAIL_GUARD_JUMPTABLE", "FAST_FAIL_INVALID_LONGJUMP_TARGET",
      "FAST_FAIL_INVALID_DISPATCH_CONTEXT", "FAST_FAIL_INVALID_THREAD", "FAST_FAIL_INVALID_SYSCALL_NUMBER",
      "FAST_FAIL_INVALID_FILE_OPERATION", "FAST_FAIL_LPAC_ACCESS_DENIED", "FAST_FAIL_GUARD_SS_FAILURE",
      "FAST_FAIL_LOADER_CONTINUITY_FAILURE", "FAST_FAIL_GUARD_EXPORT_SUPPRESSION_FAILURE",
      "FAST_FAIL_INVALID_CONTROL_STACK", "FAST_FAIL_SET_CONTEXT_DENIED", "FAST_FAIL_INVALID_IAT",
      "FAST_FAIL_HEAP_METADATA_CORRUPTION", "FAST_FAIL_PAYLOAD_RESTRICTION_VIOLATION",
      "FAST_FAIL_LOW_LABEL_ACCESS_DENIED", "FAST_FAIL_ENCLAVE_CALL_FAILURE",
      "FAST_FAIL_UNHANDLED_LSS_EXCEPTON", "FAST_FAIL_ADMINLESS_ACCESS_DENIED", "FAST_FAIL_UNEXPECTED_CALL",
      "FAST_FAIL_CONTROL_INVALID_RETURN_ADDRESS", "FAST_FAIL_UNEXPECTED_HOST_BEHAVIOR",
      "FAST_FAIL_FLAGS_CORRUPTION", "FAST_FAIL_VEH_CORRUPTION", "FAST_FAIL_ETW_CORRUPTION",
      "FAST_FAIL_RIO_ABORT", "FAST_FAIL_INVALID_PFN"};
  return code < std::size(kNames) ? kNames[code] : nullptr;
}

std::string windows_reason(const ExceptionInfo& e) {
  const auto& p = e.parameters;
  if (e.code == 0xc0000005 || e.code == 0xc0000006) {
    std::string base = windows_code_name(e.code);
    if (!p.empty()) {
      switch (p[0]) {
        case 0: base += "_READ"; break;
        case 1: base += "_WRITE"; break;
        case 8: base += "_EXEC"; break;
        default: break;
      }
    }
    if (e.code == 0xc0000006 && p.size() >= 3) base += " / " + hex32(static_cast<uint32_t>(p[2]));
    return base;
  }
  if (e.code == 0xc0000409 && !p.empty()) {
    if (const char* name = fast_fail_name(p[0])) return name;
  }
  if (const char* name = windows_code_name(e.code)) return name;
  return hex32(e.code);
}

// Breakpad: "SIGSEGV /SEGV_MAPERR", "SIGILL / ILL_ILLOPN", unknown codes as "/0x00000000".
// rust-minidump: "SIGSEGV / SEGV_MAPERR", and the bare signal name for an unknown code.
std::string linux_reason(const ExceptionInfo& e, ReasonStyle style) {
  const std::string flags = hex32(e.flags);
  auto with_code = [&](const char* prefix, std::initializer_list<const char*> names) {
    std::string_view p = prefix;
    const bool known = e.flags >= 1 && e.flags <= names.size();
    if (style == ReasonStyle::kRustMinidump) {
      std::string signal(p.substr(0, p.find(' ')));
      return known ? signal + " / " + *(names.begin() + (e.flags - 1)) : signal;
    }
    std::string out(p);
    if (known) out += *(names.begin() + (e.flags - 1));
    else out += flags;
    return out;
  };
  switch (e.code) {
    case 1: return "SIGHUP";
    case 2: return "SIGINT";
    case 3: return "SIGQUIT";
    case 4:
      return with_code("SIGILL / ", {"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC",
                                     "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK"});
    case 5: return "SIGTRAP";
    case 6: return "SIGABRT";
    case 7: return with_code("SIGBUS / ", {"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"});
    case 8:
      return with_code("SIGFPE / ", {"FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND",
                                     "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"});
    case 9: return "SIGKILL";
    case 10: return "SIGUSR1";
    case 11: return with_code("SIGSEGV /", {"SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"});
    case 12: return "SIGUSR2";
    case 13: return "SIGPIPE";
    case 14: return "SIGALRM";
    case 15: return "SIGTERM";
    case 16: return "SIGSTKFLT";
    case 17: return "SIGCHLD";
    case 18: return "SIGCONT";
    case 19: return "SIGSTOP";
    case 20: return "SIGTSTP";
    case 21: return "SIGTTIN";
    case 22: return "SIGTTOU";
    case 23: return "SIGURG";
    case 24: return "SIGXCPU";
    case 25: return "SIGXFSZ";
    case 26: return "SIGVTALRM";
    case 27: return "SIGPROF";
    case 28: return "SIGWINCH";
    case 29: return "SIGIO";
    case 30: return "SIGPWR";
    case 31: return "SIGSYS";
    case 0xffffffff: return "DUMP_REQUESTED";
    default: return flags;
  }
}

std::string mac_reason(const ExceptionInfo& e, Cpu cpu) {
  const bool x86 = cpu == Cpu::kX86 || cpu == Cpu::kAmd64;
  const bool arm = cpu == Cpu::kArm || cpu == Cpu::kArm64;
  const std::string flags = hex32(e.flags);
  switch (e.code) {
    case 1: {  // EXC_BAD_ACCESS
      std::string out = "EXC_BAD_ACCESS / ";
      switch (e.flags) {
        case 1: return out + "KERN_INVALID_ADDRESS";
        case 2: return out + "KERN_PROTECTION_FAILURE";
        case 8: return out + "KERN_NO_ACCESS";
        case 9: return out + "KERN_MEMORY_FAILURE";
        case 10: return out + "KERN_MEMORY_ERROR";
        case 50: return out + "KERN_CODESIGN_ERROR";
        case 13: if (x86) return out + "EXC_I386_GPFLT"; break;
        case 0x101: if (arm) return out + "EXC_ARM_DA_ALIGN"; break;
        case 0x102: if (arm) return out + "EXC_ARM_DA_DEBUG"; break;
        default: break;
      }
      return out + flags;
    }
    case 2: {  // EXC_BAD_INSTRUCTION
      std::string out = "EXC_BAD_INSTRUCTION / ";
      if (x86 && e.flags == 1) return out + "EXC_I386_INVOP";
      if (arm && e.flags == 1) return out + "EXC_ARM_UNDEFINED";
      return out + flags;
    }
    case 3: {  // EXC_ARITHMETIC
      std::string out = "EXC_ARITHMETIC / ";
      if (x86) {
        static constexpr const char* kNames[] = {"EXC_I386_DIV", "EXC_I386_INTO", "EXC_I386_NOEXT", "EXC_I386_EXTOVR",
                                                 "EXC_I386_EXTERR", "EXC_I386_EMERR", "EXC_I386_BOUND",
                                                 "EXC_I386_SSEEXTERR"};
        if (e.flags >= 1 && e.flags <= 8) return out + kNames[e.flags - 1];
      }
      return out + flags;
    }
    case 4: return "EXC_EMULATION / " + flags;
    case 5: {  // EXC_SOFTWARE
      std::string out = "EXC_SOFTWARE / ";
      if (e.flags == 0x00010002) return out + "SIGABRT";
      if (e.flags == 0xdeadc0de) return out + "UNCAUGHT_NS_EXCEPTION";
      return out + flags;
    }
    case 6: {  // EXC_BREAKPOINT
      std::string out = "EXC_BREAKPOINT / ";
      if (x86 && e.flags == 1) return out + "EXC_I386_SGL";
      if (x86 && e.flags == 2) return out + "EXC_I386_BPT";
      if (arm && e.flags == 1) return out + "EXC_ARM_BREAKPOINT";
      return out + flags;
    }
    case 7: return "EXC_SYSCALL / " + flags;
    case 8: return "EXC_MACH_SYSCALL / " + flags;
    case 9: return "EXC_RPC_ALERT / " + flags;
    case 11: return "EXC_RESOURCE / " + flags;
    case 12: return "EXC_GUARD / " + flags;
    case 0x43507378: return "Simulated Exception";
    default: return hex32(e.code);
  }
}

}  // namespace

std::string Minidump::crash_reason(ReasonStyle style) const {
  if (!exception_) return {};
  const Os os = system_info_ ? system_info_->os : Os::kUnknown;
  switch (os) {
    case Os::kWindows: return windows_reason(*exception_);
    case Os::kLinux:
    case Os::kAndroid: return linux_reason(*exception_, style);
    case Os::kMacOs:
    case Os::kIos: return mac_reason(*exception_, cpu());
    default: return hex32(exception_->code);
  }
}

std::optional<uint64_t> Minidump::crash_address() const {
  if (!exception_) return std::nullopt;
  uint64_t address = exception_->address;
  const Os os = system_info_ ? system_info_->os : Os::kUnknown;
  // For Windows access violations and in-page errors the faulting data address is parameter 1.
  if (os == Os::kWindows && (exception_->code == 0xc0000005 || exception_->code == 0xc0000006) &&
      exception_->parameters.size() >= 2) {
    address = exception_->parameters[1];
  }
  Cpu c = cpu();
  if (c == Cpu::kX86 || c == Cpu::kArm) address &= 0xffffffffULL;
  return address;
}

std::optional<LinuxStreams::LsbRelease> LinuxStreams::lsb() const {
  if (!lsb_release) return std::nullopt;
  LsbRelease out;
  std::string_view text = *lsb_release;
  bool any = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    std::string* field = nullptr;
    if (key == "DISTRIB_ID" || key == "ID") field = &out.id;
    else if (key == "DISTRIB_RELEASE" || key == "VERSION_ID") field = &out.release;
    else if (key == "DISTRIB_CODENAME" || key == "VERSION_CODENAME") field = &out.codename;
    else if (key == "DISTRIB_DESCRIPTION" || key == "PRETTY_NAME") field = &out.description;
    // DISTRIB_* (lsb-release) wins over os-release keys when both appear.
    if (field && (field->empty() || key.starts_with("DISTRIB_"))) {
      *field = std::string(value);
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return out;
}

std::optional<uint32_t> LinuxStreams::pid() const {
  if (!proc_status) return std::nullopt;
  std::string_view text = *proc_status;
  auto pos = text.starts_with("Pid:") ? 0 : text.find("\nPid:");
  if (pos == std::string_view::npos) return std::nullopt;
  pos += text[pos] == '\n' ? 5 : 4;
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  uint64_t v = 0;
  size_t digits = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 10) {
    v = v * 10 + static_cast<uint64_t>(text[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits == 0 || v > 0xffffffffULL) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace bw::minidump
