#include "collector/submission.h"

#include <gtest/gtest.h>

#include "collector/submit_client.h"
#include "core/fs_util.h"

namespace bw::collector {
namespace {

class SubmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bw-submission-" + fs::unique_temp_name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  size_t staged_files() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()));
  }
  // Parses `body` (fed in pieces of `piece`) or returns the discard reason.
  std::variant<ParsedSubmission, std::string> parse(const std::string& content_type, const std::string& body,
                                                    const std::string& encoding = "", size_t piece = 1000,
                                                    SubmissionLimits limits = {}) {
    try {
      SubmissionParser p(&content_type, encoding.empty() ? nullptr : &encoding, limits, dir_);
      for (size_t i = 0; i < body.size(); i += piece) p.feed(std::string_view(body).substr(i, piece));
      return p.finish();
    } catch (const Discard& d) {
      return std::to_string(d.status) + " " + d.reason;
    }
  }
  std::string reason(const std::variant<ParsedSubmission, std::string>& r) {
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "parsed";
  }

  std::filesystem::path dir_;
  const std::string ct_ = "multipart/form-data; boundary=BB";
};

TEST_F(SubmissionTest, HeadErrors) {
  auto head = [&](const std::string* ct, const std::string* enc) {
    try {
      SubmissionParser p(ct, enc, {}, dir_);
      return std::string("ok");
    } catch (const Discard& d) {
      return std::to_string(d.status) + " " + d.reason;
    }
  };
  std::string empty, json = "application/json", nob = "multipart/form-data", mixed = "multipart/mixed; boundary=x",
                     br = "br", gz = "gzip";
  EXPECT_EQ(head(nullptr, nullptr), "400 malformed_no_content_type");
  EXPECT_EQ(head(&empty, nullptr), "400 malformed_no_content_type");
  EXPECT_EQ(head(&json, nullptr), "400 malformed_wrong_content_type");
  EXPECT_EQ(head(&nob, nullptr), "400 malformed_no_boundary");
  EXPECT_EQ(head(&mixed, nullptr), "ok");
  EXPECT_EQ(head(&mixed, &gz), "ok");
  EXPECT_EQ(head(&mixed, &br), "400 malformed_bad_content_encoding");
}

TEST_F(SubmissionTest, AnnotationsAndDumpsWithChecksums) {
  nlohmann::json ann = {{"ProductName", "Firefox"}, {"Version", "120.0"}};
  std::string dump = "MDMP" + std::string(200000, '\x01');
  std::string body = build_multipart_body("BB", ann, false, {{"upload_file_minidump", dump}, {"memory_report", "{}"}});
  auto r = parse(ct_, body);
  ASSERT_TRUE(std::holds_alternative<ParsedSubmission>(r)) << reason(r);
  auto& p = std::get<ParsedSubmission>(r);
  EXPECT_EQ(p.annotations, ann);
  EXPECT_FALSE(p.json_payload);
  ASSERT_EQ(p.dumps.size(), 2u);
  EXPECT_EQ(p.dumps[0]->name(), "upload_file_minidump");
  EXPECT_EQ(fs::read_file(p.dumps[0]->path()), dump);
  EXPECT_EQ(p.dumps[1]->sha256(), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");  // sha256("{}")
  EXPECT_EQ(staged_files(), 2u);
  p.dumps.clear();
  EXPECT_EQ(staged_files(), 0u);  // staging files go with their owners
}

TEST_F(SubmissionTest, GzipBody) {
  nlohmann::json ann = {{"ProductName", "Firefox"}};
  std::string body = gzip_compress(build_multipart_body("BB", ann, true, {{"upload_file_minidump", "MDMP"}}));
  auto r = parse(ct_, body, "gzip", 7);
  ASSERT_TRUE(std::holds_alternative<ParsedSubmission>(r)) << reason(r);
  EXPECT_TRUE(std::get<ParsedSubmission>(r).json_payload);
  EXPECT_EQ(std::get<ParsedSubmission>(r).annotations, ann);
  EXPECT_EQ(reason(parse(ct_, build_multipart_body("BB", ann, true, {}), "gzip")), "400 malformed_bad_gzip");
  std::string gz = gzip_compress(build_multipart_body("BB", ann, true, {}));
  EXPECT_EQ(reason(parse(ct_, gz.substr(0, gz.size() - 4), "gzip")), "400 malformed_bad_gzip");
}

TEST_F(SubmissionTest, JsonPartPlusTextParts) {
  std::string body = "--BB\r\nContent-Disposition: form-data; name=\"extra\"\r\nContent-Type: application/json\r\n\r\n"
                     R"({"ProductName":"Firefox","StackTraces":{"status":"OK"},"Version":"1"})"
                     "\r\n--BB\r\nContent-Disposition: form-data; name=\"Version\"\r\n\r\n2"
                     "\r\n--BB\r\nContent-Disposition: form-data; name=\"Comments\"\r\n\r\nbad \xff byte"
                     "\r\n--BB--\r\n";
  auto r = parse(ct_, body);
  ASSERT_TRUE(std::holds_alternative<ParsedSubmission>(r)) << reason(r);
  auto& p = std::get<ParsedSubmission>(r);
  EXPECT_TRUE(p.json_payload);
  EXPECT_EQ(p.annotations["ProductName"], "Firefox");
  EXPECT_EQ(p.annotations["StackTraces"]["status"], "OK");  // JSON values stay as sent
  EXPECT_EQ(p.annotations["Version"], "2");                 // the text part wins, noted
  EXPECT_EQ(p.annotations["Comments"], "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(p.notes.size(), 2u);
}

TEST_F(SubmissionTest, MalformedBodies) {
  auto part = [](const std::string& head, const std::string& data) {
    return "--BB\r\n" + head + "\r\n\r\n" + data + "\r\n--BB--\r\n";
  };
  EXPECT_EQ(reason(parse(ct_, "")), "400 malformed_no_content_length");
  EXPECT_EQ(reason(parse(ct_, "not multipart at all")), "400 malformed_invalid_payload_structure");
  EXPECT_EQ(reason(parse(ct_, part("Content-Disposition: form-data; name=a", "1").substr(0, 40))),
            "400 malformed_invalid_payload_structure");
  std::string json_head = "Content-Disposition: form-data; name=extra\r\nContent-Type: application/json";
  EXPECT_EQ(reason(parse(ct_, part(json_head, "{not json"))), "400 malformed_invalid_json");
  EXPECT_EQ(reason(parse(ct_, part(json_head, "[1,2]"))), "400 malformed_invalid_json_value");
  EXPECT_EQ(reason(parse(ct_, part(json_head, "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}"))),
            "400 malformed_invalid_json");
  for (std::string name : std::vector<std::string>{"", "a-b", "../x", std::string(31, 'a'), "raw_crash", "dump_names"}) {
    EXPECT_EQ(reason(parse(ct_, part("Content-Disposition: form-data; name=\"" + name + "\"; filename=x", "MDMP"))),
              "400 malformed_invalid_dump_name")
        << name;
  }
  EXPECT_EQ(staged_files(), 0u);
}

TEST_F(SubmissionTest, Limits) {
  SubmissionLimits small;
  small.max_annotations_size = 100;
  small.max_decompressed_size = 10'000;
  std::string big_annotation = build_multipart_body("BB", {{"A", std::string(200, 'a')}}, false, {});
  EXPECT_EQ(reason(parse(ct_, big_annotation, "", 1000, small)), "413 too_large");
  std::string bomb = gzip_compress(build_multipart_body("BB", {{"A", "1"}}, false, {{"d", std::string(1 << 20, 0)}}));
  EXPECT_EQ(reason(parse(ct_, bomb, "gzip", 1000, small)), "413 too_large");
  EXPECT_EQ(staged_files(), 0u);
}

TEST_F(SubmissionTest, DuplicateDumpKeepsTheFirst) {
  std::string body = build_multipart_body("BB", {{"A", "1"}}, false, {{"upload_file_minidump", "first"}, {"upload_file_minidump", "second"}});
  auto r = parse(ct_, body);
  ASSERT_TRUE(std::holds_alternative<ParsedSubmission>(r));
  auto& p = std::get<ParsedSubmission>(r);
  ASSERT_EQ(p.dumps.size(), 1u);
  EXPECT_EQ(fs::read_file(p.dumps[0]->path()), "first");
  EXPECT_EQ(p.notes.size(), 1u);
}

TEST(Utf8Test, ReplacesOnlyInvalidSequences) {
  bool changed = true;
  EXPECT_EQ(to_valid_utf8("plain é 日本 😀", &changed), "plain é 日本 😀");
  EXPECT_FALSE(changed);
  EXPECT_EQ(to_valid_utf8("\xC0\xAF", &changed), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_TRUE(changed);
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(to_valid_utf8("ab\xE6\x97"), "ab\xEF\xBF\xBD\xEF\xBF\xBD");              // truncated
}

}  // namespace
}  // namespace bw::collector
