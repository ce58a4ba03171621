#include "core/config.h"

#include <cstdio>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "core/ascii.h"

extern char** environ;

namespace bw {
namespace {

std::string full_name(const ConfigKeySpec& s) { return s.section + "." + s.key; }

const char* type_name(ConfigType t) {
  switch (t) {
    case ConfigType::kString: return "a string";
    case ConfigType::kInt: return "an integer";
    case ConfigType::kBool: return "true or false";
    case ConfigType::kFloat: return "a number";
    case ConfigType::kSize: return "a size such as 25MiB";
    case ConfigType::kDuration: return "a duration such as 120s";
    case ConfigType::kStringList: return "a list of strings";
    case ConfigType::kTableArray: return "an array of tables";
  }
  return "?";
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Splits "123MiB" into number and lowercase unit.
std::pair<double, std::string> number_and_unit(std::string_view text, const char* what) {
  std::string t = trim(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) throw std::invalid_argument(std::string("not a ") + what + ": '" + std::string(text) + "'");
  double number = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + i, number);
  if (ec != std::errc() || p != t.data() + i) {
    throw std::invalid_argument(std::string("not a ") + what + ": '" + std::string(text) + "'");
  }
  std::string unit = ascii_lowered(trim(std::string_view(t).substr(i)));
  return {number, unit};
}


std::unique_ptr<toml::node> node_from_text(const ConfigKeySpec& spec, const std::string& text) {
  switch (spec.type) {
    case ConfigType::kString:
      return std::make_unique<toml::value<std::string>>(text);
    case ConfigType::kInt: {
      int64_t v = 0;
      auto t = trim(text);
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || p != t.data() + t.size() || t.empty()) throw std::invalid_argument("not an integer: '" + text + "'");
      return std::make_unique<toml::value<int64_t>>(v);
    }
    case ConfigType::kBool: {
      auto t = trim(text);
      if (t == "true" || t == "1" || t == "yes" || t == "on") return std::make_unique<toml::value<bool>>(true);
      if (t == "false" || t == "0" || t == "no" || t == "off") return std::make_unique<toml::value<bool>>(false);
      throw std::invalid_argument("not a boolean: '" + text + "'");
    }
    case ConfigType::kFloat: {
      auto [n, unit] = number_and_unit(text, "number");
      if (!unit.empty()) throw std::invalid_argument("not a number: '" + text + "'");
      return std::make_unique<toml::value<double>>(n);
    }
    case ConfigType::kSize:
      parse_size(text);  // validates
      return std::make_unique<toml::value<std::string>>(trim(text));
    case ConfigType::kDuration:
      parse_duration(text);
      return std::make_unique<toml::value<std::string>>(trim(text));
    case ConfigType::kStringList: {
      auto arr = std::make_unique<toml::array>();
      std::stringstream ss(text);
      std::string item;
      while (std::getline(ss, item, ',')) {
        auto t = trim(item);
        if (!t.empty()) arr->push_back(t);
      }
      return arr;
    }
    case ConfigType::kTableArray:
      throw std::invalid_argument("can only be set in the config file");
  }
  throw std::invalid_argument("unknown type");
}

// Checks a value from the TOML file against the key's type; converts integers for size/duration.
void check_file_value(const ConfigKeySpec& spec, const toml::node& node) {
  auto bad = [&]() {
    throw ConfigError("config key '" + full_name(spec) + "' must be " + type_name(spec.type));
  };
  switch (spec.type) {
    case ConfigType::kString:
      if (!node.is_string()) bad();
      break;
    case ConfigType::kInt:
      if (!node.is_integer()) bad();
      break;
    case ConfigType::kBool:
      if (!node.is_boolean()) bad();
      break;
    case ConfigType::kFloat:
      if (!node.is_number()) bad();
      break;
    case ConfigType::kSize:
    case ConfigType::kDuration:
      if (node.is_integer()) {
        if (*node.value<int64_t>() < 0) bad();
        break;
      }
      if (!node.is_string()) bad();
      try {
        if (spec.type == ConfigType::kSize) parse_size(*node.value<std::string>());
        else parse_duration(*node.value<std::string>());
      } catch (const std::invalid_argument& e) {
        throw ConfigError("config key '" + full_name(spec) + "': " + e.what());
      }
      break;
    case ConfigType::kStringList:
      if (!node.is_array()) bad();
      for (const auto& item : *node.as_array()) {
        if (!item.is_string()) bad();
      }
      break;
    case ConfigType::kTableArray:
      if (!node.is_array_of_tables()) bad();
      break;
  }
}

const ConfigKeySpec* find_spec(const std::string& section, const std::string& key) {
  for (const auto& s : config_schema()) {
    if (s.section == section && s.key == key) return &s;
  }
  return nullptr;
}

const RenamedConfigKey* find_renamed(const std::string& section, const std::string& key) {
  for (const auto& r : renamed_config_keys()) {
    if (r.old_section == section && r.old_key == key) return &r;
  }
  return nullptr;
}

// The renamed key whose old name's environment variable is `name` (BREAKWATER_QUEUE_MOVER_...).
const RenamedConfigKey* find_renamed_env(const std::string& name) {
  for (const auto& r : renamed_config_keys()) {
    if (env_name(ConfigKeySpec{r.old_section, r.old_key, ConfigType::kString, "", ""}) == name) return &r;
  }
  return nullptr;
}

bool known_section(const std::string& section) {
  return std::any_of(config_schema().begin(), config_schema().end(),
                     [&](const ConfigKeySpec& s) { return s.section == section; });
}

std::string renamed_warning(const RenamedConfigKey& r, const std::string& where) {
  return where + " uses the old name '" + r.old_section + "." + r.old_key + "' of '" + r.section + "." + r.key +
         "'; it still works, but write the new name";
}

void put(toml::table& values, const ConfigKeySpec& spec, std::unique_ptr<toml::node> node) {
  auto* sec = values.get_as<toml::table>(spec.section);
  if (!sec) {
    values.insert_or_assign(spec.section, toml::table{});
    sec = values.get_as<toml::table>(spec.section);
  }
  toml::node& n = *node;
  n.visit([&](auto&& v) { sec->insert_or_assign(spec.key, std::forward<decltype(v)>(v)); });
}

std::string mask_secrets(std::string s) {
  // amqp://user:pass@host → amqp://user:***@host
  auto scheme = s.find("://");
  auto at = s.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return s;
  auto colon = s.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return s;
  return s.substr(0, colon + 1) + "***" + s.substr(at);
}

}  // namespace

std::string format_size(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  } else if (bytes < (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024.0));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024.0 * 1024.0));
  }
  return buf;
}

uint64_t parse_size(std::string_view text) {
  auto [n, unit] = number_and_unit(text, "size");
  double mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb") mult = 1e3;
  else if (unit == "kib") mult = 1024.0;
  else if (unit == "m" || unit == "mb") mult = 1e6;
  else if (unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb") mult = 1e9;
  else if (unit == "gib") mult = 1024.0 * 1024 * 1024;
  else throw std::invalid_argument("unknown size unit '" + unit + "' in '" + std::string(text) + "'");
  double bytes = n * mult;
  if (bytes < 0 || bytes > 1.8e19) throw std::invalid_argument("size out of range: '" + std::string(text) + "'");
  return static_cast<uint64_t>(bytes);
}

std::chrono::milliseconds parse_duration(std::string_view text) {
  auto [n, unit] = number_and_unit(text, "duration");
  double ms = 0;
  if (unit.empty() || unit == "s") ms = n * 1000;
  else if (unit == "ms") ms = n;
  else if (unit == "m" || unit == "min") ms = n * 60'000;
  else if (unit == "h") ms = n * 3'600'000;
  else if (unit == "d") ms = n * 86'400'000;
  else throw std::invalid_argument("unknown duration unit '" + unit + "' in '" + std::string(text) + "'");
  if (ms > 1e15) throw std::invalid_argument("duration out of range: '" + std::string(text) + "'");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Config Config::load(const Sources& sources) {
  Config cfg;
  // 1. Defaults.
  for (const auto& spec : config_schema()) {
    if (spec.type == ConfigType::kTableArray) {
      put(cfg.values_, spec, std::make_unique<toml::array>());
      continue;
    }
    put(cfg.values_, spec, node_from_text(spec, spec.default_value));
  }
  // 2. The file.
  if (sources.file) {
    toml::table file;
    try {
      file = toml::parse_file(sources.file->string());
    } catch (const toml::parse_error& e) {
      std::ostringstream os;
      os << "config file " << sources.file->string() << ": " << e.description() << " at line "
         << e.source().begin.line << ", column " << e.source().begin.column;
      throw ConfigError(os.str());
    }
    for (const auto& [sec_key, sec_node] : file) {
      std::string section(sec_key.str());
      if (!known_section(section)) {
        throw ConfigError("config file " + sources.file->string() + ": unknown section [" + section + "]");
      }
      const auto* sec = sec_node.as_table();
      if (!sec) throw ConfigError("config file " + sources.file->string() + ": '" + section + "' must be a [section]");
      for (const auto& [key_key, node] : *sec) {
        std::string key(key_key.str());
        const auto* spec = find_spec(section, key);
        if (const auto* renamed = spec ? nullptr : find_renamed(section, key)) {
          // The new name wins when the file has both.
          if (const auto* now = file.get_as<toml::table>(renamed->section); now && now->contains(renamed->key)) continue;
          spec = find_spec(renamed->section, renamed->key);
          cfg.warnings_.push_back(renamed_warning(*renamed, "config file " + sources.file->string()));
        }
        if (!spec) {
          throw ConfigError("config file " + sources.file->string() + ": unknown key '" + section + "." + key + "'");
        }
        check_file_value(*spec, node);
        std::unique_ptr<toml::node> copy;
        node.visit([&](auto&& v) {
          using T = std::remove_cvref_t<decltype(v)>;
          copy = std::make_unique<T>(v);
        });
        // Sizes and durations given as integers are kept as their text form.
        if ((spec->type == ConfigType::kSize || spec->type == ConfigType::kDuration) && node.is_integer()) {
          copy = std::make_unique<toml::value<std::string>>(std::to_string(*node.value<int64_t>()));
        }
        if (spec->type == ConfigType::kFloat && node.is_integer()) {
          copy = std::make_unique<toml::value<double>>(static_cast<double>(*node.value<int64_t>()));
        }
        put(cfg.values_, *spec, std::move(copy));
      }
    }
  }
  // 3. Environment.
  for (const auto& [name, text] : sources.environment) {
    if (name.rfind("BREAKWATER_", 0) != 0) continue;
    const ConfigKeySpec* match = nullptr;
    for (const auto& spec : config_schema()) {
      if (env_name(spec) == name) match = &spec;
    }
    if (!match) {
      if (const auto* renamed = find_renamed_env(name)) {
        match = find_spec(renamed->section, renamed->key);
        if (match && sources.environment.count(env_name(*match))) continue;  // the new variable wins
        cfg.warnings_.push_back(renamed_warning(*renamed, "environment variable " + name));
      }
    }
    if (!match) throw ConfigError("environment variable " + name + " names no config key");
    try {
      put(cfg.values_, *match, node_from_text(*match, text));
    } catch (const std::invalid_argument& e) {
      throw ConfigError("environment variable " + name + " (config key '" + full_name(*match) + "'): " + e.what());
    }
  }
  // 4. Flags.
  for (const auto& [dotted, text] : sources.overrides) {
    auto dot = dotted.find('.');
    const ConfigKeySpec* spec =
        dot == std::string::npos ? nullptr : find_spec(dotted.substr(0, dot), dotted.substr(dot + 1));
    if (const auto* renamed = spec || dot == std::string::npos ? nullptr : find_renamed(dotted.substr(0, dot), dotted.substr(dot + 1))) {
      const std::string now = renamed->section + "." + renamed->key;
      if (std::any_of(sources.overrides.begin(), sources.overrides.end(), [&](const auto& o) { return o.first == now; })) {
        continue;  // the new name wins
      }
      spec = find_spec(renamed->section, renamed->key);
      cfg.warnings_.push_back(renamed_warning(*renamed, "--set"));
    }
    if (!spec) throw ConfigError("unknown config key '" + dotted + "'");
    try {
      put(cfg.values_, *spec, node_from_text(*spec, text));
    } catch (const std::invalid_argument& e) {
      throw ConfigError("config key '" + dotted + "': " + e.what());
    }
  }
  return cfg;
}

const ConfigKeySpec& Config::spec(const std::string& section, const std::string& key, ConfigType want) const {
  const auto* s = find_spec(section, key);
  if (!s) throw std::logic_error("config key '" + section + "." + key + "' is not in the schema");
  bool compatible = s->type == want;
  if (!compatible) throw std::logic_error("config key '" + section + "." + key + "' read with the wrong type");
  return *s;
}

const toml::node* Config::value(const std::string& section, const std::string& key) const {
  const auto* sec = values_.get_as<toml::table>(section);
  return sec ? sec->get(key) : nullptr;
}

std::string Config::get_string(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kString);
  return value(section, key)->value_or(std::string());
}

int64_t Config::get_int(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kInt);
  return value(section, key)->value_or(int64_t{0});
}

bool Config::get_bool(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kBool);
  return value(section, key)->value_or(false);
}

double Config::get_float(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kFloat);
  return value(section, key)->value_or(0.0);
}

uint64_t Config::get_size(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kSize);
  return parse_size(value(section, key)->value_or(std::string("0")));
}

std::chrono::milliseconds Config::get_duration(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kDuration);
  return parse_duration(value(section, key)->value_or(std::string("0")));
}

std::vector<std::string> Config::get_string_list(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kStringList);
  std::vector<std::string> out;
  if (const auto* arr = value(section, key)->as_array()) {
    for (const auto& item : *arr) out.push_back(item.value_or(std::string()));
  }
  return out;
}

std::vector<toml::table> Config::get_table_array(const std::string& section, const std::string& key) const {
  spec(section, key, ConfigType::kTableArray);
  std::vector<toml::table> out;
  if (const auto* arr = value(section, key)->as_array()) {
    for (const auto& item : *arr) {
      if (const auto* t = item.as_table()) out.push_back(*t);
    }
  }
  return out;
}

std::filesystem::path Config::data_path(const std::string& configured, const std::string& default_sub) const {
  if (!configured.empty()) return configured;
  return std::filesystem::path(get_string("server", "data")) / default_sub;
}

std::string Config::dump() const {
  toml::table copy = values_;
  for (auto& [sec_key, sec_node] : copy) {
    if (auto* sec = sec_node.as_table()) {
      for (auto& [k, v] : *sec) {
        if (auto* s = v.as_string()) {
          // Keys that are secrets themselves (oidc.client_secret) are never shown.
          bool secret_key = k.str().ends_with("secret") || k.str().ends_with("password");
          *s = secret_key && !s->get().empty() ? std::string("***") : mask_secrets(s->get());
        }
      }
    }
  }
  std::ostringstream os;
  os << copy << "\n";
  return os.str();
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string env_name(const ConfigKeySpec& s) {
  std::string out = "BREAKWATER_" + s.section + "_" + s.key;
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace bw
