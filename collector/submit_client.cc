#include "collector/submit_client.h"

#include <random>
#include <stdexcept>

#include "collector/gzip_stream.h"
#include "core/fs_util.h"
#include "core/libcurl.h"

namespace bw::collector {
namespace {

size_t collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Reader {
  std::string_view rest;
};

size_t read_piece(char* buffer, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reader*>(user);
  // Small pieces so a chunked upload really is many chunks.
  size_t take = std::min({size * n, r->rest.size(), size_t{16 * 1024}});
  std::copy_n(r->rest.data(), take, buffer);
  r->rest.remove_prefix(take);
  return take;
}

}  // namespace

std::string random_boundary() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string b = "------------------------";
  for (int i = 0; i < 32; ++i) b += hex[gen() & 15];
  return b;
}

std::string build_multipart_body(const std::string& boundary, const nlohmann::json& annotations, bool json_extra,
                                 const std::vector<std::pair<std::string, std::string>>& dumps) {
  std::string body;
  auto part_head = [&](const std::string& disposition, const std::string& type) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; " + disposition + "\r\n";
    if (!type.empty()) body += "Content-Type: " + type + "\r\n";
    body += "\r\n";
  };
  if (json_extra) {
    part_head("name=\"extra\"; filename=\"extra.json\"", "application/json");
    body += annotations.dump();
    body += "\r\n";
  } else {
    for (const auto& [key, value] : annotations.items()) {
      part_head("name=\"" + key + "\"", "");
      body += value.is_string() ? value.get<std::string>() : value.dump();
      body += "\r\n";
    }
  }
  for (const auto& [name, bytes] : dumps) {
    part_head("name=\"" + name + "\"; filename=\"" + name + ".dmp\"", "application/octet-stream");
    body += bytes;
    body += "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return body;
}

SubmitResult submit_crash(const SubmitRequest& request) {
  const LibCurl& lib = libcurl();
  std::vector<std::pair<std::string, std::string>> dumps;
  for (const auto& [name, path] : request.dumps) {
    try {
      dumps.emplace_back(name, fs::read_file(path));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot read dump " + path.string() + ": " + e.what());
    }
  }
  std::string boundary = random_boundary();
  std::string body = build_multipart_body(boundary, request.annotations, request.json_extra, dumps);
  if (request.gzip) body = gzip_compress(body);

  CURL* curl = lib.easy_init();
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  curl_slist* headers = nullptr;
  headers = lib.slist_append(headers, ("Content-Type: multipart/form-data; boundary=" + boundary).c_str());
  if (request.gzip) headers = lib.slist_append(headers, "Content-Encoding: gzip");
  Reader reader{body};
  SubmitResult result;
  lib.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  lib.easy_setopt(curl, CURLOPT_POST, 1L);
  lib.easy_setopt(curl, CURLOPT_USERAGENT, request.user_agent.c_str());
  lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(request.timeout.count()));
  lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  lib.easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  if (request.chunked) {
    headers = lib.slist_append(headers, "Transfer-Encoding: chunked");
    lib.easy_setopt(curl, CURLOPT_READFUNCTION, read_piece);
    lib.easy_setopt(curl, CURLOPT_READDATA, &reader);
  } else {
    lib.easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    lib.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = lib.easy_perform(curl);
  if (rc == CURLE_OK) lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  lib.slist_free_all(headers);
  lib.easy_cleanup(curl);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("POST ") + request.url + ": " + lib.easy_strerror(rc));
  return result;
}

}  // namespace bw::collector
