// signature: the crash's signature from its crashing thread and fields (signature/).
#include "processor/rules.h"
#include "signature/signature_generator.h"

namespace bw::processor {

using nlohmann::json;

void SignatureRule::action(ProcessingContext& context) {
  signature::SignatureResult result = generator_.generate(context.processed);
  json& p = context.processed;
  p["signature"] = result.signature;
  p["proto_signature"] = result.proto_signature;
  p["signature_debug"] = result.debug;
}

}  // namespace bw::processor
