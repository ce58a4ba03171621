// The minidump reader on arbitrary bytes: it must open them or refuse with a reason, and every
// accessor must stay inside the file (ASan/UBSan catch the rest).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "minidump/byte_reader.h"
#include "minidump/minidump.h"

namespace {

bool inside(std::span<const uint8_t> part, std::span<const uint8_t> file) {
  return part.empty() || (part.data() >= file.data() && part.data() + part.size() <= file.data() + file.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bw::minidump;
  auto dump = Minidump::from_bytes(std::span<const uint8_t>(data, size));
  if (!dump.ok()) {
    if (dump.error().reason.empty()) std::abort();
    return 0;
  }
  const Minidump& d = *dump;
  const auto file = d.file_bytes();
  // Every string the reader returns is valid UTF-8; the listing holds nearly all of them.
  const std::string listing = debug_dump(d);
  if (listing.empty() || bw::minidump::detail::valid_utf8(listing) != listing) std::abort();
  (void)d.crash_reason();
  (void)d.crash_address();
  (void)d.process_id();
  (void)d.linux_streams().lsb();
  if (d.system_info()) (void)d.system_info()->os_version_rust();
  for (const auto& t : d.threads()) {
    if (!inside(t.stack.bytes(), file)) std::abort();
    if (!t.context) continue;
    const CpuContext& c = *t.context;
    (void)d.memory().read_pointer(c.stack_pointer(), c.pointer_size() == 0 ? 8 : c.pointer_size());
    (void)t.stack.read_u64(c.stack_pointer());
    (void)d.module_at(c.instruction_pointer());
    for (size_t i = 0; i < c.register_count(); ++i) {
      if (c.get(c.register_name(i)) != c.value(i)) std::abort();
    }
  }
  if (d.exception() && d.exception()->context) (void)d.module_at(d.exception()->context->instruction_pointer());
  for (const auto& r : d.memory().regions()) {
    if (!inside(r.bytes(), file) || d.memory_at(r.base()) != &r) std::abort();
  }
  for (const auto& m : d.modules()) {
    if (!inside(m.codeview_record, file) || !inside(m.misc_record, file)) std::abort();
  }
  for (const auto& u : d.unloaded_modules()) (void)d.unloaded_modules_at(u.base);
  (void)d.memory_info_at(0);
  return 0;
}
