// Reading signature input out of processed crashes and rust-minidump JSON, including malformed
// and hostile documents.
#include "signature/crash_input.h"

#include <unistd.h>
#include <zlib.h>

#include <fstream>

#include <gtest/gtest.h>

namespace bw::signature {
namespace {

using nlohmann::json;

json load(const std::string& name) {
  std::ifstream in(std::string(BW_TESTDATA_DIR) + "/expected/rust-minidump/" + name);
  EXPECT_TRUE(in) << name;
  return json::parse(in);
}

TEST(CrashInput, ReadsBareRustMinidumpJson) {
  std::string error;
  auto input = input_from_json(load("test.json"), &error);
  ASSERT_TRUE(input) << error;
  EXPECT_TRUE(input->crashing_thread_known);
  ASSERT_EQ(input->frames.size(), 4u);
  EXPECT_EQ(input->frames[0].function, "`anonymous namespace'::CrashFunction");
  EXPECT_EQ(input->frames[0].module, "test_app.exe");
  EXPECT_EQ(input->frames[0].file, "c:\\test_app.cc");
  EXPECT_EQ(input->frames[0].line, 58u);
  EXPECT_EQ(input->frames[0].module_offset, 0x429eu);
  EXPECT_EQ(input->frames[0].offset, 0x40429eu);
  EXPECT_EQ(input->frames[3].function, "");
  EXPECT_EQ(input->frames[3].module, "kernel32.dll");
  EXPECT_EQ(input->frames[3].index, 3);
  EXPECT_EQ(input->reason, "EXCEPTION_ACCESS_VIOLATION_WRITE");
  EXPECT_EQ(input->stackwalk_status, "OK");
  EXPECT_TRUE(input->notes.empty());
}

TEST(CrashInput, ExpandsInlinesInnermostFirst) {
  auto input = input_from_json(load("pipeline-inlines-macos-segv.json"), nullptr);
  ASSERT_TRUE(input);
  ASSERT_GE(input->frames.size(), 5u);
  EXPECT_EQ(input->frames[0].function, "core::ptr::write_volatile::<u8>");
  EXPECT_TRUE(input->frames[0].inlined);
  EXPECT_EQ(input->frames[0].index, 0);
  EXPECT_EQ(input->frames[0].module, "crash-client");
  EXPECT_EQ(input->frames[0].line, 1574u);
  EXPECT_EQ(input->frames[1].function, "sadness_generator::raise_segfault");
  EXPECT_FALSE(input->frames[1].inlined);
  EXPECT_EQ(input->frames[2].function, "crash_client::real_main::{closure#1}");
  EXPECT_EQ(input->frames[3].function, "crash_client::real_main");
  EXPECT_EQ(input->frames[4].function, "crash_client::main");
  EXPECT_EQ(input->frames[4].index, 1);
}

TEST(CrashInput, ReadsProcessedCrashFields) {
  json processed = {
      {"json_dump", load("linux-mini.json")},
      {"reason", "SIGSEGV /SEGV_MAPERR"},
      {"mdsw_status_string", "OK"},
      {"hang_type", 1},
      {"additional_minidumps", {"browser"}},
      {"raw_crash", {{"OOMAllocationSize", "1048576"}, {"MozCrashReason", "MOZ_CRASH(Crash via about:crashparent)"},
                     {"ipc_channel_error", "ShutDownKill"}}},
  };
  auto input = input_from_json(processed, nullptr);
  ASSERT_TRUE(input);
  EXPECT_EQ(input->frames.size(), 15u);
  EXPECT_EQ(input->frames[0].module, "crash");
  EXPECT_EQ(input->frames[0].module_offset, 0x1d72u);
  EXPECT_EQ(input->reason, "SIGSEGV /SEGV_MAPERR");
  EXPECT_EQ(input->oom_allocation_size, 1048576u);
  EXPECT_EQ(input->abort_message, "MOZ_CRASH(Crash via about:crashparent)");
  EXPECT_EQ(input->abort_message_field, "MozCrashReason");
  EXPECT_EQ(input->ipc_channel_error, "ShutDownKill");
  EXPECT_TRUE(input->hang);
  EXPECT_TRUE(input->browser_dump);

  // AbortMessage wins over MozCrashReason; processed names win over annotation names.
  processed["abort_message"] = "###!!! ABORT: x";
  processed["oom_allocation_size"] = 10;
  input = input_from_json(processed, nullptr);
  EXPECT_EQ(input->abort_message, "###!!! ABORT: x");
  EXPECT_EQ(input->oom_allocation_size, 10u);
  processed["hang_type"] = 0;
  processed["raw_crash"]["Hang"] = "0";
  EXPECT_FALSE(input_from_json(processed, nullptr)->hang);
}

TEST(CrashInput, FindsTheCrashingThreadByIndex) {
  json dump = load("test.json");
  json threads = dump["threads"];
  dump.erase("crashing_thread");
  auto input = input_from_json(dump, nullptr);
  ASSERT_TRUE(input);
  EXPECT_TRUE(input->crashing_thread_known);
  EXPECT_EQ(input->frames.size(), threads[0]["frames"].size());

  // Processed crash's derived index when json_dump names none.
  dump["crash_info"]["crashing_thread"] = nullptr;
  json processed = {{"json_dump", dump}, {"crashing_thread", 1}};
  input = input_from_json(processed, nullptr);
  ASSERT_TRUE(input);
  EXPECT_TRUE(input->crashing_thread_known);
  EXPECT_EQ(input->frames.size(), threads[1]["frames"].size());

  // No crashing thread anywhere.
  processed.erase("crashing_thread");
  input = input_from_json(processed, nullptr);
  ASSERT_TRUE(input);
  EXPECT_FALSE(input->crashing_thread_known);

  // An index past the thread list is a note, not a crash.
  processed["crashing_thread"] = 99;
  input = input_from_json(processed, nullptr);
  EXPECT_FALSE(input->crashing_thread_known);
  ASSERT_EQ(input->notes.size(), 1u);
  EXPECT_NE(input->notes[0].find("does not name a thread"), std::string::npos);
}

TEST(CrashInput, MalformedFieldsAreNotedAndIgnored) {
  json dump = {
      {"crashing_thread",
       {{"frames",
         {{{"function", 42}, {"module", "libxul.so"}, {"module_offset", "0xZZ"}, {"offset", "0x12345678901234567"}},
          "not a frame",
          {{"function", "Foo::Bar()"}, {"line", -3}, {"inlines", "nope"}},
          {{"module", "a.so"}, {"module_offset", 4096}}}}}},
      {"crash_info", {{"type", 7}}},
      {"status", "OK"},
  };
  auto input = input_from_json(dump, nullptr);
  ASSERT_TRUE(input);
  ASSERT_EQ(input->frames.size(), 3u);
  EXPECT_EQ(input->frames[0].function, "");
  EXPECT_FALSE(input->frames[0].module_offset);
  EXPECT_FALSE(input->frames[0].offset);
  EXPECT_FALSE(input->frames[1].line);
  EXPECT_EQ(input->frames[2].module_offset, 4096u);
  EXPECT_EQ(input->reason, "");
  std::string notes;
  for (const auto& n : input->notes) notes += n + "\n";
  EXPECT_NE(notes.find("frame 0 function is not a string"), std::string::npos) << notes;
  EXPECT_NE(notes.find("frame 0 module_offset is not a hex offset"), std::string::npos) << notes;
  EXPECT_NE(notes.find("frame 0 offset is not a hex offset"), std::string::npos) << notes;
  EXPECT_NE(notes.find("frame 1 is not an object"), std::string::npos) << notes;
  EXPECT_NE(notes.find("inlines is not a list"), std::string::npos) << notes;
  EXPECT_NE(notes.find("json_dump.crash_info.type is not a string"), std::string::npos) << notes;
}

TEST(CrashInput, HugeThreadsAreReadInPart) {
  json frames = json::array();
  for (int i = 0; i < 3000; ++i) frames.push_back({{"module", "libxul.so"}, {"module_offset", "0x10"}});
  auto input = input_from_json({{"crashing_thread", {{"frames", frames}}}}, nullptr);
  ASSERT_TRUE(input);
  EXPECT_EQ(input->frames.size(), 1024u);
  EXPECT_FALSE(input->notes.empty());
}

TEST(CrashInput, RejectsDocumentsThatAreNotCrashes) {
  std::string error;
  EXPECT_FALSE(input_from_json(json::array(), &error));
  EXPECT_EQ(error, "not a JSON object");
  EXPECT_FALSE(input_from_json({{"product", "Firefox"}}, &error));
  EXPECT_NE(error.find("neither a processed crash"), std::string::npos);
  EXPECT_FALSE(input_from_json({{"json_dump", "text"}}, &error));
  EXPECT_EQ(error, "json_dump is not an object");
}

TEST(LoadCrashFile, PlainGzipBadAndOversized) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-sigfile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string text = R"({"json_dump": {"crashing_thread": {"frames": []}}})";
  std::ofstream(dir / "plain.json") << text;
  gzFile gz = gzopen((dir / "processed_crash.json.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(gz);
  std::ofstream(dir / "bad.json") << "{\"json_dump\": ";

  std::string error;
  auto plain = load_crash_file(dir / "plain.json", &error);
  ASSERT_TRUE(plain) << error;
  auto zipped = load_crash_file(dir / "processed_crash.json.gz", &error);
  ASSERT_TRUE(zipped) << error;
  EXPECT_EQ(*plain, *zipped);
  EXPECT_FALSE(load_crash_file(dir / "bad.json", &error));
  EXPECT_EQ(error, "not valid JSON");
  EXPECT_FALSE(load_crash_file(dir / "plain.json", &error, 10));
  EXPECT_EQ(error, "larger than 10 bytes");
  EXPECT_FALSE(load_crash_file(dir / "missing.json", &error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ParseHex, BoundsChecked) {
  EXPECT_EQ(parse_hex("0x0000429e"), 0x429eu);
  EXPECT_EQ(parse_hex("0x00000000000f302d"), 0xf302du);
  EXPECT_EQ(parse_hex("1D72"), 0x1d72u);
  EXPECT_EQ(parse_hex("0xffffffffffffffff"), UINT64_MAX);
  EXPECT_EQ(parse_hex("0x0000000000000000000000000001"), 1u);
  EXPECT_FALSE(parse_hex("0x10000000000000000"));
  EXPECT_FALSE(parse_hex("0x"));
  EXPECT_FALSE(parse_hex(""));
  EXPECT_FALSE(parse_hex("0x12g4"));
  EXPECT_FALSE(parse_hex("-0x1"));
}

}  // namespace
}  // namespace bw::signature
