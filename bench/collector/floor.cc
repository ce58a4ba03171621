// collector_floor: the least CPU a collector must spend on the benchmark's crash, whatever its
// HTTP layer. One thread takes the same gzip'd body as collector_loadgen sends, in 64 KiB pieces,
// through cumulative stages and prints CPU milliseconds (user + system) per crash for each:
//   inflate                   zlib, output discarded
//   + sha256                  SHA-256 of the inflated bytes (OpenSSL, as the collector)
//   + write                   written to a new file (page cache), file removed afterwards
//   + fsync                   the file fsync'd before removal
// No multipart parsing, no HTTP, no socket, so the full collector can only cost more.
//
//   collector_floor [--crashes 300] [--body-kb 400] [--dir DIR (default $TMPDIR or /tmp)]
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bench/collector/crash_body.h"
#include "collector/gzip_stream.h"

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

enum Stage { kInflate, kSha, kWrite, kFsync };

void one_crash(const std::string& body, Stage stage, const std::string& path) {
  EVP_MD_CTX* sha = EVP_MD_CTX_new();
  EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
  int fd = -1;
  if (stage >= kWrite) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
  }
  bw::collector::GzipInflater inflater(UINT64_MAX, [&](std::string_view out) {
    if (stage >= kSha) EVP_DigestUpdate(sha, out.data(), out.size());
    if (fd >= 0 && ::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
      throw std::runtime_error("write failed");
    }
  });
  std::string_view in(body);
  for (size_t at = 0; at < in.size(); at += 64 * 1024) inflater.feed(in.substr(at, 64 * 1024));
  inflater.finish();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(sha, digest, &len);
  EVP_MD_CTX_free(sha);
  if (fd >= 0) {
    if (stage >= kFsync && ::fsync(fd) != 0) throw std::runtime_error("fsync failed");
    ::close(fd);
    ::unlink(path.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) try {
  int crashes = 300;
  int body_kb = 400;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--crashes") crashes = std::stoi(next());
    else if (a == "--body-kb") body_kb = std::stoi(next());
    else if (a == "--dir") dir = next();
    else throw std::runtime_error("unknown argument " + a);
  }
  auto body = bench::make_crash(body_kb).second;
  std::string path = dir + "/collector-floor-" + std::to_string(::getpid()) + ".dump";
  nlohmann::json out = {{"body_bytes", body.size()}, {"crashes", crashes}};
  const char* names[] = {"inflate", "inflate_sha256", "inflate_sha256_write", "inflate_sha256_write_fsync"};
  for (Stage stage : {kInflate, kSha, kWrite, kFsync}) {
    one_crash(body, stage, path);  // warm up
    double start = cpu_seconds();
    for (int i = 0; i < crashes; ++i) one_crash(body, stage, path);
    out[std::string(names[stage]) + "_cpu_ms"] = (cpu_seconds() - start) * 1000 / crashes;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "collector_floor: %s\n", e.what());
  return 2;
}
