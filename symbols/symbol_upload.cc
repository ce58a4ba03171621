// Symbol uploads into the site's own store: zip entries and single .sym files to store outcomes.
#include "symbols/symbol_upload.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

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
  // A pipeline: this thread inflates entries to scratch files in zip order; one worker per core
  // checks and stores them (hash, parse, compress: most of the time), at most `workers` files
  // waiting between the two, so disk use stays bounded too.
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  struct Job {
    size_t slot;
    std::filesystem::path file;
    std::string name;
  };
  UploadSummary summary;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Job> jobs;
  bool done = false;
  std::exception_ptr failure;
  auto work = [&] {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !jobs.empty() || done; });
        if (jobs.empty()) return;
        job = std::move(jobs.front());
        jobs.pop_front();
        changed.notify_all();
      }
      UploadedFile file;
      try {
        file = add_uploaded_sym(store, job.file, job.name, job.name, on_stored);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
      }
      std::error_code ignored;
      std::filesystem::remove(job.file, ignored);
      std::lock_guard lock(mutex);
      summary.files[job.slot] = std::move(file);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < workers; ++i) pool.emplace_back(work);
  auto finish = [&] {
    {
      std::lock_guard lock(mutex);
      done = true;
    }
    changed.notify_all();
    for (auto& t : pool) t.join();
    for (const auto& job : jobs) {  // left by a failure
      std::error_code ignored;
      std::filesystem::remove(job.file, ignored);
    }
  };
  try {
    read_zip(zip, scratch_dir, limits, [&](const ZipEntry& entry) {
      size_t slot;
      {
        std::lock_guard lock(mutex);
        if (failure) std::rethrow_exception(failure);
        slot = summary.files.size();
        summary.files.emplace_back();
      }
      std::string problem = entry.refused.empty() ? entry_shape_problem(entry.name) : entry.refused;
      if (!problem.empty()) {
        std::lock_guard lock(mutex);
        summary.files[slot] = refused(entry.name, problem);
        return;
      }
      // The scratch file becomes the job's (read_zip removes only its own name).
      std::filesystem::path job_file = entry.file;
      job_file += ".job";
      std::filesystem::rename(entry.file, job_file);
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return jobs.size() < workers || failure; });
      jobs.push_back({slot, std::move(job_file), entry.name});
      changed.notify_all();
    });
  } catch (...) {
    finish();
    throw;
  }
  finish();
  if (failure) std::rethrow_exception(failure);
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
