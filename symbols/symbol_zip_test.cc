// Reading uploaded zips without trusting them (symbol_zip.h) and adding their .sym entries to the
// store (symbol_upload.h).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "core/temp_dir.h"
#include "symbols/symbol_upload.h"
#include "symbols/symbol_zip.h"
#include "tests/zip/zip_writer.h"

namespace bw::symbols {
namespace {

namespace fs = std::filesystem;
using bw::test_support::TempDir;
using bw::test_support::write_zip;
using bw::test_support::ZipEntrySpec;

const fs::path kCorpus = fs::path(BW_TESTDATA_DIR) / "symbols";
const std::string kTestAppPath = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";
const std::string kImm32Path = "imm32.pdb/265BCB59F6886A8F9F482A4A4903527B1/imm32.sym";

std::string corpus(const std::string& path) { return bw::fs::read_file(kCorpus / path); }

// Data that deflate cannot shrink (for size limits that must not trip the ratio check).
std::string incompressible(size_t size) {
  std::mt19937 random(7);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

class ZipTest : public ::testing::Test {
 protected:
  fs::path zip(const std::vector<ZipEntrySpec>& entries) {
    fs::path p = tmp_.path() / ("upload-" + std::to_string(++count_) + ".zip");
    write_zip(p, entries);
    return p;
  }
  // name -> (refused reason or "", content when accepted)
  std::map<std::string, std::pair<std::string, std::string>> read(const fs::path& zip, const ZipLimits& limits = {}) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    read_zip(zip, scratch_, limits, [&](const ZipEntry& e) {
      std::string content;
      if (e.refused.empty()) {
        EXPECT_EQ(e.file.parent_path(), scratch_);
        content = bw::fs::read_file(e.file);
        EXPECT_EQ(content.size(), e.bytes);
      } else {
        EXPECT_TRUE(e.file.empty());
      }
      out[e.name] = {e.refused, content};
    });
    EXPECT_TRUE(fs::is_empty(scratch_)) << "scratch files must be removed";
    return out;
  }

  TempDir tmp_;
  fs::path scratch_ = [this] {
    fs::create_directories(tmp_.path() / "scratch");
    return tmp_.path() / "scratch";
  }();
  int count_ = 0;
};

TEST(ZipNames, UnsafeNamesAreNamed) {
  EXPECT_EQ(zip_name_problem("a.pdb/ABC/a.sym"), "");
  EXPECT_EQ(zip_name_problem("x"), "");
  for (const std::string& bad : std::vector<std::string>{"", "/etc/passwd", "C:/x.sym", "c:x", "a\\b.sym", "../x.sym", "a/../../x", "a/./b", "./a",
                          "a//b", "a/", std::string("a\nb"), std::string("a\0b", 3), std::string(1025, 'a')}) {
    EXPECT_NE(zip_name_problem(bad), "") << "name: " << bad;
  }
  EXPECT_NE(zip_name_problem("../x.sym").find(".."), std::string::npos);
}

TEST_F(ZipTest, EntriesAreInflatedToScratchFilesAndFoldersPassedOver) {
  std::string big = incompressible(300'000);
  auto got = read(zip({{"a.pdb/", ""}, {"a.pdb/ID/a.sym", "MODULE windows x86 ID a.pdb\n"},
                       {"b/c/d.txt", big, S_IFREG | 0644, true}, {"empty.sym", ""}}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got["a.pdb/ID/a.sym"], std::make_pair(std::string(), std::string("MODULE windows x86 ID a.pdb\n")));
  EXPECT_EQ(got["b/c/d.txt"].first, "");
  EXPECT_EQ(got["b/c/d.txt"].second, big);
  EXPECT_EQ(got["empty.sym"], std::make_pair(std::string(), std::string()));
}

TEST_F(ZipTest, ZipSlipNamesAndLinksAreRefusedAndNothingIsWrittenOutside) {
  auto got = read(zip({{"../../evil.sym", "MODULE"},
                       {"/tmp/evil.sym", "MODULE"},
                       {"a\\..\\evil.sym", "MODULE"},
                       {"link.pdb/ID/link.sym", "/etc/passwd", S_IFLNK | 0777},
                       {"fifo.sym", "", S_IFIFO | 0644},
                       {"ok.sym", "fine"}}));
  ASSERT_EQ(got.size(), 6u);
  EXPECT_NE(got["../../evil.sym"].first.find("climbs out"), std::string::npos) << got["../../evil.sym"].first;
  EXPECT_NE(got["/tmp/evil.sym"].first.find("absolute"), std::string::npos);
  EXPECT_NE(got["a\\..\\evil.sym"].first.find("backslash"), std::string::npos);
  EXPECT_NE(got["link.pdb/ID/link.sym"].first.find("symbolic link"), std::string::npos);
  EXPECT_NE(got["fifo.sym"].first.find("special file"), std::string::npos);
  EXPECT_EQ(got["ok.sym"].first, "");
  EXPECT_FALSE(fs::exists(tmp_.path().parent_path() / "evil.sym"));
  EXPECT_FALSE(fs::exists("/tmp/evil.sym"));
}

TEST_F(ZipTest, ZipBombsAreRefusedWhileInflating) {
  ZipLimits limits;
  limits.max_ratio = 100;
  // 8 MiB of zeros deflate to ~8 KiB: over 100:1 once past the first MiB.
  auto got = read(zip({{"bomb.sym", std::string(8 << 20, '\0')}, {"ok.sym", "fine"}}), limits);
  EXPECT_NE(got["bomb.sym"].first.find("zip bomb"), std::string::npos) << got["bomb.sym"].first;
  EXPECT_EQ(got["ok.sym"].first, "");

  ZipLimits small;
  small.max_entry_bytes = 200'000;
  got = read(zip({{"big.sym", incompressible(300'000)}, {"ok.sym", "fine"}}), small);
  EXPECT_NE(got["big.sym"].first.find("over the limit"), std::string::npos) << got["big.sym"].first;

  ZipLimits total;
  total.max_total_bytes = 500'000;
  got = read(zip({{"1.sym", incompressible(300'000)}, {"2.sym", incompressible(300'000)}}), total);
  EXPECT_EQ(got["1.sym"].first, "");
  EXPECT_NE(got["2.sym"].first.find("for one upload"), std::string::npos) << got["2.sym"].first;
}

// The sizes in the headers are claims: an entry that says it is 10 bytes but inflates to 3 MiB is
// still stopped at the limit (or refused as damaged), never written whole.
TEST_F(ZipTest, LyingSizesInTheHeadersDoNotLiftTheLimit) {
  fs::path p = zip({{"liar.sym", incompressible(3 << 20)}});
  std::string bytes = bw::fs::read_file(p);
  auto patch32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  size_t local = bytes.find(std::string("PK\x03\x04", 4));
  size_t central = bytes.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(local, std::string::npos);
  ASSERT_NE(central, std::string::npos);
  patch32(local + 22, 10);    // local header: uncompressed size
  patch32(central + 24, 10);  // central directory: uncompressed size
  bw::fs::write_file_synced(p, bytes);
  ZipLimits limits;
  limits.max_entry_bytes = 1 << 20;
  size_t seen = 0;
  read_zip(p, scratch_, limits, [&](const ZipEntry& e) {
    ++seen;
    EXPECT_NE(e.refused, "") << "accepted " << e.bytes << " bytes";
    EXPECT_LE(e.bytes, (1u << 20) + 256 * 1024);
  });
  EXPECT_EQ(seen, 1u);
  EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(ZipTest, FilesThatAreNotZipsOrClaimTooMuchAreRefusedWhole) {
  fs::path text = tmp_.path() / "not.zip";
  bw::fs::write_file_synced(text, "MODULE windows x86 ID a.pdb\n");
  EXPECT_THROW(read(text), ZipError);
  fs::path tiny = tmp_.path() / "tiny.zip";
  bw::fs::write_file_synced(tiny, "PK");
  EXPECT_THROW(read(tiny), ZipError);

  fs::path good = zip({{"1.sym", "a"}, {"2.sym", "b"}, {"3.sym", "c"}, {"4.sym", "d"}});
  ZipLimits few;
  few.max_entries = 3;
  try {
    read(good, few);
    ADD_FAILURE() << "a zip claiming 4 entries passed a limit of 3";
  } catch (const ZipError& e) {
    EXPECT_NE(std::string(e.what()).find("4 entries"), std::string::npos) << e.what();
  }
  ZipLimits tight_directory;
  tight_directory.max_directory_bytes = 64;
  EXPECT_THROW(read(good, tight_directory), ZipError);

  // Cut short, the zip has no end record: refused whole, never half read.
  std::string bytes = bw::fs::read_file(good);
  for (size_t cut : {bytes.size() - 1, bytes.size() - 30, bytes.size() / 2, size_t{30}}) {
    fs::path part = tmp_.path() / ("cut-" + std::to_string(cut) + ".zip");
    bw::fs::write_file_synced(part, std::string_view(bytes).substr(0, cut));
    EXPECT_THROW(read(part), ZipError) << "cut at " << cut;
  }
}

TEST_F(ZipTest, AZipOfSymFilesGoesIntoTheStoreWithASummary) {
  SymbolStore store(tmp_.path() / "store");
  std::vector<StoreResult> hooked;
  std::mutex hooked_mutex;
  fs::path upload = zip({{kTestAppPath, corpus(kTestAppPath)},
                         {kImm32Path, corpus(kImm32Path)},
                         {"README.txt", "not a symbol file"},
                         {"flat.sym", corpus(kImm32Path)},
                         {"other.pdb/265BCB59F6886A8F9F482A4A4903527B1/other.sym", corpus(kImm32Path)},
                         {"../imm32.pdb/X/imm32.sym", corpus(kImm32Path)}});
  UploadSummary summary = add_zip(store, upload, scratch_, {}, [&](const StoreResult& r) {
    std::lock_guard lock(hooked_mutex);
    hooked.push_back(r);
  });
  ASSERT_EQ(summary.files.size(), 6u);
  EXPECT_EQ(summary.count(StoreOutcome::kAdded), 2u);
  EXPECT_EQ(summary.count(StoreOutcome::kRefused), 4u);
  EXPECT_TRUE(summary.any_taken());
  ASSERT_EQ(hooked.size(), 2u);
  // Entries are stored on several threads: the hook's order is not the zip's; the summary's is.
  std::set<std::string> hooked_paths = {hooked[0].path, hooked[1].path};
  EXPECT_EQ(hooked_paths, (std::set<std::string>{kTestAppPath, kImm32Path}));
  EXPECT_EQ(summary.files[0].name, kTestAppPath);
  EXPECT_EQ(summary.files[5].name, "../imm32.pdb/X/imm32.sym");
  EXPECT_TRUE(store.find("imm32.pdb", "265BCB59F6886A8F9F482A4A4903527B1"));

  auto json = nlohmann::json::parse(summary.to_json());
  EXPECT_EQ(json["files"], 6);
  ASSERT_EQ(json["added"].size(), 2u);
  EXPECT_EQ(json["added"][0]["path"], kTestAppPath);
  EXPECT_EQ(json["added"][0]["bytes"], corpus(kTestAppPath).size());
  std::map<std::string, std::string> refused;
  for (const auto& r : json["refused"]) refused[r["file"]] = r["reason"];
  EXPECT_NE(refused["README.txt"].find("only .sym files"), std::string::npos);
  EXPECT_NE(refused["flat.sym"].find("<debug_file>/<debug_id>/<name>.sym"), std::string::npos);
  EXPECT_NE(refused["other.pdb/265BCB59F6886A8F9F482A4A4903527B1/other.sym"].find("MODULE record says"),
            std::string::npos);
  EXPECT_NE(refused["../imm32.pdb/X/imm32.sym"].find("climbs out"), std::string::npos);

  // The same zip again: nothing written, the hook not called.
  hooked.clear();
  summary = add_zip(store, upload, scratch_, {}, [&](const StoreResult& r) {
    std::lock_guard lock(hooked_mutex);
    hooked.push_back(r);
  });
  EXPECT_EQ(summary.count(StoreOutcome::kSkipped), 2u);
  EXPECT_TRUE(hooked.empty());
  EXPECT_TRUE(fs::is_empty(scratch_));
}

}  // namespace
}  // namespace bw::symbols
