#include "collector/test_support.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/fs_util.h"

namespace bw::collector::testing {

uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  throw std::runtime_error("no VmHWM in /proc/self/status");
}

namespace {
uint64_t status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(status, line)) {
    if (line.compare(0, n, field) == 0) return std::stoull(line.substr(n)) * 1024;
  }
  throw std::runtime_error(std::string("no ") + field + " in /proc/self/status");
}
uint64_t g_rss_at_reset = 0;
}  // namespace

void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
  g_rss_at_reset = status_kib("VmRSS:");
}

uint64_t peak_rss_growth() {
  uint64_t peak = status_kib("VmHWM:");
  return peak > g_rss_at_reset ? peak - g_rss_at_reset : 0;
}

std::string gzip_of_zeros(uint64_t zeros) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
  static const std::string block(1 << 20, '\0');
  std::string out;
  char buf[65536];
  while (true) {
    uint64_t take = std::min<uint64_t>(zeros, block.size());
    zeros -= take;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    z.avail_in = static_cast<uInt>(take);
    int flush = zeros == 0 ? Z_FINISH : Z_NO_FLUSH;
    int rc;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    if (flush == Z_FINISH) break;
  }
  deflateEnd(&z);
  return out;
}

size_t count_files(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return 0;
  size_t n = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) ++n;
  }
  return n;
}

uint16_t port_from_banner(const std::string& line) {
  auto scheme = line.find("http://");
  if (scheme == std::string::npos) throw std::runtime_error("no URL in '" + line + "'");
  auto slash = line.find('/', scheme + 7);
  auto hostport = line.substr(scheme + 7, slash == std::string::npos ? std::string::npos : slash - scheme - 7);
  return static_cast<uint16_t>(std::stoi(hostport.substr(hostport.rfind(':') + 1)));
}

}  // namespace bw::collector::testing
