// The whole pipeline on MemoryCrashStorage: real dumps and annotations in, processed crash out;
// reprocessing history, regenerate_signature, failures.
#include "processor/crash_pipeline.h"

#include <gtest/gtest.h>

#include "processor/rules.h"
#include "processor/test_util.h"
#include "signature/signature_generator.h"
#include "storage/memory_crash_storage.h"

namespace bw::processor {
namespace {

using nlohmann::json;
namespace t = testing;

class CrashPipelineTest : public ::testing::Test {
 protected:
  CrashPipelineTest()
      : walker_(t::corpus_symbols()),
        generator_(signature::SignatureGenerator::builtin()),
        pipeline_(storage_, make_ruleset(default_rule_names(), {&walker_, &generator_, 500}),
                  make_ruleset({"signature"}, {&walker_, &generator_, 500})) {}

  CrashId save(const std::string& dump, json raw) {
    auto id = CrashId::generate(ThrottleResult::kAccept);
    raw["uuid"] = id.str();
    raw["submitted_timestamp"] = "2021-01-06T20:00:00.000000+00:00";
    raw["metadata"] = {{"payload", "multipart"}};
    std::vector<storage::DumpInput> dumps;
    if (!dump.empty()) dumps.push_back({"upload_file_minidump", t::kTestdata / "minidumps" / (dump + ".dmp")});
    storage_.save_raw_crash(id, raw, dumps);
    return id;
  }

  storage::MemoryCrashStorage storage_;
  InProcessDumpWalker walker_;
  signature::SignatureGenerator generator_;
  CrashPipeline pipeline_;
};

TEST_F(CrashPipelineTest, ProcessesARealFirefoxCrash) {
  auto id = save("firefox-linux-x86_64", t::read_annotations("firefox-linux-x86_64"));
  json p = pipeline_.process(id, queue::Ruleset::kDefault);
  EXPECT_EQ(storage_.get_processed(id), p);
  EXPECT_EQ(p["uuid"], id.str());
  EXPECT_EQ(p["success"], true) << p["processor_notes"].dump();
  EXPECT_EQ(p["mdsw_status_string"], "OK");
  // json_dump is exactly what the walker gives for the dump on its own.
  WalkResult direct = walk_dump_file(t::kTestdata / "minidumps" / "firefox-linux-x86_64.dmp",
                                     symbols::make_symbol_supplier(t::corpus_symbols()).get());
  EXPECT_EQ(p["json_dump"], direct.json_dump);
  EXPECT_EQ(p["product"], "Firefox");
  EXPECT_EQ(p["version"], "86.0a1");
  EXPECT_EQ(p["release_channel"], "nightly");
  EXPECT_EQ(p["build_id"], "20210106093742");
  EXPECT_EQ(p["os_name"], direct.json_dump["system_info"]["os"]);
  EXPECT_EQ(p["cpu_arch"], "amd64");
  EXPECT_EQ(p["crash_time"], 1609962905);
  EXPECT_EQ(p["install_age"], 20);
  EXPECT_FALSE(p["signature"].get<std::string>().empty());
  EXPECT_EQ(p["signature"], generator_.generate(p).signature);
  EXPECT_EQ(p["processor_history"], json::array());
  EXPECT_EQ(p["processor_ruleset"], "default");
  EXPECT_TRUE(p["started_datetime"].is_string());
  EXPECT_TRUE(p["completed_datetime"].is_string());
  EXPECT_LE(p["started_datetime"].get<std::string>(), p["completed_datetime"].get<std::string>());
}

TEST_F(CrashPipelineTest, ReprocessingKeepsEarlierNotesInHistory) {
  auto id = save("linux-mini", {{"ProductName", "Test"}, {"CrashTime", "soon"}});
  json first = pipeline_.process(id, queue::Ruleset::kDefault);
  ASSERT_FALSE(first["processor_notes"].empty());
  json second = pipeline_.process(id, queue::Ruleset::kDefault);
  ASSERT_EQ(second["processor_history"].size(), 1u);
  EXPECT_EQ(second["processor_history"][0]["processor_notes"], first["processor_notes"]);
  EXPECT_EQ(second["processor_history"][0]["started_datetime"], first["started_datetime"]);
  json third = pipeline_.process(id, queue::Ruleset::kRegenerateSignature);
  ASSERT_EQ(third["processor_history"].size(), 2u);
  EXPECT_EQ(third["processor_history"][1]["processor_notes"], second["processor_notes"]);
  EXPECT_EQ(third["processor_ruleset"], "regenerate_signature");
  EXPECT_EQ(third["json_dump"], second["json_dump"]);
  EXPECT_EQ(third["signature"], second["signature"]);
}

TEST_F(CrashPipelineTest, RegenerateSignatureRecomputesOnlyTheSignature) {
  auto id = save("linux-mini", {{"ProductName", "Test"}});
  json first = pipeline_.process(id, queue::Ruleset::kDefault);
  // An operator edits the stored crash (as new lists would change the result): only the
  // signature fields move.
  json edited = first;
  edited["signature"] = "stale";
  edited["product"] = "Kept";
  storage_.save_processed(id, edited);
  json p = pipeline_.process(id, queue::Ruleset::kRegenerateSignature);
  EXPECT_EQ(p["signature"], first["signature"]);
  EXPECT_EQ(p["product"], "Kept");
  EXPECT_EQ(p["success"], first["success"]);
}

TEST_F(CrashPipelineTest, RegenerateSignatureOfANeverProcessedCrashProcessesInFull) {
  auto id = save("linux-mini", {{"ProductName", "Test"}});
  json p = pipeline_.process(id, queue::Ruleset::kRegenerateSignature);
  EXPECT_EQ(p["mdsw_status_string"], "OK");
  EXPECT_EQ(p["processor_ruleset"], "default");
  bool noted = false;
  for (const auto& n : p["processor_notes"]) noted |= n.get<std::string>().find("processed in full") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST_F(CrashPipelineTest, InvalidAndMissingDumpsAreRecordedAsFailed) {
  for (const char* dump : {"invalid-range", "invalid-record-count"}) {
    auto id = save(dump, {{"ProductName", "Test"}});
    json p = pipeline_.process(id, queue::Ruleset::kDefault);
    // These fuzzer finds must give a clean outcome: walked (whatever the reader salvaged) or a
    // recorded failure with the reason, never a crash of the processor.
    if (p["mdsw_status_string"] != "OK") {
      EXPECT_EQ(p["success"], false) << dump;
      EXPECT_TRUE(p["mdsw_status_string"] == kStatusInvalid || p["mdsw_status_string"] == kStatusNoThreadList)
          << dump << " " << p["mdsw_status_string"];
    }
    EXPECT_TRUE(p["signature"].is_string()) << dump;
  }
  auto none = save("", {{"ProductName", "Test"}});
  json p = pipeline_.process(none, queue::Ruleset::kDefault);
  EXPECT_EQ(p["success"], false);
  EXPECT_EQ(p["mdsw_status_string"], "NO_MINIDUMP");
  EXPECT_TRUE(p["signature"].get<std::string>().starts_with("EMPTY: no crashing thread identified")) << p["signature"];
  EXPECT_EQ(p["product"], "Test");
}

TEST_F(CrashPipelineTest, EmptyDumpIsAStatus) {
  auto id = CrashId::generate(ThrottleResult::kAccept);
  storage_.save_raw_crash(id, {{"ProductName", "Test"}}, {{"upload_file_minidump", std::string()}});
  json p = pipeline_.process(id, queue::Ruleset::kDefault);
  EXPECT_EQ(p["mdsw_status_string"], kStatusEmpty);
  EXPECT_EQ(p["success"], false);
  EXPECT_EQ(p["product"], "Test");
}

TEST_F(CrashPipelineTest, MissingRawCrashIsCrashNotFound) {
  EXPECT_THROW(pipeline_.process(CrashId::generate(ThrottleResult::kAccept), queue::Ruleset::kDefault),
               storage::CrashNotFound);
}

TEST_F(CrashPipelineTest, RecordFailureKeepsEarlierFieldsAndSaysWhy) {
  auto id = save("linux-mini", {{"ProductName", "Test"}});
  json first = pipeline_.process(id, queue::Ruleset::kDefault);
  json p = pipeline_.record_failure(id, "dead-lettered after 5 deliveries: storage down");
  EXPECT_EQ(p["success"], false);
  EXPECT_EQ(p["product"], "Test");
  EXPECT_EQ(p["processor_notes"].back(), "processing failed: dead-lettered after 5 deliveries: storage down");
  EXPECT_EQ(p["processor_history"].size(), 1u);
  EXPECT_EQ(storage_.get_processed(id), p);
  // A crash that was never stored gets no processed crash (hardening finding 6).
  auto never = CrashId::generate(ThrottleResult::kAccept);
  EXPECT_THROW(pipeline_.record_failure(never, "raw crash not found"), storage::CrashNotFound);
  EXPECT_THROW(storage_.get_processed(never), storage::CrashNotFound);
}

TEST_F(CrashPipelineTest, TestHookReachesTheWalkerOnlyWhenEnabled) {
  t::FakeDumpWalker fake;
  CrashPipeline hooked(storage_, make_ruleset({"stackwalk"}, {&fake, &generator_, 500}), Ruleset(), true);
  CrashPipeline plain(storage_, make_ruleset({"stackwalk"}, {&fake, &generator_, 500}), Ruleset(), false);
  auto id = save("linux-mini", {{kTestHookAnnotation, "stackwalk_crash"}});
  plain.process(id, queue::Ruleset::kDefault);
  hooked.process(id, queue::Ruleset::kDefault);
  ASSERT_EQ(fake.requests.size(), 2u);
  EXPECT_EQ(fake.requests[0].test_hook, "");
  EXPECT_EQ(fake.requests[1].test_hook, "stackwalk_crash");
}

}  // namespace
}  // namespace bw::processor
