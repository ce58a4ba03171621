// Helpers shared by the storage tests: a temporary folder removed at the end, ids and dump bytes.
#pragma once

#include <filesystem>
#include <random>
#include <string>

#include "core/crash_id.h"
#include "core/fs_util.h"
#include "core/temp_dir.h"

namespace bw::storage::testing {

using bw::test_support::TempDir;

// Binary bytes with NULs and every byte value, reproducible from the seed.
inline std::string binary_bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>(rng() & 0xff);
  if (size > 2) out[1] = '\0';
  return out;
}

inline CrashId accepted_id() { return CrashId::generate(ThrottleResult::kAccept); }
inline CrashId deferred_id() { return CrashId::generate(ThrottleResult::kDefer); }

// Number of entries in a folder (0 when it does not exist).
inline size_t count_entries(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return 0;
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace bw::storage::testing
