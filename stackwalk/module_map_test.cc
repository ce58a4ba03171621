#include "stackwalk/module_map.h"

#include <gtest/gtest.h>

#include "stackwalk/frame.h"

namespace bw::stackwalk {
namespace {

const std::filesystem::path kTestdata = BW_TESTDATA_DIR;

std::optional<size_t> index_named(const minidump::Minidump& dump, std::string_view file_name, uint64_t base) {
  for (size_t i = 0; i < dump.modules().size(); ++i) {
    const auto& m = dump.modules()[i];
    if (m.base == base && m.code_file.size() >= file_name.size() &&
        m.code_file.compare(m.code_file.size() - file_name.size(), file_name.size(), file_name) == 0) {
      return i;
    }
  }
  return std::nullopt;
}

TEST(ModuleMap, OverlappingModulesShortenTheLowerOne) {
  // firefox-android-arm: libicuuc.so spans 0x40884000-0x4099ffff, but ashmem regions start at
  // 0x40885000 inside it; Breakpad's map ends libicuuc there.
  auto dump = minidump::Minidump::open(kTestdata / "minidumps/firefox-android-arm.dmp");
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  ModuleMap map(*dump);
  auto icu = index_named(*dump, "libicuuc.so", 0x40884000);
  auto ashmem = index_named(*dump, "ashmem (deleted)", 0x40885000);
  ASSERT_TRUE(icu && ashmem);
  EXPECT_EQ(map.find(0x40884000), icu);
  EXPECT_EQ(map.find(0x40884fff), icu);
  EXPECT_EQ(map.find(0x40885000), ashmem);
  EXPECT_FALSE(map.find(0x408f3fff));  // inside libicuuc's recorded span, past its shortened end
  EXPECT_FALSE(map.find(0));
}

TEST(ModuleMap, PlainModuleList) {
  auto dump = minidump::Minidump::open(kTestdata / "minidumps/test.dmp");
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  ModuleMap map(*dump);
  EXPECT_EQ(map.find(0x0040429e), 0U);  // test_app.exe, the first module
  EXPECT_FALSE(map.find(0x0042d000));   // one past its end
  EXPECT_FALSE(map.find(0x003fffff));
}

TEST(FrameTrust, NamesFollowTheReferenceTools) {
  EXPECT_EQ(trust_json_name(FrameTrust::kCfiScan), "cfi_scan");
  EXPECT_EQ(trust_json_name(FrameTrust::kFramePointer), "frame_pointer");
  EXPECT_EQ(trust_description(FrameTrust::kContext), "given as instruction pointer in context");
  EXPECT_EQ(trust_description(FrameTrust::kFramePointer), "previous frame's frame pointer");
  EXPECT_EQ(trust_description(FrameTrust::kLeaf), "simulating a return from leaf function");
}

}  // namespace
}  // namespace bw::stackwalk
