// The decoders of stored crash files (storage/records.h) must refuse every malformed input with
// CorruptCrashData and round-trip everything they accept. The first byte picks the decoder:
// 0 raw_crash.json, 1 dump_names.json, 2 gzip, 3 processed_crash.json.gz; the rest is the file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/crash_storage.h"
#include "storage/records.h"

namespace rec = bw::storage::records;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr size_t kLimit = 1 << 20;
  try {
    switch (data[0] % 4) {
      case 0: {
        auto raw = rec::decode_raw_crash(bytes);
        if (!raw.is_object() || rec::decode_raw_crash(rec::encode_json(raw)) != raw) std::abort();
        break;
      }
      case 1: {
        auto names = rec::decode_dump_names(bytes);
        for (const auto& n : names) {
          if (!bw::storage::is_valid_dump_name(n)) std::abort();
        }
        if (rec::decode_dump_names(rec::encode_dump_names(names)) != names) std::abort();
        break;
      }
      case 2: {
        auto plain = rec::gzip_decompress(bytes, kLimit);
        if (plain.size() > kLimit || rec::gzip_decompress(rec::gzip_compress(plain), kLimit) != plain) std::abort();
        break;
      }
      case 3: {
        auto processed = rec::decode_processed(bytes, kLimit);
        if (!processed.is_object()) std::abort();
        break;
      }
    }
  } catch (const bw::storage::CorruptCrashData&) {
    // The expected refusal.
  }
  return 0;
}
