#include "maintenance/index_rebuild.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw::maintenance {
namespace {

using nlohmann::json;

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> parse_day(std::string_view text) {
  std::string day;
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    day = std::string(text.substr(0, 4)) + std::string(text.substr(5, 2)) + std::string(text.substr(8, 2));
  } else if (text.size() == 8) {
    day = std::string(text);
  } else {
    return std::nullopt;
  }
  if (!all_digits(day)) return std::nullopt;
  int month = std::stoi(day.substr(4, 2));
  int dom = std::stoi(day.substr(6, 2));
  std::chrono::year_month_day ymd{std::chrono::year(std::stoi(day.substr(0, 4))), std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(dom))};
  if (!ymd.ok()) return std::nullopt;
  return day;
}

RebuildResult rebuild_index(storage::CrashStorage& storage, index::CrashIndex& crash_index, const RebuildOptions& options) {
  if (options.batch == 0) throw std::invalid_argument("rebuild batch must be at least 1");
  if (options.since_day && !parse_day(*options.since_day)) {
    throw std::invalid_argument("'" + *options.since_day + "' is not a day (YYYY-MM-DD)");
  }
  auto say = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  RebuildResult result;
  auto started = std::chrono::steady_clock::now();
  for (const std::string& day : storage.processed_days()) {
    if (options.since_day && day < *options.since_day) continue;
    std::vector<json> processed, raw;
    uint64_t day_indexed = 0;
    auto flush = [&] {
      if (processed.empty()) return;
      std::vector<index::CrashInput> inputs;
      inputs.reserve(processed.size());
      for (size_t i = 0; i < processed.size(); ++i) inputs.push_back({processed[i], raw[i]});
      try {
        crash_index.upsert_batch(inputs);
        day_indexed += processed.size();
      } catch (const index::InvalidCrash&) {
        // One bad crash refuses the whole batch: index them one by one to find and skip it.
        for (size_t i = 0; i < processed.size(); ++i) {
          try {
            crash_index.upsert(processed[i], raw[i]);
            ++day_indexed;
          } catch (const index::InvalidCrash& e) {
            ++result.skipped;
            say("skipped " + processed[i].value("uuid", std::string("(no uuid)")) + ": " + e.what());
          }
        }
      }
      processed.clear();
      raw.clear();
    };
    try {
      for (const CrashId& id : storage.processed_crash_ids(day)) {
        json p;
        try {
          p = storage.get_processed(id);
        } catch (const storage::CrashNotFound&) {
          continue;  // removed meanwhile
        } catch (const storage::CorruptCrashData& e) {
          ++result.skipped;
          say("skipped " + id.str() + ": " + e.what());
          continue;
        }
        json r = json::object();
        try {
          r = storage.get_raw_crash(id);
        } catch (const storage::CrashNotFound&) {
        } catch (const storage::CorruptCrashData&) {
        }
        processed.push_back(std::move(p));
        raw.push_back(std::move(r));
        if (processed.size() >= options.batch) flush();
      }
      flush();
    } catch (const std::exception& e) {
      say("stopped in day " + day + ": " + e.what() + " (resume with --since " + day + ")");
      throw;
    }
    ++result.days;
    result.indexed += day_indexed;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.0f", seconds > 0 ? static_cast<double>(result.indexed) / seconds : 0.0);
    say("day " + day + ": " + std::to_string(day_indexed) + " crashes indexed (" + std::to_string(result.indexed) +
        " in all, " + rate + "/s)");
  }
  say("rebuilt: " + std::to_string(result.indexed) + " crashes indexed from " + std::to_string(result.days) + " days, " +
      std::to_string(result.skipped) + " skipped");
  return result;
}

}  // namespace bw::maintenance
