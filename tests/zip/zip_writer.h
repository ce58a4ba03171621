// Writing zip files for tests of symbol uploads, with libzip (not the code under test): ordinary
// entries and hostile ones (names with "..", links, zip bombs), and entries made piece by piece
// while the zip is written, for zips too big to hold in memory.
#pragma once

#include <sys/stat.h>
#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <functional>
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

// An entry whose bytes are made while the zip is written. `open` is called whenever libzip starts
// reading the entry and returns a reader that fills a buffer with the next bytes and returns how
// many (0 at the end); the bytes must come to exactly `size` in all.
struct ZipStreamedEntry {
  std::string name{};
  uint64_t size = 0;
  std::function<std::function<size_t(char* buffer, size_t capacity)>()> open{};
  bool stored = true;  // false: deflate
};

namespace zip_writer_detail {

struct StreamedSource {
  const ZipStreamedEntry* entry = nullptr;
  std::function<size_t(char*, size_t)> reader{};
  uint64_t given = 0;
  zip_error_t error{};
};

inline zip_int64_t streamed_source(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* s = static_cast<StreamedSource*>(user);
  switch (cmd) {
    case ZIP_SOURCE_OPEN:
      s->reader = s->entry->open();
      s->given = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      size_t n = s->reader(static_cast<char*>(data), static_cast<size_t>(len));
      s->given += n;
      if (s->given > s->entry->size || (n == 0 && s->given != s->entry->size)) {
        zip_error_set(&s->error, ZIP_ER_INCONS, 0);  // the reader broke its promise about the size
        return -1;
      }
      return static_cast<zip_int64_t>(n);
    }
    case ZIP_SOURCE_CLOSE:
      s->reader = nullptr;
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = static_cast<zip_stat_t*>(data);
      zip_stat_init(st);
      st->valid = ZIP_STAT_SIZE;
      st->size = s->entry->size;
      return sizeof(*st);
    }
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&s->error, data, len);
    case ZIP_SOURCE_FREE:
      zip_error_fini(&s->error);
      delete s;
      return 0;
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
      zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

}  // namespace zip_writer_detail

// Writes a zip of streamed entries: each entry's bytes go from its reader to the file (libzip's
// temporary file, renamed at the end), so memory does not follow the entries' sizes.
inline void write_zip_streamed(const std::filesystem::path& path, const std::vector<ZipStreamedEntry>& entries) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive) throw std::runtime_error("zip_open failed for " + path.string());
  for (const auto& e : entries) {
    auto* state = new zip_writer_detail::StreamedSource;
    state->entry = &e;
    zip_error_init(&state->error);
    zip_source_t* source = zip_source_function(archive, zip_writer_detail::streamed_source, state);
    if (!source) {
      zip_error_fini(&state->error);
      delete state;
      zip_discard(archive);
      throw std::runtime_error("zip_source_function failed");
    }
    zip_int64_t index = zip_file_add(archive, e.name.c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) {
      std::string why = zip_strerror(archive);
      zip_source_free(source);
      zip_discard(archive);
      throw std::runtime_error("zip_file_add failed for " + e.name + ": " + why);
    }
    auto i = static_cast<zip_uint64_t>(index);
    zip_file_set_external_attributes(archive, i, 0, ZIP_OPSYS_UNIX, static_cast<zip_uint32_t>(S_IFREG | 0644) << 16);
    zip_set_file_compression(archive, i, e.stored ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0);
  }
  if (zip_close(archive) != 0) {
    std::string why = zip_strerror(archive);
    zip_discard(archive);
    throw std::runtime_error("zip_close failed: " + why);
  }
}

}  // namespace bw::test_support
