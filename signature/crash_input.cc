#include "signature/crash_input.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <zlib.h>

#include "core/ascii.h"

namespace bw::signature {
namespace {

using nlohmann::json;

// Signatures use the top few dozen frames; reading more of a hostile 100 000-frame thread would
// only cost memory.
constexpr size_t kMaxFramesRead = 1024;

const json* member(const json* obj, const char* key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() || it->is_null() ? nullptr : &*it;
}

// Where crash fields may live in a processed crash: top level, then the raw crash, then a plain
// annotations object.
std::array<const json*, 3> field_scopes(const json* processed) {
  const json* raw = member(processed, "raw_crash");
  return {processed, raw, member(processed, "annotations")};
}

const json* find_field(const json* processed, std::initializer_list<const char*> names, std::string* found_as) {
  for (const json* scope : field_scopes(processed)) {
    for (const char* name : names) {
      if (const json* v = member(scope, name)) {
        if (found_as) *found_as = name;
        return v;
      }
    }
  }
  return nullptr;
}

std::optional<std::string> as_string(const json* v, const char* what, std::vector<std::string>& notes) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  notes.push_back(std::string(what) + " is not a string; ignored");
  return std::nullopt;
}

std::optional<uint64_t> as_unsigned(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) {
    int64_t n = v->get<int64_t>();
    if (n >= 0) return static_cast<uint64_t>(n);
    return std::nullopt;
  }
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (s.empty() || s.size() > 20) return std::nullopt;
    uint64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      uint64_t digit = static_cast<uint64_t>(c - '0');
      if (n > (UINT64_MAX - digit) / 10) return std::nullopt;
      n = n * 10 + digit;
    }
    return n;
  }
  return std::nullopt;
}

std::optional<uint64_t> as_offset(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return parse_hex(v->get_ref<const std::string&>());
  if (v->is_number_unsigned() || v->is_number_integer()) return as_unsigned(v);
  return std::nullopt;
}

bool truthy(const json* v) {
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer()) return v->get<int64_t>() != 0;
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    return !s.empty() && s != "0" && s != "false" && s != "False" && s != "no";
  }
  return false;
}

bool list_contains(const json* v, std::string_view wanted) {
  if (v == nullptr || !v->is_array()) return false;
  for (const auto& item : *v) {
    if (item.is_string() && item.get_ref<const std::string&>() == wanted) return true;
  }
  return false;
}

// One frame of rust-minidump JSON, with its inlined callees first.
void read_frame(const json& f, int index, std::vector<Frame>& out, std::vector<std::string>& notes) {
  std::string where = "frame " + std::to_string(index);
  if (!f.is_object()) {
    notes.push_back(where + " is not an object; skipped");
    return;
  }
  Frame frame;
  frame.index = index;
  frame.function = as_string(member(&f, "function"), (where + " function").c_str(), notes).value_or("");
  frame.module = as_string(member(&f, "module"), (where + " module").c_str(), notes).value_or("");
  frame.file = as_string(member(&f, "file"), (where + " file").c_str(), notes).value_or("");
  frame.line = as_unsigned(member(&f, "line"));
  frame.module_offset = as_offset(member(&f, "module_offset"));
  frame.offset = as_offset(member(&f, "offset"));
  if (member(&f, "module_offset") && !frame.module_offset) notes.push_back(where + " module_offset is not a hex offset; ignored");
  if (member(&f, "offset") && !frame.offset) notes.push_back(where + " offset is not a hex offset; ignored");

  if (const json* inlines = member(&f, "inlines")) {
    if (!inlines->is_array()) {
      notes.push_back(where + " inlines is not a list; ignored");
    } else {
      for (const auto& in : *inlines) {
        if (out.size() >= kMaxFramesRead) return;
        if (!in.is_object()) {
          notes.push_back(where + " has an inline that is not an object; skipped");
          continue;
        }
        Frame inl;
        inl.index = index;
        inl.inlined = true;
        inl.function = as_string(member(&in, "function"), (where + " inline function").c_str(), notes).value_or("");
        inl.file = as_string(member(&in, "file"), (where + " inline file").c_str(), notes).value_or("");
        inl.line = as_unsigned(member(&in, "line"));
        inl.module = frame.module;
        inl.module_offset = frame.module_offset;
        inl.offset = frame.offset;
        out.push_back(std::move(inl));
      }
    }
  }
  if (out.size() < kMaxFramesRead) out.push_back(std::move(frame));
}

void read_thread(const json& thread, SignatureInput& input) {
  const json* frames = member(&thread, "frames");
  input.crashing_thread_known = true;
  if (frames == nullptr) return;
  if (!frames->is_array()) {
    input.notes.push_back("crashing thread frames is not a list; ignored");
    return;
  }
  int index = 0;
  for (const auto& f : *frames) {
    if (input.frames.size() >= kMaxFramesRead) {
      input.notes.push_back("crashing thread has more than " + std::to_string(kMaxFramesRead) + " frames; read the first ones");
      break;
    }
    const json* number = member(&f, "frame");
    auto n = as_unsigned(number);
    read_frame(f, n && *n < 1000000 ? static_cast<int>(*n) : index, input.frames, input.notes);
    ++index;
  }
}

const json* thread_at(const json* dump, const json* index_value, std::vector<std::string>* notes, const char* what) {
  if (index_value == nullptr) return nullptr;
  auto index = as_unsigned(index_value);
  const json* threads = member(dump, "threads");
  if (!index || threads == nullptr || !threads->is_array() || *index >= threads->size()) {
    if (notes) notes->push_back(std::string(what) + " does not name a thread in json_dump.threads; ignored");
    return nullptr;
  }
  return &(*threads)[static_cast<size_t>(*index)];
}

}  // namespace

const json* find_crashing_thread(const json& dump, const json* processed, std::vector<std::string>* notes) {
  const json* crash_info = member(&dump, "crash_info");
  const json* ct = member(&dump, "crashing_thread");
  if (ct != nullptr && !ct->is_object()) {
    if (notes) notes->push_back("json_dump.crashing_thread is not an object; ignored");
    ct = nullptr;
  }
  if (ct == nullptr) ct = thread_at(&dump, member(crash_info, "crashing_thread"), notes, "json_dump.crash_info.crashing_thread");
  if (ct == nullptr && processed != nullptr) {
    ct = thread_at(&dump, member(processed, "crashing_thread"), notes, "crashing_thread");
  }
  return ct;
}

std::optional<json> load_crash_file(const std::filesystem::path& path, std::string* error, size_t max_bytes) {
  // gzread reads gzip'd and plain files alike.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) {
    if (error) *error = "cannot open: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  std::string text;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(file.get(), buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      const char* msg = gzerror(file.get(), &code);
      if (error) *error = std::string("cannot read: ") + (code == Z_ERRNO ? std::strerror(errno) : msg);
      return std::nullopt;
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > max_bytes) {
      if (error) *error = "larger than " + std::to_string(max_bytes) + " bytes";
      return std::nullopt;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    if (error) *error = "not valid JSON";
    return std::nullopt;
  }
  return doc;
}

std::optional<uint64_t> parse_hex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty()) return std::nullopt;
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  if (text.size() > 16) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    int digit = hex_digit_value(c);
    if (digit < 0) return std::nullopt;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  return value;
}

std::optional<SignatureInput> input_from_json(const json& doc, std::string* error) {
  if (!doc.is_object()) {
    if (error) *error = "not a JSON object";
    return std::nullopt;
  }
  const json* processed = nullptr;
  const json* dump = nullptr;
  if (const json* jd = member(&doc, "json_dump")) {
    if (!jd->is_object()) {
      if (error) *error = "json_dump is not an object";
      return std::nullopt;
    }
    processed = &doc;
    dump = jd;
  } else if (member(&doc, "crashing_thread") || member(&doc, "threads") || member(&doc, "crash_info")) {
    dump = &doc;
  } else {
    if (error) *error = "neither a processed crash (no json_dump) nor a stack-walker document (no crashing_thread, threads or crash_info)";
    return std::nullopt;
  }

  SignatureInput input;
  std::vector<std::string>& notes = input.notes;
  const json* crash_info = member(dump, "crash_info");

  // The crashing thread.
  const json* ct = find_crashing_thread(*dump, processed, &notes);
  if (ct != nullptr) {
    if (ct->is_object()) {
      read_thread(*ct, input);
    } else {
      notes.push_back("the crashing thread is not an object; ignored");
    }
  }

  // Crash fields.
  std::string field;
  if (auto reason = as_string(find_field(processed, {"reason"}, nullptr), "reason", notes)) {
    input.reason = *reason;
  } else if (auto type = as_string(member(crash_info, "type"), "json_dump.crash_info.type", notes)) {
    input.reason = *type;
  }
  if (const json* v = find_field(processed, {"oom_allocation_size", "OOMAllocationSize"}, &field)) {
    input.oom_allocation_size = as_unsigned(v);
    if (!input.oom_allocation_size) notes.push_back(field + " is not a non-negative integer; ignored");
  }
  for (auto names : {std::initializer_list<const char*>{"abort_message", "AbortMessage"},
                     std::initializer_list<const char*>{"moz_crash_reason", "MozCrashReason"}}) {
    if (!input.abort_message.empty()) break;
    if (const json* v = find_field(processed, names, &field)) {
      if (auto s = as_string(v, field.c_str(), notes); s && !s->empty()) {
        input.abort_message = *s;
        input.abort_message_field = field;
      }
    }
  }
  if (auto ipc = as_string(find_field(processed, {"ipc_channel_error"}, &field), "ipc_channel_error", notes)) {
    input.ipc_channel_error = *ipc;
  }
  if (const json* v = find_field(processed, {"hang_type", "Hang"}, &field); truthy(v)) {
    input.hang = true;
    input.hang_field = field;
  }
  input.browser_dump = list_contains(find_field(processed, {"additional_minidumps"}, nullptr), "browser") ||
                       list_contains(find_field(processed, {"dump_names"}, nullptr), "upload_file_minidump_browser");
  if (auto status = as_string(find_field(processed, {"mdsw_status_string"}, nullptr), "mdsw_status_string", notes)) {
    input.stackwalk_status = *status;
  } else if (auto st = as_string(member(dump, "status"), "json_dump.status", notes)) {
    input.stackwalk_status = *st;
  }
  return input;
}

}  // namespace bw::signature
