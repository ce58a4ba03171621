#include "bench/collector/crash_body.h"

#include <cstdint>
#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include "collector/gzip_stream.h"
#include "collector/submit_client.h"

namespace bench {

std::pair<std::string, std::string> make_crash(int kb) {
  std::mt19937_64 gen(42);
  std::string dump(static_cast<size_t>(kb) * 3 * 1024, '\0');
  std::memcpy(dump.data(), "MDMP\x93\xa7", 6);
  for (size_t i = 64; i < dump.size() / 3; i += 8) {
    uint64_t r = gen();
    std::memcpy(dump.data() + i, &r, 8);
  }
  nlohmann::json ann = {{"ProductName", "Firefox"},     {"Version", "120.0"},          {"ReleaseChannel", "release"},
                        {"BuildID", "20231120000000"}, {"CrashTime", "1700000000"},  {"Throttleable", "1"},
                        {"URL", "https://example.com"}, {"Vendor", "Mozilla"},         {"useragent_locale", "en-US"}};
  std::string boundary = bw::collector::random_boundary();
  std::string body = bw::collector::gzip_compress(
      bw::collector::build_multipart_body(boundary, ann, false, {{"upload_file_minidump", dump}}));
  return {boundary, body};
}

}  // namespace bench
