// The client side of symbol uploads, for build scripts (`breakwater symbols upload DIR|ZIP|FILE
// URL`, docs/symbols.md): packs .sym files into one zip laid out as a symbol store and posts it to
// a site's POST /symbols/upload (upload_routes.h) with an Auth-Token, streaming the file from disk
// and retrying what can be retried.
//
// What it promises:
// - pack_symbols: a folder's "*.sym" files (recursively, links to folders not followed) each go
//   in at "<debug_file>/<DEBUG_ID>/<name>.sym" as their MODULE record names them (the server
//   checks again); a file without a usable MODULE record is left out and reported to `left_out`.
//   The zip is written to `scratch_dir` (deflate), reading each file from disk as it is written.
//   A path that is already a zip is used as it is; a single .sym is packed alone.
// - post_upload: the body is read from the file as it is sent (memory stays small whatever its
//   size); `progress` is called with bytes sent so far. A connection failure, a timeout, or an
//   answer 408, 429, 500, 502, 503 or 504 is retried, up to `attempts` in all, waiting 1, 2, 4 …
//   (at most 60) seconds between them (`on_retry` tells the caller); any other answer is returned.
// Errors: files that cannot be read or a zip that cannot be written: std::runtime_error naming
// the file; the last failure when no attempt got an answer: std::runtime_error.
// Thread safety: stateless; one call per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace bw::symbols {

// The zip to send for `input` (a folder, a zip, or one .sym): `input` itself when it is a zip,
// else a new zip in `scratch_dir` holding every usable .sym. `packed` counts the files put in.
std::filesystem::path pack_symbols(const std::filesystem::path& input, const std::filesystem::path& scratch_dir,
                                   const std::function<void(const std::filesystem::path&, const std::string&)>& left_out,
                                   size_t* packed = nullptr);

// "<site>/symbols/upload" for a site's base URL; a URL whose path already ends in "/upload" (or
// "/upload/") is taken as it is.
std::string upload_url(std::string_view url);

struct UploadRequest {
  std::string url;    // the upload URL (upload_url)
  std::string token;  // sent as Auth-Token
  int attempts = 5;
  std::chrono::seconds connect_timeout{15};
  std::function<void(uint64_t sent, uint64_t total)> progress;
  std::function<void(int next_attempt, const std::string& why, std::chrono::seconds wait)> on_retry;
  std::function<void(std::chrono::seconds)> sleep;  // empty: std::this_thread::sleep_for (tests pass their own)
};

struct UploadResponse {
  long status = 0;
  std::string body;  // the server's answer (the JSON summary, or an error), at most 16 MiB kept
  int attempts = 0;  // how many requests were sent
};

UploadResponse post_upload(const std::filesystem::path& zip, const UploadRequest& request);

}  // namespace bw::symbols
