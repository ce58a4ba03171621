// Local symbol stores, the LRU of parsed modules, and the factory that wires them from config.
#include "symbols/symbol_supplier.h"

#include <cctype>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/ascii.h"
#include "core/log.h"
#include "core/metrics.h"
#include "symbols/sym_file_loader.h"

namespace bw::symbols {

const char* to_string(SymbolStatus status) {
  switch (status) {
    case SymbolStatus::kFound: return "found";
    case SymbolStatus::kNotFound: return "not found";
    case SymbolStatus::kCorrupt: return "corrupt";
    case SymbolStatus::kFetchError: return "fetch error";
  }
  return "unknown";
}

namespace {

bool safe_component(std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 255) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return false;
  }
  return true;
}

std::string_view base_name(std::string_view path) {
  size_t slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string sym_file_name(std::string_view debug_file_base) {
  std::string name(debug_file_base);
  if (name.size() > 4) {
    if (iequals(std::string_view(name).substr(name.size() - 4), ".pdb")) name.resize(name.size() - 4);
  }
  return name + ".sym";
}

std::string symbol_relative_path(const ModuleKey& module, std::string* why) {
  std::string_view file = base_name(module.debug_file);
  if (!safe_component(file)) {
    if (why) *why = "debug file name unusable as a path: '" + module.debug_file + "'";
    return {};
  }
  if (module.debug_id.empty() || module.debug_id.size() > 64) {
    if (why) *why = "missing or oversized debug id";
    return {};
  }
  for (char c : module.debug_id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      if (why) *why = "debug id is not alphanumeric: '" + module.debug_id + "'";
      return {};
    }
  }
  return std::string(file) + "/" + module.debug_id + "/" + sym_file_name(file);
}

std::string store_relative_path(const ModuleKey& module, std::string* why) {
  ModuleKey upper = module;
  for (char& c : upper.debug_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string rel = symbol_relative_path(upper, why);
  if (!rel.empty()) rel += ".gz";
  return rel;
}

// --- LocalSymbolSupplier -------------------------------------------------------------------------

LocalSymbolSupplier::LocalSymbolSupplier(std::vector<std::filesystem::path> roots,
                                         std::filesystem::path cache_dir)
    : roots_(std::move(roots)), cache_dir_(std::move(cache_dir)) {}

namespace {

SymbolResult result_of(std::shared_ptr<const ModuleSymbols> m, const std::filesystem::path& from) {
  SymbolResult r;
  r.status = m->is_corrupt() ? SymbolStatus::kCorrupt : SymbolStatus::kFound;
  r.detail = from.string();
  if (m->is_corrupt()) {
    r.detail += ": " + std::to_string(m->stats().bad_lines) + " bad lines";
    if (!m->stats().first_errors.empty()) r.detail += " (" + m->stats().first_errors.front() + ")";
  }
  r.symbols = std::move(m);
  return r;
}

}  // namespace

std::filesystem::path compact_cache_path(const std::filesystem::path& cache_dir, const std::string& rel) {
  std::filesystem::path p = cache_dir / "compact" / rel;
  p += ".bwsymc";
  return p;
}

SymbolResult load_sym_file(const std::filesystem::path& sym, const std::filesystem::path& cache_file, bool gzipped) {
  auto stamp = stamp_of(sym);
  if (!stamp) return SymbolResult{SymbolStatus::kNotFound, nullptr, sym.string() + " vanished"};
  if (!cache_file.empty()) {
    std::string why;
    if (auto cached = ModuleSymbols::load_cache(cache_file, stamp, &why)) return result_of(cached, sym);
    std::error_code ec;
    if (std::filesystem::exists(cache_file, ec)) {
      bw::log_fields(*bw::logger("symbols"), spdlog::level::info, "rebuilding symbol cache",
                     {{"reason", why}});
    }
  }
  std::string error;
  auto parsed = gzipped ? ModuleSymbols::parse_gzip_file(sym, &error) : ModuleSymbols::parse_file(sym, &error);
  if (!parsed) return SymbolResult{SymbolStatus::kFetchError, nullptr, error};
  if (!cache_file.empty()) {
    std::string why;
    if (!parsed->write_cache(cache_file, *stamp, &why)) {
      bw::log_fields(*bw::logger("symbols"), spdlog::level::warn, "cannot write symbol cache",
                     {{"reason", why}});
    }
  }
  return result_of(parsed, sym);
}

SymbolResult LocalSymbolSupplier::get(const ModuleKey& module) {
  std::string why;
  std::string rel = symbol_relative_path(module, &why);
  if (rel.empty()) return SymbolResult{SymbolStatus::kNotFound, nullptr, why};
  for (const auto& root : roots_) {
    std::filesystem::path sym = root / rel;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(sym, ec)) continue;
    return load_sym_file(sym, cache_dir_.empty() ? std::filesystem::path{} : compact_cache_path(cache_dir_, rel));
  }
  return SymbolResult{SymbolStatus::kNotFound, nullptr, "no " + rel + " in the local symbol stores"};
}

// --- StoreSymbolSupplier -------------------------------------------------------------------------

StoreSymbolSupplier::StoreSymbolSupplier(std::filesystem::path store_dir, std::filesystem::path cache_dir)
    : store_dir_(std::move(store_dir)), cache_dir_(std::move(cache_dir)) {}

SymbolResult StoreSymbolSupplier::get(const ModuleKey& module) {
  std::string why;
  std::string rel = store_relative_path(module, &why);
  if (rel.empty()) return SymbolResult{SymbolStatus::kNotFound, nullptr, why};
  std::filesystem::path file = store_dir_ / rel;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return SymbolResult{SymbolStatus::kNotFound, nullptr, "no " + rel + " in the site's symbol store"};
  }
  return load_sym_file(file, cache_dir_.empty() ? std::filesystem::path{} : compact_cache_path(cache_dir_, rel),
                       /*gzipped=*/true);
}

// --- CachingSymbolSupplier -----------------------------------------------------------------------

struct CachingSymbolSupplier::State {
  struct Entry {
    std::string key;
    SymbolResult result;
    size_t bytes;
  };
  std::mutex mutex;
  std::list<Entry> lru;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
  std::map<std::string, std::shared_future<SymbolResult>> loading;
  size_t bytes = 0;
  size_t max_bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  bw::metrics::Counter* hit_counter = nullptr;
  bw::metrics::Counter* miss_counter = nullptr;
  bw::metrics::Gauge* bytes_gauge = nullptr;

  void evict_locked() {
    while (bytes > max_bytes && !lru.empty()) {
      bytes -= lru.back().bytes;
      index.erase(lru.back().key);
      lru.pop_back();
    }
    bytes_gauge->set(static_cast<double>(bytes));
  }
};

CachingSymbolSupplier::CachingSymbolSupplier(std::vector<std::unique_ptr<SymbolSupplier>> suppliers,
                                             size_t max_memory_bytes)
    : suppliers_(std::move(suppliers)), state_(std::make_unique<State>()) {
  state_->max_bytes = max_memory_bytes;
  auto& reg = bw::metrics::Registry::global();
  state_->hit_counter = &reg.counter("breakwater_symbols_cache_hits_total",
                                     "Symbol requests answered from the in-memory LRU");
  state_->miss_counter = &reg.counter("breakwater_symbols_cache_misses_total",
                                      "Symbol requests that loaded or fetched a module");
  state_->bytes_gauge = &reg.gauge("breakwater_symbols_cache_bytes",
                                   "Bytes of parsed symbols held in the in-memory LRU");
}

CachingSymbolSupplier::~CachingSymbolSupplier() = default;

SymbolResult CachingSymbolSupplier::get(const ModuleKey& module) {
  std::string why;
  std::string key = symbol_relative_path(module, &why);
  if (key.empty()) return SymbolResult{SymbolStatus::kNotFound, nullptr, why};

  std::promise<SymbolResult> promise;
  {
    std::unique_lock lock(state_->mutex);
    if (auto it = state_->index.find(key); it != state_->index.end()) {
      const auto& kept = it->second->result.symbols;
      if (kept && kept->damage_detected()) {
        // Its cache file turned out damaged (and is gone): drop it and load the module afresh.
        state_->bytes -= it->second->bytes;
        state_->lru.erase(it->second);
        state_->index.erase(it);
        state_->bytes_gauge->set(static_cast<double>(state_->bytes));
      } else {
        state_->lru.splice(state_->lru.begin(), state_->lru, it->second);
        ++state_->hits;
        state_->hit_counter->inc();
        return it->second->result;
      }
    }
    if (auto it = state_->loading.find(key); it != state_->loading.end()) {
      auto waiting = it->second;
      lock.unlock();
      return waiting.get();  // another thread is loading this module: share its answer
    }
    ++state_->misses;
    state_->miss_counter->inc();
    state_->loading.emplace(key, promise.get_future().share());
  }

  SymbolResult result{SymbolStatus::kNotFound, nullptr, "no symbol supplier configured"};
  std::vector<std::string> reasons;
  try {
    for (auto& supplier : suppliers_) {
      SymbolResult r = supplier->get(module);
      if (r.status == SymbolStatus::kFound || r.status == SymbolStatus::kCorrupt) {
        result = std::move(r);
        break;
      }
      // A fetch error anywhere wins over "not found": the module may exist, retry later.
      if (r.status == SymbolStatus::kFetchError || result.status != SymbolStatus::kFetchError) {
        result.status = r.status;
      }
      reasons.push_back(r.detail);
    }
  } catch (const std::exception& e) {
    result = SymbolResult{SymbolStatus::kFetchError, nullptr, e.what()};
  }
  if (!result.symbols && !reasons.empty()) {
    result.detail.clear();
    for (const auto& r : reasons) result.detail += (result.detail.empty() ? "" : "; ") + r;
  }

  {
    std::lock_guard lock(state_->mutex);
    if (result.symbols) {
      size_t bytes = result.symbols->memory_bytes();
      if (bytes <= state_->max_bytes) {
        state_->lru.push_front(State::Entry{key, result, bytes});
        state_->index[key] = state_->lru.begin();
        state_->bytes += bytes;
        state_->evict_locked();
      }
    }
    state_->loading.erase(key);
  }
  promise.set_value(result);
  return result;
}

size_t CachingSymbolSupplier::cached_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->bytes;
}
size_t CachingSymbolSupplier::cached_modules() const {
  std::lock_guard lock(state_->mutex);
  return state_->lru.size();
}
uint64_t CachingSymbolSupplier::hits() const {
  std::lock_guard lock(state_->mutex);
  return state_->hits;
}
uint64_t CachingSymbolSupplier::misses() const {
  std::lock_guard lock(state_->mutex);
  return state_->misses;
}

namespace {

// The [symbols] keys both kinds of options share: local stores, HTTP servers and the limits.
SymbolOptions configured_sources_and_limits(const bw::Config& config) {
  SymbolOptions o;
  for (const auto& p : config.get_string_list("symbols", "paths")) o.paths.emplace_back(p);
  o.urls = config.get_string_list("symbols", "urls");
  o.lru_bytes = static_cast<size_t>(config.get_size("symbols", "lru_size"));
  o.connect_timeout = config.get_duration("symbols", "connect_timeout");
  o.total_timeout = config.get_duration("symbols", "timeout");
  o.negative_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.get_duration("symbols", "negative_ttl"));
  return o;
}

}  // namespace

SymbolOptions symbol_options_from_config(const bw::Config& config) {
  SymbolOptions o = configured_sources_and_limits(config);
  o.store_dir = config.data_path(config.get_string("symbols", "store_dir"), "symbols");
  o.cache_dir = config.data_path(config.get_string("symbols", "cache_dir"), "symbols-cache");
  return o;
}

SymbolOptions symbol_options_for_walk(const bw::Config& config, const std::vector<std::filesystem::path>& extra_paths,
                                      const std::filesystem::path& cache_dir) {
  SymbolOptions o = configured_sources_and_limits(config);
  o.paths.insert(o.paths.end(), extra_paths.begin(), extra_paths.end());
  o.cache_dir = cache_dir.empty() ? std::filesystem::path(config.get_string("symbols", "cache_dir")) : cache_dir;
  if (!o.urls.empty() && o.cache_dir.empty()) {
    // Downloads need somewhere to land; a per-user cache keeps repeated runs fast.
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    o.cache_dir = xdg ? std::filesystem::path(xdg) / "breakwater-symbols"
                  : home ? std::filesystem::path(home) / ".cache" / "breakwater-symbols"
                         : std::filesystem::temp_directory_path() / "breakwater-symbols";
  }
  return o;
}

std::unique_ptr<CachingSymbolSupplier> make_symbol_supplier(const SymbolOptions& options) {
  std::vector<std::unique_ptr<SymbolSupplier>> suppliers;
  if (!options.store_dir.empty()) {
    suppliers.push_back(std::make_unique<StoreSymbolSupplier>(options.store_dir, options.cache_dir));
  }
  if (!options.paths.empty()) {
    suppliers.push_back(std::make_unique<LocalSymbolSupplier>(options.paths, options.cache_dir));
  }
  if (!options.urls.empty()) {
    if (options.cache_dir.empty()) throw std::invalid_argument("symbol URLs need a symbols cache_dir");
    HttpSymbolOptions http;
    http.urls = options.urls;
    http.cache_dir = options.cache_dir;
    http.connect_timeout = options.connect_timeout;
    http.total_timeout = options.total_timeout;
    http.negative_ttl = options.negative_ttl;
    suppliers.push_back(std::make_unique<HttpSymbolSupplier>(std::move(http)));
  }
  return std::make_unique<CachingSymbolSupplier>(std::move(suppliers), options.lru_bytes);
}

}  // namespace bw::symbols
