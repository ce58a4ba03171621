// cleanup: the raw crash made safe (valid keys, no NULs) and the processed crash's first fields.
#include <algorithm>
#include <set>

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

}  // namespace bw::processor
