// Symbol uploads on hostile bytes. The first byte picks the parser:
//   0 (and anything else): the rest is an uploaded zip: written to a file and added to a real
//      SymbolStore in a temporary folder through add_zip (symbol_upload.h), with small limits
//      (16 entries, 1 MiB per entry, 100:1). Nothing may crash, hang or escape but ZipError; every
//      file ends with one outcome; scratch files are gone afterwards; nothing is written outside
//      the store and scratch folders; what the store holds parses and is named as its MODULE says.
//   1: the rest is symupload v2's completion body: symupload_json_string (upload_routes.h) must
//      return a substring of the input without quotes or backslashes, or nothing.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/fs_util.h"
#include "core/log.h"
#include "core/temp_dir.h"
#include "symbols/symbol_upload.h"
#include "symbols/upload_routes.h"

namespace {

namespace fs = std::filesystem;

struct Harness {
  Harness() {
    bw::init_logging("off", bw::LogFormat::kPlain);
    fs::create_directories(scratch);
    limits.max_entries = 16;
    limits.max_entry_bytes = 1 << 20;
    limits.max_total_bytes = 4 << 20;
    limits.max_ratio = 100;
  }
  bw::test_support::TempDir tmp;
  fs::path scratch = tmp.path() / "scratch";
  fs::path zip = tmp.path() / "upload.zip";
  bw::symbols::ZipLimits limits;
};

void check_zip(Harness& h, std::string_view bytes) {
  bw::fs::write_file_synced(h.zip, bytes);
  fs::path store_dir = h.tmp.path() / "store";
  bw::symbols::SymbolStore store(store_dir);
  try {
    auto summary = bw::symbols::add_zip(store, h.zip, h.scratch, h.limits);
    for (const auto& f : summary.files) {
      if (f.result.outcome == bw::symbols::StoreOutcome::kRefused && f.result.reason.empty()) std::abort();
    }
    (void)summary.to_json();
  } catch (const bw::symbols::ZipError&) {
  }
  if (!fs::is_empty(h.scratch)) std::abort();
  for (const auto& e : fs::directory_iterator(h.tmp.path())) {
    const auto name = e.path().filename();
    if (name != "scratch" && name != "store" && name != "upload.zip") std::abort();
  }
  for (const auto& s : store.list()) {
    if (!store.find(s.debug_file, s.debug_id)) std::abort();
  }
  fs::remove_all(store_dir);
}

void check_json(std::string_view body) {
  for (std::string_view key : {"debug_file", "debug_id", "symbol_upload_type"}) {
    auto value = bw::symbols::symupload_json_string(body, key);
    if (!value) continue;
    if (value->find('"') != std::string::npos || value->find('\\') != std::string::npos) std::abort();
    if (body.find(*value) == std::string_view::npos) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness harness;
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] == 1) {
    check_json(rest);
  } else {
    check_zip(harness, rest);
  }
  return 0;
}
