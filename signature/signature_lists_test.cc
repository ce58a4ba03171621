// Pattern lists: file format, whole-frame matching, first-match order, errors, the shipped lists.
#include "signature/signature_lists.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

namespace bw::signature {
namespace {

TEST(PatternList, ParsesCommentsBlanksAndWhitespace) {
  auto list = PatternList::parse("# allocator helpers\n\n  malloc  \r\n\t# indented comment\nfree\n", "t.txt");
  ASSERT_EQ(list.entries().size(), 2u);
  EXPECT_EQ(list.entries()[0].pattern, "malloc");
  EXPECT_EQ(list.entries()[0].line, 3);
  EXPECT_EQ(list.entries()[1].pattern, "free");
  EXPECT_EQ(list.entries()[1].line, 5);
  EXPECT_EQ(list.entries()[1].source, "t.txt");
}

TEST(PatternList, MatchesTheWholeFrame) {
  auto list = PatternList::parse("malloc\nstd::__throw_\\w+\nElement\\.cpp#\\d+\n", "t.txt");
  EXPECT_NE(list.first_match("malloc"), nullptr);
  EXPECT_EQ(list.first_match("malloc_usable_size"), nullptr);
  EXPECT_EQ(list.first_match("je_malloc"), nullptr);
  EXPECT_NE(list.first_match("std::__throw_length_error"), nullptr);
  EXPECT_NE(list.first_match("Element.cpp#120"), nullptr);
  EXPECT_EQ(list.first_match(""), nullptr);
}

TEST(PatternList, ReportsTheFirstMatchingLine) {
  auto list = PatternList::parse("core::.*\ncore::panicking::.*\n", "t.txt");
  const auto* hit = list.first_match("core::panicking::panic_fmt");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->line, 1);
}

TEST(PatternList, EmptyListMatchesNothing) {
  auto list = PatternList::parse("# nothing\n", "t.txt");
  EXPECT_TRUE(list.entries().empty());
  EXPECT_EQ(list.first_match("abort"), nullptr);
  EXPECT_EQ(PatternList().first_match("abort"), nullptr);
}

TEST(PatternList, BadPatternNamesFileAndLine) {
  try {
    PatternList::parse("abort\n\nfoo(bar\n", "lists/irrelevant.txt");
    FAIL() << "no error";
  } catch (const SignatureListError& e) {
    EXPECT_NE(std::string(e.what()).find("lists/irrelevant.txt:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("foo(bar"), std::string::npos) << e.what();
  }
}

TEST(PatternList, LoadsFilesAndDirectories) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-siglists-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* name : {"irrelevant", "prefix", "sentinels", "oom"}) {
    std::ofstream(dir / (std::string(name) + ".txt")) << "# " << name << "\n" << name << "_frame\n";
  }
  auto lists = SignatureLists::load({dir, {}, {}, {}, {}});
  EXPECT_NE(lists.irrelevant.first_match("irrelevant_frame"), nullptr);
  EXPECT_NE(lists.prefix.first_match("prefix_frame"), nullptr);
  EXPECT_NE(lists.sentinels.first_match("sentinels_frame"), nullptr);
  EXPECT_NE(lists.oom.first_match("oom_frame"), nullptr);
  EXPECT_EQ(lists.irrelevant.first_match("abort"), nullptr);

  // One list replaced, the others built in.
  auto one = SignatureLists::load({{}, dir / "irrelevant.txt", {}, {}, {}});
  EXPECT_NE(one.irrelevant.first_match("irrelevant_frame"), nullptr);
  EXPECT_NE(one.prefix.first_match("memcpy"), nullptr);

  EXPECT_THROW(PatternList::load_file(dir / "missing.txt"), SignatureListError);
  EXPECT_THROW(SignatureLists::load({dir / "nope", {}, {}, {}, {}}), SignatureListError);
  std::filesystem::remove_all(dir);
}

TEST(BuiltinLists, CompileAndCoverTheRuntimes) {
  auto lists = SignatureLists::builtin();
  EXPECT_GT(lists.irrelevant.entries().size(), 100u);
  EXPECT_GT(lists.prefix.entries().size(), 40u);
  EXPECT_FALSE(lists.sentinels.entries().empty());
  EXPECT_FALSE(lists.oom.entries().empty());
  EXPECT_EQ(builtin_list_text("nonsense"), "");
  // The shipped files and the compiled-in copies are the same text.
  for (const char* name : {"irrelevant", "prefix", "sentinels", "oom"}) {
    std::ifstream in(std::string(BW_SOURCE_DIR) + "/signature/lists/" + name + ".txt", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(builtin_list_text(name), text) << name;
  }
  // Abort, raise, assertion, panic and allocator helpers of each platform's runtimes.
  for (const char* frame : {"abort", "__GI_raise", "__pthread_kill_implementation", "__assert_fail", "__assert_rtn",
                            "__assert2", "_wassert", "RaiseException", "_CxxThrowException", "std::terminate",
                            "__cxa_throw", "core::panicking::panic_fmt", "std::panicking::rust_panic_with_hook",
                            "rust_begin_unwind", "core::result::unwrap_failed", "_int_free", "malloc_printerr",
                            "arena_dalloc", "szone_free_definite_size", "RtlpFreeHeapInternal", "scudo::die",
                            "ntdll.dll@0x2f3b4", "KERNELBASE.dll@0x39b29", "async_safe_fatal_no_abort"}) {
    EXPECT_NE(lists.irrelevant.first_match(frame), nullptr) << frame;
  }
  for (const char* frame : {"memcpy", "__memmove_avx_unaligned_erms", "_platform_memmove$VARIANT$Haswell",
                            "free", "__GI___libc_free", "je_free", "moz_xmalloc", "operator new", "operator delete[]",
                            "RtlFreeHeap", "objc_msgSend", "@0x0", "nvwgf2umx.dll@0x6b2f1c", "iris_dri.so@0x8c2d1",
                            "core::ptr::write_volatile", "__rust_dealloc"}) {
    EXPECT_NE(lists.prefix.first_match(frame), nullptr) << frame;
  }
  // Ordinary application frames are on no list.
  for (const char* frame : {"main", "nsThread::ProcessNextEvent", "libxul.so@0x34464e8", "xul.dll@0x38ab264",
                            "sadness_generator::raise_segfault", "@0x1ddb5ab4800"}) {
    EXPECT_EQ(lists.prefix.first_match(frame), nullptr) << frame;
    EXPECT_EQ(lists.sentinels.first_match(frame), nullptr) << frame;
  }
  EXPECT_NE(lists.irrelevant.first_match("@0x1ddb5ab4800"), nullptr) << "code outside modules is skipped";
}

}  // namespace
}  // namespace bw::signature
