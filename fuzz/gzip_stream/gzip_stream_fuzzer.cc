// Streaming gzip inflation on hostile input: no crash, output never past the limit, the same
// result whole or in pieces; and any bytes survive a compress → inflate round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collector/gzip_stream.h"

namespace {

constexpr uint64_t kLimit = 1 << 20;

// "ok:<output>", "bad", "large" or "truncated".
std::string inflate(std::string_view in, size_t piece) {
  std::string out;
  try {
    bw::collector::GzipInflater inf(kLimit, [&](std::string_view d) {
      out.append(d);
      if (out.size() > kLimit) std::abort();
    });
    for (size_t i = 0; i < in.size(); i += piece) inf.feed(in.substr(i, piece));
    try {
      inf.finish();
    } catch (const bw::collector::GzipError&) {
      return "truncated";
    }
  } catch (const bw::collector::GzipError&) {
    return "bad";
  } catch (const bw::collector::GzipTooLarge&) {
    return "large";
  }
  return "ok:" + out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string whole = inflate(in, in.size() + 1);
  std::string pieces = inflate(in, 1 + size % 13);
  if (whole.rfind("ok:", 0) == 0 && whole != pieces) std::abort();
  if (whole.rfind("ok:", 0) != 0 && pieces.rfind("ok:", 0) == 0) std::abort();
  // Round trip.
  std::string again = inflate(bw::collector::gzip_compress(in), 4096);
  if (size <= kLimit && again != "ok:" + std::string(in)) std::abort();
  return 0;
}
