// What signature generation reads from a crash, and how it is taken out of JSON.
//
// Accepts either a processed crash (an object with a `json_dump` member, plus processed fields)
// or a bare stack-walker document in rust-minidump's `minidump-stackwalk --json` schema (what
// `breakwater stackwalk --json` writes and what Socorro stores as `json_dump`).
//
// The crashing thread is, in order: `json_dump.crashing_thread` (an object with `frames`), else
// `json_dump.threads[json_dump.crash_info.crashing_thread]`, else
// `json_dump.threads[crashing_thread]` (the processed crash's derived integer field). Each frame's
// `inlines` become separate frames before it, innermost first.
//
// Crash fields are looked up by their processed-crash name first, then by their annotation name,
// each at the top level, then under `raw_crash`, then under `annotations`:
//   reason              reason, else json_dump.crash_info.type
//   OOM size            oom_allocation_size / OOMAllocationSize (integer or decimal string)
//   abort message       abort_message / AbortMessage, else moz_crash_reason / MozCrashReason
//   IPC channel error   ipc_channel_error
//   hang                hang_type (non-zero) / Hang (1, true)
//   browser dump        additional_minidumps contains "browser" / dump_names contains
//                       "upload_file_minidump_browser"
//   stack-walk status   mdsw_status_string, else json_dump.status
//
// This is a parser of outside data: every field is type-checked, a field of the wrong type is
// ignored with a note in `notes`, hex offsets are bounds-checked, and nothing here throws for a
// malformed document. The only error is a document that is not a crash at all.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "signature/frame_normalizer.h"

namespace bw::signature {

struct SignatureInput {
  bool crashing_thread_known = false;
  std::vector<Frame> frames;  // the crashing thread's, innermost first, inlines expanded

  std::string reason;
  std::optional<uint64_t> oom_allocation_size;
  std::string abort_message;
  std::string abort_message_field;  // which field it came from, for the explanation
  std::string ipc_channel_error;
  bool browser_dump = false;
  bool hang = false;
  std::string hang_field;
  std::string stackwalk_status;  // "" or "OK" when the stack walk succeeded

  std::vector<std::string> notes;  // fields that were present but unusable
};

// Fails (returns nullopt and sets *error) only when `doc` is neither a processed crash nor a
// stack-walker document.
std::optional<SignatureInput> input_from_json(const nlohmann::json& doc, std::string* error);

// The crashing thread of a stack-walker document `dump` (a processed crash's json_dump), in the
// order above; `processed` (may be null) supplies the last fallback. nullptr when nothing names a
// thread object. What was present but unusable is appended to *notes when notes is not null. The
// one definition for the signature input and the processor's derived fields.
const nlohmann::json* find_crashing_thread(const nlohmann::json& dump, const nlohmann::json* processed,
                                           std::vector<std::string>* notes);

// Reads a crash document from a file: JSON, or gzip'd JSON (processed_crash.json.gz as the
// processed storage keeps it), at most `max_bytes` after decompression. Returns nullopt and sets
// *error for an unreadable file, a file over the limit or text that is not JSON.
std::optional<nlohmann::json> load_crash_file(const std::filesystem::path& path, std::string* error,
                                              size_t max_bytes = size_t{1} << 30);

// Parses "0x1d72" (or "1d72") into a number; nullopt for anything else, including more than 16
// hex digits.
std::optional<uint64_t> parse_hex(std::string_view text);

}  // namespace bw::signature
