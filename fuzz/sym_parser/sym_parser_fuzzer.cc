// The .sym parser and every lookup must survive any input: no crash, no hang, no out-of-bounds
// read, and answers that stay consistent with the records they came from.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "symbols/module_symbols.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = bw::symbols::ModuleSymbols::parse(text);
  if (!m) std::abort();
  if (m->stats().bad_lines > m->stats().lines) std::abort();
  if (m->is_corrupt() && m->stats().first_errors.empty()) std::abort();
  // Probe offsets taken from the input itself (so records it declares get hit) plus fixed ones.
  uint64_t probes[12] = {0, 1, 0x100, 0x1000, 0x15b45, 0xffffffffffffffffull};
  for (size_t i = 6; i < 12; ++i) {
    uint64_t v = 0;
    for (size_t k = 0; k < 3 && (i * 3 + k) < size; ++k) v = (v << 8) | data[i * 3 + k];
    probes[i] = v;
  }
  for (uint64_t off : probes) {
    if (auto r = m->lookup(off)) {
      if (!r->is_public && (off < r->function_start || off - r->function_start >= r->function_size)) std::abort();
      if (r->has_line && (off < r->line_start || off - r->line_start >= r->line_size)) std::abort();
      for (const auto& in : r->inlines) {
        if (off < in.start || off - in.start >= in.size) std::abort();
      }
    }
    if (auto c = m->find_cfi(off)) {
      if (off < c->init_start || off - c->init_start >= c->init_size) std::abort();
      for (const auto& rule : c->rules) {
        if (rule.name.empty() || rule.expression.empty()) std::abort();
      }
    }
    if (auto w = m->find_win_frame(off)) {
      if (off < w->start || off - w->start >= w->size) std::abort();
    }
  }
  return 0;
}
