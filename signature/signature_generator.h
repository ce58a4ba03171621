// Signature generation (docs/design.md §10; the algorithm and the lists are explained in
// docs/signatures.md).
//
// Contract: for every crash — processed crash or bare stack-walker JSON, symbolized or not,
// malformed or hostile — `generate` returns a signature of 1 to 255 characters, the
// `proto_signature` (every normalized frame considered, joined with " | ") and `signature_debug`,
// one note per decision (which frame was skipped or kept and which list line matched, which
// special form applied and why). Frames are normalized (frame_normalizer.h), the walk starts at
// the first sentinel, skips irrelevant frames, keeps prefix frames and stops at the first frame
// on neither list; then, innermost first: `stackoverflow | `, `hang | `, then one of
// `OOM | small`, `OOM | large | `, `OOM | unknown | `, `Abort | <message> | `; an IPC channel
// error replaces everything with `IPCError-<browser|content> | <error>`. A crash without symbols
// gets `module@0xoffset` frames, so unrelated crashes in one module never share a signature.
//
// Ownership: the signature part (signature/). Errors: constructing from config throws
// SignatureListError (a list that cannot be read or compiled) or ConfigError; generation itself
// never throws for bad input. Thread safety: a SignatureGenerator is immutable after
// construction; `generate` may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "signature/crash_input.h"
#include "signature/frame_normalizer.h"
#include "signature/signature_lists.h"

namespace bw::signature {

constexpr size_t kMaxSignatureLength = 255;

struct SignatureResult {
  std::string signature;
  std::string proto_signature;
  std::vector<std::string> debug;  // signature_debug
};

struct SignatureOptions {
  uint64_t oom_small_limit = 256 * 1024;  // OOMAllocationSize at or below this is `OOM | small`
  size_t max_frames = 40;                 // frames considered (after inline expansion)
};

class SignatureGenerator {
 public:
  explicit SignatureGenerator(SignatureLists lists, SignatureOptions options = {});
  // The built-in lists and default options.
  static SignatureGenerator builtin();
  // Lists and options from the [signature] config section (config_schema.cc).
  static SignatureGenerator from_config(const Config& config);

  SignatureResult generate(const SignatureInput& input) const;
  // A processed crash or a bare stack-walker document. A document that is neither gets
  // "EMPTY: no crashing thread identified" and a debug note saying why.
  SignatureResult generate(const nlohmann::json& crash) const;

  const SignatureLists& lists() const { return lists_; }
  const SignatureOptions& options() const { return options_; }

 private:
  SignatureLists lists_;
  SignatureOptions options_;
};

// The text of an abort message as it goes into `Abort | <message> | …`: Gecko's "###!!! ABORT: "
// prefix and trailing source location dropped, numbers and addresses replaced by N and 0xN so one
// failing check gives one signature, whitespace collapsed, at most 80 characters.
std::string clean_abort_message(std::string_view message);

// Cuts a signature to kMaxSignatureLength characters (252 + "..."), on a UTF-8 boundary.
std::string truncate_signature(std::string signature);

}  // namespace bw::signature
