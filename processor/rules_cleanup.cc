// cleanup and annotations: the raw crash made safe, then annotations turned into typed fields.
#include <algorithm>
#include <charconv>
#include <set>

#include "core/ascii.h"
#include "core/client_annotations.h"
#include "processor/rules.h"

namespace bw::processor {
namespace {

using nlohmann::json;

// Annotation names as real clients send them: letters, digits, '_', '.', '-' (Firefox's "Add-ons").
bool is_valid_key(const std::string& key) {
  if (key.empty() || key.size() > 128) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// Removes NUL characters from every string in `value`, counting them.
void strip_nuls(json& value, size_t& removed) {
  if (value.is_string()) {
    auto& s = value.get_ref<std::string&>();
    auto end = std::remove(s.begin(), s.end(), '\0');
    removed += static_cast<size_t>(s.end() - end);
    s.erase(end, s.end());
  } else if (value.is_array()) {
    for (auto& v : value) strip_nuls(v, removed);
  } else if (value.is_object()) {
    // Nested keys (a JSON annotation such as Firefox's StackTraces) are rebuilt without NULs.
    json clean = json::object();
    for (auto& [k, v] : value.items()) {
      std::string key = k;
      auto end = std::remove(key.begin(), key.end(), '\0');
      removed += static_cast<size_t>(key.end() - end);
      key.erase(end, key.end());
      strip_nuls(v, removed);
      clean[key] = std::move(v);
    }
    value = std::move(clean);
  }
}

constexpr std::string_view kMainDump = "upload_file_minidump";

}  // namespace

void CleanupRule::action(ProcessingContext& context) {
  json& raw = context.raw_crash;
  if (!raw.is_object()) {
    context.note("raw crash is not a JSON object; treated as empty");
    raw = json::object();
  }
  size_t nuls = 0;
  json clean = json::object();
  std::vector<std::string> dropped;
  for (auto& [key, value] : raw.items()) {
    std::string k = key;
    k.erase(std::remove(k.begin(), k.end(), '\0'), k.end());
    if (k.size() != key.size()) ++nuls;
    if (!is_valid_key(k)) {
      dropped.push_back(k.substr(0, 40));
      continue;
    }
    strip_nuls(value, nuls);
    clean[k] = std::move(value);
  }
  raw = std::move(clean);
  if (nuls > 0) context.note("removed " + std::to_string(nuls) + " NUL characters from the raw crash");
  for (const auto& k : dropped) context.note("dropped invalid annotation key '" + k + "'");

  json& p = context.processed;
  p["uuid"] = context.id.str();
  if (auto it = raw.find("uuid"); it != raw.end() && (!it->is_string() || it->get<std::string>() != context.id.str())) {
    context.note("raw crash uuid does not match the crash id; the crash id is kept");
  }
  std::set<std::string> keys;
  for (auto& [key, value] : raw.items()) keys.insert(key);
  for (const auto& [name, path] : context.dumps) keys.insert(name);
  p["crash_report_keys"] = std::vector<std::string>(keys.begin(), keys.end());
  if (auto it = raw.find("metadata"); it != raw.end() && it->is_object()) p["metadata"] = *it;
  if (auto it = raw.find("submitted_timestamp"); it != raw.end() && it->is_string()) p["submitted_timestamp"] = *it;

  std::set<std::string> additional;
  for (const auto& [name, path] : context.dumps) {
    if (name.size() > kMainDump.size() && name.starts_with(std::string(kMainDump) + "_")) {
      additional.insert(name.substr(kMainDump.size() + 1));
    } else if (name != kMainDump) {
      additional.insert(name);
    }
  }
  p["additional_minidumps"] = std::vector<std::string>(additional.begin(), additional.end());
}

const std::vector<AnnotationField>& annotation_fields() {
  using T = FieldType;
  static const std::vector<AnnotationField> fields = {
      {"product", client_annotations::product(), T::kString, false},
      {"version", client_annotations::version(), T::kString, false},
      {"release_channel", client_annotations::release_channel(), T::kString, false},
      {"build_id", {"BuildID"}, T::kString, false},
      {"product_id", {"ProductID"}, T::kString, false},
      {"vendor", {"Vendor"}, T::kString, false},
      {"process_type", client_annotations::process_type(), T::kString, false},
      {"app_notes", {"Notes"}, T::kString, false},
      {"useragent_locale", {"useragent_locale"}, T::kString, false},
      {"install_time", {"InstallTime"}, T::kInteger, false},
      {"startup_time", {"StartupTime"}, T::kInteger, false},
      {"last_crash", {"SecondsSinceLastCrash"}, T::kInteger, false},
      {"safe_mode", {"SafeMode"}, T::kBoolean, false},
      {"throttleable", {"Throttleable"}, T::kBoolean, false},
      {"hang_type", {"Hang"}, T::kInteger, false},
      {"moz_crash_reason", {"MozCrashReason"}, T::kString, false},
      {"abort_message", {"AbortMessage"}, T::kString, false},
      {"oom_allocation_size", {"OOMAllocationSize"}, T::kInteger, false},
      {"ipc_channel_error", {"ipc_channel_error"}, T::kString, false},
      {"adapter_vendor_id", {"AdapterVendorID"}, T::kString, false},
      {"adapter_device_id", {"AdapterDeviceID"}, T::kString, false},
      {"android_model", {"Android_Model"}, T::kString, false},
      {"android_version", {"Android_Version"}, T::kString, false},
      {"total_physical_memory", {"TotalPhysicalMemory"}, T::kInteger, false},
      {"available_physical_memory", {"AvailablePhysicalMemory"}, T::kInteger, false},
      {"url", {"URL"}, T::kString, true},
      {"user_comments", {"Comments"}, T::kString, true},
      {"email", {"Email"}, T::kString, true},
  };
  return fields;
}

bool is_protected_field(std::string_view field) {
  for (const auto& f : annotation_fields()) {
    if (f.is_protected && field == f.field) return true;
  }
  return false;
}

namespace {

std::optional<int64_t> to_integer(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  // Trim surrounding blanks clients sometimes send.
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) return std::nullopt;
  std::string_view t(s.data() + b, e - b + 1);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (ec != std::errc() || ptr != t.data() + t.size()) {
    // "1609962905.123": whole seconds are what the field keeps.
    double d = 0;
    auto [p2, ec2] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (ec2 != std::errc() || p2 != t.data() + t.size() || !(d > -9.2e18 && d < 9.2e18)) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return out;
}

std::optional<bool> to_boolean(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>() != 0;
  if (!v.is_string()) return std::nullopt;
  std::string s = ascii_lowered(v.get<std::string>());
  if (s == "1" || s == "true" || s == "yes") return true;
  if (s == "0" || s == "false" || s == "no" || s.empty()) return false;
  return std::nullopt;
}

}  // namespace

void AnnotationsRule::action(ProcessingContext& context) {
  const json& raw = context.raw_crash;
  json& p = context.processed;
  for (const auto& f : annotation_fields()) {
    auto it = raw.end();
    const std::string* annotation = nullptr;
    for (const auto& name : f.annotations) {
      it = raw.find(name);
      if (it != raw.end() && !it->is_null()) {
        annotation = &name;
        break;
      }
    }
    if (!annotation) continue;
    const json& v = *it;
    switch (f.type) {
      case FieldType::kString:
        if (v.is_string()) {
          p[f.field] = v;
        } else if (v.is_number() || v.is_boolean()) {
          p[f.field] = v.dump();
        } else {
          context.note("annotation " + *annotation + " is not text; " + f.field + " left out");
        }
        break;
      case FieldType::kInteger:
        if (auto n = to_integer(v)) {
          p[f.field] = *n;
        } else {
          context.note("annotation " + *annotation + " is not an integer; " + f.field + " left out");
        }
        break;
      case FieldType::kBoolean:
        if (auto b = to_boolean(v)) {
          p[f.field] = *b;
        } else {
          context.note("annotation " + *annotation + " is not a boolean; " + f.field + " left out");
        }
        break;
    }
  }
  // Breakpad and Crashpad clients leave ProcessType out for the main process.
  if (!p.contains("process_type")) p["process_type"] = "parent";
}

}  // namespace bw::processor
