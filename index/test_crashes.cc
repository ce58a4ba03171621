#include "index/test_crashes.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "index/fields.h"

namespace bw::index::test_data {
namespace {

using json = nlohmann::json;

const char* const kProducts[] = {"Firefox", "Firefox", "Firefox", "Fenix", "Thunderbird"};
const char* const kVersions[] = {"140.0", "140.0.1", "141.0b3", "142.0a1"};
const char* const kChannels[] = {"release", "release", "beta", "nightly"};
const char* const kPlatforms[] = {"Windows NT", "Windows NT", "Windows NT", "Mac OS X", "Linux", "Android"};
const char* const kArchs[] = {"amd64", "amd64", "x86", "arm64"};
const char* const kProcessTypes[] = {"parent", "content", "content", "gpu", "utility"};
const char* const kReasons[] = {"EXCEPTION_ACCESS_VIOLATION_READ", "SIGSEGV /SEGV_MAPERR", "EXCEPTION_BREAKPOINT",
                                "SIGABRT"};
const char* const kModules[] = {"xul.pdb/4C4C44", "ntdll.pdb/1B2C3D", "libxul.so/AA11BB", "mozglue.pdb/99EE00",
                                "d3d11.pdb/77AB01", "libc.so.6/CAFE01"};
const char* const kFlavors[] = {"vanilla", "chocolate", "strawberry"};

// json_dump.modules for the crash's modules ("debug_file/debug_id"), the missing ones flagged; debug
// ids written lower-case (the index upper-cases them).
json dump_modules(const json& modules, const json& missing) {
  json out = json::array();
  for (const auto& m : modules) {
    const std::string key = m.get<std::string>();
    const std::string debug_file = key.substr(0, key.find('/'));
    std::string debug_id = key.substr(key.find('/') + 1);
    for (char& c : debug_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string code_file = debug_file.ends_with(".pdb") ? debug_file.substr(0, debug_file.size() - 4) + ".dll" : debug_file;
    bool is_missing = std::find(missing.begin(), missing.end(), m) != missing.end();
    out.push_back({{"filename", code_file}, {"debug_file", debug_file}, {"debug_id", debug_id},
                   {"code_id", "C0DE" + debug_id}, {"missing_symbols", is_missing}});
  }
  return out;
}

template <size_t N>
const char* one_of(const char* const (&list)[N], size_t i) {
  return list[i % N];
}

}  // namespace

CrashGenerator::CrashGenerator(GeneratorOptions options) : options_(options), rng_(options.seed) {
  double sum = 0;
  cdf_.reserve(options_.signatures);
  for (size_t k = 1; k <= options_.signatures; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k), options_.zipf_s);
    cdf_.push_back(sum);
  }
  for (auto& c : cdf_) c /= sum;
  end_us_ = std::chrono::duration_cast<std::chrono::microseconds>(options_.end.time_since_epoch()).count();
}

uint64_t CrashGenerator::bits() { return rng_(); }

double CrashGenerator::uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }

std::string CrashGenerator::hex(size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += digits[bits() & 15];
  return s;
}

std::string CrashGenerator::signature_name(size_t i) {
  static const char* const stems[] = {"js::gc::Arena::finalize", "mozilla::dom::Element::SetAttr",
                                      "OOM | small", "nsThread::ProcessNextEvent", "RtlpWaitOnCriticalSection",
                                      "core::panicking::panic", "IPCError-browser | ShutDownKill",
                                      "shutdownhang | NtWaitForAlertByThreadId"};
  return std::string(stems[i % 8]) + (i < 8 ? "" : " | frame" + std::to_string(i));
}

TestCrash CrashGenerator::next() {
  int64_t span = static_cast<int64_t>(options_.days) * kMicrosPerDay;
  double position = uniform();  // 0 = the end of the period, 1 = its start
  if (options_.arrival_order_total > 0) {
    double total = static_cast<double>(options_.arrival_order_total);
    double k = static_cast<double>(std::min(made_, options_.arrival_order_total - 1));
    position = (total - 1 - k + position) / total;
  }
  ++made_;
  int64_t date_us = end_us_ - 1 - static_cast<int64_t>(position * static_cast<double>(span));
  size_t sig_index =
      static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), uniform()) - cdf_.begin());
  sig_index = std::min(sig_index, options_.signatures - 1);
  std::string signature = signature_name(sig_index);

  // The crash id: random hex, throttle digit 0, then the crash's date as YYMMDD.
  std::string day = format_day(floor_div(date_us, kMicrosPerDay));  // YYYY-MM-DD
  std::string uuid = hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(5) + "0" + day.substr(2, 2) +
                     day.substr(5, 2) + day.substr(8, 2);

  const char* product = one_of(kProducts, pick(5));
  const char* platform = one_of(kPlatforms, pick(6));
  const char* version = one_of(kVersions, pick(4));
  const char* channel = one_of(kChannels, pick(4));
  const char* ptype = one_of(kProcessTypes, pick(5));
  bool walked = uniform() < 0.95;
  std::string date = format_date_us(date_us);

  json modules = json::array();
  size_t nmod = 1 + pick(3);
  for (size_t i = 0; i < nmod; ++i) {
    std::string m = one_of(kModules, pick(6));
    if (std::find(modules.begin(), modules.end(), m) == modules.end()) modules.push_back(m);
  }
  json missing = json::array();
  if (uniform() < 0.3) missing.push_back(modules[0]);

  char build[64];
  std::snprintf(build, sizeof build, "2026%02d%02d%06d", 1 + static_cast<int>(pick(10)), 1 + static_cast<int>(pick(28)),
                static_cast<int>(pick(240000)));
  json p = {
      {"uuid", uuid},
      {"date_processed", date},
      {"submitted_timestamp", date},
      {"product", product},
      {"version", version},
      {"release_channel", channel},
      {"build_id", build},
      {"process_type", ptype},
      {"signature", signature},
      {"proto_signature", signature + " | caller | main"},
      {"processor_notes", json::array({"breakwater-processor", walked ? "walked" : "no dump"})},
      {"success", walked},
      {"mdsw_status_string", walked ? "OK" : "NO_MINIDUMP"},
      {"processor_ruleset", "default"},
      {"metadata", {{"payload", "multipart"}, {"payload_compressed", "0"}}},
  };
  if (walked) {
    const char* arch = one_of(kArchs, pick(4));
    int cpus = 1 << pick(5);
    std::string os_ver = std::to_string(10 + pick(5)) + ".0." + std::to_string(pick(30000));
    p["os_name"] = platform;
    p["os_version"] = os_ver;
    p["cpu_arch"] = arch;
    p["cpu_count"] = cpus;
    p["crashing_thread"] = static_cast<int>(pick(4));
    p["address"] = "0x" + hex(uniform() < 0.5 ? 4 : 12);
    p["modules_in_stack"] = modules;
    p["missing_symbols"] = missing;
    if (uniform() < 0.9) p["reason"] = one_of(kReasons, pick(4));
    p["json_dump"] = {{"system_info", {{"os", platform}, {"os_ver", os_ver}, {"cpu_arch", arch}, {"cpu_count", cpus}}},
                      {"crash_info", {{"crashing_thread", p["crashing_thread"]}, {"address", p["address"]}}},
                      {"modules", dump_modules(modules, missing)}};
  }
  if (uniform() < 0.9) p["uptime"] = static_cast<int64_t>(pick(7200));
  if (uniform() < 0.8) p["install_age"] = static_cast<int64_t>(pick(86400 * 90));
  if (uniform() < 0.2) p["moz_crash_reason"] = "MOZ_RELEASE_ASSERT(" + hex(4) + ")";
  if (uniform() < 0.1) p["abort_message"] = "###!!! ABORT: " + hex(6);
  if (uniform() < 0.3) p["url"] = "https://example" + std::to_string(pick(5)) + ".com/page";
  if (uniform() < 0.1) p["user_comments"] = "it crashed again " + hex(3);

  json raw = {{"ProductName", product}, {"Version", version}, {"ReleaseChannel", channel}, {"BuildID", build},
              {"submitted_timestamp", date}};
  if (std::string(ptype) != "parent") raw["ProcessType"] = ptype;
  if (p.contains("url")) raw["URL"] = p["url"];
  if (uniform() < 0.7) raw["Flavor"] = one_of(kFlavors, pick(3));
  if (uniform() < 0.8) raw["Temperature"] = std::to_string(static_cast<double>(pick(2000)) / 20.0);
  return {std::move(p), std::move(raw)};
}

std::vector<TestCrash> CrashGenerator::make(size_t n) {
  std::vector<TestCrash> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(next());
  return out;
}

}  // namespace bw::index::test_data
