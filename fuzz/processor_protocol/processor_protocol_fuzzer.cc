// What a stack-walking worker sends back is untrusted (it just parsed a hostile dump): the frame
// decoder and the message decoders must refuse anything malformed cleanly, and whatever they
// accept must survive a round trip.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "processor/worker_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // A small frame limit so the fuzzer reaches the over-limit path quickly.
  bw::processor::FrameDecoder decoder(1 << 16);
  // Feed in uneven pieces, as a socket would deliver them.
  size_t piece = size % 7 + 1;
  for (size_t off = 0; off < input.size(); off += piece) {
    if (!decoder.feed(input.substr(off, piece))) break;
    while (auto frame = decoder.next()) {
      std::string why;
      if (auto result = bw::processor::decode_result(*frame, &why)) {
        auto again = bw::processor::decode_result(bw::processor::encode_result(*result), &why);
        if (!again || again->status != result->status || again->notes != result->notes) std::abort();
      } else if (why.empty()) {
        std::abort();
      }
      why.clear();
      if (auto request = bw::processor::decode_request(*frame, &why)) {
        if (request->dump.empty()) std::abort();
      } else if (why.empty()) {
        std::abort();
      }
      (void)bw::processor::decode_hello(*frame, &why);
      (void)bw::processor::decode_ready(*frame, &why);
    }
  }
  if (decoder.broken() && decoder.error().empty()) std::abort();
  return 0;
}
