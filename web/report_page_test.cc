// The report page's rendering: source links, durations, and a whole report built from a real
// rust-minidump walk (the shared corpus) with hostile annotation values.
#include "web/report_page.h"

#include <gtest/gtest.h>

#include "core/fs_util.h"

namespace bw::web {
namespace {

using nlohmann::json;

json read_json(const std::string& path) { return json::parse(fs::read_file(path)); }

CrashId test_id() { return *CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918"); }

TEST(SourceRefTest, MercurialPathsLinkToTheRevision) {
  // A FILE record of the corpus' libmozglue.dylib symbols.
  auto ref = source_ref("hg:hg.mozilla.org/mozilla-central:memory/build/mozjemalloc.cpp:bcfbf7c9d10876c3e47a3cf44d6540b6e584ccf3", 4321);
  EXPECT_EQ(ref.display, "memory/build/mozjemalloc.cpp");
  ASSERT_TRUE(ref.url);
  EXPECT_EQ(*ref.url, "https://hg.mozilla.org/mozilla-central/file/bcfbf7c9d10876c3e47a3cf44d6540b6e584ccf3/memory/build/mozjemalloc.cpp#l4321");
  auto release = source_ref("hg:hg.mozilla.org/releases/mozilla-release:dom/base/a b.cpp:0123abcd", std::nullopt);
  ASSERT_TRUE(release.url);
  EXPECT_EQ(*release.url, "https://hg.mozilla.org/releases/mozilla-release/file/0123abcd/dom/base/a%20b.cpp");
}

TEST(SourceRefTest, GitHubPathsLinkToTheBlob) {
  auto ref = source_ref("git:github.com/rust-lang/rust:library/core/src/option.rs:7eac88abb2e57e752f3302f02be5f3ce3d7adfb4", 935);
  EXPECT_EQ(ref.display, "library/core/src/option.rs");
  ASSERT_TRUE(ref.url);
  EXPECT_EQ(*ref.url, "https://github.com/rust-lang/rust/blob/7eac88abb2e57e752f3302f02be5f3ce3d7adfb4/library/core/src/option.rs#L935");
}

TEST(SourceRefTest, OtherPathsAreShownWithoutLink) {
  for (const char* file : {"c:\\test_app.cc", "/build/src/a.cpp", "hg:hg.mozilla.org/x:path.cpp:not-a-rev",
                           "hg:evil host/x:a.cpp:abc123", "hg:hg.mozilla.org/x:../../etc/passwd:abc123",
                           "git:gitlab.com/a/b:a.cpp:abc123", "git:github.com/a/b/c:a.cpp:abc123", "hg:", "git:x"}) {
    auto ref = source_ref(file, 10);
    EXPECT_FALSE(ref.url) << file << " -> " << ref.url.value_or("");
  }
  EXPECT_EQ(source_ref("c:\\test_app.cc", 1).display, "c:\\test_app.cc");
}

TEST(ReportPageTest, Durations) {
  EXPECT_EQ(format_duration(0), "0 s");
  EXPECT_EQ(format_duration(59), "59 s");
  EXPECT_EQ(format_duration(65), "1 min 5 s");
  EXPECT_EQ(format_duration(3600), "1 h");
  EXPECT_EQ(format_duration(3725), "1 h 2 min");
  EXPECT_EQ(format_duration(2 * 86400 + 3 * 3600 + 5), "2 d 3 h");
  EXPECT_EQ(format_duration(-1), "-");
}

TEST(ReportPageTest, RendersARealWalkWithInlinesModulesAndEscapedValues) {
  json dump = read_json(std::string(BW_TESTDATA_DIR) + "/expected/rust-minidump/pipeline-inlines-macos-segv.json");
  json processed = {{"signature", "sadness_generator::raise_segfault"},
                    {"product", "<script>alert(1)</script>"},
                    {"version", "\"><img src=x onerror=alert(1)>"},
                    {"os_name", "Mac OS X"},
                    {"os_version", "11.6.7 20G630"},
                    {"reason", "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"},
                    {"uptime", 3725},
                    {"crashing_thread", 0},
                    {"success", true},
                    {"mdsw_status_string", "OK"},
                    {"processor_notes", json::array({"note <1>"})},
                    {"json_dump", dump}};
  json raw = {{"ProductName", "<script>alert(1)</script>"}, {"metadata", {{"collector_notes", json::array()}}}};
  std::string page = render_report(test_id(), processed, raw).str();

  EXPECT_NE(page.find("href=\"/signature/?signature=sadness_generator%3A%3Araise_segfault\""), std::string::npos);
  EXPECT_NE(page.find("1 h 2 min (3725 s)"), std::string::npos);
  // Frames of the crashing thread: function, file:line, trust; the inlined call before its frame.
  auto inline_at = page.find("core::ptr::write_volatile::&lt;u8&gt;");
  auto frame_at = page.find("sadness_generator::raise_segfault</td>");
  ASSERT_NE(inline_at, std::string::npos);
  ASSERT_NE(frame_at, std::string::npos);
  EXPECT_LT(inline_at, frame_at);
  EXPECT_NE(page.find("sadness-generator/src/lib.rs:133"), std::string::npos);
  EXPECT_NE(page.find(">context</td>"), std::string::npos);
  EXPECT_NE(page.find(">CFI</td>"), std::string::npos);
  EXPECT_NE(page.find("class=\"badge\">inlined"), std::string::npos);
  // Every other thread folded away; modules listed with their debug ids.
  size_t details = 0;
  for (size_t at = page.find("<details"); at != std::string::npos; at = page.find("<details", at + 1)) ++details;
  EXPECT_EQ(details, dump["threads"].size() - 1);
  EXPECT_NE(page.find("509C0610949836F7B70BD88BCF03E5400"), std::string::npos);
  EXPECT_NE(page.find("Modules (" + std::to_string(dump["modules"].size()) + ")"), std::string::npos);
  // Hostile values only ever as text.
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("note &lt;1&gt;"), std::string::npos);
  // Raw JSON links.
  EXPECT_NE(page.find("href=\"/api/ProcessedCrash/?crash_id=de1bb258-cbbf-4589-a673-34f800160918\""), std::string::npos);
  EXPECT_NE(page.find("href=\"/api/RawCrash/?crash_id=de1bb258-cbbf-4589-a673-34f800160918\""), std::string::npos);
}

TEST(ReportPageTest, MarksMissingSymbolsAndGapsOfTruncatedThreads) {
  json frames = json::array();
  for (int i : {0, 1, 7, 8}) {
    frames.push_back({{"frame", i}, {"module", "xul.dll"}, {"module_offset", "0x0000000000000010"}, {"trust", i == 0 ? "context" : "scan"},
                      {"missing_symbols", true}});
  }
  json processed = {{"crashing_thread", 0},
                    {"json_dump",
                     {{"threads", json::array({{{"frames", frames}, {"frame_count", 9}, {"truncated", true}}})},
                      {"modules", json::array({{{"filename", "xul.dll"}, {"missing_symbols", true}},
                                               {{"filename", "bad.dll"}, {"corrupt_symbols", true}}})}}}};
  std::string page = render_report(test_id(), processed, json::object()).str();
  EXPECT_NE(page.find("xul.dll@0x10"), std::string::npos);
  EXPECT_NE(page.find("frames 2 to 6 left out"), std::string::npos);
  EXPECT_NE(page.find("This thread had 9 frames; 4 were kept"), std::string::npos);
  EXPECT_NE(page.find(">missing</span>"), std::string::npos);
  EXPECT_NE(page.find(">corrupt</span>"), std::string::npos);
  EXPECT_NE(page.find("low-trust"), std::string::npos);
  EXPECT_NE(page.find("1 module needed symbols"), std::string::npos);
}

TEST(ReportPageTest, SurvivesFieldsOfTheWrongType) {
  json processed = {{"signature", 42},        {"json_dump", "not an object"}, {"crashing_thread", "x"},
                    {"uptime", "long"},       {"processor_notes", "x"},        {"product", json::array({1, 2})},
                    {"success", "perhaps"}};
  std::string page = render_report(test_id(), processed, json::array()).str();
  EXPECT_NE(page.find("No crashing thread"), std::string::npos);
  EXPECT_NE(page.find("No modules."), std::string::npos);
  EXPECT_NE(page.find("[1,2]"), std::string::npos);
}

TEST(ReportPageTest, PendingCarriesWhatTheScriptNeeds) {
  std::string page = render_pending(test_id(), true).str();
  EXPECT_NE(page.find("data-status-url=\"/report/status/de1bb258-cbbf-4589-a673-34f800160918\""), std::string::npos);
  EXPECT_NE(page.find("data-report-url=\"/report/index/de1bb258-cbbf-4589-a673-34f800160918\""), std::string::npos);
  EXPECT_NE(page.find("reload the page"), std::string::npos);
}

}  // namespace
}  // namespace bw::web
