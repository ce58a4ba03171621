// Signatures for the shared corpus (../shared/testdata): rust-minidump's JSON outputs, and the
// Firefox crashes through Breakpad's machine-readable output with the annotations their clients
// sent.
#include <cctype>
#include <sstream>

#include <gtest/gtest.h>

#include "core/fs_util.h"
#include "signature/signature_generator.h"

namespace bw::signature {
namespace {

using nlohmann::json;

const SignatureGenerator& gen() {
  static const SignatureGenerator g = SignatureGenerator::builtin();
  return g;
}

std::string read(const std::string& relative) { return fs::read_file(std::string(BW_TESTDATA_DIR) + "/" + relative); }

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

// Breakpad's `minidump_stackwalk -m`: "Crash|reason|address|thread" and
// "thread|frame|module|function|file|line|offset" (offset: function offset when symbolized, else
// module offset, else address).
SignatureInput from_breakpad_machine(const std::string& text) {
  SignatureInput input;
  std::istringstream in(text);
  std::string line;
  std::string crashing;
  std::vector<std::string> frame_lines;
  while (std::getline(in, line)) {
    auto f = split(line, '|');
    if (f.size() >= 4 && f[0] == "Crash") {
      input.reason = f[1];
      crashing = f[3];
    } else if (f.size() == 7 && !f[0].empty() && std::isdigit(static_cast<unsigned char>(f[0][0]))) {
      frame_lines.push_back(line);
    }
  }
  for (const auto& l : frame_lines) {
    auto f = split(l, '|');
    if (f[0] != crashing) continue;
    input.crashing_thread_known = true;
    Frame frame;
    frame.index = std::stoi(f[1]);
    frame.module = f[2];
    frame.function = f[3];
    frame.file = f[4];
    if (!f[5].empty()) frame.line = std::stoull(f[5]);
    auto offset = parse_hex(f[6]);
    if (frame.function.empty()) (frame.module.empty() ? frame.offset : frame.module_offset) = offset;
    input.frames.push_back(frame);
  }
  return input;
}

TEST(CorpusSignatures, RustMinidumpJson) {
  struct Case {
    const char* file;
    const char* signature;
  } cases[] = {
      {"test.json", "(anonymous namespace)::CrashFunction"},
      {"test.evil.json", "(anonymous namespace)::CrashFunction"},
      {"linux-mini.json", "crash@0x1d72"},
      {"pipeline-inlines-macos-segv.json", "core::ptr::write_volatile | sadness_generator::raise_segfault"},
  };
  for (const auto& c : cases) {
    json doc = json::parse(read(std::string("expected/rust-minidump/") + c.file));
    auto r = gen().generate(doc);
    EXPECT_EQ(r.signature, c.signature) << c.file;
    EXPECT_FALSE(r.proto_signature.empty()) << c.file;
    EXPECT_FALSE(r.debug.empty()) << c.file;
  }
  auto r = gen().generate(json::parse(read("expected/rust-minidump/test.json")));
  EXPECT_EQ(r.proto_signature, "(anonymous namespace)::CrashFunction | main | __tmainCRTStartup | kernel32.dll@0x16fd6");
}

TEST(CorpusSignatures, ProcessedCrashWrappingTheSameJson) {
  json processed = {{"json_dump", json::parse(read("expected/rust-minidump/linux-mini.json"))},
                    {"raw_crash", {{"ProductName", "Test"}}}};
  EXPECT_EQ(gen().generate(processed).signature, "crash@0x1d72");
}

TEST(CorpusSignatures, FirefoxCrashesWithTheirAnnotations) {
  struct Case {
    const char* dump;
    const char* signature;
  } cases[] = {
      {"firefox-linux-x86_64", "Abort | MOZ_CRASH(Crash via about:crashparent) | libxul.so@0x34464e8"},
      {"firefox-macos-x86_64", "Abort | MOZ_CRASH(Crash via about:crashparent) | XUL@0x4f045e9"},
      {"firefox-windows-x86_64", "Abort | MOZ_CRASH(Crash via about:crashparent) | xul.dll@0x38ab264"},
      {"firefox-android-arm", "Abort | MOZ_CRASH(Crash via about:crashparent) | libxul.so@0x231a2d0"},
      {"firefox-android-aarch64", "Abort | MOZ_CRASH(Crash via about:crashparent) | libxul.so@0x2d4da90"},
  };
  for (const auto& c : cases) {
    SignatureInput input = from_breakpad_machine(read(std::string("expected/breakpad/") + c.dump + ".machine.txt"));
    ASSERT_FALSE(input.frames.empty()) << c.dump;
    json annotations = json::parse(read(std::string("annotations/") + c.dump + ".json"));
    input.abort_message = annotations.value("MozCrashReason", "");
    input.abort_message_field = "MozCrashReason";
    auto r = gen().generate(input);
    EXPECT_EQ(r.signature, c.signature) << c.dump;
    // Without the annotation the stack alone still tells the crashes apart.
    input.abort_message.clear();
    EXPECT_EQ(gen().generate(input).signature, std::string(c.signature).substr(49)) << c.dump;
  }
}

TEST(CorpusSignatures, BreakpadSymbolizedFrames) {
  // The symbolized tail of firefox-linux-x86_64 (main in firefox-bin) and of the Breakpad test
  // dump minidump2 agree with the rust-minidump JSON for the same dump (test.json).
  SignatureInput linux_input = from_breakpad_machine(read("expected/breakpad/firefox-linux-x86_64.machine.txt"));
  ASSERT_GE(linux_input.frames.size(), 20u);
  EXPECT_EQ(normalize_frame(linux_input.frames[17]).text, "main");
  EXPECT_EQ(normalize_frame(linux_input.frames[18]).text, "__libc_start_main");
  SignatureInput minidump2 = from_breakpad_machine(read("expected/breakpad/minidump2.machine.txt"));
  EXPECT_EQ(gen().generate(minidump2).signature, "(anonymous namespace)::CrashFunction");
}

}  // namespace
}  // namespace bw::signature
