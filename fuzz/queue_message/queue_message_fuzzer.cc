// Queue message bodies come from the broker (anyone who can publish): parsing must refuse every
// malformed body with a reason and round-trip every valid one.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/crash_queue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto message = bw::queue::CrashMessage::parse(body, &why);
  if (!message) {
    if (why.empty()) std::abort();
    return 0;
  }
  // Valid: the id is the strict 36-character form and encoding parses back to the same message.
  if (message->id.str().size() != bw::CrashId::kLength) std::abort();
  std::string encoded = message->encode();
  auto again = bw::queue::CrashMessage::parse(encoded);
  if (!again || !(*again == *message)) std::abort();
  if (encoded.size() > body.size()) std::abort();  // only ":default" is ever dropped
  return 0;
}
