// HTTP symbol servers (Tecken layout) through libcurl, with an on-disk cache of downloads, a
// negative cache of 404s and one download per module at a time.
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <mutex>

#include "core/fs_util.h"
#include "core/libcurl.h"
#include "core/log.h"
#include "symbols/sym_file_loader.h"
#include "symbols/symbol_supplier.h"

namespace bw::symbols {

namespace fs = std::filesystem;

struct HttpSymbolSupplier::State {
  std::mutex mutex;
  std::map<std::string, std::shared_future<SymbolResult>> in_flight;
  std::atomic<uint64_t> requests{0};
};

std::string percent_encode_path(std::string_view rel) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : rel) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

namespace {

size_t write_to_file(char* data, size_t size, size_t n, void* user) {
  return std::fwrite(data, size, n, static_cast<FILE*>(user)) * size;
}

enum class FetchOutcome { kOk, kNotFound, kError };

struct Fetch {
  FetchOutcome outcome = FetchOutcome::kError;
  std::string detail;
};

// GET `url` into `out_path`.
Fetch fetch(const std::string& url, const fs::path& out_path, const HttpSymbolOptions& options) {
  Fetch result;
  FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) {
    result.detail = "cannot create " + out_path.string() + ": " + std::strerror(errno);
    return result;
  }
  const LibCurl& curl = libcurl();
  CURL* h = curl.easy_init();
  if (!h) {
    std::fclose(out);
    result.detail = "curl_easy_init failed";
    return result;
  }
  char errbuf[CURL_ERROR_SIZE] = {};
  curl.easy_setopt(h, CURLOPT_URL, url.c_str());
  curl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl.easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate Content-Encoding decoded
  curl.easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_file);
  curl.easy_setopt(h, CURLOPT_WRITEDATA, out);
  CURLcode rc = curl.easy_perform(h);
  long status = 0;
  curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl.easy_cleanup(h);
  bool write_ok = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
  write_ok = std::fclose(out) == 0 && write_ok;
  if (rc != CURLE_OK) {
    result.detail = url + ": " + (errbuf[0] ? errbuf : curl.easy_strerror(rc));
  } else if (status == 404 || status == 410) {
    result.outcome = FetchOutcome::kNotFound;
    result.detail = url + ": HTTP " + std::to_string(status);
  } else if (status != 200) {
    result.detail = url + ": HTTP " + std::to_string(status);
  } else if (!write_ok) {
    result.detail = "cannot write " + out_path.string();
  } else {
    result.outcome = FetchOutcome::kOk;
  }
  return result;
}

bool is_gzip(const fs::path& p) {
  unsigned char magic[2] = {};
  std::ifstream in(p, std::ios::binary);
  in.read(reinterpret_cast<char*>(magic), 2);
  return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// Inflates a gzip'd body (a server that stores .sym.gz and sends it without Content-Encoding).
bool gunzip(const fs::path& from, const fs::path& to, std::string* why) {
  gzFile in = gzopen(from.c_str(), "rb");
  if (!in) {
    *why = "cannot open " + from.string();
    return false;
  }
  FILE* out = std::fopen(to.c_str(), "wb");
  if (!out) {
    gzclose(in);
    *why = "cannot create " + to.string();
    return false;
  }
  std::vector<char> buf(1 << 20);
  bool ok = true;
  for (;;) {
    int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      *why = std::string("bad gzip body: ") + gzerror(in, &err);
      ok = false;
      break;
    }
    if (n == 0) break;
    if (std::fwrite(buf.data(), 1, static_cast<size_t>(n), out) != static_cast<size_t>(n)) {
      *why = "cannot write " + to.string();
      ok = false;
      break;
    }
  }
  gzclose(in);
  ok = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0 && ok;
  ok = std::fclose(out) == 0 && ok;
  return ok;
}

bool fresh_marker(const fs::path& marker, std::chrono::seconds ttl) {
  std::error_code ec;
  auto when = fs::last_write_time(marker, ec);
  if (ec) return false;
  return fs::file_time_type::clock::now() - when < ttl;
}

}  // namespace

HttpSymbolSupplier::HttpSymbolSupplier(HttpSymbolOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  libcurl();  // fails here, at construction, if libcurl is missing
  for (auto& url : options_.urls) {
    while (!url.empty() && url.back() == '/') url.pop_back();
  }
}

HttpSymbolSupplier::~HttpSymbolSupplier() = default;

uint64_t HttpSymbolSupplier::requests_sent() const { return state_->requests.load(); }

SymbolResult HttpSymbolSupplier::get(const ModuleKey& module) {
  std::string why;
  std::string rel = symbol_relative_path(module, &why);
  if (rel.empty()) return SymbolResult{SymbolStatus::kNotFound, nullptr, why};

  std::promise<SymbolResult> promise;
  {
    std::unique_lock lock(state_->mutex);
    if (auto it = state_->in_flight.find(rel); it != state_->in_flight.end()) {
      auto waiting = it->second;
      lock.unlock();
      return waiting.get();  // one download per module: wait for the thread doing it
    }
    state_->in_flight.emplace(rel, promise.get_future().share());
  }

  SymbolResult result;
  try {
    result = get_locked(rel);
  } catch (const std::exception& e) {
    result = SymbolResult{SymbolStatus::kFetchError, nullptr, e.what()};
  }
  {
    std::lock_guard lock(state_->mutex);
    state_->in_flight.erase(rel);
  }
  promise.set_value(result);
  return result;
}

SymbolResult HttpSymbolSupplier::get_locked(const std::string& rel) {
  fs::path sym = options_.cache_dir / rel;
  fs::path cache = compact_cache_path(options_.cache_dir, rel);
  fs::path marker = sym;
  marker += ".notfound";
  std::error_code ec;
  if (fs::is_regular_file(sym, ec)) return load_sym_file(sym, cache);
  if (fresh_marker(marker, options_.negative_ttl)) {
    return SymbolResult{SymbolStatus::kNotFound, nullptr, rel + ": not on the symbol servers (cached)"};
  }

  bw::fs::create_directories_durably(sym.parent_path());
  fs::path tmp = sym;
  tmp += "." + bw::fs::unique_temp_name();
  fs::path inflated = tmp;
  inflated += ".inflated";
  struct Cleanup {
    fs::path a, b;
    ~Cleanup() {
      std::error_code e;
      fs::remove(a, e);
      fs::remove(b, e);
    }
  } cleanup{tmp, inflated};

  std::vector<std::string> errors;
  bool all_not_found = true;
  for (const std::string& base : options_.urls) {
    std::string url = base + "/" + percent_encode_path(rel);
    state_->requests.fetch_add(1);
    Fetch f = fetch(url, tmp, options_);
    if (f.outcome == FetchOutcome::kNotFound) continue;
    if (f.outcome == FetchOutcome::kError) {
      all_not_found = false;
      errors.push_back(f.detail);
      continue;
    }
    fs::path body = tmp;
    if (is_gzip(tmp)) {
      std::string gz_why;
      if (!gunzip(tmp, inflated, &gz_why)) {
        all_not_found = false;
        errors.push_back(url + ": " + gz_why);
        continue;
      }
      body = inflated;
    }
    fs::rename(body, sym);  // atomic: readers see the whole file or none
    bw::fs::fsync_path(sym.parent_path());
    fs::remove(marker, ec);
    bw::log_fields(*bw::logger("symbols"), spdlog::level::info, "downloaded symbols",
                   {{"url", url}, {"bytes", std::to_string(fs::file_size(sym, ec))}});
    return load_sym_file(sym, cache);
  }
  if (all_not_found) {
    bw::fs::write_file_atomically(marker, "");
    return SymbolResult{SymbolStatus::kNotFound, nullptr, rel + ": not on the symbol servers"};
  }
  std::string detail;
  for (const auto& e : errors) detail += (detail.empty() ? "" : "; ") + e;
  return SymbolResult{SymbolStatus::kFetchError, nullptr, detail};
}

}  // namespace bw::symbols
