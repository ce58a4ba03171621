// The client side of symbol uploads: pack .sym files into a zip, post it with retries.
#include "symbols/upload_client.h"

#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/fs_util.h"
#include "core/libcurl.h"
#include "symbols/module_record.h"
#include "symbols/symbol_store.h"

namespace bw::symbols {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxKeptAnswer = 16 << 20;
constexpr size_t kMaxModuleLine = 4096;

bool is_zip_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

// The store path named by a .sym's MODULE record ("MODULE <os> <cpu> <id> <name>"), or "" with *why.
std::string module_store_path(const fs::path& sym, std::string* why) {
  std::ifstream in(sym, std::ios::binary);
  if (!in) {
    *why = "cannot be read";
    return "";
  }
  std::string line(kMaxModuleLine, '\0');
  in.getline(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount() - (in.eof() ? 0 : 1), 0)));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!line.starts_with("MODULE ") && !line.starts_with("MODULE\t")) {
    *why = "does not start with a MODULE record";
    return "";
  }
  auto module = parse_module_record(std::string_view(line).substr(7));
  if (!module) {
    *why = "has a MODULE record with fewer than five fields";
    return "";
  }
  return store_path(module->debug_file, module->debug_id, why);
}

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};

fs::path pack_files(const std::vector<fs::path>& files, const fs::path& scratch_dir,
                    const std::function<void(const fs::path&, const std::string&)>& left_out, size_t* packed) {
  fs::path zip_path = scratch_dir / ("symbols-upload-" + bw::fs::unique_temp_name() + ".zip");
  int error = 0;
  std::unique_ptr<zip_t, ZipDiscard> archive(zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_EXCL, &error));
  if (!archive) throw std::runtime_error("cannot create " + zip_path.string());
  size_t count = 0;
  for (const auto& file : files) {
    std::string why;
    std::string entry = module_store_path(file, &why);
    if (entry.empty()) {
      if (left_out) left_out(file, why);
      continue;
    }
    // Read from disk when zip_close writes the archive: one file's buffer at a time.
    zip_source_t* source = zip_source_file(archive.get(), file.c_str(), 0, -1);
    if (!source) throw std::runtime_error("cannot read " + file.string() + ": " + zip_strerror(archive.get()));
    if (zip_file_add(archive.get(), entry.c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
      zip_source_free(source);
      throw std::runtime_error("cannot add " + file.string() + " to the zip: " + zip_strerror(archive.get()));
    }
    ++count;
  }
  if (packed) *packed = count;
  if (zip_close(archive.get()) != 0) {
    throw std::runtime_error("cannot write " + zip_path.string() + ": " + zip_strerror(archive.get()));
  }
  archive.release();  // zip_close freed it
  if (count == 0) {
    // libzip writes no file for an empty archive.
    std::error_code ignored;
    fs::remove(zip_path, ignored);
    throw std::runtime_error("no usable .sym file to upload");
  }
  return zip_path;
}

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t bytes = size * n;
  if (out->size() < kMaxKeptAnswer) out->append(data, std::min(bytes, kMaxKeptAnswer - out->size()));
  return bytes;
}

size_t read_file_piece(char* buffer, size_t size, size_t n, void* user) {
  return std::fread(buffer, 1, size * n, static_cast<std::FILE*>(user));
}

int report_progress(void* user, curl_off_t, curl_off_t, curl_off_t total, curl_off_t sent) {
  const auto* request = static_cast<const UploadRequest*>(user);
  if (request->progress) request->progress(static_cast<uint64_t>(sent), static_cast<uint64_t>(total));
  return 0;
}

bool retryable(long status) { return status == 408 || status == 429 || status == 500 || (status >= 502 && status <= 504); }

}  // namespace

fs::path pack_symbols(const fs::path& input, const fs::path& scratch_dir,
                      const std::function<void(const fs::path&, const std::string&)>& left_out, size_t* packed) {
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".sym") files.push_back(it->path());
    }
    if (ec) throw std::runtime_error("cannot list " + input.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    return pack_files(files, scratch_dir, left_out, packed);
  }
  if (!fs::is_regular_file(input, ec)) throw std::runtime_error(input.string() + " is not a file or folder");
  if (is_zip_file(input)) return input;
  return pack_files({input}, scratch_dir, left_out, packed);
}

std::string upload_url(std::string_view url) {
  std::string out(url);
  if (out.ends_with("/upload") || out.ends_with("/upload/")) return out;
  while (out.ends_with('/')) out.pop_back();
  return out + "/symbols/upload";
}

UploadResponse post_upload(const fs::path& zip, const UploadRequest& request) {
  const LibCurl& lib = libcurl();
  const uint64_t size = fs::file_size(zip);
  UploadResponse response;
  std::string last_failure;
  for (int attempt = 1; attempt <= std::max(request.attempts, 1); ++attempt) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(zip.c_str(), "rb"), &std::fclose);
    if (!file) throw std::runtime_error("cannot read " + zip.string());
    CURL* curl = lib.easy_init();
    if (!curl) throw std::runtime_error("curl_easy_init failed");
    curl_slist* headers = nullptr;
    headers = lib.slist_append(headers, "Content-Type: application/zip");
    headers = lib.slist_append(headers, ("Auth-Token: " + request.token).c_str());
    std::string body;
    lib.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    lib.easy_setopt(curl, CURLOPT_POST, 1L);
    lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    lib.easy_setopt(curl, CURLOPT_USERAGENT, "breakwater-symbols-upload");
    lib.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request.connect_timeout.count()));
    lib.easy_setopt(curl, CURLOPT_READFUNCTION, read_file_piece);
    lib.easy_setopt(curl, CURLOPT_READDATA, file.get());
    lib.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
    lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    lib.easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    lib.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    lib.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, report_progress);
    lib.easy_setopt(curl, CURLOPT_XFERINFODATA, &request);
    CURLcode rc = lib.easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK) lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    lib.slist_free_all(headers);
    lib.easy_cleanup(curl);
    response.attempts = attempt;
    if (rc == CURLE_OK && !retryable(status)) {
      response.status = status;
      response.body = std::move(body);
      return response;
    }
    last_failure = rc == CURLE_OK ? "HTTP " + std::to_string(status) : lib.easy_strerror(rc);
    if (rc == CURLE_OK) {
      response.status = status;
      response.body = std::move(body);
    }
    if (attempt == std::max(request.attempts, 1)) break;
    auto wait = std::chrono::seconds(std::min(60, 1 << std::min(attempt - 1, 6)));
    if (request.on_retry) request.on_retry(attempt + 1, last_failure, wait);
    if (request.sleep) {
      request.sleep(wait);
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
  if (response.status != 0) return response;  // the last answer, retryable as it was
  throw std::runtime_error("POST " + request.url + ": " + last_failure + " (after " +
                           std::to_string(response.attempts) + " attempts)");
}

}  // namespace bw::symbols
