// A temporary folder for tests, removed with everything in it when the object goes away.
// Test support only: nothing in a shipped role depends on it.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include "core/fs_util.h"

namespace bw::test_support {

class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path())
      : path_(base / ("bw-test-" + fs::unique_temp_name())) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& sub) const { return path_ / sub; }

 private:
  std::filesystem::path path_;
};

}  // namespace bw::test_support
