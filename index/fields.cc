#include "index/fields.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <utility>

#include "core/ascii.h"
#include "core/client_annotations.h"
#include "core/crash_id.h"

namespace bw::index {
namespace {

using json = nlohmann::json;

struct Builtin {
  const char* name;
  FieldType type;
  bool is_list;
  const char* column;  // "" = JSON document
  std::vector<std::string> processed;
  std::vector<std::string> raw;
  const char* permission;
  const char* description;
};

// The built-in fields. Columns must match index/migrations/*/ (the SQLite test checks it).
// Raw sources list every client convention (core/client_annotations.h).
const std::vector<Builtin>& builtins() {
  using T = FieldType;
  static const std::vector<Builtin> list = {
      {"uuid", T::kString, false, "uuid", {"uuid"}, {}, "", "the crash id"},
      {"date", T::kDate, false, "date", {"date_processed"}, {}, "", "when the crash was received (date_processed)"},
      {"product", T::kEnum, false, "product", {"product"}, client_annotations::product(), "", "product name"},
      {"version", T::kString, false, "version", {"version"}, client_annotations::version(), "", "product version"},
      {"release_channel", T::kEnum, false, "release_channel", {"release_channel"}, client_annotations::release_channel(), "", "release channel"},
      {"build_id", T::kInteger, false, "build_id", {"build_id"}, {"BuildID"}, "", "build id (YYYYMMDDhhmmss)"},
      {"platform", T::kEnum, false, "platform", {"os_name", "json_dump.system_info.os"}, {}, "", "operating system name"},
      {"platform_version", T::kString, false, "platform_version", {"os_version", "json_dump.system_info.os_ver"}, {}, "", "operating system version"},
      {"cpu_arch", T::kEnum, false, "cpu_arch", {"cpu_arch", "json_dump.system_info.cpu_arch"}, {}, "", "CPU architecture"},
      {"cpu_count", T::kInteger, false, "cpu_count", {"cpu_count", "json_dump.system_info.cpu_count"}, {}, "", "number of CPUs"},
      {"process_type", T::kEnum, false, "process_type", {"process_type"}, client_annotations::process_type(), "", "type of the crashing process (parent, content, gpu...)"},
      {"signature", T::kString, false, "signature", {"signature"}, {}, "", "crash signature"},
      {"proto_signature", T::kString, false, "", {"proto_signature"}, {}, "", "every normalized frame considered for the signature"},
      {"reason", T::kString, false, "reason", {"reason"}, {}, "", "crash reason (signal or exception)"},
      {"address", T::kString, false, "address", {"address"}, {}, "", "crash address"},
      {"crashing_thread", T::kInteger, false, "crashing_thread", {"crashing_thread"}, {}, "", "index of the crashing thread"},
      {"moz_crash_reason", T::kString, false, "", {"moz_crash_reason"}, {}, "", "MOZ_CRASH reason"},
      {"abort_message", T::kString, false, "", {"abort_message"}, {}, "", "abort message"},
      {"uptime", T::kInteger, false, "uptime", {"uptime"}, {}, "", "seconds the process ran before crashing"},
      {"install_age", T::kInteger, false, "install_age", {"install_age"}, {}, "", "seconds since the installation"},
      {"install_time", T::kInteger, false, "", {"install_time"}, {"InstallTime"}, "", "installation time (epoch seconds)"},
      {"success", T::kBoolean, false, "success", {"success"}, {}, "", "processing succeeded"},
      {"has_missing_symbols", T::kBoolean, false, "has_missing_symbols", {"missing_symbols"}, {}, "", "some frame lacked symbols"},
      {"missing_symbols", T::kString, true, "", {"missing_symbols"}, {}, "", "modules (debug_file/debug_id) whose symbols were missing"},
      {"modules_in_stack", T::kString, true, "", {"modules_in_stack"}, {}, "", "modules of the crashing thread's frames"},
      {"topmost_filenames", T::kString, true, "", {"topmost_filenames"}, {}, "", "source file of the topmost frame"},
      {"processor_notes", T::kString, true, "", {"processor_notes"}, {}, "", "notes of the last processing"},
      {"mdsw_status_string", T::kEnum, false, "", {"mdsw_status_string"}, {}, "", "stack walk status"},
      {"app_notes", T::kString, false, "", {"app_notes"}, {"Notes"}, "", "application notes"},
      {"oom_allocation_size", T::kInteger, false, "", {"oom_allocation_size"}, {"OOMAllocationSize"}, "", "size of the allocation that failed"},
      {"safe_mode", T::kBoolean, false, "", {"safe_mode"}, {"SafeMode"}, "", "running in safe mode"},
      {"cpu_info", T::kString, false, "", {"cpu_info", "json_dump.system_info.cpu_info"}, {}, "", "CPU description"},
      {"adapter_vendor_id", T::kString, false, "", {"adapter_vendor_id"}, {"AdapterVendorID"}, "", "graphics adapter vendor"},
      {"adapter_device_id", T::kString, false, "", {"adapter_device_id"}, {"AdapterDeviceID"}, "", "graphics adapter device"},
      {"android_model", T::kString, false, "", {"android_model"}, {"Android_Model"}, "", "Android device model"},
      {"useragent_locale", T::kString, false, "", {"useragent_locale"}, {"useragent_locale"}, "", "locale"},
      {"url", T::kString, false, "", {"url"}, {"URL"}, "view_pii", "URL loaded when the crash happened (protected)"},
      {"email", T::kString, false, "", {"email"}, {"Email"}, "view_pii", "reporter's email (protected)"},
      {"user_comments", T::kString, false, "", {"user_comments"}, {"Comments"}, "view_pii", "reporter's comments (protected)"},
  };
  return list;
}

bool valid_annotation_name(std::string_view name) {
  // A leading `_` would read as a Super Search control parameter (_columns, _sort...).
  if (name.empty() || name.size() > 64 || name[0] == '_') return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

// Cuts at most kMaxValueBytes, never inside a UTF-8 sequence.
std::string clip(std::string s) {
  if (s.size() <= kMaxValueBytes) return s;
  size_t n = kMaxValueBytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

json to_int(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || d >= 9.2e18 || d <= -9.2e18) return nullptr;
    return static_cast<int64_t>(d);  // truncated, as the processor does
  }
  if (v.is_string()) {
    std::string t = trim(v.get_ref<const std::string&>());
    if (auto i = parse_int(t)) return *i;
    size_t dot = t.find('.');
    if (dot != std::string::npos && dot > 0) {
      auto whole = parse_int(std::string_view(t).substr(0, dot));
      std::string_view frac = std::string_view(t).substr(dot + 1);
      bool digits = !frac.empty();
      for (char c : frac) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (whole && digits) return *whole;
    }
  }
  return nullptr;
}

json to_float(const json& v) {
  if (v.is_number()) {
    double d = v.get<double>();
    return std::isfinite(d) ? json(d) : json(nullptr);
  }
  if (v.is_string()) {
    std::string t = trim(v.get_ref<const std::string&>());
    double d = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (ec == std::errc() && p == t.data() + t.size() && !t.empty() && std::isfinite(d)) return d;
  }
  return nullptr;
}

json to_bool(const json& v) {
  if (v.is_boolean()) return v;
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i == 0 || i == 1) return i == 1;
    return nullptr;
  }
  if (v.is_array()) return !v.empty();  // a list field read as "has any" (has_missing_symbols)
  if (v.is_string()) {
    std::string t = ascii_lowered(trim(v.get_ref<const std::string&>()));
    if (t == "1" || t == "true" || t == "yes") return true;
    if (t == "0" || t == "false" || t == "no") return false;
  }
  return nullptr;
}

json to_string_value(const json& v) {
  if (v.is_string()) return clip(v.get<std::string>());
  if (v.is_number_integer() || v.is_number_float() || v.is_boolean()) return v.dump();
  return nullptr;
}

json to_date(const json& v) {
  if (v.is_string()) {
    if (auto us = parse_date_us(v.get_ref<const std::string&>())) return *us;
    if (auto i = parse_int(trim(v.get_ref<const std::string&>()))) return *i * 1'000'000;
    return nullptr;
  }
  if (v.is_number_integer()) return v.get<int64_t>() * 1'000'000;  // epoch seconds
  return nullptr;
}

// Follows a dotted path through objects.
const json* lookup(const json& root, std::string_view path) {
  const json* cur = &root;
  while (true) {
    if (!cur->is_object()) return nullptr;
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string_view::npos) return cur;
    path.remove_prefix(dot + 1);
  }
}

int two_digits(std::string_view s, size_t at) {
  if (at + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[at])) ||
      !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
    return -1;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

}  // namespace

std::string_view to_string(FieldType type) {
  switch (type) {
    case FieldType::kString: return "string";
    case FieldType::kEnum: return "enum";
    case FieldType::kInteger: return "integer";
    case FieldType::kFloat: return "float";
    case FieldType::kDate: return "date";
    case FieldType::kBoolean: return "boolean";
  }
  return "?";
}

std::optional<FieldType> parse_field_type(std::string_view text) {
  for (auto t : {FieldType::kString, FieldType::kEnum, FieldType::kInteger, FieldType::kFloat, FieldType::kDate,
                 FieldType::kBoolean}) {
    if (to_string(t) == text) return t;
  }
  return std::nullopt;
}

std::string_view to_string(Op op) {
  switch (op) {
    case Op::kDefault: return "";
    case Op::kEquals: return "=";
    case Op::kContains: return "~";
    case Op::kStartsWith: return "^";
    case Op::kEndsWith: return "$";
    case Op::kRegex: return "@";
    case Op::kGreater: return ">";
    case Op::kLess: return "<";
    case Op::kGreaterEq: return ">=";
    case Op::kLessEq: return "<=";
    case Op::kNull: return "__null__";
    case Op::kTrue: return "__true__";
  }
  return "?";
}

bool Field::visible_to(const Permissions& permissions) const {
  return permission.empty() || permissions.count(permission) > 0;
}

bool Field::takes(Op op) const {
  if (op == Op::kNull) return true;
  switch (type) {
    case FieldType::kString:
      return op == Op::kDefault || op == Op::kEquals || op == Op::kContains || op == Op::kStartsWith ||
             op == Op::kEndsWith || op == Op::kRegex;
    case FieldType::kEnum:
      return op == Op::kDefault || op == Op::kEquals;
    case FieldType::kInteger:
    case FieldType::kFloat:
    case FieldType::kDate:
      return op == Op::kDefault || op == Op::kEquals || op == Op::kGreater || op == Op::kLess ||
             op == Op::kGreaterEq || op == Op::kLessEq;
    case FieldType::kBoolean:
      return op == Op::kTrue || op == Op::kDefault || op == Op::kEquals;
  }
  return false;
}

FieldCatalogue::FieldCatalogue(std::vector<Field> fields) : fields_(std::move(fields)) {
  for (size_t i = 0; i < fields_.size(); ++i) by_name_.emplace(fields_[i].name, i);
}

const Field* FieldCatalogue::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &fields_[it->second];
}

std::shared_ptr<const FieldCatalogue> FieldCatalogue::builtin() {
  static const std::shared_ptr<const FieldCatalogue> catalogue = with_annotations({});
  return catalogue;
}

std::shared_ptr<const FieldCatalogue> FieldCatalogue::with_annotations(const std::vector<std::string>& declarations) {
  std::vector<Field> fields;
  for (const auto& b : builtins()) {
    Field f;
    f.name = b.name;
    f.type = b.type;
    f.is_list = b.is_list;
    f.column = b.column;
    f.processed_sources = b.processed;
    f.raw_sources = b.raw;
    f.permission = b.permission;
    f.description = b.description;
    fields.push_back(std::move(f));
  }
  for (const auto& decl : declarations) {
    auto bad = [&](const std::string& why) {
      return std::invalid_argument("index.annotations: \"" + decl + "\": " + why +
                                   " (write Name:type or Name:type:public; types string, enum, integer, float, boolean, date)");
    };
    size_t c1 = decl.find(':');
    if (c1 == std::string::npos) throw bad("no type");
    std::string name = decl.substr(0, c1);
    std::string rest = decl.substr(c1 + 1);
    std::string visibility;
    if (size_t c2 = rest.find(':'); c2 != std::string::npos) {
      visibility = rest.substr(c2 + 1);
      rest = rest.substr(0, c2);
    }
    if (!valid_annotation_name(name)) throw bad("the name must be 1-64 characters of A-Z a-z 0-9 _ -, not starting with _");
    auto type = parse_field_type(rest);
    if (!type) throw bad("unknown type \"" + rest + "\"");
    if (!visibility.empty() && visibility != "public") throw bad("the third part can only be \"public\"");
    for (const auto& f : fields) {
      if (f.name == name) throw bad("a field named " + name + " already exists");
    }
    Field f;
    f.name = name;
    f.type = *type;
    f.raw_sources = {name};
    f.permission = visibility == "public" ? "" : std::string(kViewPii);
    f.description = "site annotation " + name;
    fields.push_back(std::move(f));
  }
  return std::shared_ptr<const FieldCatalogue>(new FieldCatalogue(std::move(fields)));
}

json FieldCatalogue::to_json() const {
  json out = json::object();
  for (const auto& f : fields_) {
    bool from_raw = f.processed_sources.empty();
    std::string query_type;
    std::string validation;
    switch (f.type) {
      case FieldType::kString: query_type = "string"; validation = "str"; break;
      case FieldType::kEnum: query_type = "enum"; validation = "enum"; break;
      case FieldType::kInteger: query_type = "number"; validation = "int"; break;
      case FieldType::kFloat: query_type = "number"; validation = "float"; break;
      case FieldType::kDate: query_type = "date"; validation = "datetime"; break;
      case FieldType::kBoolean: query_type = "bool"; validation = "bool"; break;
    }
    json perms = json::array();
    if (!f.permission.empty()) perms.push_back(f.permission);
    out[f.name] = {
        {"name", f.name},
        {"namespace", from_raw ? "raw_crash" : "processed_crash"},
        {"in_database_name", from_raw ? f.raw_sources.front() : f.processed_sources.front()},
        {"query_type", query_type},
        {"data_validation_type", validation},
        {"permissions_needed", perms},
        {"is_exposed", f.exposed},
        {"is_returned", true},
        {"is_mandatory", false},
        {"has_full_version", false},
        {"is_list", f.is_list},
        {"form_field_choices", json::array()},
        {"description", f.description},
    };
  }
  return out;
}

json convert_value(const Field& field, const json& value) {
  if (value.is_null()) return nullptr;
  if (field.is_list) {
    if (!value.is_array()) return nullptr;
    json out = json::array();
    for (const auto& e : value) {
      json s = to_string_value(e);
      if (s.is_string()) out.push_back(std::move(s));
    }
    return out;
  }
  switch (field.type) {
    case FieldType::kString:
    case FieldType::kEnum: return to_string_value(value);
    case FieldType::kInteger: return to_int(value);
    case FieldType::kFloat: return to_float(value);
    case FieldType::kDate: return to_date(value);
    case FieldType::kBoolean: return to_bool(value);
  }
  return nullptr;
}

namespace {

// The modules of json_dump.modules[] whose symbols were missing (CrashRow::missing_modules).
std::vector<CrashRow::MissingModule> missing_modules_of(const json& processed) {
  std::vector<CrashRow::MissingModule> out;
  auto dump = processed.find("json_dump");
  if (dump == processed.end() || !dump->is_object()) return out;
  auto modules = dump->find("modules");
  if (modules == dump->end() || !modules->is_array()) return out;
  auto text = [](const json& m, const char* key) -> std::string {
    auto it = m.find(key);
    if (it == m.end() || !it->is_string()) return {};
    const auto& s = it->get_ref<const std::string&>();
    return s.size() <= kMaxModuleText ? s : std::string();
  };
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& m : *modules) {
    if (out.size() >= kMaxMissingModules) break;
    if (!m.is_object()) continue;
    auto miss = m.find("missing_symbols");
    if (miss == m.end() || !miss->is_boolean() || !miss->get<bool>()) continue;
    CrashRow::MissingModule module{text(m, "debug_file"), text(m, "debug_id"), text(m, "filename"), text(m, "code_id")};
    if (module.debug_file.empty() || module.debug_id.empty()) continue;
    for (char& c : module.debug_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!seen.emplace(module.debug_file, module.debug_id).second) continue;
    out.push_back(std::move(module));
  }
  return out;
}

}  // namespace

CrashRow extract_row(const FieldCatalogue& catalogue, const json& processed, const json& raw) {
  if (!processed.is_object()) throw InvalidCrash("processed crash is not a JSON object");
  CrashRow row;
  auto uuid_it = processed.find("uuid");
  if (uuid_it == processed.end() || !uuid_it->is_string()) throw InvalidCrash("processed crash has no uuid");
  std::string why;
  auto id = CrashId::parse(uuid_it->get_ref<const std::string&>(), &why);
  if (!id) throw InvalidCrash("processed crash uuid \"" + uuid_it->get<std::string>() + "\" is invalid: " + why);
  row.uuid = id->str();

  row.values.reserve(catalogue.all().size());
  row.document = json::object();
  for (const auto& f : catalogue.all()) {
    json v = nullptr;
    for (const auto& path : f.processed_sources) {
      if (const json* found = lookup(processed, path); found && !found->is_null()) {
        v = convert_value(f, *found);
        break;
      }
    }
    if (v.is_null() && raw.is_object()) {
      for (const auto& name : f.raw_sources) {
        auto it = raw.find(name);
        if (it != raw.end() && !it->is_null()) {
          v = convert_value(f, *it);
          if (!v.is_null()) break;
        }
      }
    }
    if (f.name == "uuid") v = row.uuid;  // the validated, normalized form
    if (!f.indexed() && !v.is_null()) row.document[f.name] = v;
    row.values.push_back(std::move(v));
  }

  const Field* date = catalogue.find("date");
  const json& dv = row.values[catalogue.position(*date)];
  if (!dv.is_number_integer()) throw InvalidCrash("processed crash " + row.uuid + " has no parseable date_processed");
  row.date_us = dv.get<int64_t>();
  row.day = floor_div(row.date_us, kMicrosPerDay);

  auto text_of = [&](const char* name) -> std::string {
    const Field* f = catalogue.find(name);
    if (!f) return {};
    const json& v = row.values[catalogue.position(*f)];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    return {};
  };
  row.product = text_of("product");
  row.version = text_of("version");
  row.platform = text_of("platform");
  row.process_type = text_of("process_type");
  row.signature = text_of("signature");
  row.build_id = text_of("build_id");
  row.missing_modules = missing_modules_of(processed);
  return row;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil algorithm.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

}  // namespace

std::string format_day(int64_t days) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string format_date_us(int64_t micros) {
  int64_t days = floor_div(micros, kMicrosPerDay);
  int64_t rest = micros - days * kMicrosPerDay;
  int64_t secs = rest / 1'000'000;
  int64_t frac = rest % 1'000'000;
  char buf[64];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lld+00:00", format_day(days).c_str(),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lld.%06lld+00:00", format_day(days).c_str(),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60), static_cast<long long>(frac));
  }
  return buf;
}

std::optional<int64_t> parse_date_us(std::string_view s, bool* date_only) {
  // YYYY-MM-DD
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0u, 1u, 2u, 3u}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int month = two_digits(s, 5), day = two_digits(s, 8);
  if (month < 1 || day < 1 || !is_valid_civil_date(year, month, day)) return std::nullopt;
  int64_t micros = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * kMicrosPerDay;
  size_t at = 10;
  if (date_only) *date_only = at == s.size();
  if (at == s.size()) return micros;
  if (s[at] != 'T' && s[at] != ' ') return std::nullopt;
  ++at;
  int hh = two_digits(s, at), mm = (at + 2 < s.size() && s[at + 2] == ':') ? two_digits(s, at + 3) : -1;
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return std::nullopt;
  at += 5;
  int ss = 0;
  int64_t frac = 0;
  if (at < s.size() && s[at] == ':') {
    ss = two_digits(s, at + 1);
    if (ss < 0 || ss > 60) return std::nullopt;  // 60: a leap second, counted as the next one
    at += 3;
    if (at < s.size() && s[at] == '.') {
      ++at;
      size_t digits = 0;
      int64_t scale = 100000;
      while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) {
        if (digits < 6) frac += (s[at] - '0') * scale;
        scale /= 10;
        ++digits;
        ++at;
      }
      if (digits == 0 || digits > 9) return std::nullopt;
    }
  }
  int64_t offset_s = 0;
  if (at < s.size()) {
    if (s[at] == 'Z' && at + 1 == s.size()) {
      ++at;
    } else if (s[at] == '+' || s[at] == '-') {
      int sign = s[at] == '-' ? -1 : 1;
      int oh = two_digits(s, at + 1);
      int om = 0;
      size_t end = at + 3;
      if (end < s.size()) {
        if (s[end] == ':') ++end;
        om = two_digits(s, end);
        end += 2;
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59 || end != s.size()) return std::nullopt;
      offset_s = sign * (oh * 3600 + om * 60);
      at = end;
    } else {
      return std::nullopt;
    }
  }
  if (at != s.size()) return std::nullopt;
  micros += (static_cast<int64_t>(hh) * 3600 + mm * 60 + ss - offset_s) * 1'000'000 + frac;
  return micros;
}

}  // namespace bw::index
