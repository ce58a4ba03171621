// The .sym parser and every lookup must survive any input: no crash, no hang, no out-of-bounds
// read, and answers that stay consistent with the records they came from. Each module also goes
// through a cache file: written, mapped back (identical), then with one byte chosen by the input
// damaged and mapped again: refused, or mapped and answering (or not) without ever reading out of
// bounds.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/log.h"
#include "symbols/module_symbols.h"

namespace {

void probe_all(const bw::symbols::ModuleSymbols& m, const uint64_t* probes, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint64_t off = probes[i];
    if (auto r = m.lookup(off)) {
      if (!r->is_public && (off < r->function_start || off - r->function_start >= r->function_size)) std::abort();
      if (r->has_line && (off < r->line_start || off - r->line_start >= r->line_size)) std::abort();
      for (const auto& in : r->inlines) {
        if (off < in.start || off - in.start >= in.size) std::abort();
      }
    }
    if (auto c = m.find_cfi(off)) {
      if (off < c->init_start || off - c->init_start >= c->init_size) std::abort();
      for (const auto& rule : c->rules) {
        if (rule.name.empty() || rule.expression.empty()) std::abort();
      }
    }
    if (auto w = m.find_win_frame(off)) {
      if (off < w->start || off - w->start >= w->size) std::abort();
    }
  }
}

// tmpfs when there is one: write_cache fsyncs, which costs nothing there.
std::filesystem::path cache_path() {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                                            : std::filesystem::temp_directory_path();
  return dir / ("bw-sym-parser-fuzz-" + std::to_string(::getpid()) + ".bwsymc");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Damaged cache files are logged as warnings; here they are the point, one per input.
  static const bool quiet = [] {
    bw::init_logging("error", bw::LogFormat::kPlain);
    return true;
  }();
  (void)quiet;
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
  probe_all(*m, probes, 12);

  // Through a cache file and back.
  static const std::filesystem::path path = cache_path();
  std::string error;
  if (!m->write_cache(path, bw::symbols::SourceStamp{size, 1}, &error)) std::abort();
  auto mapped = bw::symbols::ModuleSymbols::load_cache(path, bw::symbols::SourceStamp{size, 1}, &error);
  if (!mapped || !mapped->same_content(*m) || !mapped->verify_cache()) std::abort();
  probe_all(*mapped, probes, 12);
  mapped.reset();
  // Damage one byte (position and value from the input) and map it again.
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  uint64_t file_size = std::filesystem::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    auto at = static_cast<std::streamoff>(h % file_size);
    f.seekg(at);
    char c = 0;
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(c ^ static_cast<char>((h >> 56) | 1)));
  }
  if (auto damaged = bw::symbols::ModuleSymbols::load_cache(path, std::nullopt, &error)) {
    probe_all(*damaged, probes, 12);
    damaged->verify_cache();
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return 0;
}
