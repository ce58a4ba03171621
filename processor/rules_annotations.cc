// annotations: the raw crash's annotations turned into typed processed fields, and which of them
// are protected.
#include <charconv>

#include "core/ascii.h"
#include "core/client_annotations.h"
#include "processor/rules.h"

namespace bw::processor {

using nlohmann::json;

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
