#include "web/public_data.h"

#include "core/config.h"
#include "index/fields.h"
#include "processor/rules.h"

namespace bw::web {

const std::vector<std::string>& default_public_annotations() {
  static const std::vector<std::string> names = {
      // Product identity (Breakpad and Crashpad spellings).
      "ProductName", "Version", "ReleaseChannel", "BuildID", "ProcessType", "prod", "ver", "ptype", "plat",
      "channel", "_productName", "_version", "process_type", "ProductID", "Vendor",
      // Times.
      "CrashTime", "StartupTime", "InstallTime",
      // How the crash happened.
      "Throttleable", "SafeMode", "Hang", "MozCrashReason", "AbortMessage", "OOMAllocationSize", "Notes",
      // Locale and hardware.
      "useragent_locale", "AdapterVendorID", "AdapterDeviceID", "Android_Model", "Android_Version",
      "TotalPhysicalMemory", "AvailablePhysicalMemory",
  };
  return names;
}

PublicData::PublicData(const std::vector<std::string>& extra_public_annotations) {
  for (const auto& n : default_public_annotations()) public_annotations_.insert(n);
  for (const auto& n : extra_public_annotations) {
    if (!n.empty()) public_annotations_.insert(n);
  }
}

PublicData PublicData::from_config(const Config& config) {
  return PublicData(config.get_string_list("web", "public_annotations"));
}

bool PublicData::is_public_annotation(std::string_view name) const { return public_annotations_.contains(name); }

bool PublicData::is_collector_field(std::string_view name) {
  return name == "uuid" || name == "submitted_timestamp" || name == "version" || name == "metadata";
}

nlohmann::json PublicData::public_raw_crash(const nlohmann::json& raw_crash) const {
  nlohmann::json out = nlohmann::json::object();
  if (!raw_crash.is_object()) return out;
  for (const auto& [key, value] : raw_crash.items()) {
    if (is_collector_field(key) || is_public_annotation(key)) out[key] = value;
  }
  return out;
}

nlohmann::json PublicData::public_processed_crash(const nlohmann::json& processed) const {
  nlohmann::json out = nlohmann::json::object();
  if (!processed.is_object()) return out;
  for (const auto& [key, value] : processed.items()) {
    if (processor::is_protected_field(key)) continue;
    out[key] = key == "raw_crash" ? public_raw_crash(value) : value;
  }
  return out;
}

nlohmann::json PublicData::raw_crash_for(const nlohmann::json& raw_crash, const Permissions& permissions) const {
  if (!permissions.contains(kViewPiiPermission)) return public_raw_crash(raw_crash);
  return raw_crash.is_object() ? raw_crash : nlohmann::json::object();
}

nlohmann::json PublicData::processed_crash_for(const nlohmann::json& processed, const Permissions& permissions) const {
  if (!permissions.contains(kViewPiiPermission)) return public_processed_crash(processed);
  return processed.is_object() ? processed : nlohmann::json::object();
}

bool PublicData::may_download_dumps(const Permissions& permissions) {
  return permissions.contains(kViewRawdumpPermission);
}

std::optional<std::string> PublicData::missing_for_unredacted(const index::FieldCatalogue& fields,
                                                              const Permissions& permissions) {
  // Every field's permission, in catalogue order, so the answer names the same one each time.
  for (const auto& field : fields.all()) {
    if (!field.permission.empty() && !permissions.contains(field.permission)) return field.permission;
  }
  return std::nullopt;
}

}  // namespace bw::web
