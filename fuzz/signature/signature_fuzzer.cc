// Frame normalization and signature generation on arbitrary input. The first byte picks what the
// rest is: 0 a C++ function name, 1 a Rust function name, 2 a frame ("function\nfile\nmodule"),
// 3 a crash document (processed crash or rust-minidump JSON).
//
// Properties: nothing crashes or hangs; normalized names stay within twice the input plus a small
// constant and normalizing twice changes nothing; every signature is 1 to 255 bytes of valid UTF-8
// when the document was valid JSON.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "signature/signature_generator.h"

namespace {

using namespace bw::signature;

void check_name(std::string_view input, bool rust) {
  std::string once = rust ? normalize_rust_function(input) : normalize_cpp_function(input);
  if (once.size() > 2 * input.size() + 64) std::abort();
  std::string twice = rust ? normalize_rust_function(once) : normalize_cpp_function(once);
  if (twice != once) std::abort();
}

void check_signature(const SignatureResult& r) {
  if (r.signature.empty() || r.signature.size() > kMaxSignatureLength) std::abort();
  // Throws (and so aborts the fuzzer) on invalid UTF-8.
  (void)nlohmann::json(r.signature).dump();
  (void)nlohmann::json(r.proto_signature).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const SignatureGenerator generator = SignatureGenerator::builtin();
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      check_name(rest, false);
      break;
    case 1:
      check_name(rest, true);
      break;
    case 2: {
      Frame frame;
      size_t a = rest.find('\n');
      frame.function = std::string(rest.substr(0, a));
      if (a != std::string_view::npos) {
        size_t b = rest.find('\n', a + 1);
        frame.file = std::string(rest.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1));
        if (b != std::string_view::npos) frame.module = std::string(rest.substr(b + 1));
      }
      frame.line = size;
      frame.module_offset = size * 16;
      auto n = normalize_frame(frame);
      if (n.text.empty()) std::abort();
      SignatureInput input;
      input.crashing_thread_known = true;
      input.frames = {frame, frame};
      input.abort_message = std::string(rest);
      input.abort_message_field = "AbortMessage";
      // Frame texts come from arbitrary bytes here, so only the length is checked.
      auto r = generator.generate(input);
      if (r.signature.empty() || r.signature.size() > kMaxSignatureLength) std::abort();
      break;
    }
    default: {
      auto doc = nlohmann::json::parse(rest.begin(), rest.end(), nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) return 0;
      check_signature(generator.generate(doc));
      break;
    }
  }
  return 0;
}
