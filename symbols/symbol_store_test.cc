// The site's own symbol store (symbol_store.h), the supplier over it (StoreSymbolSupplier) and its
// HTTP routes (symbol_routes.h) over a real server on loopback.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <openssl/evp.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "http/client.h"
#include "http/server.h"
#include "symbols/symbol_routes.h"
#include "symbols/symbol_store.h"
#include "symbols/symbol_supplier.h"
#include "tests/test_server_options.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using bw::test_support::TempDir;

const fs::path kCorpus = fs::path(BW_TESTDATA_DIR) / "symbols";
const fs::path kTestApp = kCorpus / "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";
const std::string kTestAppPath = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";
const fs::path kImm32 = kCorpus / "imm32.pdb/265BCB59F6886A8F9F482A4A4903527B1/imm32.sym";
const std::string kImm32Path = "imm32.pdb/265BCB59F6886A8F9F482A4A4903527B1/imm32.sym";
const fs::path kLinuxInline = kCorpus / "linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.sym";
const std::string kLinuxInlinePath = "linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.sym";

std::string read(const fs::path& p) { return bw::fs::read_file(p); }

void write(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string sha256_hex(std::string_view data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += "0123456789abcdef"[d[i] >> 4];
    out += "0123456789abcdef"[d[i] & 15];
  }
  return out;
}

// Inflates gzip bytes with zlib directly (not the code under test); throws on damage.
std::string gunzip(std::string_view gz) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw std::runtime_error("bad gzip data");
    }
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("truncated gzip data");
  return out;
}

// Every file and folder under `dir`, relative, sorted.
std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) out.insert(e.path().lexically_relative(dir).string());
  return out;
}

// Temporary files the store may have left ("." names).
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& p : tree(dir)) {
    if (fs::path(p).filename().string().starts_with(".")) out.push_back(p);
  }
  return out;
}

class SymbolStoreTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  fs::path dir_ = tmp_.path() / "symbols";
  SymbolStore store_{dir_};

  // A variant of test_app.sym with the same MODULE record and other content.
  fs::path variant(int n) {
    fs::path p = tmp_.path() / ("variant-" + std::to_string(n) + ".sym");
    std::string text = read(kTestApp);
    text += "PUBLIC " + std::to_string(0x7ff00000 + n) + " 0 variant_" + std::to_string(n) + "\n";
    write(p, text);
    return p;
  }
};

TEST_F(SymbolStoreTest, AddsACheckedFileCompressedUnderItsModuleIdentity) {
  StoreResult r = store_.add(kTestApp);
  ASSERT_EQ(r.outcome, StoreOutcome::kAdded) << r.reason;
  EXPECT_EQ(r.path, kTestAppPath);
  EXPECT_EQ(r.module.debug_file, "test_app.pdb");
  EXPECT_EQ(r.sym_bytes, fs::file_size(kTestApp));
  std::string original = read(kTestApp);
  EXPECT_EQ(r.sha256, sha256_hex(original));

  fs::path stored = dir_ / (kTestAppPath + ".gz");
  ASSERT_TRUE(fs::is_regular_file(stored));
  std::string gz = read(stored);
  EXPECT_EQ(r.stored_bytes, gz.size());
  EXPECT_LT(gz.size(), original.size() / 3) << "stored compressed";
  EXPECT_EQ(gunzip(gz), original);
  EXPECT_EQ(stored_sha256(stored), sha256_hex(original));
  EXPECT_TRUE(temp_files(dir_).empty());

  auto found = store_.find("test_app.pdb", "5a9832e5287241c1838ed98914e9b7ff1");  // either case
  ASSERT_TRUE(found);
  EXPECT_EQ(found->path, kTestAppPath);
  EXPECT_EQ(found->file, stored);
  EXPECT_EQ(found->sha256, r.sha256);
  EXPECT_FALSE(store_.find("test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF2"));

  ASSERT_EQ(store_.add(kImm32).outcome, StoreOutcome::kAdded);
  auto listed = store_.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].path, kImm32Path);
  EXPECT_EQ(listed[1].path, kTestAppPath);
  EXPECT_EQ(listed[1].stored_bytes, gz.size());
  EXPECT_EQ(listed[1].debug_id, "5A9832E5287241C1838ED98914E9B7FF1");
}

TEST_F(SymbolStoreTest, TheSameContentAgainIsSkippedWithoutWriting) {
  ASSERT_EQ(store_.add(kTestApp).outcome, StoreOutcome::kAdded);
  fs::path stored = dir_ / (kTestAppPath + ".gz");
  struct stat before{};
  ASSERT_EQ(::stat(stored.c_str(), &before), 0);

  // Also under its store path (as from a folder laid out as a store), with a lower-case id.
  for (std::string claimed : {std::string(), kTestAppPath, std::string("test_app.pdb/5a9832e5287241c1838ed98914e9b7ff1/test_app.sym")}) {
    StoreResult r = store_.add(kTestApp, claimed);
    EXPECT_EQ(r.outcome, StoreOutcome::kSkipped) << claimed << ": " << r.reason;
    EXPECT_EQ(r.path, kTestAppPath);
    EXPECT_GT(r.stored_bytes, 0u);
  }
  struct stat after{};
  ASSERT_EQ(::stat(stored.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "a skipped add must not rewrite the file";
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_TRUE(temp_files(dir_).empty());
}

TEST_F(SymbolStoreTest, OtherContentForAStoredKeyReplacesIt) {
  ASSERT_EQ(store_.add(kTestApp).outcome, StoreOutcome::kAdded);
  fs::path v = variant(1);
  StoreResult r = store_.add(v);
  ASSERT_EQ(r.outcome, StoreOutcome::kReplaced) << r.reason;
  EXPECT_EQ(r.path, kTestAppPath);
  EXPECT_EQ(gunzip(read(dir_ / (kTestAppPath + ".gz"))), read(v));
  EXPECT_EQ(store_.find("test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1")->sha256, sha256_hex(read(v)));
  EXPECT_EQ(store_.add(v).outcome, StoreOutcome::kSkipped);
  EXPECT_EQ(store_.add(kTestApp).outcome, StoreOutcome::kReplaced);
  EXPECT_EQ(store_.list().size(), 1u);
}

TEST_F(SymbolStoreTest, APathThatDisagreesWithTheModuleRecordIsRefused) {
  struct Case {
    std::string claimed;
    std::string reason_has;
  };
  for (const Case& c : std::vector<Case>{
           {"other.pdb/5A9832E5287241C1838ED98914E9B7FF1/other.sym", "MODULE record says " + kTestAppPath},
           {"test_app.pdb/5A9832E5287241C1838ED98914E9B7FF2/test_app.sym", "MODULE record says"},
           {"test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/other.sym", "should end in test_app.sym"},
           {"test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.pdb.sym", "should end in test_app.sym"},
       }) {
    StoreResult r = store_.add(kTestApp, c.claimed);
    EXPECT_EQ(r.outcome, StoreOutcome::kRefused) << c.claimed;
    EXPECT_NE(r.reason.find(c.reason_has), std::string::npos) << c.claimed << ": " << r.reason;
  }
  EXPECT_EQ(tree(dir_), std::set<std::string>{}) << "nothing stored for a refused file";
}

TEST_F(SymbolStoreTest, CorruptOrUnreadableFilesAreRefused) {
  std::string good = read(kLinuxInline);
  struct Case {
    std::string name;
    std::string text;
    std::string reason_has;
  };
  for (const Case& c : std::vector<Case>{
           {"bad-line.sym", good + "FUNC zz 10 0 broken\n", "bad line"},
           {"garbage.sym", good + std::string("\x01\x02\xff garbage\n"), "bad line"},
           {"no-module.sym", "FUNC 1000 10 0 f\n", "no MODULE record"},
           {"empty.sym", "", "no MODULE record"},
           {"two-modules.sym", "MODULE Linux x86_64 ABCDEF0 other\n" + good, "second MODULE"},
           {"bad-id.sym", "MODULE Linux x86_64 ../../etc x\nFUNC 1000 10 0 f\n", "identity is unusable"},
           {"dotdot-name.sym", "MODULE Linux x86_64 ABCDEF0 ..\nFUNC 1000 10 0 f\n", "identity is unusable"},
           {"long-id.sym", "MODULE Linux x86_64 " + std::string(65, 'A') + " x\nFUNC 1000 10 0 f\n", "identity is unusable"},
       }) {
    fs::path p = tmp_.path() / c.name;
    write(p, c.text);
    StoreResult r = store_.add(p);
    EXPECT_EQ(r.outcome, StoreOutcome::kRefused) << c.name;
    EXPECT_NE(r.reason.find(c.reason_has), std::string::npos) << c.name << ": " << r.reason;
  }
  EXPECT_EQ(store_.add(tmp_.path() / "missing.sym").outcome, StoreOutcome::kRefused);
  StoreResult dir = store_.add(tmp_.path());
  EXPECT_EQ(dir.outcome, StoreOutcome::kRefused);
  EXPECT_NE(dir.reason.find("not a regular file"), std::string::npos) << dir.reason;
  EXPECT_EQ(tree(dir_), std::set<std::string>{});
}

TEST_F(SymbolStoreTest, HostileKeysAreRefusedAndWriteNothingAnywhere) {
  fs::path outside = tmp_.path() / "outside";
  fs::create_directories(outside);
  for (const std::string& claimed : {
           std::string("../outside/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"),
           std::string("test_app.pdb/../../outside/test_app.sym"),
           std::string("/etc/5A9832E5287241C1838ED98914E9B7FF1/etc.sym"),
           std::string("../5A9832E5287241C1838ED98914E9B7FF1/...sym"),
           std::string("./5A9832E5287241C1838ED98914E9B7FF1/..sym"),
           std::string("test_app.pdb/../test_app.sym"),
           std::string("test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/../test_app.sym"),
           std::string("x\\test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"),
           std::string("test_app.pdb/5A9832E5-2872-41C1/test_app.sym"),
           std::string("test_app.pdb/") + std::string(65, 'A') + "/test_app.sym",
           std::string("test\napp.pdb/5A9832E5287241C1838ED98914E9B7FF1/test\napp.sym"),
           std::string("test_app.pdb//test_app.sym"),
           std::string(300, 'a') + "/5A9832E5287241C1838ED98914E9B7FF1/" + std::string(300, 'a') + ".sym",
           std::string("test_app.sym"),
       }) {
    StoreResult r = store_.add(kTestApp, claimed);
    EXPECT_EQ(r.outcome, StoreOutcome::kRefused) << claimed;
    EXPECT_FALSE(r.reason.empty());
  }
  EXPECT_EQ(tree(dir_), std::set<std::string>{});
  EXPECT_EQ(tree(outside), std::set<std::string>{});
  EXPECT_EQ(tree(tmp_.path()), (std::set<std::string>{"outside"}));

  std::string invalid;
  EXPECT_FALSE(store_.find("..", "ABC", &invalid));
  EXPECT_FALSE(invalid.empty());
  invalid.clear();
  EXPECT_FALSE(store_.find("a/b", "ABC", &invalid));
  EXPECT_FALSE(invalid.empty());
  invalid.clear();
  EXPECT_FALSE(store_.find_code("x.dll", "../..", &invalid));
  EXPECT_FALSE(invalid.empty());
}

TEST_F(SymbolStoreTest, CodeIdsLeadToTheirModule) {
  ASSERT_EQ(store_.add(kImm32).outcome, StoreOutcome::kAdded);           // INFO CODE_ID 3A0E994430000 imm32.dll
  ASSERT_EQ(store_.add(kLinuxInline).outcome, StoreOutcome::kAdded);     // INFO CODE_ID 10FAA6BBAAB83DB3 (no file)
  EXPECT_EQ(store_.find_code("imm32.dll", "3A0E994430000").value_or(""), kImm32Path);
  EXPECT_EQ(store_.find_code("imm32.dll", "3a0e994430000").value_or(""), kImm32Path);
  EXPECT_EQ(store_.find_code("linux_inline", "10FAA6BBAAB83DB3").value_or(""), kLinuxInlinePath);
  EXPECT_FALSE(store_.find_code("imm32.dll", "3A0E994430001"));
  EXPECT_FALSE(store_.find_code("imm32.pdb", "3A0E994430000"));
  // The index is not a module: the listing has the two modules only.
  EXPECT_EQ(store_.list().size(), 2u);
  // An entry whose module is gone answers nothing.
  fs::remove(dir_ / (kImm32Path + ".gz"));
  EXPECT_FALSE(store_.find_code("imm32.dll", "3A0E994430000"));
  // A damaged entry answers nothing either.
  write(dir_ / "linux_inline/10FAA6BBAAB83DB3/linux_inline.codeid", "../../../etc/passwd\n");
  EXPECT_FALSE(store_.find_code("linux_inline", "10FAA6BBAAB83DB3"));
  // Adding the module again repairs the entry.
  EXPECT_EQ(store_.add(kLinuxInline).outcome, StoreOutcome::kSkipped);
  EXPECT_EQ(store_.find_code("linux_inline", "10FAA6BBAAB83DB3").value_or(""), kLinuxInlinePath);
}

TEST_F(SymbolStoreTest, AFolderLaidOutAsAStoreClaimsItsPaths) {
  fs::path in = tmp_.path() / "in";
  write(in / kTestAppPath, read(kTestApp));
  write(in / "loose" / "imm32.sym", read(kImm32));  // not three levels: identity from MODULE
  write(in / "wrong.pdb/5A9832E5287241C1838ED98914E9B7FF1/wrong.sym", read(kTestApp));
  write(in / "notes.txt", "not a symbol file");
  std::vector<std::pair<std::string, StoreResult>> seen;
  store_.add_folder(in, [&](const fs::path& f, const StoreResult& r) { seen.emplace_back(f.lexically_relative(in).string(), r); });
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].first, "loose/imm32.sym");
  EXPECT_EQ(seen[0].second.outcome, StoreOutcome::kAdded);
  EXPECT_EQ(seen[1].first, kTestAppPath);
  EXPECT_EQ(seen[1].second.outcome, StoreOutcome::kAdded);
  EXPECT_EQ(seen[2].second.outcome, StoreOutcome::kRefused);
  EXPECT_NE(seen[2].second.reason.find("MODULE record says"), std::string::npos) << seen[2].second.reason;
}

TEST_F(SymbolStoreTest, ConcurrentAddsOfOneKeyStoreItOnce) {
  constexpr int kThreads = 8;
  // The same content from every thread: one add, the rest skipped.
  {
    std::vector<StoreResult> results(kThreads);
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        while (!go) std::this_thread::yield();
        results[i] = store_.add(kTestApp);
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    int added = 0, skipped = 0;
    for (const auto& r : results) {
      added += r.outcome == StoreOutcome::kAdded;
      skipped += r.outcome == StoreOutcome::kSkipped;
    }
    EXPECT_EQ(added, 1);
    EXPECT_EQ(skipped, kThreads - 1);
    EXPECT_EQ(gunzip(read(dir_ / (kTestAppPath + ".gz"))), read(kTestApp));
  }
  // Different content for one key from every thread: each one replaces the last; what is left is
  // one of them, whole, with its own digest.
  {
    std::vector<fs::path> files;
    std::set<std::string> contents;
    for (int i = 0; i < kThreads; ++i) {
      files.push_back(variant(i));
      contents.insert(read(files.back()));
    }
    std::vector<StoreResult> results(kThreads);
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        while (!go) std::this_thread::yield();
        results[i] = store_.add(files[i]);
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    for (const auto& r : results) EXPECT_EQ(r.outcome, StoreOutcome::kReplaced) << r.reason;
    fs::path stored = dir_ / (kTestAppPath + ".gz");
    std::string text = gunzip(read(stored));
    EXPECT_TRUE(contents.contains(text));
    EXPECT_EQ(stored_sha256(stored), sha256_hex(text));
  }
  EXPECT_TRUE(temp_files(dir_).empty()) << temp_files(dir_).front();
}

// The lock another process would hold: an flock on the module's folder, taken here through a
// separate open file description. An add waits for it before it makes anything visible.
TEST_F(SymbolStoreTest, AnAddWaitsForTheFolderLockHeldElsewhere) {
  ASSERT_EQ(store_.add(kTestApp).outcome, StoreOutcome::kAdded);
  fs::path stored = dir_ / (kTestAppPath + ".gz");
  fs::path v = variant(1);
  int fd = ::open(stored.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  std::atomic<bool> finished{false};
  StoreResult r;
  std::thread adder([&] {
    r = store_.add(v);
    finished = true;
  });
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(finished.load()) << "the add did not wait for the lock";
  EXPECT_EQ(gunzip(read(stored)), read(kTestApp));
  ::flock(fd, LOCK_UN);
  ::close(fd);
  adder.join();
  EXPECT_EQ(r.outcome, StoreOutcome::kReplaced) << r.reason;
  EXPECT_EQ(gunzip(read(stored)), read(v));
}

TEST_F(SymbolStoreTest, ReadersNeverSeeAHalfWrittenFile) {
  // A larger module, so that a write takes a while; two contents, replaced back and forth.
  const fs::path big = kCorpus / "libxcb.so.1/A2ABF8C4F89DD70AC66057F679E2CFF60/libxcb.so.1.sym";
  std::string a = read(big);
  fs::path b_file = tmp_.path() / "b.sym";
  write(b_file, a + "PUBLIC fffff0 0 b_variant\n");
  std::set<std::string> digests = {sha256_hex(a), sha256_hex(read(b_file))};
  ASSERT_EQ(store_.add(big).outcome, StoreOutcome::kAdded);
  fs::path stored = dir_ / "libxcb.so.1/A2ABF8C4F89DD70AC66057F679E2CFF60/libxcb.so.1.sym.gz";

  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!done) {
      std::string gz;
      try {
        gz = read(stored);
        std::string text = gunzip(gz);
        if (!digests.contains(sha256_hex(text)) || stored_sha256(stored).empty()) ++bad;
      } catch (const std::exception&) {
        ++bad;  // missing, truncated or damaged: what a half-written file would look like
      }
      ++reads;
    }
  });
  for (int i = 0; i < 20; ++i) {
    StoreResult r = store_.add(i % 2 == 0 ? b_file : big);
    EXPECT_EQ(r.outcome, StoreOutcome::kReplaced) << r.reason;
  }
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(temp_files(dir_).empty());
}

// --- ModuleSymbols::parse_gzip_file and the supplier over the store -------------------------------

TEST(GzipParse, EqualsParsingThePlainFile) {
  TempDir tmp;
  SymbolStore store(tmp.path());
  ASSERT_EQ(store.add(kTestApp).outcome, StoreOutcome::kAdded);
  std::string error;
  auto plain = ModuleSymbols::parse_file(kTestApp, &error);
  ASSERT_TRUE(plain) << error;
  auto gz = ModuleSymbols::parse_gzip_file(tmp.path() / (kTestAppPath + ".gz"), &error);
  ASSERT_TRUE(gz) << error;
  EXPECT_TRUE(gz->same_content(*plain));

  // Truncated, not gzip, missing: an error, never a partial module.
  std::string bytes = read(tmp.path() / (kTestAppPath + ".gz"));
  write(tmp.path() / "truncated.gz", bytes.substr(0, bytes.size() / 2));
  error.clear();
  EXPECT_FALSE(ModuleSymbols::parse_gzip_file(tmp.path() / "truncated.gz", &error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_FALSE(ModuleSymbols::parse_gzip_file(kTestApp, &error));
  EXPECT_NE(error.find("not gzip"), std::string::npos) << error;
  bytes[bytes.size() - 6] ^= 0x55;  // the CRC-32 in the trailer
  write(tmp.path() / "bad-crc.gz", bytes);
  EXPECT_FALSE(ModuleSymbols::parse_gzip_file(tmp.path() / "bad-crc.gz", &error));
  EXPECT_FALSE(ModuleSymbols::parse_gzip_file(tmp.path() / "missing.gz", &error));
}

TEST(StoreSupplier, FindsStoredModulesThroughItsCompactCache) {
  TempDir tmp;
  SymbolStore store(tmp.path() / "symbols");
  ASSERT_EQ(store.add(kTestApp).outcome, StoreOutcome::kAdded);
  // As a minidump names the module: a full Windows path, the id in lower case.
  ModuleKey key{"c:\\build\\test_app.pdb", "5a9832e5287241c1838ed98914e9b7ff1", "test_app.exe", ""};
  std::string error;
  auto expected = ModuleSymbols::parse_file(kTestApp, &error);
  {
    StoreSymbolSupplier supplier(tmp.path() / "symbols", tmp.path() / "cache");
    SymbolResult r = supplier.get(key);
    ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
    EXPECT_TRUE(r.symbols->same_content(*expected));
    EXPECT_FALSE(r.symbols->from_cache());
    EXPECT_EQ(supplier.get(ModuleKey{"test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF2", "", ""}).status,
              SymbolStatus::kNotFound);
    EXPECT_EQ(supplier.get(ModuleKey{"..", "5A9832E5287241C1838ED98914E9B7FF1", "", ""}).status, SymbolStatus::kNotFound);
  }
  {
    StoreSymbolSupplier supplier(tmp.path() / "symbols", tmp.path() / "cache");  // a new process
    SymbolResult r = supplier.get(key);
    ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
    EXPECT_TRUE(r.symbols->from_cache());
    EXPECT_TRUE(r.symbols->same_content(*expected));
  }
  // A replacement is seen at once (the cache is stamped with the stored file).
  fs::path v = tmp.path() / "v.sym";
  write(v, read(kTestApp) + "PUBLIC 7ff00001 0 replaced_symbol\n");
  ASSERT_EQ(store.add(v).outcome, StoreOutcome::kReplaced);
  StoreSymbolSupplier supplier(tmp.path() / "symbols", tmp.path() / "cache");
  SymbolResult r = supplier.get(key);
  ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
  EXPECT_EQ(r.symbols->public_count(), expected->public_count() + 1);
  // A damaged stored file is an error, not symbols.
  std::string gz = read(tmp.path() / "symbols" / (kTestAppPath + ".gz"));
  write(tmp.path() / "symbols" / (kTestAppPath + ".gz"), gz.substr(0, gz.size() - 100));
  SymbolResult damaged = StoreSymbolSupplier(tmp.path() / "symbols", "").get(key);
  EXPECT_EQ(damaged.status, SymbolStatus::kFetchError) << damaged.detail;
}

// `breakwater stackwalk`'s options: no site store; the cache from the flag, else the config, else
// (only when there are URLs) a per-user folder.
TEST(SymbolOptionsForWalk, SourcesFromConfigAndFlagsCacheByPrecedence) {
  TempDir tmp;
  bw::Config::Sources sources;
  sources.overrides = {{"symbols.paths", "/a"}, {"symbols.urls", "https://symbols.example/"},
                       {"symbols.lru_size", "1MiB"}};
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  std::string saved = old_xdg ? old_xdg : "";
  ::setenv("XDG_CACHE_HOME", tmp.path().c_str(), 1);
  SymbolOptions o = symbol_options_for_walk(bw::Config::load(sources), {"/b"}, "");
  EXPECT_TRUE(o.store_dir.empty());
  EXPECT_EQ(o.paths, (std::vector<std::filesystem::path>{"/a", "/b"}));
  EXPECT_EQ(o.urls, (std::vector<std::string>{"https://symbols.example/"}));
  EXPECT_EQ(o.lru_bytes, size_t{1} << 20);
  EXPECT_EQ(o.cache_dir, tmp.path() / "breakwater-symbols");
  EXPECT_EQ(symbol_options_for_walk(bw::Config::load(sources), {}, "/flag").cache_dir, "/flag");
  sources.overrides.emplace_back("symbols.cache_dir", "/configured");
  EXPECT_EQ(symbol_options_for_walk(bw::Config::load(sources), {}, "").cache_dir, "/configured");
  sources.overrides = {{"symbols.paths", "/a"}};
  EXPECT_TRUE(symbol_options_for_walk(bw::Config::load(sources), {}, "").cache_dir.empty());
  if (old_xdg) {
    ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("XDG_CACHE_HOME");
  }
}

TEST(StoreSupplier, IsInTheDefaultChainOfASite) {
  TempDir tmp;
  bw::Config::Sources sources;
  sources.environment = {{"BREAKWATER_SERVER_DATA", tmp.path().string()}};
  SymbolOptions options = symbol_options_from_config(bw::Config::load(sources));
  EXPECT_EQ(options.store_dir, tmp.path() / "symbols");
  auto supplier = make_symbol_supplier(options);
  ModuleKey key{"imm32.pdb", "265BCB59F6886A8F9F482A4A4903527B1", "", ""};
  EXPECT_EQ(supplier->get(key).status, SymbolStatus::kNotFound);
  SymbolStore store(options.store_dir);
  ASSERT_EQ(store.add(kImm32).outcome, StoreOutcome::kAdded);
  SymbolResult r = supplier->get(key);  // misses are not remembered: found at the next request
  ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
  EXPECT_GT(r.symbols->public_count() + r.symbols->function_count(), 0u);
}

// --- HTTP ----------------------------------------------------------------------------------------

class SymbolRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(store_.add(kTestApp).outcome, StoreOutcome::kAdded);
    ASSERT_EQ(store_.add(kImm32).outcome, StoreOutcome::kAdded);
    http::ServerOptions o = test_support::small_server_options();
    server_ = std::make_unique<http::Server>(o);
    add_symbol_routes(*server_, store_);
    server_->start();
  }
  void TearDown() override { server_->stop(); }

  http::ClientResponse fetch(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {},
                             const std::string& method = "GET") {
    http::Connection c("127.0.0.1", server_->port());
    EXPECT_TRUE(c.send(http::make_request(method, target, headers, "")));
    return c.read_response(30s, method == "HEAD");
  }

  TempDir tmp_;
  SymbolStore store_{tmp_.path() / "symbols"};
  std::unique_ptr<http::Server> server_;
  const std::string url_ = "/symbols/" + kTestAppPath;
  const std::string sha_ = sha256_hex(read(kTestApp));
};

TEST_F(SymbolRoutesTest, ServesTheSymFilePlainOrGzipWithValidators) {
  auto plain = fetch(url_);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.body, read(kTestApp));
  EXPECT_EQ(plain.header("Content-Length"), std::to_string(plain.body.size()));
  EXPECT_EQ(plain.header("Content-Encoding"), "");
  EXPECT_EQ(plain.header("Content-Type"), "text/plain");
  EXPECT_EQ(plain.header("ETag"), "\"" + sha_ + "\"");
  EXPECT_EQ(plain.header("Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");

  auto gz = fetch(url_, {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.body, read(tmp_.path() / "symbols" / (kTestAppPath + ".gz")));  // the stored bytes as they are
  EXPECT_EQ(gunzip(gz.body), read(kTestApp));
  EXPECT_EQ(gz.header("Content-Length"), std::to_string(gz.body.size()));
  EXPECT_EQ(gz.header("ETag"), "\"" + sha_ + "-gzip\"");

  // Accept-Encoding as RFC 9110 reads it.
  for (const auto& [accept, gzipped] : std::vector<std::pair<std::string, bool>>{
           {"identity", false}, {"gzip;q=0", false}, {"gzip; q=0.000, identity", false}, {"*", true},
           {"*;q=0", false}, {"br, x-gzip", true}, {"GZIP;q=0.5", true}, {"*, gzip;q=0", false}, {"deflate", false}}) {
    auto r = fetch(url_, {{"Accept-Encoding", accept}});
    ASSERT_EQ(r.status, 200) << accept;
    EXPECT_EQ(r.header("Content-Encoding") == "gzip", gzipped) << accept;
    EXPECT_EQ(gzipped ? gunzip(r.body) : r.body, read(kTestApp)) << accept;
  }

  // The debug id in either case.
  EXPECT_EQ(fetch("/symbols/test_app.pdb/5a9832e5287241c1838ed98914e9b7ff1/test_app.sym").status, 200);
  // Percent-encoded parts are decoded.
  EXPECT_EQ(fetch("/symbols/test%5Fapp.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym").status, 200);
}

TEST_F(SymbolRoutesTest, HeadAnswersTheSameHeadersWithoutABody) {
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{{}, {{"Accept-Encoding", "gzip"}}}) {
    auto get = fetch(url_, headers);
    auto head = fetch(url_, headers, "HEAD");
    ASSERT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    for (const char* h : {"Content-Length", "Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Vary"}) {
      EXPECT_EQ(head.header(h), get.header(h)) << h;
    }
    EXPECT_GT(std::stoull(head.header("Content-Length")), 1000u);
  }
  EXPECT_EQ(fetch("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF2/test_app.sym", {}, "HEAD").status, 404);
}

TEST_F(SymbolRoutesTest, IfNoneMatchAnswers304) {
  std::string etag = "\"" + sha_ + "\"";
  auto r = fetch(url_, {{"If-None-Match", etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("ETag"), etag);
  EXPECT_EQ(r.header("Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(fetch(url_, {{"If-None-Match", "\"other\", W/" + etag}}).status, 304);
  EXPECT_EQ(fetch(url_, {{"If-None-Match", "*"}}).status, 304);
  EXPECT_EQ(fetch(url_, {{"If-None-Match", "\"" + sha_ + "-gzip\""}}).status, 200) << "another representation's tag";
  EXPECT_EQ(fetch(url_, {{"If-None-Match", "\"0000\""}}).status, 200);
  auto gz = fetch(url_, {{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"" + sha_ + "-gzip\""}});
  EXPECT_EQ(gz.status, 304);
  EXPECT_EQ(gz.body, "");
  // After a replacement the old tag no longer matches.
  fs::path v = tmp_.path() / "v.sym";
  write(v, read(kTestApp) + "PUBLIC 7ff00001 0 replaced_symbol\n");
  ASSERT_EQ(store_.add(v).outcome, StoreOutcome::kReplaced);
  auto after = fetch(url_, {{"If-None-Match", etag}});
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, read(v));
}

TEST_F(SymbolRoutesTest, UnknownModulesAre404AndMalformedPaths400) {
  for (const std::string& target : {
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF2/test_app.sym"),
           std::string("/symbols/nothing.pdb/5A9832E5287241C1838ED98914E9B7FF1/nothing.sym"),
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/other.sym"),
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.pdb"),
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym.gz"),
       }) {
    auto r = fetch(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_LT(r.body.size(), 100u);
    EXPECT_EQ(r.header("Cache-Control"), "public, max-age=60") << target;
  }
  for (const std::string& target : {
           std::string("/symbols/"),
           std::string("/symbols/test_app.pdb"),
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"),
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym/x"),
           std::string("/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/"),
           std::string("/symbols//5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"),
           std::string("/symbols/../5A9832E5287241C1838ED98914E9B7FF1/...sym"),
           std::string("/symbols/%2e%2e/5A9832E5287241C1838ED98914E9B7FF1/%2e%2e.sym"),
           std::string("/symbols/a%2Fb/5A9832E5287241C1838ED98914E9B7FF1/b.sym"),
           std::string("/symbols/a%5Cb/5A9832E5287241C1838ED98914E9B7FF1/b.sym"),
           std::string("/symbols/a%00b/5A9832E5287241C1838ED98914E9B7FF1/a%00b.sym"),
           std::string("/symbols/test_app.pdb/5A9832E5-2872/test_app.sym"),
           std::string("/symbols/test_app.pdb/%2e%2e/test_app.sym"),
           std::string("/symbols/test_app.pdb/") + std::string(65, 'A') + "/test_app.sym",
           std::string("/symbols/") + std::string(3000, 'a') + "/ABC/" + std::string(3000, 'a') + ".sym",
           std::string("/symbols/") + std::string(300, 'a') + "/ABC/" + std::string(300, 'a') + ".sym",
       }) {
    auto r = fetch(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_LT(r.body.size(), 300u);
  }
}

TEST_F(SymbolRoutesTest, CodeIdLookupsRedirectToTheDebugFile) {
  for (std::string id : {"3A0E994430000", "3a0e994430000"}) {
    auto r = fetch("/symbols/imm32.dll/" + id + "/imm32.dll");
    ASSERT_EQ(r.status, 302) << id;
    EXPECT_EQ(r.header("Location"), "/symbols/" + kImm32Path);
    EXPECT_EQ(fetch(r.header("Location")).body, read(kImm32));
  }
  EXPECT_EQ(fetch("/symbols/imm32.dll/3A0E994430001/imm32.dll").status, 404);
  EXPECT_EQ(fetch("/symbols/imm32.dll/3A0E994430000/imm32.dll", {}, "HEAD").status, 302);
  EXPECT_EQ(fetch("/symbols/imm32.dll/3A0E-994430000/imm32.dll").status, 400);
}

TEST_F(SymbolRoutesTest, TheProjectsHttpSupplierReadsIt) {
  TempDir cache;
  HttpSymbolOptions o;
  o.urls = {"http://127.0.0.1:" + std::to_string(server_->port()) + "/symbols/"};
  o.cache_dir = cache.path();
  HttpSymbolSupplier supplier(o);
  std::string error;
  auto expected = ModuleSymbols::parse_file(kTestApp, &error);
  SymbolResult r = supplier.get(ModuleKey{"c:\\x\\test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1", "", ""});
  ASSERT_EQ(r.status, SymbolStatus::kFound) << r.detail;
  EXPECT_TRUE(r.symbols->same_content(*expected));
  SymbolResult missing = supplier.get(ModuleKey{"nothing.pdb", "5A9832E5287241C1838ED98914E9B7FF1", "", ""});
  EXPECT_EQ(missing.status, SymbolStatus::kNotFound) << missing.detail;
}

}  // namespace
}  // namespace bw::symbols
