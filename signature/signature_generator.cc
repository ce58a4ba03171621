#include "signature/signature_generator.h"

#include <utility>

#include "core/ascii.h"

namespace bw::signature {
namespace {

constexpr std::string_view kNoThread = "EMPTY: no crashing thread identified";
constexpr std::string_view kNoFrames = "EMPTY: no frame data available";
constexpr size_t kMaxAbortMessage = 80;
constexpr size_t kMaxIpcError = 100;

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Control characters and whitespace runs become one space; ends trimmed.
std::string fix_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// At most `limit` bytes: (limit - 3) bytes cut on a UTF-8 boundary, then "...".
std::string cut(std::string s, size_t limit) {
  if (s.size() <= limit) return s;
  size_t n = limit - 3;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s + "...";
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string where(const PatternList::Entry& e) {
  return e.source + ":" + std::to_string(e.line) + " " + in_quotes(e.pattern);
}

std::string frame_label(const Frame& f) {
  return "frame " + std::to_string(f.index) + (f.inlined ? " (inlined)" : "");
}

bool is_stack_overflow(const SignatureInput& input, std::string* why, bool* from_message) {
  *from_message = false;
  if (input.reason.find("EXCEPTION_STACK_OVERFLOW") != std::string::npos) {
    *why = "reason " + in_quotes(input.reason);
    return true;
  }
  // Rust's guard-page handler prints this before aborting.
  if (input.abort_message.find("has overflowed its stack") != std::string::npos) {
    *why = input.abort_message_field + " says the thread overflowed its stack";
    *from_message = true;
    return true;
  }
  return false;
}

}  // namespace

std::string clean_abort_message(std::string_view message) {
  std::string_view s = message;
  constexpr std::string_view kGeckoPrefix = "###!!! ABORT: ";
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  if (s.substr(0, kGeckoPrefix.size()) == kGeckoPrefix) s.remove_prefix(kGeckoPrefix.size());
  // Gecko appends ": file <path>:<line>" (or ", file <path>, line <n>"): where, not what.
  size_t loc = std::min(s.rfind(": file "), s.rfind(", file "));
  if (loc != std::string_view::npos && loc > 0) s = s.substr(0, loc);

  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool word_start = i == 0 || !is_ident_char(s[i - 1]);
    if (word_start && s[i] == '0' && i + 2 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X') && hex_digit_value(s[i + 2]) >= 0) {
      size_t j = i + 2;
      while (j < s.size() && hex_digit_value(s[j]) >= 0) ++j;
      out += "0xN";
      i = j;
    } else if (word_start && s[i] >= '0' && s[i] <= '9') {
      size_t j = i;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j < s.size() && is_ident_char(s[j])) {
        out.append(s.substr(i, j - i));  // part of a word: "64bit", "3rd"
      } else {
        out += 'N';
      }
      i = j;
    } else {
      out += s[i++];
    }
  }
  return cut(fix_whitespace(out), kMaxAbortMessage);
}

std::string truncate_signature(std::string signature) { return cut(std::move(signature), kMaxSignatureLength); }

SignatureGenerator::SignatureGenerator(SignatureLists lists, SignatureOptions options)
    : lists_(std::move(lists)), options_(options) {
  if (options_.max_frames == 0) options_.max_frames = 1;
}

SignatureGenerator SignatureGenerator::builtin() { return SignatureGenerator(SignatureLists::builtin()); }

SignatureGenerator SignatureGenerator::from_config(const Config& config) {
  SignatureLists::Paths paths;
  paths.dir = config.get_string("signature", "lists_dir");
  paths.irrelevant = config.get_string("signature", "irrelevant_list");
  paths.prefix = config.get_string("signature", "prefix_list");
  paths.sentinels = config.get_string("signature", "sentinels_list");
  paths.oom = config.get_string("signature", "oom_list");
  SignatureOptions options;
  options.oom_small_limit = config.get_size("signature", "oom_small_limit");
  int64_t max_frames = config.get_int("signature", "max_frames");
  if (max_frames < 1 || max_frames > 1000) throw ConfigError("signature.max_frames must be between 1 and 1000");
  options.max_frames = static_cast<size_t>(max_frames);
  return SignatureGenerator(SignatureLists::load(paths), options);
}

SignatureResult SignatureGenerator::generate(const nlohmann::json& crash) const {
  std::string error;
  auto input = input_from_json(crash, &error);
  if (!input) {
    SignatureResult result;
    result.signature = std::string(kNoThread);
    result.debug.push_back("not a crash: " + error);
    return result;
  }
  return generate(*input);
}

SignatureResult SignatureGenerator::generate(const SignatureInput& input) const {
  SignatureResult result;
  std::vector<std::string>& debug = result.debug;
  for (const auto& note : input.notes) debug.push_back("input: " + note);

  // Normalize the frames considered.
  size_t count = std::min(input.frames.size(), options_.max_frames);
  std::vector<NormalizedFrame> frames;
  frames.reserve(count);
  for (size_t i = 0; i < count; ++i) frames.push_back(normalize_frame(input.frames[i]));
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i > 0) result.proto_signature += " | ";
    result.proto_signature += frames[i].text;
  }
  if (input.frames.size() > count) {
    debug.push_back("considering the first " + std::to_string(count) + " of " + std::to_string(input.frames.size()) +
                    " frames");
  }

  // The walk.
  std::string signature;
  if (!input.crashing_thread_known) {
    signature = kNoThread;
    debug.push_back("no crashing thread identified: " + signature);
  } else if (frames.empty()) {
    signature = kNoFrames;
    debug.push_back("the crashing thread has no frames: " + signature);
  } else {
    size_t start = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      if (const auto* hit = lists_.sentinels.first_match(frames[i].text)) {
        start = i;
        debug.push_back("sentinel: starting at " + frame_label(input.frames[i]) + " " + in_quotes(frames[i].text) + " (" +
                        where(*hit) + ")");
        break;
      }
    }
    std::vector<size_t> kept;  // indexes into frames
    for (size_t i = start; i < frames.size(); ++i) {
      const NormalizedFrame& f = frames[i];
      std::string label = frame_label(input.frames[i]) + " " + in_quotes(f.text);
      if (const auto* hit = lists_.irrelevant.first_match(f.text)) {
        debug.push_back(label + ": irrelevant, skipped (" + where(*hit) + ")");
        continue;
      }
      if (f.kind == FrameKind::kModule && !kept.empty()) {
        const NormalizedFrame& prev = frames[kept.back()];
        if (prev.kind == FrameKind::kModule && prev.module == f.module) {
          debug.push_back(label + ": same unsymbolized module as the previous kept frame, collapsed into it");
          continue;
        }
      }
      kept.push_back(i);
      if (const auto* hit = lists_.prefix.first_match(f.text)) {
        debug.push_back(label + ": prefix, kept, continuing (" + where(*hit) + ")");
        continue;
      }
      debug.push_back(label + ": kept; not irrelevant and not a prefix, so the walk stops here");
      break;
    }
    if (kept.empty()) {
      signature = frames[start].text;
      debug.push_back("every frame was irrelevant; using the first frame considered, " + in_quotes(signature));
    } else {
      for (size_t k = 0; k < kept.size(); ++k) {
        const NormalizedFrame& f = frames[kept[k]];
        if (k > 0) signature += " | ";
        // A module the walk went past is named without its offset: the frames after it identify
        // the crash, and its offsets change with every build of that module (drivers, system DLLs).
        // The last entry keeps its offset so unrelated crashes in one module stay apart.
        if (f.kind == FrameKind::kModule && k + 1 < kept.size()) {
          signature += f.module;
        } else {
          signature += f.text;
        }
      }
    }
  }
  if (signature.rfind("EMPTY: ", 0) == 0 && !input.stackwalk_status.empty() && input.stackwalk_status != "OK") {
    signature += "; " + input.stackwalk_status;
    debug.push_back("stack walk status " + in_quotes(input.stackwalk_status) + " appended to the empty signature");
  }

  // Special forms, innermost first.
  std::string why;
  bool overflow_message = false;  // the abort message only says "stack overflow": not repeated
  if (is_stack_overflow(input, &why, &overflow_message)) {
    signature = "stackoverflow | " + signature;
    debug.push_back("stack overflow (" + why + "): prefixed \"stackoverflow\"");
  }
  if (input.hang) {
    signature = "hang | " + signature;
    debug.push_back("hang (" + input.hang_field + "): prefixed \"hang\"");
  }
  const PatternList::Entry* oom_frame = nullptr;
  size_t oom_index = 0;
  for (size_t i = 0; i < frames.size() && oom_frame == nullptr; ++i) {
    oom_frame = lists_.oom.first_match(frames[i].text);
    oom_index = i;
  }
  if (input.oom_allocation_size) {
    uint64_t size = *input.oom_allocation_size;
    if (size <= options_.oom_small_limit) {
      signature = "OOM | small";
      debug.push_back("out of memory allocating " + std::to_string(size) + " bytes (at most " +
                      std::to_string(options_.oom_small_limit) + "): \"OOM | small\"");
    } else {
      signature = "OOM | large | " + signature;
      debug.push_back("out of memory allocating " + std::to_string(size) + " bytes (more than " +
                      std::to_string(options_.oom_small_limit) + "): prefixed \"OOM | large\"");
    }
  } else if (oom_frame != nullptr) {
    signature = "OOM | unknown | " + signature;
    debug.push_back("out of memory, size unknown: " + frame_label(input.frames[oom_index]) + " " +
                    in_quotes(frames[oom_index].text) + " (" + where(*oom_frame) + "): prefixed \"OOM | unknown\"");
  } else if (!input.abort_message.empty() && !overflow_message) {
    std::string message = clean_abort_message(input.abort_message);
    if (!message.empty()) {
      signature = "Abort | " + message + " | " + signature;
      debug.push_back("abort message from " + input.abort_message_field + ": prefixed " + in_quotes("Abort | " + message));
    }
  }
  if (!input.ipc_channel_error.empty()) {
    std::string process = input.browser_dump ? "browser" : "content";
    std::string replaced = "IPCError-" + process + " | " + cut(fix_whitespace(input.ipc_channel_error), kMaxIpcError);
    debug.push_back("IPC channel error (" + process + " dump " + (input.browser_dump ? "present" : "absent") +
                    "): " + in_quotes(replaced) + " replaces " + in_quotes(signature));
    signature = std::move(replaced);
  }

  signature = fix_whitespace(signature);
  if (signature.empty()) {  // only reachable through frames whose every character was whitespace
    signature = kNoFrames;
    debug.push_back("the signature was blank: " + signature);
  }
  if (signature.size() > kMaxSignatureLength) {
    debug.push_back("signature of " + std::to_string(signature.size()) + " characters cut to " +
                    std::to_string(kMaxSignatureLength));
    signature = truncate_signature(std::move(signature));
  }
  result.signature = std::move(signature);
  return result;
}

}  // namespace bw::signature
