#include "storage/retention.h"

#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <vector>

#include "storage/crash_root.h"

namespace bw::storage {
namespace {

int64_t retention_days(const Config& config, const char* key) {
  int64_t days = config.get_int("storage", key);
  if (days < 0 || days > kMaxRetentionDays) {
    throw ConfigError("config key 'storage." + std::string(key) + "' must be between 0 (keep forever) and " +
                      std::to_string(kMaxRetentionDays) + " days, not " + std::to_string(days));
  }
  return days;
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

CrashRoot make_root(const std::filesystem::path& path, const RetentionOptions& options) {
  CrashRootOptions root_options;
  root_options.date_tree = false;  // expiry removes date links with their day; it never makes any
  root_options.save_step_hook = options.step_hook;
  return CrashRoot(path, std::move(root_options));
}

void report(const RetentionOptions& options, const std::string& line) {
  if (options.progress) options.progress(line);
}

}  // namespace

RetentionSettings RetentionSettings::from_config(const Config& config) {
  RetentionSettings s;
  s.raw_crashes_days = retention_days(config, "raw_crashes_retention_days");
  s.raw_dumps_days = retention_days(config, "raw_dumps_retention_days");
  s.processed_days = retention_days(config, "processed_retention_days");
  return s;
}

std::string RetentionResult::summary() const {
  std::vector<std::string> parts;
  if (raw_days > 0 || raw_crashes > 0) {
    parts.push_back(plural(raw_days, "day", "days") + " of raw crashes (" + plural(raw_crashes, "crash", "crashes") +
                    ")");
  }
  if (dumps > 0 || dump_crashes > 0) {
    parts.push_back(plural(dumps, "dump", "dumps") + " of " + plural(dump_crashes, "crash", "crashes"));
  }
  if (processed_days > 0 || processed_crashes > 0) {
    parts.push_back(plural(processed_days, "day", "days") + " of processed crashes (" +
                    plural(processed_crashes, "crash", "crashes") + ")");
  }
  if (parts.empty()) return "removed nothing";
  std::string out = "removed ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : ", ") + parts[i];
  return out;
}

std::optional<std::string> first_kept_day(int64_t days, std::chrono::system_clock::time_point now) {
  if (days < 0) throw std::invalid_argument("a retention age cannot be negative: " + std::to_string(days));
  if (days == 0) return std::nullopt;
  if (days > kMaxRetentionDays) {
    throw std::invalid_argument("a retention age is at most " + std::to_string(kMaxRetentionDays) + " days");
  }
  auto cutoff = now - std::chrono::hours(24) * days;
  std::time_t t = std::chrono::system_clock::to_time_t(
      std::chrono::floor<std::chrono::seconds>(cutoff));  // to_time_t truncates toward zero
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) throw std::invalid_argument("retention cutoff out of range");
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return std::string(buf);
}

RetentionResult apply_retention(const StorageRoots& roots, const RetentionSettings& settings,
                                std::chrono::system_clock::time_point now, const RetentionOptions& options) {
  // Every cutoff is computed (and checked) before anything is removed.
  auto raw_kept = first_kept_day(settings.raw_crashes_days, now);
  auto dumps_kept = first_kept_day(settings.raw_dumps_days, now);
  auto processed_kept = first_kept_day(settings.processed_days, now);

  RetentionResult result;
  const std::pair<const char*, const std::filesystem::path*> raw_roots[] = {{"standard", &roots.standard},
                                                                            {"deferred", &roots.deferred}};
  for (auto [label, path] : raw_roots) {
    auto root = make_root(*path, options);
    if (raw_kept) {
      auto c = root.expire_days_before(*raw_kept);
      result.raw_days += c.days;
      result.raw_crashes += c.crashes;
      if (c.days > 0) {
        report(options, std::string(label) + " root " + path->string() + ": removed " + plural(c.days, "day", "days") +
                            " before " + *raw_kept + " (" + plural(c.crashes, "raw crash", "raw crashes") + ")");
      }
    }
    // Days before raw_kept are gone already; dumps of the days left go when older than theirs.
    if (dumps_kept && (!raw_kept || *dumps_kept > *raw_kept)) {
      auto c = root.expire_dumps_before(*dumps_kept);
      result.dump_crashes += c.crashes;
      result.dumps += c.dumps;
      if (c.crashes > 0) {
        report(options, std::string(label) + " root " + path->string() + ": removed " + plural(c.dumps, "dump", "dumps") +
                            " of " + plural(c.crashes, "crash", "crashes") + " before " + *dumps_kept);
      }
    }
  }
  if (processed_kept) {
    auto root = make_root(roots.processed, options);
    auto c = root.expire_days_before(*processed_kept);
    result.processed_days += c.days;
    result.processed_crashes += c.crashes;
    if (c.days > 0) {
      report(options, "processed root " + roots.processed.string() + ": removed " + plural(c.days, "day", "days") +
                          " before " + *processed_kept + " (" +
                          plural(c.crashes, "processed crash", "processed crashes") + ")");
    }
  }
  return result;
}

RetentionResult apply_retention(const Config& config, std::chrono::system_clock::time_point now,
                                const RetentionOptions& options) {
  return apply_retention(storage_roots(config), RetentionSettings::from_config(config), now, options);
}

}  // namespace bw::storage
