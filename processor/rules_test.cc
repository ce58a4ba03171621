// Unit tests of each rule and of the Ruleset's failure handling.
#include "processor/rules.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "processor/test_util.h"
#include "signature/signature_generator.h"

namespace bw::processor {
namespace {

using nlohmann::json;
using testing::FakeDumpWalker;

CrashId test_id() { return *CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918"); }

bool has_note_containing(const ProcessingContext& c, const std::string& text) {
  for (const auto& n : c.notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(CleanupRule, StripsNulsDropsInvalidKeysAndListsKeys) {
  ProcessingContext c(test_id());
  c.raw_crash = {{"ProductName", std::string("Fire\0fox", 8)},
                 {"bad key!", "x"},
                 {"", "empty"},
                 {"Add-ons", "a@b:1"},
                 {"StackTraces", {{std::string("k\0", 2), std::string("v\0\0", 3)}}},
                 {"metadata", {{"payload", "multipart"}}},
                 {"submitted_timestamp", "2016-09-18T10:00:00.000000+00:00"},
                 {"uuid", "de1bb258-cbbf-4589-a673-34f800160918"}};
  c.dumps = {{"upload_file_minidump", "/x/upload_file_minidump.dump"},
             {"upload_file_minidump_browser", "/x/b.dump"},
             {"memory_report", "/x/m.dump"}};
  CleanupRule().action(c);
  EXPECT_EQ(c.raw_crash["ProductName"], "Firefox");
  EXPECT_EQ(c.raw_crash["StackTraces"], json({{"k", "v"}}));
  EXPECT_FALSE(c.raw_crash.contains("bad key!"));
  EXPECT_FALSE(c.raw_crash.contains(""));
  EXPECT_TRUE(has_note_containing(c, "removed 4 NUL characters"));
  EXPECT_TRUE(has_note_containing(c, "dropped invalid annotation key 'bad key!'"));
  EXPECT_EQ(c.processed["uuid"], test_id().str());
  EXPECT_EQ(c.processed["metadata"], json({{"payload", "multipart"}}));
  EXPECT_EQ(c.processed["submitted_timestamp"], "2016-09-18T10:00:00.000000+00:00");
  EXPECT_EQ(c.processed["crash_report_keys"],
            json({"Add-ons", "ProductName", "StackTraces", "memory_report", "metadata", "submitted_timestamp",
                  "upload_file_minidump", "upload_file_minidump_browser", "uuid"}));
  EXPECT_EQ(c.processed["additional_minidumps"], json({"browser", "memory_report"}));
}

TEST(CleanupRule, NotesAMismatchedUuidAndANonObjectRawCrash) {
  ProcessingContext c(test_id());
  c.raw_crash = {{"uuid", "00000000-0000-4000-8000-000000160918"}};
  CleanupRule().action(c);
  EXPECT_TRUE(has_note_containing(c, "does not match"));
  ProcessingContext d(test_id());
  d.raw_crash = json::array({1, 2});
  CleanupRule().action(d);
  EXPECT_TRUE(has_note_containing(d, "not a JSON object"));
  EXPECT_EQ(d.processed["crash_report_keys"], json::array());
}

TEST(AnnotationsRule, ConvertsTypesAndNotesBadValues) {
  ProcessingContext c(test_id());
  c.raw_crash = {{"ProductName", "Firefox"},  {"Version", "86.0a1"},       {"ReleaseChannel", "nightly"},
                 {"BuildID", 20210106093742}, {"InstallTime", "1609962885"}, {"StartupTime", " 1609962890 "},
                 {"SafeMode", "0"},           {"Throttleable", "true"},     {"OOMAllocationSize", "12.5"},
                 {"URL", "https://x"},        {"Comments", "it broke"},     {"SecondsSinceLastCrash", "soon"},
                 {"Hang", "maybe"},           {"Notes", json::array()}};
  AnnotationsRule().action(c);
  const json& p = c.processed;
  EXPECT_EQ(p["product"], "Firefox");
  EXPECT_EQ(p["version"], "86.0a1");
  EXPECT_EQ(p["release_channel"], "nightly");
  EXPECT_EQ(p["build_id"], "20210106093742");  // a number sent in a JSON part stays an id string
  EXPECT_EQ(p["install_time"], 1609962885);
  EXPECT_EQ(p["startup_time"], 1609962890);
  EXPECT_EQ(p["safe_mode"], false);
  EXPECT_EQ(p["throttleable"], true);
  EXPECT_EQ(p["oom_allocation_size"], 12);
  EXPECT_EQ(p["url"], "https://x");
  EXPECT_EQ(p["user_comments"], "it broke");
  EXPECT_EQ(p["process_type"], "parent");
  EXPECT_FALSE(p.contains("last_crash"));
  EXPECT_FALSE(p.contains("hang_type"));
  EXPECT_FALSE(p.contains("app_notes"));
  EXPECT_TRUE(has_note_containing(c, "SecondsSinceLastCrash is not an integer"));
  EXPECT_TRUE(has_note_containing(c, "Hang is not an integer"));
  EXPECT_TRUE(has_note_containing(c, "Notes is not text"));
}

// Breakpad's uploaders, Chromium/Crashpad and Electron name product, version, channel and process
// type their own way; a crash from any of them gets the same processed fields.
TEST(AnnotationsRule, ReadsEveryClientConventionForProductVersionChannelAndProcessType) {
  struct Case {
    json raw;
    const char* product;
    const char* version;
    const char* channel;
    const char* process_type;
  };
  const Case cases[] = {
      {{{"prod", "Chrome_Linux"}, {"ver", "120.0.1"}, {"channel", "beta"}, {"ptype", "renderer"}},
       "Chrome_Linux", "120.0.1", "beta", "renderer"},
      {{{"product", "QueryProduct"}, {"version", "2.1"}}, "QueryProduct", "2.1", nullptr, "parent"},
      {{{"_productName", "MyElectronApp"}, {"_version", "3.4.5"}, {"process_type", "browser"}},
       "MyElectronApp", "3.4.5", nullptr, "browser"},
      // Mozilla's names win when a client sends several conventions.
      {{{"prod", "Other"}, {"ProductName", "Firefox"}, {"ver", "1"}, {"Version", "2"}, {"ProcessType", "gpu"}, {"ptype", "x"}},
       "Firefox", "2", nullptr, "gpu"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.raw.dump());
    ProcessingContext c(test_id());
    c.raw_crash = k.raw;
    AnnotationsRule().action(c);
    EXPECT_EQ(c.processed.value("product", ""), k.product);
    EXPECT_EQ(c.processed.value("version", ""), k.version);
    if (k.channel) {
      EXPECT_EQ(c.processed.value("release_channel", ""), k.channel);
    } else {
      EXPECT_FALSE(c.processed.contains("release_channel"));
    }
    EXPECT_EQ(c.processed.value("process_type", ""), k.process_type);
  }
}

TEST(AnnotationsRule, ProtectedFieldsAreMarked) {
  EXPECT_TRUE(is_protected_field("url"));
  EXPECT_TRUE(is_protected_field("user_comments"));
  EXPECT_TRUE(is_protected_field("email"));
  EXPECT_FALSE(is_protected_field("product"));
  EXPECT_FALSE(is_protected_field("signature"));
}

class ThrowingRule final : public Rule {
 public:
  std::string_view name() const override { return "throwing"; }
  void action(ProcessingContext&) override { throw std::runtime_error("boom"); }
};
class MarkingRule final : public Rule {
 public:
  std::string_view name() const override { return "marking"; }
  bool predicate(const ProcessingContext& c) const override { return !c.processed.contains("skip"); }
  void action(ProcessingContext& c) override { c.processed["marked"] = true; }
};

TEST(Ruleset, AFailingRuleAddsANoteAndTheRestStillRun) {
  std::vector<std::unique_ptr<Rule>> rules;
  rules.push_back(std::make_unique<ThrowingRule>());
  rules.push_back(std::make_unique<MarkingRule>());
  Ruleset ruleset(std::move(rules));
  ProcessingContext c(test_id());
  ruleset.run(c);
  EXPECT_TRUE(c.failed);
  EXPECT_EQ(c.notes, std::vector<std::string>{"rule throwing failed: boom"});
  EXPECT_EQ(c.processed["marked"], true);
  EXPECT_EQ(ruleset.names(), (std::vector<std::string>{"throwing", "marking"}));
}

TEST(Ruleset, PredicateGatesTheAction) {
  std::vector<std::unique_ptr<Rule>> rules;
  rules.push_back(std::make_unique<MarkingRule>());
  Ruleset ruleset(std::move(rules));
  ProcessingContext c(test_id());
  c.processed["skip"] = true;
  ruleset.run(c);
  EXPECT_FALSE(c.processed.contains("marked"));
  EXPECT_FALSE(c.failed);
}

TEST(MakeRuleset, BuildsNamedRulesAndRefusesUnknownOrRepeatedNames) {
  FakeDumpWalker walker;
  auto generator = signature::SignatureGenerator::builtin();
  RuleDependencies deps{&walker, &generator, 500};
  EXPECT_EQ(make_ruleset(default_rule_names(), deps).names(), default_rule_names());
  EXPECT_THROW(make_ruleset({"cleanup", "nonsense"}, deps), std::invalid_argument);
  EXPECT_THROW(make_ruleset({"cleanup", "cleanup"}, deps), std::invalid_argument);
  EXPECT_THROW(make_rule("stackwalk", RuleDependencies{}), std::invalid_argument);
  EXPECT_THROW(make_rule("signature", RuleDependencies{}), std::invalid_argument);
}

TEST(StackwalkRule, WalksEveryMinidumpDumpAndRecordsStatuses) {
  FakeDumpWalker walker;
  WalkResult main;
  main.json_dump = {{"status", "OK"}, {"threads", json::array()}};
  main.notes = {"thread 3 has no stack"};
  walker.results["upload_file_minidump"] = main;
  walker.results["upload_file_minidump_browser"] = failed_walk(kStatusInvalid, "bad header");
  ProcessingContext c(test_id());
  c.dumps = {{"upload_file_minidump", "/d/upload_file_minidump.dump"},
             {"upload_file_minidump_browser", "/d/upload_file_minidump_browser.dump"},
             {"memory_report", "/d/memory_report.dump"}};
  c.test_hook = "stackwalk_hang";
  StackwalkRule(walker).action(c);
  ASSERT_EQ(walker.requests.size(), 2u);  // memory_report is not a minidump
  EXPECT_EQ(walker.requests[0].test_hook, "stackwalk_hang");
  EXPECT_EQ(c.processed["mdsw_status_string"], "OK");
  EXPECT_EQ(c.processed["json_dump"], main.json_dump);
  EXPECT_EQ(c.processed["stackwalk_version"], stackwalk_version());
  EXPECT_EQ(c.processed["upload_file_minidump_browser"]["mdsw_status_string"], kStatusInvalid);
  EXPECT_EQ(c.processed["upload_file_minidump_browser"]["success"], false);
  EXPECT_FALSE(c.failed);  // an extra dump failing does not fail the crash
  EXPECT_TRUE(has_note_containing(c, "upload_file_minidump: thread 3 has no stack"));
  EXPECT_TRUE(has_note_containing(c, "stack walk of upload_file_minidump_browser failed"));
}

TEST(StackwalkRule, MainDumpFailureAndMissingDumpFailTheCrash) {
  FakeDumpWalker walker;
  walker.results["upload_file_minidump"] = failed_walk(kStatusTimeout, "killed after 120s");
  ProcessingContext c(test_id());
  c.dumps = {{"upload_file_minidump", "/d/upload_file_minidump.dump"}};
  StackwalkRule(walker).action(c);
  EXPECT_TRUE(c.failed);
  EXPECT_EQ(c.processed["mdsw_status_string"], kStatusTimeout);
  EXPECT_EQ(c.processed["json_dump"], json({{"status", kStatusTimeout}}));
  EXPECT_TRUE(has_note_containing(c, "killed after 120s"));

  ProcessingContext none(test_id());
  StackwalkRule(walker).action(none);
  EXPECT_TRUE(none.failed);
  EXPECT_EQ(none.processed["mdsw_status_string"], "NO_MINIDUMP");
}

TEST(WalkDumpFile, EmptyAndInvalidDumpsAreStatuses) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-processor-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "empty.dump"); }
  EXPECT_EQ(walk_dump_file(dir / "empty.dump", nullptr).status, kStatusEmpty);
  EXPECT_EQ(walk_dump_file(dir / "missing.dump", nullptr).status, kStatusInvalid);
  auto invalid = walk_dump_file(testing::kTestdata / "minidumps" / "invalid-record-count.dmp", nullptr);
  EXPECT_TRUE(invalid.status == kStatusInvalid || invalid.status == kStatusNoThreadList || invalid.status == kStatusOk)
      << invalid.status;
  std::filesystem::remove_all(dir);
}

// Hardening finding 8: a dump cut short, or one whose thread list claims 2^32 threads, was walked
// with status OK. Breakpad answers PROCESS_ERROR_NO_THREAD_LIST for both.
TEST(WalkDumpFile, DumpsWithoutAReadableThreadListAreNotOk) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-processor-test-" + std::to_string(::getpid()) + "-threads");
  std::filesystem::create_directories(dir);
  std::ifstream in(testing::kTestdata / "minidumps" / "linux_null_dereference.dmp", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 4096u);
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
  };
  EXPECT_EQ(walk_dump_file(testing::kTestdata / "minidumps" / "linux_null_dereference.dmp", nullptr).status, kStatusOk);

  // Cut to 1 KB, before its thread list (at offset 1764): Breakpad's PROCESS_ERROR_NO_THREAD_LIST.
  {
    std::ifstream tiny(testing::kTestdata / "minidumps" / "tiny-exe-fastfail.dmp", std::ios::binary);
    std::string head(1024, '\0');
    tiny.read(head.data(), 1024);
    std::ofstream(dir / "cut.dmp", std::ios::binary) << head;
  }
  auto cut = walk_dump_file(dir / "cut.dmp", nullptr);
  EXPECT_EQ(cut.status, kStatusNoThreadList);
  EXPECT_FALSE(cut.ok());

  std::string many = bytes;
  uint32_t streams = u32(8), directory = u32(12);
  bool patched = false;
  for (uint32_t i = 0; i < streams; ++i) {
    size_t entry = directory + 12ull * i;
    if (u32(entry) == 3) {  // ThreadListStream: its first word is the count
      uint32_t huge = 0xFFFFFFFF;
      std::memcpy(many.data() + u32(entry + 8), &huge, 4);
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  std::ofstream(dir / "many.dmp", std::ios::binary) << many;
  auto r = walk_dump_file(dir / "many.dmp", nullptr);
  EXPECT_EQ(r.status, kStatusNoThreadList);
  EXPECT_EQ(r.json_dump["status"], kStatusNoThreadList);
  EXPECT_FALSE(r.ok());
  std::filesystem::remove_all(dir);
}

// Derived fields from a real dump walked with the corpus symbols.
TEST(DerivedFieldsRule, FillsCrashAndSystemFieldsFromARealDump) {
  InProcessDumpWalker walker(testing::corpus_symbols());
  WalkResult r = walker.walk({testing::kTestdata / "minidumps" / "linux_inline.dmp", ""});
  ASSERT_TRUE(r.ok()) << r.status;
  ProcessingContext c(test_id());
  c.processed["json_dump"] = r.json_dump;
  DerivedFieldsRule rule;
  ASSERT_TRUE(rule.predicate(c));
  rule.action(c);
  const json& p = c.processed;
  const json& dump = p["json_dump"];
  EXPECT_EQ(p["crashing_thread"], dump["crash_info"]["crashing_thread"]);
  EXPECT_EQ(p["reason"], dump["crash_info"]["type"]);
  EXPECT_EQ(p["address"], dump["crash_info"]["address"]);
  EXPECT_EQ(p["cpu_arch"], "amd64");
  EXPECT_EQ(p["os_name"], dump["system_info"]["os"]);
  EXPECT_EQ(p["os_version"], dump["system_info"]["os_ver"]);
  ASSERT_TRUE(p["modules_in_stack"].is_array());
  ASSERT_FALSE(p["modules_in_stack"].empty());
  // The first module in the stack is the crashing frame's module, named debug_file/debug_id.
  std::string first_module = dump["crashing_thread"]["frames"][0]["module"];
  std::string key = p["modules_in_stack"][0];
  EXPECT_NE(key.find('/'), std::string::npos) << key;
  bool found = false;
  for (const auto& m : dump["modules"]) {
    if (m["filename"] == first_module && m["debug_file"].is_string()) {
      found = true;
      EXPECT_EQ(key, m["debug_file"].get<std::string>() + "/" + m["debug_id"].get<std::string>());
    }
  }
  EXPECT_TRUE(found);
  ASSERT_EQ(p["topmost_filenames"].size(), 1u);  // linux_inline has line records
  EXPECT_TRUE(p["missing_symbols"].is_array());
}

TEST(DerivedFieldsRule, SkipsCrashesWithoutAWalkedDump) {
  ProcessingContext c(test_id());
  c.processed["json_dump"] = {{"status", kStatusTimeout}};
  EXPECT_FALSE(DerivedFieldsRule().predicate(c));
}

TEST(DerivedFieldsRule, ListsModulesWithMissingSymbolsAndSurvivesWrongTypes) {
  ProcessingContext c(test_id());
  c.processed["json_dump"] = {
      {"crash_info", {{"crashing_thread", 0}, {"type", 7}, {"address", "0x0"}}},
      {"system_info", {{"os", "Linux"}, {"cpu_arch", json::array()}}},
      {"threads", {{{"frames", {{{"module", "libxul.so"}}, {{"module", 5}}, {{"module", "unknown.so"}}}}}}},
      {"modules",
       {{{"filename", "libxul.so"}, {"debug_file", "libxul.so"}, {"debug_id", "ABC0"}, {"missing_symbols", true}},
        {{"filename", "libc.so"}, {"debug_file", "libc.so"}, {"debug_id", "DEF0"}, {"missing_symbols", false}}}}};
  DerivedFieldsRule().action(c);
  const json& p = c.processed;
  EXPECT_EQ(p["missing_symbols"], json({"libxul.so/ABC0"}));
  EXPECT_EQ(p["modules_in_stack"], json({"libxul.so/ABC0", "unknown.so"}));
  EXPECT_EQ(p["reason"], nullptr);
  EXPECT_EQ(p["cpu_arch"], nullptr);
  EXPECT_EQ(p["os_name"], "Linux");
  EXPECT_EQ(p["topmost_filenames"], json::array());
}

TEST(TruncateStacksRule, KeepsHeadAndTailOfLongThreads) {
  json frames = json::array();
  for (int i = 0; i < 1297; ++i) frames.push_back({{"frame", i}});
  ProcessingContext c(test_id());
  c.processed["json_dump"] = {{"threads", {{{"frames", frames}, {"frame_count", 1297}}, {{"frames", {{{"frame", 0}}}}}}},
                              {"crashing_thread", {{"frames", frames}}}};
  TruncateStacksRule rule(500);
  ASSERT_TRUE(rule.predicate(c));
  rule.action(c);
  const json& t0 = c.processed["json_dump"]["threads"][0];
  ASSERT_EQ(t0["frames"].size(), 500u);
  EXPECT_EQ(t0["frames"][249]["frame"], 249);
  EXPECT_EQ(t0["frames"][250]["frame"], 1297 - 250);
  EXPECT_EQ(t0["frames"][499]["frame"], 1296);
  EXPECT_EQ(t0["truncated"], true);
  EXPECT_EQ(t0["frame_count"], 1297);
  EXPECT_FALSE(c.processed["json_dump"]["threads"][1].contains("truncated"));
  EXPECT_EQ(c.processed["json_dump"]["crashing_thread"]["frames"].size(), 500u);
  EXPECT_TRUE(has_note_containing(c, "thread 0: 1297 frames truncated"));
}

TEST(DatesRule, ComputesCrashTimeAgesAndDateProcessed) {
  ProcessingContext c(test_id());
  c.raw_crash = {{"submitted_timestamp", "2021-01-06T20:00:00.000000+00:00"}, {"CrashTime", "1609962905"}};
  c.processed = {{"install_time", 1609962885}, {"startup_time", 1609962900}};
  DatesRule().action(c);
  const json& p = c.processed;
  EXPECT_EQ(p["date_processed"], "2021-01-06T20:00:00+00:00");
  EXPECT_EQ(p["crash_time"], 1609962905);
  EXPECT_EQ(p["client_crash_date"], "2021-01-06T19:55:05+00:00");
  EXPECT_EQ(p["install_age"], 20);
  EXPECT_EQ(p["uptime"], 5);
}

TEST(DatesRule, FallsBackToSubmissionAndProcessUptime) {
  ProcessingContext c(test_id());
  c.raw_crash = {{"submitted_timestamp", "2021-01-06T20:00:00+00:00"}, {"CrashTime", "later"}};
  c.processed = {{"install_time", 1609999999}, {"json_dump", {{"process_uptime", 42}}}};
  DatesRule().action(c);
  const json& p = c.processed;
  EXPECT_EQ(p["crash_time"], 1609963200);
  EXPECT_EQ(p["install_age"], 0);  // installed "after" the crash: clock skew, clamped
  EXPECT_EQ(p["uptime"], 42);
  EXPECT_TRUE(has_note_containing(c, "CrashTime is not an integer"));

  ProcessingContext none(test_id());
  DatesRule().action(none);
  EXPECT_TRUE(none.processed["date_processed"].is_string());
  EXPECT_EQ(none.processed["crash_time"], nullptr);
  EXPECT_TRUE(has_note_containing(none, "no valid submitted_timestamp"));
}

TEST(SignatureRule, SignsFromTheProcessedCrash) {
  auto generator = signature::SignatureGenerator::builtin();
  ProcessingContext c(test_id());
  c.processed["json_dump"] = {
      {"crash_info", {{"crashing_thread", 0}, {"type", "SIGSEGV"}}},
      {"threads",
       {{{"frames", {{{"function", "mozilla::dom::Foo::Bar(int)"}, {"module", "libxul.so"}},
                     {{"function", "main"}, {"module", "firefox"}}}}}}}};
  SignatureRule(generator).action(c);
  EXPECT_EQ(c.processed["signature"], generator.generate(c.processed).signature);
  EXPECT_NE(c.processed["signature"].get<std::string>().find("mozilla::dom::Foo::Bar"), std::string::npos);
  EXPECT_TRUE(c.processed["proto_signature"].is_string());
  EXPECT_TRUE(c.processed["signature_debug"].is_array());
}

}  // namespace
}  // namespace bw::processor
