// Crash-id parsing must refuse every malformed input cleanly and round-trip every valid one.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/crash_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto id = bw::CrashId::parse(text, &why);
  if (id) {
    // A valid id is exactly 36 safe characters and parses to itself.
    if (id->str().size() != bw::CrashId::kLength) std::abort();
    for (char c : id->str()) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) std::abort();
    }
    auto again = bw::CrashId::parse(id->with_prefix());
    if (!again || !(*again == *id)) std::abort();
    if (id->date_folder().size() != 8) std::abort();
  } else if (why.empty()) {
    std::abort();
  }
  return 0;
}
