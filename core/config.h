// Configuration for every role: one TOML file, each key overridable by an environment variable
// and a flag.
//
// Precedence, lowest first: built-in defaults (the schema in config_schema.cc) ← the TOML file
// (`--config FILE`) ← environment `BREAKWATER_<SECTION>_<KEY>` ← flags (`--listen` and the other
// shared flags, or `--set section.key=value` for any key).
//
// Every key is declared in the schema with a type. Loading fails with ConfigError naming the key
// for: an unknown section or key (in the file, in a BREAKWATER_* variable or in --set), a value of
// the wrong type, a size or duration that does not parse. No key is ever silently ignored.
//
// Types: string, integer, boolean, float, size ("25MiB", "512KB", or an integer of bytes),
// duration ("120s", "5m", "250ms", or an integer of seconds), string list (TOML array; comma
// separated in variables and flags), and table arrays ([[collector.throttle_rules]]), which only
// the file can set.
//
// Thread safety: a loaded Config is immutable and may be read from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace bw {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ConfigType { kString, kInt, kBool, kFloat, kSize, kDuration, kStringList, kTableArray };

struct ConfigKeySpec {
  std::string section;
  std::string key;
  ConfigType type;
  std::string default_value;  // as it would be written in an environment variable; "" = empty
  std::string help;
};

// Every key Breakwater knows, grouped by section (config_schema.cc).
const std::vector<ConfigKeySpec>& config_schema();

// A key that moved. Its old name still sets the new key (in the file, a BREAKWATER_* variable or
// --set), and Config::warnings() says so; the new name wins when both are given.
struct RenamedConfigKey {
  std::string old_section;
  std::string old_key;
  std::string section;
  std::string key;
};
const std::vector<RenamedConfigKey>& renamed_config_keys();

// The environment variable that sets a key: BREAKWATER_<SECTION>_<KEY>, upper case.
std::string env_name(const ConfigKeySpec& spec);

// Parses "25MiB", "512KB", "1G", "1234" into bytes; throws std::invalid_argument.
uint64_t parse_size(std::string_view text);
// Bytes for people: "512 B", "1.5 KiB", "3.2 MiB", "1.25 GiB".
std::string format_size(uint64_t bytes);
// Parses "120s", "5m", "250ms", "2h", "30" (seconds) into milliseconds; throws std::invalid_argument.
std::chrono::milliseconds parse_duration(std::string_view text);

class Config {
 public:
  struct Sources {
    std::optional<std::filesystem::path> file;
    // Usually the process environment; only BREAKWATER_* entries are looked at.
    std::map<std::string, std::string> environment;
    // "section.key" → value text, from the shared flags and --set.
    std::vector<std::pair<std::string, std::string>> overrides;
  };

  // Builds the effective configuration. Throws ConfigError with the key and the reason.
  static Config load(const Sources& sources);
  // Defaults only (tests, embedded tools).
  static Config defaults() { return load(Sources{}); }

  std::string get_string(const std::string& section, const std::string& key) const;
  int64_t get_int(const std::string& section, const std::string& key) const;
  bool get_bool(const std::string& section, const std::string& key) const;
  double get_float(const std::string& section, const std::string& key) const;
  uint64_t get_size(const std::string& section, const std::string& key) const;
  std::chrono::milliseconds get_duration(const std::string& section, const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& section, const std::string& key) const;
  // The tables of a table-array key; empty when the file has none.
  std::vector<toml::table> get_table_array(const std::string& section, const std::string& key) const;

  // The data folder (server.data) and a path inside it when `configured` is empty.
  std::filesystem::path data_path(const std::string& configured, const std::string& default_sub) const;

  // The whole effective configuration as TOML (for `breakwater config`), secrets in URLs masked.
  std::string dump() const;

  // One line per old key name that was used (renamed_config_keys), for the caller to log once
  // logging is set up.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  const ConfigKeySpec& spec(const std::string& section, const std::string& key, ConfigType want) const;
  const toml::node* value(const std::string& section, const std::string& key) const;

  toml::table values_;
  std::vector<std::string> warnings_;
};

// Reads the process environment into a map (for Config::Sources::environment).
std::map<std::string, std::string> process_environment();

}  // namespace bw
