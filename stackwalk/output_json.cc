// rust-minidump's `minidump-stackwalk --json` schema (Socorro's json_dump).
#include <cinttypes>
#include <cstdio>

#include "stackwalk/output.h"

namespace bw::stackwalk {

using nlohmann::json;

namespace {

std::string hex(uint64_t value, unsigned word_bytes) {
  char buf[32];
  if (word_bytes == 4) {
    std::snprintf(buf, sizeof buf, "0x%08" PRIx64, static_cast<uint64_t>(value & 0xffffffffU));
  } else {
    std::snprintf(buf, sizeof buf, "0x%016" PRIx64, value);
  }
  return buf;
}

// rust-minidump spells Linux signal reasons "SIGSEGV / SEGV_MAPERR" and leaves out a code it
// cannot name ("SIGSEGV"), where Breakpad writes "SIGSEGV /SEGV_MAPERR" and "SIGSEGV /0x00000000".
std::string rust_crash_reason(const std::string& breakpad) {
  if (breakpad.rfind("SIG", 0) != 0) return breakpad;
  size_t sep = breakpad.find(" /");
  if (sep == std::string::npos || breakpad.compare(sep, 3, " / ") == 0) return breakpad;
  std::string code = breakpad.substr(sep + 2);
  if (code.rfind("0x", 0) == 0) return breakpad.substr(0, sep);
  return breakpad.substr(0, sep) + " / " + code;
}

json registers_json(const minidump::CpuContext& c, unsigned word) {
  json r = json::object();
  for (size_t i = 0; i < c.register_count(); ++i) {
    if (c.is_valid(i)) r[std::string(c.register_name(i))] = hex(c.value(i), word);
  }
  return r;
}

json frame_json(const ProcessState& state, const std::vector<const StackFrame*>& inlines, const StackFrame& f,
                size_t number, bool with_registers, unsigned word) {
  const minidump::Minidump& dump = *state.dump;
  json j;
  j["frame"] = number;
  j["trust"] = std::string(trust_json_name(f.trust));
  j["offset"] = hex(f.instruction, word);
  const minidump::Module* m = f.module_index ? &dump.modules()[*f.module_index] : nullptr;
  if (m != nullptr) {
    j["module"] = path_file_name(m->code_file);
    j["module_offset"] = hex(f.instruction - m->base, word);
    j["missing_symbols"] = !state.module_symbols[*f.module_index].loaded();
  } else {
    j["module"] = nullptr;
    j["module_offset"] = nullptr;
    j["missing_symbols"] = false;
  }
  if (!f.function_name.empty()) {
    j["function"] = f.function_name;
    j["function_offset"] = hex(f.instruction - f.function_base, word);
  } else {
    j["function"] = nullptr;
    j["function_offset"] = nullptr;
  }
  if (f.has_source) {
    j["file"] = f.source_file;
    j["line"] = f.source_line;
  } else {
    j["file"] = nullptr;
    j["line"] = nullptr;
  }
  if (inlines.empty()) {
    j["inlines"] = nullptr;
  } else {
    json list = json::array();
    for (const StackFrame* in : inlines) {
      json e;
      e["function"] = in->function_name;
      e["file"] = in->has_source ? json(in->source_file) : json(nullptr);
      e["line"] = in->has_source ? json(in->source_line) : json(nullptr);
      list.push_back(std::move(e));
    }
    j["inlines"] = std::move(list);
  }
  if (f.unloaded_module_indices.empty()) {
    j["unloaded_modules"] = nullptr;
  } else {
    json list = json::array();
    for (size_t u : f.unloaded_module_indices) {
      const auto& um = dump.unloaded_modules()[u];
      json e;
      e["module"] = path_file_name(um.code_file);
      e["offsets"] = json::array({hex(f.instruction - um.base, word)});
      list.push_back(std::move(e));
    }
    j["unloaded_modules"] = std::move(list);
  }
  if (with_registers) j["registers"] = registers_json(f.context, word);
  return j;
}

json thread_json(const ProcessState& state, const ThreadState& t, bool crashing, bool has_names, unsigned word) {
  json j;
  json frames = json::array();
  std::vector<const StackFrame*> pending_inlines;
  size_t number = 0;
  for (const auto& f : t.stack.frames) {
    if (f.is_inline()) {
      pending_inlines.push_back(&f);
      continue;
    }
    frames.push_back(frame_json(state, pending_inlines, f, number, crashing && number == 0, word));
    pending_inlines.clear();
    ++number;
  }
  j["frame_count"] = number;
  j["frames"] = std::move(frames);
  j["last_error_value"] = t.stack.last_error_value ? json(*t.stack.last_error_value) : json(nullptr);
  j["thread_id"] = t.stack.thread_id;
  j["thread_name"] = has_names ? json(t.stack.thread_name) : json(nullptr);
  return j;
}

}  // namespace

json to_json(const ProcessState& state, const JsonOptions& options) {
  const minidump::Minidump& dump = *state.dump;
  unsigned word = dump.cpu() == minidump::Cpu::kX86 || dump.cpu() == minidump::Cpu::kArm ? 4 : 8;
  json j;
  j["status"] = state.status;

  const auto& si = dump.system_info();
  json sys;
  sys["cpu_arch"] = std::string(minidump::cpu_name(dump.cpu()));
  sys["cpu_count"] = si ? si->cpu_count() : 0;
  std::string info = dump.cpu_info();
  sys["cpu_info"] = info.empty() ? json(nullptr) : json(info);
  sys["cpu_microcode_version"] = nullptr;
  sys["os"] = si ? si->os_name() : std::string("unknown");
  sys["os_ver"] = si ? json(si->os_version_rust()) : json(nullptr);
  j["system_info"] = std::move(sys);

  json crash;
  const auto& exception = dump.exception();
  crash["adjusted_address"] = nullptr;
  crash["crash_inconsistencies"] = json::array();
  crash["instruction"] = nullptr;
  crash["instruction_pointer_update"] = nullptr;
  crash["memory_accesses"] = nullptr;
  crash["possible_bit_flips"] = nullptr;
  if (const auto& a = dump.assertion()) {
    crash["assertion"] = a->expression + " in " + a->function + " (" + a->file + ":" + std::to_string(a->line) + ")";
  } else {
    crash["assertion"] = nullptr;
  }
  if (exception) {
    crash["type"] = rust_crash_reason(dump.crash_reason());
    crash["address"] = hex(dump.crash_address().value_or(0), word);
  } else {
    crash["type"] = nullptr;
    crash["address"] = nullptr;
  }
  crash["crashing_thread"] = state.crashing_thread ? json(*state.crashing_thread) : json(nullptr);
  j["crash_info"] = std::move(crash);

  bool has_names = false;
  for (const auto& e : dump.directory()) {
    if (e.type == static_cast<uint32_t>(minidump::StreamType::kThreadNameList)) has_names = true;
  }
  json threads = json::array();
  for (size_t i = 0; i < state.threads.size(); ++i) {
    threads.push_back(thread_json(state, state.threads[i], false, has_names, word));
  }
  j["thread_count"] = state.threads.size();
  j["threads"] = std::move(threads);
  if (state.crashing_thread) {
    json ct = thread_json(state, state.threads[*state.crashing_thread], true, has_names, word);
    ct["threads_index"] = *state.crashing_thread;
    j["crashing_thread"] = std::move(ct);
  } else {
    j["crashing_thread"] = nullptr;
  }

  json modules = json::array();
  for (size_t i = 0; i < dump.modules().size(); ++i) {
    const minidump::Module& m = dump.modules()[i];
    const ModuleSymbolState& s = state.module_symbols[i];
    json e;
    e["base_addr"] = hex(m.base, word);
    e["end_addr"] = hex(m.end(), word);
    e["cert_subject"] = nullptr;
    e["code_id"] = m.code_id.empty() ? json(nullptr) : json(m.code_id);
    e["debug_file"] = m.debug_file.empty() ? json(nullptr) : json(m.debug_file);
    e["debug_id"] = m.debug_id.empty() ? json(nullptr) : json(m.debug_id);
    e["filename"] = path_file_name(m.code_file);
    e["version"] = m.version.empty() ? json(nullptr) : json(m.version);
    e["loaded_symbols"] = s.loaded();
    e["missing_symbols"] = s.missing();
    e["corrupt_symbols"] = s.corrupt();
    e["symbol_url"] = nullptr;
    modules.push_back(std::move(e));
  }
  j["modules"] = std::move(modules);
  j["main_module"] = dump.modules().empty() ? json(nullptr) : json(0);
  j["modules_contains_cert_info"] = false;

  json unloaded = json::array();
  for (const auto& u : dump.unloaded_modules()) {
    json e;
    e["base_addr"] = hex(u.base, word);
    e["end_addr"] = hex(u.base + u.size, word);
    e["cert_subject"] = nullptr;
    e["code_id"] = u.code_id.empty() ? json(nullptr) : json(u.code_id);
    e["filename"] = path_file_name(u.code_file);
    unloaded.push_back(std::move(e));
  }
  j["unloaded_modules"] = std::move(unloaded);

  auto pid = dump.process_id();
  j["pid"] = pid ? json(*pid) : json(nullptr);
  auto created = dump.process_create_time();
  j["process_uptime"] = created && dump.timestamp() >= *created ? json(dump.timestamp() - *created) : json(nullptr);

  const auto& lx = dump.linux_streams();
  if (auto lsb = lx.lsb()) {
    j["lsb_release"] = {{"id", lsb->id}, {"release", lsb->release}, {"codename", lsb->codename},
                        {"description", lsb->description}};
  } else {
    j["lsb_release"] = nullptr;
  }
  j["linux_memory_map_count"] = lx.maps ? json(lx.maps->size()) : json(nullptr);

  if (const auto& mac = dump.mac_crash_info()) {
    json records = json::array();
    for (const auto& r : mac->records) {
      records.push_back({{"module_path", r.module_path}, {"message", r.message},
                         {"signature_string", r.signature_string}, {"backtrace", r.backtrace},
                         {"message2", r.message2}, {"thread", r.thread}, {"dialog_mode", r.dialog_mode},
                         {"abort_cause", r.abort_cause}});
    }
    j["mac_crash_info"] = {{"num_records", mac->records.size()}, {"records", std::move(records)}};
  } else {
    j["mac_crash_info"] = nullptr;
  }
  j["mac_boot_args"] = dump.mac_boot_args() ? json(*dump.mac_boot_args()) : json(nullptr);

  if (const auto& handles = dump.handles()) {
    json list = json::array();
    for (const auto& h : *handles) {
      list.push_back({{"handle", h.handle}, {"type_name", h.type_name}, {"object_name", h.object_name},
                      {"attributes", h.attributes}, {"granted_access", h.granted_access},
                      {"handle_count", h.handle_count}, {"pointer_count", h.pointer_count}});
    }
    j["handles"] = std::move(list);
  } else {
    j["handles"] = nullptr;
  }
  j["proc_limits"] = nullptr;
  j["soft_errors"] = nullptr;

  // rust-minidump fills a missing process id from the annotations the client sent.
  if (options.annotations && options.annotations->is_object() && j["pid"].is_null()) {
    auto it = options.annotations->find("ProcessId");
    if (it != options.annotations->end() && it->is_string()) {
      try {
        j["pid"] = std::stoul(it->get<std::string>());
      } catch (const std::exception&) {
        // Not a number: leave pid null.
      }
    }
  }
  return j;
}

}  // namespace bw::stackwalk
