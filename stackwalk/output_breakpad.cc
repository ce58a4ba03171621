// Breakpad's human and machine-readable (-m) formats, as minidump_stackwalk prints them.
#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "stackwalk/output.h"

namespace bw::stackwalk {

using minidump::Cpu;

namespace {

template <typename... Args>
void appendf(std::string& out, const char* fmt, Args... args) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(big.data(), big.size(), fmt, args...);
  big.resize(static_cast<size_t>(n));
  out += big;
}

// The machine format separates fields with '|': any '|' inside a field becomes '_'.
std::string strip_separator(std::string_view s) {
  std::string r(s);
  std::replace(r.begin(), r.end(), '|', '_');
  return r;
}

// Breakpad spells a debug id's GUID in uppercase and its age in lowercase hex
// ("...D17301c"); rust-minidump and the reader use uppercase throughout.
std::string breakpad_debug_id(const std::string& id) {
  std::string r = id;
  for (size_t i = 32; i < r.size(); ++i) r[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(r[i])));
  return r;
}

// Modules in address order, as Breakpad lists them.
std::vector<size_t> modules_by_address(const minidump::Minidump& dump) {
  std::vector<size_t> order(dump.modules().size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return dump.modules()[a].base < dump.modules()[b].base; });
  return order;
}

// Threads in Breakpad's numbering: the dump thread is left out and the rest renumbered.
struct NumberedThread {
  size_t index;   // into state.threads
  int number;     // Breakpad's thread number
};
std::vector<NumberedThread> breakpad_threads(const ProcessState& state) {
  std::vector<NumberedThread> out;
  int n = 0;
  for (size_t i = 0; i < state.threads.size(); ++i) {
    if (state.threads[i].is_dump_thread) continue;
    out.push_back({i, n++});
  }
  return out;
}

std::optional<int> requesting_number(const ProcessState& state, const std::vector<NumberedThread>& threads) {
  if (!state.requesting_thread) return std::nullopt;
  for (const auto& t : threads) {
    if (t.index == *state.requesting_thread) return t.number;
  }
  return std::nullopt;
}

std::string crash_address_text(const minidump::Minidump& dump) {
  std::string s;
  auto address = dump.crash_address();
  appendf(s, "0x%" PRIx64, address.value_or(0));
  return s;
}

// The address printed for a frame and the offsets measured from it (Breakpad's ReturnAddress()).
// Breakpad prints the return address for x86 and amd64 callers, and the symbolized address
// (return address - 2 or - 4) on arm and arm64.
uint64_t printed_address(const StackFrame& f) {
  if (f.is_inline()) return f.instruction;
  if (f.context.cpu() == Cpu::kX86 || f.context.cpu() == Cpu::kAmd64) return f.return_address;
  return f.instruction;
}

// ---- human ----

void print_register(std::string& out, int& column, std::string_view name, uint64_t value, bool wide) {
  char buf[64];
  std::string n(name);
  if (wide) {
    std::snprintf(buf, sizeof buf, " %5s = 0x%016" PRIx64, n.c_str(), value);
  } else {
    std::snprintf(buf, sizeof buf, " %5s = 0x%08" PRIx64, n.c_str(), value);
  }
  int len = static_cast<int>(std::string_view(buf).size());
  if (column + len > 80) {
    out += "\n ";
    column = 0;
  }
  out += buf;
  column += len;
}

void print_registers(std::string& out, const minidump::CpuContext& c) {
  int column = 0;
  auto reg = [&](size_t index, std::string_view name) {
    if (c.is_valid(index)) print_register(out, column, name, c.value(index), c.pointer_size() == 8);
  };
  switch (c.cpu()) {
    case Cpu::kX86: {
      static const char* names[] = {"eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "efl"};
      for (size_t i = 0; i < 10; ++i) reg(i, names[i]);
      break;
    }
    case Cpu::kArm: {
      for (size_t i = 0; i <= 10; ++i) reg(i, "r" + std::to_string(i));
      reg(12, "r12");
      reg(11, "fp");
      reg(13, "sp");
      reg(14, "lr");
      reg(15, "pc");
      break;
    }
    default:
      for (size_t i = 0; i < c.register_count(); ++i) reg(i, c.register_name(i));
      break;
  }
}

void print_frame_human(std::string& out, const ProcessState& state, size_t number, const StackFrame& f) {
  const minidump::Minidump& dump = *state.dump;
  appendf(out, "%2zu  ", number);
  uint64_t address = printed_address(f);
  if (f.module_index) {
    const minidump::Module& m = dump.modules()[*f.module_index];
    out += path_file_name(m.code_file);
    if (!f.function_name.empty()) {
      out += "!" + f.function_name;
      if (f.has_source) {
        appendf(out, " [%s : %u + 0x%" PRIx64 "]", path_file_name(f.source_file).c_str(), f.source_line,
                address - f.source_line_base);
      } else {
        appendf(out, " + 0x%" PRIx64, address - f.function_base);
      }
    } else {
      appendf(out, " + 0x%" PRIx64, address - m.base);
    }
  } else {
    appendf(out, "0x%" PRIx64, address);
  }
  out += "\n ";
  if (!f.is_inline()) print_registers(out, f.context);
  out += "\n    Found by: ";
  out += trust_description(f.trust);
  out += "\n";
}

void print_stack_human(std::string& out, const ProcessState& state, const ThreadState& t) {
  size_t n = 0;
  for (const auto& f : t.stack.frames) print_frame_human(out, state, n++, f);
}

}  // namespace

std::string path_file_name(std::string_view path) {
  size_t slash = path.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string format_breakpad_human(const ProcessState& state) {
  const minidump::Minidump& dump = *state.dump;
  std::string out;
  const auto& si = dump.system_info();
  out += "Operating system: " + (si ? si->os_name() : std::string("unknown")) + "\n";
  out += "                  " + (si ? si->os_version() : std::string()) + "\n";
  out += "CPU: " + std::string(minidump::cpu_name(dump.cpu())) + "\n";
  std::string info = dump.cpu_info();
  if (!info.empty()) out += "     " + info + "\n";
  unsigned cpus = si ? si->cpu_count() : 0;
  appendf(out, "     %u CPU%s\n", cpus, cpus == 1 ? "" : "s");
  out += "\nGPU: UNKNOWN\n\n";

  const auto& exception = dump.exception();
  if (exception) {
    out += "Crash reason:  " + dump.crash_reason() + "\n";
    out += "Crash address: " + crash_address_text(dump) + "\n";
    if (!exception->parameters.empty()) {
      out += "Crash parameters:\n";
      for (uint64_t p : exception->parameters) appendf(out, "    value: 0x%016" PRIx64 "  description: \n", p);
    }
  } else {
    out += "No crash\n";
  }
  if (const auto& a = dump.assertion()) {
    if (!a->expression.empty() || !a->function.empty()) {
      out += "Assertion: " + a->expression + " in " + a->function + " (" + a->file + ":" +
             std::to_string(a->line) + ")\n";
    }
  }
  auto created = dump.process_create_time();
  if (created && dump.timestamp() >= *created) {
    appendf(out, "Process uptime: %u seconds\n", dump.timestamp() - *created);
  } else {
    out += "Process uptime: not available\n";
  }

  auto threads = breakpad_threads(state);
  auto requesting = requesting_number(state, threads);
  if (requesting) {
    out += "\n";
    appendf(out, "Thread %d (%s)\n", *requesting, exception ? "crashed" : "requested dump, did not crash");
    print_stack_human(out, state, state.threads[*state.requesting_thread]);
  }
  for (const auto& t : threads) {
    if (requesting && t.number == *requesting) continue;
    out += "\n";
    appendf(out, "Thread %d\n", t.number);
    print_stack_human(out, state, state.threads[t.index]);
  }

  out += "\nLoaded modules:\n";
  const minidump::Module* main = dump.main_module();
  for (size_t i : modules_by_address(dump)) {
    const minidump::Module& m = dump.modules()[i];
    appendf(out, "0x%08" PRIx64 " - 0x%08" PRIx64 "  %s  %s", m.base, m.base + m.size - 1,
            path_file_name(m.code_file).c_str(), m.version.empty() ? "???" : m.version.c_str());
    if (&m == main) out += "  (main)";
    const ModuleSymbolState& s = state.module_symbols[i];
    if (s.missing()) {
      out += "  (WARNING: No symbols, " + path_file_name(m.debug_file) + ", " + breakpad_debug_id(m.debug_id) + ")";
    } else if (s.corrupt()) {
      out += "  (WARNING: Corrupt symbols, " + path_file_name(m.debug_file) + ", " + breakpad_debug_id(m.debug_id) + ")";
    }
    out += "\n";
  }
  return out;
}

std::string format_breakpad_machine(const ProcessState& state) {
  const minidump::Minidump& dump = *state.dump;
  std::string out;
  const auto& si = dump.system_info();
  out += "OS|" + strip_separator(si ? si->os_name() : "") + "|" + strip_separator(si ? si->os_version() : "") + "\n";
  out += "CPU|" + strip_separator(minidump::cpu_name(dump.cpu())) + "|" + strip_separator(dump.cpu_info()) + "|" +
         std::to_string(si ? si->cpu_count() : 0) + "\n";
  out += "GPU|||\n";
  auto threads = breakpad_threads(state);
  auto requesting = requesting_number(state, threads);
  if (dump.exception()) {
    out += "Crash|" + strip_separator(dump.crash_reason()) + "|" + crash_address_text(dump) + "|";
    if (requesting) out += std::to_string(*requesting);
    out += "\n";
  } else {
    out += "Crash|No crash||\n";
  }

  const minidump::Module* main = dump.main_module();
  for (size_t i : modules_by_address(dump)) {
    const minidump::Module& m = dump.modules()[i];
    appendf(out, "Module|%s|%s|%s|%s|0x%08" PRIx64 "|0x%08" PRIx64 "|%d\n", strip_separator(path_file_name(m.code_file)).c_str(),
            strip_separator(m.version).c_str(), strip_separator(path_file_name(m.debug_file)).c_str(),
            strip_separator(breakpad_debug_id(m.debug_id)).c_str(), m.base, m.base + m.size - 1, &m == main ? 1 : 0);
  }
  out += "\n";

  auto print_stack = [&](int number, const ThreadState& t) {
    size_t n = 0;
    for (const auto& f : t.stack.frames) {
      appendf(out, "%d|%zu|", number, n++);
      uint64_t address = printed_address(f);
      if (f.module_index) {
        const minidump::Module& m = dump.modules()[*f.module_index];
        out += strip_separator(path_file_name(m.code_file));
        if (!f.function_name.empty()) {
          out += "|" + strip_separator(f.function_name);
          if (f.has_source) {
            appendf(out, "|%s|%u|0x%" PRIx64, strip_separator(f.source_file).c_str(), f.source_line,
                    address - f.source_line_base);
          } else {
            appendf(out, "|||0x%" PRIx64, address - f.function_base);
          }
        } else {
          appendf(out, "||||0x%" PRIx64, address - m.base);
        }
      } else {
        appendf(out, "||||0x%" PRIx64, address);
      }
      out += "\n";
    }
  };
  if (requesting) print_stack(*requesting, state.threads[*state.requesting_thread]);
  for (const auto& t : threads) {
    if (requesting && t.number == *requesting) continue;
    print_stack(t.number, state.threads[t.index]);
  }
  return out;
}

}  // namespace bw::stackwalk
