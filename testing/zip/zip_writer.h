// Writing zip files for tests of symbol uploads, with libzip (not the code under test): ordinary
// entries and hostile ones (names with "..", links, zip bombs).
#pragma once

#include <sys/stat.h>
#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace bw::test_support {

struct ZipEntrySpec {
  std::string name;
  std::string data{};
  uint32_t unix_mode = S_IFREG | 0644;  // S_IFLNK | 0777 makes a symbolic link (data: its target)
  bool stored = false;                  // true: no compression
};

inline void write_zip(const std::filesystem::path& path, const std::vector<ZipEntrySpec>& entries) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive) throw std::runtime_error("zip_open failed for " + path.string());
  for (const auto& e : entries) {
    zip_source_t* source = zip_source_buffer(archive, e.data.data(), e.data.size(), 0);
    if (!source) throw std::runtime_error("zip_source_buffer failed");
    zip_int64_t index = zip_file_add(archive, e.name.c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) {
      zip_source_free(source);
      throw std::runtime_error("zip_file_add failed for " + e.name + ": " + zip_strerror(archive));
    }
    auto i = static_cast<zip_uint64_t>(index);
    zip_file_set_external_attributes(archive, i, 0, ZIP_OPSYS_UNIX, static_cast<zip_uint32_t>(e.unix_mode) << 16);
    zip_set_file_compression(archive, i, e.stored ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0);
  }
  // The entries' data must live until zip_close, which writes everything.
  if (zip_close(archive) != 0) {
    std::string why = zip_strerror(archive);
    zip_discard(archive);
    throw std::runtime_error("zip_close failed: " + why);
  }
}

}  // namespace bw::test_support
