// Suppliers: local stores with compact caches, the LRU, and the HTTP supplier against a real HTTP
// server on loopback (plain, gzip'd, redirected, 404 cached negatively, hanging, 16 threads).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/fs_util.h"
#include "symbols/symbol_supplier.h"
#include "core/temp_dir.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;

const fs::path kStore = fs::path(BW_TESTDATA_DIR) / "symbols";
const ModuleKey kLinuxInline{"linux_inline", "BBA6FA10B8AAB33D00000000000000000", "", ""};
const ModuleKey kTestApp{"c:\\build\\test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1", "test_app.exe", ""};

using bw::test_support::TempDir;

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(SymbolPaths, RelativePathFollowsTheStoreLayout) {
  EXPECT_EQ(symbol_relative_path(kTestApp), "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym");
  EXPECT_EQ(symbol_relative_path(kLinuxInline),
            "linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.sym");
  EXPECT_EQ(sym_file_name("XUL.PDB"), "XUL.sym");
  EXPECT_EQ(sym_file_name("libxul.so"), "libxul.so.sym");
  std::string why;
  EXPECT_EQ(symbol_relative_path(ModuleKey{"..", "ABC", "", ""}, &why), "");
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(symbol_relative_path(ModuleKey{"x.pdb", "../../etc", "", ""}), "");
  EXPECT_EQ(symbol_relative_path(ModuleKey{"x.pdb", "", "", ""}), "");
  EXPECT_EQ(symbol_relative_path(ModuleKey{"", "ABC", "", ""}), "");
  EXPECT_EQ(symbol_relative_path(ModuleKey{std::string("a\nb"), "ABC", "", ""}), "");
}

TEST(SymbolOptions, FromConfig) {
  bw::Config::Sources sources;
  sources.environment = {{"BREAKWATER_SYMBOLS_PATHS", "/a,/b"},
                         {"BREAKWATER_SYMBOLS_URLS", "https://symbols.example.com"},
                         {"BREAKWATER_SYMBOLS_LRU_SIZE", "64MiB"},
                         {"BREAKWATER_SYMBOLS_NEGATIVE_TTL", "10m"},
                         {"BREAKWATER_SERVER_DATA", "/var/bw"}};
  auto o = symbol_options_from_config(bw::Config::load(sources));
  ASSERT_EQ(o.paths.size(), 2u);
  EXPECT_EQ(o.paths[1], fs::path("/b"));
  EXPECT_EQ(o.urls.at(0), "https://symbols.example.com");
  EXPECT_EQ(o.cache_dir, fs::path("/var/bw/symbols-cache"));
  EXPECT_EQ(o.store_dir, fs::path("/var/bw/symbols"));  // the site's own store, with no configuration
  EXPECT_EQ(o.lru_bytes, size_t{64} << 20);
  EXPECT_EQ(o.negative_ttl, std::chrono::seconds(600));
  EXPECT_EQ(o.total_timeout, std::chrono::seconds(120));
  EXPECT_TRUE(make_symbol_supplier(o));
  o.cache_dir.clear();
  EXPECT_THROW(make_symbol_supplier(o), std::invalid_argument);
}

TEST(LocalSupplier, FindsParsesAndCaches) {
  TempDir cache;
  LocalSymbolSupplier local({"/nonexistent-store", kStore}, cache.path());
  auto r = local.get(kTestApp);
  ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
  EXPECT_FALSE(r.symbols->from_cache());
  EXPECT_EQ(r.symbols->lookup(0x429e)->function_name, "`anonymous namespace'::CrashFunction");
  fs::path cache_file = cache.path() / "compact" / "test_app.pdb" / "5A9832E5287241C1838ED98914E9B7FF1" /
                        "test_app.sym.bwsymc";
  ASSERT_TRUE(fs::exists(cache_file));
  auto again = local.get(kTestApp);
  ASSERT_EQ(again.status, SymbolStatus::kFound);
  EXPECT_TRUE(again.symbols->from_cache());
  EXPECT_TRUE(again.symbols->same_content(*r.symbols));

  // Damaged data in the cache file is found when it is read (here: all of it, at once); the file
  // is removed, so the next request parses the .sym and writes a good cache again.
  auto flip = [&](uint64_t at) {
    std::fstream f(cache_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x5a));
  };
  flip(fs::file_size(cache_file) / 2);
  auto damaged = local.get(kTestApp);
  ASSERT_EQ(damaged.status, SymbolStatus::kFound);
  EXPECT_TRUE(damaged.symbols->from_cache());
  EXPECT_FALSE(damaged.symbols->verify_cache());
  EXPECT_TRUE(damaged.symbols->damage_detected());
  EXPECT_FALSE(fs::exists(cache_file));
  auto rebuilt = local.get(kTestApp);
  ASSERT_EQ(rebuilt.status, SymbolStatus::kFound);
  EXPECT_FALSE(rebuilt.symbols->from_cache());
  auto reloaded = local.get(kTestApp);
  EXPECT_TRUE(reloaded.symbols->from_cache());
  EXPECT_TRUE(reloaded.symbols->verify_cache());

  // A damaged header is refused at load and the cache rebuilt at once.
  flip(20);
  EXPECT_FALSE(local.get(kTestApp).symbols->from_cache());
  EXPECT_TRUE(local.get(kTestApp).symbols->from_cache());

  EXPECT_EQ(local.get(ModuleKey{"missing.pdb", "00", "", ""}).status, SymbolStatus::kNotFound);
  EXPECT_EQ(local.get(ModuleKey{"../etc", "00", "", ""}).status, SymbolStatus::kNotFound);
}

TEST(LocalSupplier, CorruptSymFileIsReportedWithWhatParsed) {
  TempDir store;
  fs::path dir = store.path() / "bad.so" / "ABCDEF0";
  fs::create_directories(dir);
  std::ofstream(dir / "bad.so.sym") << "MODULE Linux x86_64 ABCDEF0 bad.so\nFUNC 10 10 0 ok\nFUNC zz\n";
  LocalSymbolSupplier local({store.path()}, {});
  auto r = local.get(ModuleKey{"bad.so", "ABCDEF0", "", ""});
  ASSERT_EQ(r.status, SymbolStatus::kCorrupt);
  ASSERT_TRUE(r.symbols);
  EXPECT_EQ(r.symbols->lookup(0x12)->function_name, "ok");
  EXPECT_NE(r.detail.find("bad lines"), std::string::npos);
}

TEST(CachingSupplier, LruBoundedByMemoryAndHits) {
  std::vector<std::unique_ptr<SymbolSupplier>> suppliers;
  suppliers.push_back(std::make_unique<LocalSymbolSupplier>(std::vector<fs::path>{kStore}, fs::path{}));
  // Room for linux_inline (tiny) but not for both it and test_app together.
  size_t small = ModuleSymbols::parse(bw::fs::read_file(kStore / symbol_relative_path(kLinuxInline)))->memory_bytes();
  CachingSymbolSupplier cache(std::move(suppliers), small + 1024);
  auto a = cache.get(kLinuxInline);
  ASSERT_EQ(a.status, SymbolStatus::kFound);
  auto a2 = cache.get(kLinuxInline);
  EXPECT_EQ(a.symbols.get(), a2.symbols.get());
  EXPECT_EQ(cache.hits(), 1u);
  auto b = cache.get(kTestApp);  // bigger than the whole budget: returned, not kept
  ASSERT_EQ(b.status, SymbolStatus::kFound);
  EXPECT_EQ(cache.cached_modules(), 1u);
  EXPECT_LE(cache.cached_bytes(), small + 1024);
  EXPECT_EQ(cache.get(ModuleKey{"none.pdb", "00", "", ""}).status, SymbolStatus::kNotFound);
}

TEST(CachingSupplier, ModuleWithDamagedCacheFileIsLoadedAgain) {
  TempDir cache;
  std::vector<std::unique_ptr<SymbolSupplier>> suppliers;
  suppliers.push_back(std::make_unique<LocalSymbolSupplier>(std::vector<fs::path>{kStore}, cache.path()));
  CachingSymbolSupplier caching(std::move(suppliers), size_t{1} << 30);
  ASSERT_FALSE(caching.get(kTestApp).symbols->from_cache());  // parses and writes the cache file
  // A second supplier stack (another process, say) maps the cache file.
  std::vector<std::unique_ptr<SymbolSupplier>> mapped_suppliers;
  mapped_suppliers.push_back(std::make_unique<LocalSymbolSupplier>(std::vector<fs::path>{kStore}, cache.path()));
  CachingSymbolSupplier mapped(std::move(mapped_suppliers), size_t{1} << 30);
  auto first = mapped.get(kTestApp);
  ASSERT_TRUE(first.symbols->from_cache());
  fs::path cache_file = cache.path() / "compact" / "test_app.pdb" / "5A9832E5287241C1838ED98914E9B7FF1" /
                        "test_app.sym.bwsymc";
  {
    std::fstream f(cache_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(cache_file) - 100));
    f.put('\x7f');
  }
  // The mapping is MAP_PRIVATE of a file written in place: the damage shows through it.
  EXPECT_FALSE(first.symbols->verify_cache());
  auto second = mapped.get(kTestApp);  // not a hit: loaded afresh, from the .sym
  ASSERT_EQ(second.status, SymbolStatus::kFound);
  EXPECT_NE(second.symbols.get(), first.symbols.get());
  EXPECT_FALSE(second.symbols->from_cache());
  EXPECT_FALSE(second.symbols->damage_detected());
  EXPECT_EQ(mapped.hits(), 0u);
  EXPECT_EQ(mapped.get(kTestApp).symbols.get(), second.symbols.get());
  EXPECT_EQ(mapped.hits(), 1u);
}

TEST(CachingSupplier, EvictsLeastRecentlyUsed) {
  std::vector<std::unique_ptr<SymbolSupplier>> suppliers;
  suppliers.push_back(std::make_unique<LocalSymbolSupplier>(std::vector<fs::path>{kStore}, fs::path{}));
  ModuleKey ld{"ld-2.13.so", "C32AD7E235EA6112E02A5B9D6219C4850", "", ""};
  ModuleKey gcc{"libgcc_s.so.1", "18B180F90887D8F8B5C35D185444AF4C0", "", ""};
  size_t one = ModuleSymbols::parse(bw::fs::read_file(kStore / symbol_relative_path(ld)))->memory_bytes();
  size_t two = ModuleSymbols::parse(bw::fs::read_file(kStore / symbol_relative_path(gcc)))->memory_bytes();
  size_t three = ModuleSymbols::parse(bw::fs::read_file(kStore / symbol_relative_path(kLinuxInline)))->memory_bytes();
  CachingSymbolSupplier cache(std::move(suppliers), std::max(one, two) + three + 16);
  cache.get(ld);
  cache.get(kLinuxInline);
  cache.get(kLinuxInline);  // most recent
  cache.get(gcc);           // evicts ld, the least recently used
  EXPECT_EQ(cache.cached_modules(), 2u);
  uint64_t hits = cache.hits();
  cache.get(kLinuxInline);
  EXPECT_EQ(cache.hits(), hits + 1);
  cache.get(ld);
  EXPECT_EQ(cache.hits(), hits + 1);  // ld had been evicted: a miss
}

// --- A small HTTP/1.1 server on loopback --------------------------------------------------------

class TestHttpServer {
 public:
  // Routes: /plain/<rel> the store file; /gz/<rel> gzip'd with Content-Encoding; /gzbody/<rel>
  // gzip'd bytes without Content-Encoding; /redirect/<rel> 302 to /plain/<rel>; /hang/... never
  // answers; anything else 404.
  explicit TestHttpServer(fs::path store) : store_(std::move(store)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 64) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TestHttpServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    for (auto& t : workers_) t.join();
  }
  std::string url(const std::string& prefix) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + prefix;
  }
  int requests(const std::string& path) {
    std::lock_guard lock(mutex_);
    return counts_[path];
  }
  int total_requests() {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (auto& [k, v] : counts_) n += v;
    return n;
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }
  static void send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  void serve(int fd) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    size_t sp1 = req.find(' ');
    size_t sp2 = req.find(' ', sp1 + 1);
    std::string path = sp1 == std::string::npos || sp2 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
    {
      std::lock_guard lock(mutex_);
      ++counts_[path];
    }
    auto route = [&](const std::string& prefix) {
      return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : std::string();
    };
    std::string rel, response;
    auto body_of = [&](const std::string& r, std::string* out) {
      fs::path p = store_ / r;
      if (r.find("..") != std::string::npos || !fs::is_regular_file(p)) return false;
      *out = bw::fs::read_file(p);
      return true;
    };
    std::string body;
    if (!(rel = route("/hang/")).empty()) {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_; });
    } else if (!(rel = route("/plain/")).empty() && body_of(rel, &body)) {
      response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\nConnection: close\r\n\r\n" + body;
    } else if (!(rel = route("/gz/")).empty() && body_of(rel, &body)) {
      std::string z = gzip(body);
      response = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                 std::to_string(z.size()) + "\r\nConnection: close\r\n\r\n" + z;
    } else if (!(rel = route("/gzbody/")).empty() && body_of(rel, &body)) {
      std::string z = gzip(body);
      response = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                 std::to_string(z.size()) + "\r\nConnection: close\r\n\r\n" + z;
    } else if (!(rel = route("/redirect/")).empty()) {
      response = "HTTP/1.1 302 Found\r\nLocation: /plain/" + rel +
                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    } else {
      response = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    }
    send_all(fd, response);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }

  fs::path store_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, int> counts_;
};

HttpSymbolOptions http_options(const std::vector<std::string>& urls, const fs::path& cache) {
  HttpSymbolOptions o;
  o.urls = urls;
  o.cache_dir = cache;
  o.connect_timeout = std::chrono::milliseconds(5000);
  o.total_timeout = std::chrono::milliseconds(30000);
  return o;
}

void expect_test_app(const SymbolResult& r) {
  ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
  EXPECT_EQ(r.symbols->lookup(0x429e)->function_name, "`anonymous namespace'::CrashFunction");
}

TEST(HttpSupplier, PlainDownloadIsCachedOnDisk) {
  TestHttpServer server(kStore);
  TempDir cache;
  HttpSymbolSupplier http(http_options({server.url("plain")}, cache.path()));
  expect_test_app(http.get(kTestApp));
  fs::path on_disk = cache.path() / symbol_relative_path(kTestApp);
  ASSERT_TRUE(fs::exists(on_disk));
  EXPECT_EQ(bw::fs::read_file(on_disk), bw::fs::read_file(kStore / symbol_relative_path(kTestApp)));
  expect_test_app(http.get(kTestApp));
  EXPECT_EQ(server.total_requests(), 1);  // the second answer came from the disk cache
  // No temporary files left beside it.
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(on_disk.parent_path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST(HttpSupplier, GzipContentEncodingAndGzipBodies) {
  TestHttpServer server(kStore);
  TempDir c1, c2;
  HttpSymbolSupplier encoded(http_options({server.url("gz")}, c1.path()));
  expect_test_app(encoded.get(kTestApp));
  HttpSymbolSupplier body(http_options({server.url("gzbody")}, c2.path()));
  expect_test_app(body.get(kTestApp));
  EXPECT_EQ(bw::fs::read_file(c2.path() / symbol_relative_path(kTestApp)),
            bw::fs::read_file(kStore / symbol_relative_path(kTestApp)));
}

TEST(HttpSupplier, FollowsRedirects) {
  TestHttpServer server(kStore);
  TempDir cache;
  HttpSymbolSupplier http(http_options({server.url("redirect")}, cache.path()));
  expect_test_app(http.get(kTestApp));
  EXPECT_EQ(server.requests("/plain/" + symbol_relative_path(kTestApp)), 1);
}

TEST(HttpSupplier, NotFoundIsCachedNegativelyUntilTheTtlExpires) {
  TestHttpServer server(kStore);
  TempDir cache;
  ModuleKey missing{"missing.pdb", "0123456789ABCDEF0123456789ABCDEF1", "", ""};
  auto opts = http_options({server.url("plain"), server.url("also-missing")}, cache.path());
  opts.negative_ttl = std::chrono::seconds(3600);
  {
    HttpSymbolSupplier http(opts);
    EXPECT_EQ(http.get(missing).status, SymbolStatus::kNotFound);
    EXPECT_EQ(server.total_requests(), 2);  // both servers asked once
    EXPECT_EQ(http.get(missing).status, SymbolStatus::kNotFound);
    EXPECT_EQ(server.total_requests(), 2);
  }
  {
    HttpSymbolSupplier later(opts);  // the negative cache is on disk: a new process honours it
    EXPECT_EQ(later.get(missing).status, SymbolStatus::kNotFound);
    EXPECT_EQ(server.total_requests(), 2);
  }
  opts.negative_ttl = std::chrono::seconds(0);
  HttpSymbolSupplier expired(opts);
  EXPECT_EQ(expired.get(missing).status, SymbolStatus::kNotFound);
  EXPECT_EQ(server.total_requests(), 4);
}

TEST(HttpSupplier, FallsThroughToTheNextServer) {
  TestHttpServer server(kStore);
  TempDir cache;
  HttpSymbolSupplier http(http_options({server.url("nothing-here"), server.url("gz")}, cache.path()));
  expect_test_app(http.get(kTestApp));
}

TEST(HttpSupplier, HangingServerTimesOut) {
  TestHttpServer server(kStore);
  TempDir cache;
  auto opts = http_options({server.url("hang")}, cache.path());
  opts.total_timeout = std::chrono::milliseconds(1000);
  HttpSymbolSupplier http(opts);
  auto started = std::chrono::steady_clock::now();
  auto r = http.get(kTestApp);
  EXPECT_EQ(r.status, SymbolStatus::kFetchError);
  EXPECT_NE(r.detail.find("imed out"), std::string::npos) << r.detail;
  // Bounded by the configured timeout (generous margin for a loaded machine).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_FALSE(fs::exists(cache.path() / (symbol_relative_path(kTestApp) + ".notfound")));
}

TEST(HttpSupplier, RefusedConnectionIsAFetchError) {
  TempDir cache;
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(s);  // nothing listens on this port now
  HttpSymbolSupplier http(http_options({"http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port))}, cache.path()));
  EXPECT_EQ(http.get(kTestApp).status, SymbolStatus::kFetchError);
}

TEST(HttpSupplier, SixteenThreadsOneDownload) {
  TestHttpServer server(kStore);
  TempDir cache;
  std::vector<std::unique_ptr<SymbolSupplier>> suppliers;
  auto* raw = new HttpSymbolSupplier(http_options({server.url("gz")}, cache.path()));
  suppliers.emplace_back(raw);
  CachingSymbolSupplier cached(std::move(suppliers), size_t{1} << 30);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<SymbolResult> results(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      results[static_cast<size_t>(i)] = cached.get(kTestApp);
    });
  }
  while (ready.load() < 16) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();
  for (const auto& r : results) expect_test_app(r);
  EXPECT_EQ(server.total_requests(), 1);
  EXPECT_EQ(raw->requests_sent(), 1u);
  // Every thread got the same parsed module.
  for (const auto& r : results) EXPECT_EQ(r.symbols.get(), results[0].symbols.get());

  // Without the LRU in front, the HTTP supplier alone still downloads once.
  TempDir cache2;
  HttpSymbolSupplier bare(http_options({server.url("plain")}, cache2.path()));
  threads.clear();
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = bare.get(kTestApp); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) expect_test_app(r);
  EXPECT_EQ(server.requests("/plain/" + symbol_relative_path(kTestApp)), 1);
}

}  // namespace
}  // namespace bw::symbols
