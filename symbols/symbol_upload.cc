// Symbol uploads into the site's own store: zip entries and single .sym files to store outcomes.
#include "symbols/symbol_upload.h"

#include <nlohmann/json.hpp>

namespace bw::symbols {

namespace {

bool taken(StoreOutcome outcome) { return outcome != StoreOutcome::kRefused; }

void notify(const StoreResult& result, const StoredHook& on_stored) {
  if (on_stored && (result.outcome == StoreOutcome::kAdded || result.outcome == StoreOutcome::kReplaced)) {
    on_stored(result);
  }
}

UploadedFile refused(std::string name, std::string reason) {
  UploadedFile file;
  file.name = std::move(name);
  file.result.outcome = StoreOutcome::kRefused;
  file.result.reason = std::move(reason);
  return file;
}

// "<debug_file>/<debug_id>/<name>.sym" has three parts and ends in ".sym"; else why not.
std::string entry_shape_problem(std::string_view name) {
  if (!name.ends_with(".sym")) return "not a Breakpad .sym file (only .sym files are stored)";
  size_t slashes = 0;
  for (char c : name) slashes += c == '/' ? 1 : 0;
  if (slashes != 2) return "not at <debug_file>/<debug_id>/<name>.sym";
  return "";
}

}  // namespace

size_t UploadSummary::count(StoreOutcome outcome) const {
  size_t n = 0;
  for (const auto& f : files) n += f.result.outcome == outcome ? 1 : 0;
  return n;
}

bool UploadSummary::any_taken() const {
  for (const auto& f : files) {
    if (taken(f.result.outcome)) return true;
  }
  return false;
}

std::string UploadSummary::to_json() const {
  nlohmann::json out = {{"files", files.size()},
                        {"added", nlohmann::json::array()},
                        {"replaced", nlohmann::json::array()},
                        {"skipped", nlohmann::json::array()},
                        {"refused", nlohmann::json::array()}};
  for (const auto& f : files) {
    if (f.result.outcome == StoreOutcome::kRefused) {
      out["refused"].push_back({{"file", f.name}, {"reason", f.result.reason}});
    } else {
      out[to_string(f.result.outcome)].push_back({{"file", f.name}, {"path", f.result.path}, {"bytes", f.result.sym_bytes}});
    }
  }
  // Names come from outside: invalid UTF-8 is replaced, never a reason to fail the answer.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

UploadSummary add_zip(const SymbolStore& store, const std::filesystem::path& zip,
                      const std::filesystem::path& scratch_dir, const ZipLimits& limits, const StoredHook& on_stored) {
  UploadSummary summary;
  read_zip(zip, scratch_dir, limits, [&](const ZipEntry& entry) {
    if (!entry.refused.empty()) {
      summary.files.push_back(refused(entry.name, entry.refused));
      return;
    }
    if (auto problem = entry_shape_problem(entry.name); !problem.empty()) {
      summary.files.push_back(refused(entry.name, problem));
      return;
    }
    summary.files.push_back(add_uploaded_sym(store, entry.file, entry.name, entry.name, on_stored));
  });
  return summary;
}

UploadedFile add_uploaded_sym(const SymbolStore& store, const std::filesystem::path& sym, std::string_view name,
                              std::string_view claimed, const StoredHook& on_stored) {
  UploadedFile file;
  file.name = std::string(name);
  file.result = store.add(sym, claimed);
  notify(file.result, on_stored);
  return file;
}

}  // namespace bw::symbols
