// A text listing of what the reader found, in the spirit of Breakpad's minidump_dump: used by
// tests and for debugging a dump by hand.
#include <string>

#include "fmt/format.h"
#include "minidump/minidump.h"

namespace bw::minidump {
namespace {

void dump_context(std::string& out, const CpuContext& ctx, const char* indent) {
  out += fmt::format("{}context: {} flags 0x{:x}\n", indent, cpu_name(ctx.cpu()), ctx.context_flags());
  for (size_t i = 0; i < ctx.register_count(); ++i) {
    if (!ctx.is_valid(i)) continue;
    out += fmt::format("{}  {} = 0x{:0{}x}\n", indent, ctx.register_name(i), ctx.value(i), ctx.pointer_size() * 2);
  }
}

}  // namespace

std::string debug_dump(const Minidump& dump) {
  std::string out;
  out += fmt::format("header: version 0x{:08x} timestamp {} flags 0x{:x} streams {}\n", dump.version(),
                     dump.timestamp(), dump.flags(), dump.directory().size());
  for (const auto& e : dump.directory()) {
    out += fmt::format("  stream type 0x{:08x} size {} at {}\n", e.type, e.size, e.offset);
  }
  for (const auto& [type, reason] : dump.stream_errors()) {
    out += fmt::format("stream error (0x{:08x}): {}\n", type, reason);
  }
  if (const auto& si = dump.system_info()) {
    out += fmt::format("system info: os {} \"{}\" cpu {} \"{}\" count {}\n", si->os_name(), si->os_version(),
                       cpu_name(si->cpu), dump.cpu_info(), si->cpu_count());
  }
  if (const auto& mi = dump.misc_info()) {
    out += fmt::format("misc info: version {} flags 0x{:x} pid {} create time {}\n", mi->version(), mi->flags1,
                       mi->process_id.value_or(0), mi->process_create_time.value_or(0));
    if (mi->build_string) out += fmt::format("  build string: {}\n", *mi->build_string);
    if (mi->xstate) {
      out += fmt::format("  xstate: context size {} features 0x{:x}\n", mi->xstate->context_size,
                         mi->xstate->enabled_features);
    }
  }
  if (const auto& bi = dump.breakpad_info()) {
    out += fmt::format("breakpad info: dump thread {} requesting thread {}\n",
                       bi->dump_thread_id ? fmt::format("0x{:x}", *bi->dump_thread_id) : "-",
                       bi->requesting_thread_id ? fmt::format("0x{:x}", *bi->requesting_thread_id) : "-");
  }
  if (const auto& ex = dump.exception()) {
    out += fmt::format("exception: thread 0x{:x} code 0x{:08x} flags 0x{:08x} address 0x{:x} reason \"{}\"\n",
                       ex->thread_id, ex->code, ex->flags, ex->address, dump.crash_reason());
    for (size_t i = 0; i < ex->parameters.size(); ++i) {
      out += fmt::format("  parameter[{}] = 0x{:x}\n", i, ex->parameters[i]);
    }
    if (ex->context) dump_context(out, *ex->context, "  ");
  }
  if (const auto& a = dump.assertion()) {
    out += fmt::format("assertion: {} in {} at {}:{} type {}\n", a->expression, a->function, a->file, a->line, a->type);
  }
  out += fmt::format("threads: {}\n", dump.threads().size());
  for (const auto& t : dump.threads()) {
    out += fmt::format("  thread 0x{:x} name \"{}\" stack 0x{:x} +{} teb 0x{:x}\n", t.id, t.name, t.stack.base(),
                       t.stack.size(), t.teb);
    if (t.context) dump_context(out, *t.context, "    ");
  }
  out += fmt::format("modules: {}\n", dump.modules().size());
  for (const auto& m : dump.modules()) {
    out += fmt::format("  0x{:x} +0x{:x} {} code_id {} debug_file {} debug_id {} version {}\n", m.base, m.size,
                       m.code_file, m.code_id, m.debug_file, m.debug_id, m.version);
  }
  out += fmt::format("unloaded modules: {}\n", dump.unloaded_modules().size());
  for (const auto& m : dump.unloaded_modules()) {
    out += fmt::format("  0x{:x} +0x{:x} {} code_id {}\n", m.base, m.size, m.code_file, m.code_id);
  }
  out += fmt::format("memory regions: {}\n", dump.memory().regions().size());
  for (const auto& r : dump.memory().regions()) out += fmt::format("  0x{:x} +0x{:x}\n", r.base(), r.size());
  if (const auto& mi = dump.memory_info()) out += fmt::format("memory info entries: {}\n", mi->size());
  if (const auto& h = dump.handles()) {
    out += fmt::format("handles: {}\n", h->size());
    for (const auto& d : *h) out += fmt::format("  0x{:x} {} {}\n", d.handle, d.type_name, d.object_name);
  }
  if (const auto& cp = dump.crashpad_info()) {
    out += fmt::format("crashpad info: version {} report {} client {}\n", cp->version, cp->report_id, cp->client_id);
    for (const auto& [k, v] : cp->simple_annotations) out += fmt::format("  {} = {}\n", k, v);
    for (const auto& m : cp->modules) {
      out += fmt::format("  module {}:\n", m.module_index);
      for (const auto& s : m.list_annotations) out += fmt::format("    list: {}\n", s);
      for (const auto& [k, v] : m.simple_annotations) out += fmt::format("    {} = {}\n", k, v);
      for (const auto& a : m.annotation_objects) {
        out += fmt::format("    object {} type 0x{:x} ({} bytes)\n", a.name, a.type, a.value.size());
      }
    }
  }
  const auto& l = dump.linux_streams();
  if (l.cpu_info) out += fmt::format("linux cpuinfo: {} bytes\n", l.cpu_info->size());
  if (l.proc_status) out += fmt::format("linux status: {} bytes, pid {}\n", l.proc_status->size(), l.pid().value_or(0));
  if (auto lsb = l.lsb()) out += fmt::format("linux lsb: {} {} {} \"{}\"\n", lsb->id, lsb->release, lsb->codename, lsb->description);
  if (l.cmdline) out += fmt::format("linux cmdline: {} arguments\n", l.cmdline->size());
  if (l.environ) out += fmt::format("linux environ: {} entries\n", l.environ->size());
  if (l.auxv) out += fmt::format("linux auxv: {} entries\n", l.auxv->size());
  if (l.maps) out += fmt::format("linux maps: {} mappings\n", l.maps->size());
  if (l.dso_debug) out += fmt::format("linux dso debug: {} link map entries\n", l.dso_debug->link_map.size());
  if (const auto& mc = dump.mac_crash_info()) {
    out += fmt::format("mac crash info: {} records\n", mc->records.size());
    for (const auto& r : mc->records) out += fmt::format("  {}: {}\n", r.module_path, r.message);
  }
  if (const auto& ba = dump.mac_boot_args()) out += fmt::format("mac boot args: {}\n", *ba);
  return out;
}

}  // namespace bw::minidump
