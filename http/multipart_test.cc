#include "http/multipart.h"

#include <gtest/gtest.h>

namespace bw::http {
namespace {

using namespace std::string_literals;

struct Part {
  PartHeaders headers;
  std::string data;
  int data_calls = 0;
  bool ended = false;
};

class Recorder : public MultipartSink {
 public:
  void on_part_begin(const PartHeaders& h) override { parts.push_back({h, "", 0, false}); }
  void on_part_data(std::string_view d) override {
    ASSERT_FALSE(parts.empty());
    ASSERT_FALSE(d.empty());
    parts.back().data.append(d);
    ++parts.back().data_calls;
  }
  void on_part_end() override { parts.back().ended = true; }
  std::vector<Part> parts;
};

const std::string kBody =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"ProductName\"\r\n"
    "\r\n"
    "Firefox\r\n"
    "--XyZ   \r\n"  // transport padding after a delimiter is allowed
    "Content-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"a b.dmp\"\r\n"
    "Content-Type: Application/Octet-Stream; x=1\r\n"
    "\r\n"
    "MDMP\r\n--XyNot a boundary\r\n--Xy\r--XyZx\0binary\r\n"
    "\r\n"
    "--XyZ\r\n"
    "\r\n"
    "no headers at all\r\n"
    "--XyZ--\r\n"
    "epilogue to ignore"s;

void check_parts(const std::vector<Part>& parts) {
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].headers.name, "ProductName");
  EXPECT_FALSE(parts[0].headers.filename);
  EXPECT_EQ(parts[0].data, "Firefox");
  EXPECT_EQ(parts[1].headers.name, "upload_file_minidump");
  EXPECT_EQ(parts[1].headers.filename.value_or(""), "a b.dmp");
  EXPECT_EQ(parts[1].headers.content_type, "application/octet-stream");
  // "--XyZx" inside the data is not a delimiter: a delimiter needs the preceding CRLF.
  EXPECT_EQ(parts[1].data, "MDMP\r\n--XyNot a boundary\r\n--Xy\r--XyZx\0binary\r\n"s);
  EXPECT_EQ(parts[2].headers.name, "");
  EXPECT_EQ(parts[2].data, "no headers at all");
  for (const auto& p : parts) EXPECT_TRUE(p.ended);
}

TEST(MultipartTest, ParsesWholeBody) {
  Recorder r;
  MultipartParser p("XyZ", r);
  p.feed(kBody);
  p.finish();
  EXPECT_TRUE(p.done());
  check_parts(r.parts);
}

TEST(MultipartTest, EverySplitPointGivesTheSameParts) {
  for (size_t split = 0; split <= kBody.size(); ++split) {
    Recorder r;
    MultipartParser p("XyZ", r);
    p.feed(std::string_view(kBody).substr(0, split));
    p.feed(std::string_view(kBody).substr(split));
    p.finish();
    check_parts(r.parts);
    if (HasFailure()) FAIL() << "split at " << split;
  }
}

TEST(MultipartTest, ByteByByte) {
  Recorder r;
  MultipartParser p("XyZ", r);
  for (char c : kBody) p.feed(std::string_view(&c, 1));
  p.finish();
  check_parts(r.parts);
}

TEST(MultipartTest, LargePartIsStreamedNotBuffered) {
  Recorder r;
  MultipartParser p("b", r);
  p.feed("--b\r\nContent-Disposition: form-data; name=\"d\"; filename=\"d\"\r\n\r\n");
  std::string piece(65536, 'x');
  for (int i = 0; i < 100; ++i) p.feed(piece);
  // Data is handed on as it comes: all but a delimiter-sized tail is out already.
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].data.size(), 100u * 65536);
  EXPECT_GE(r.parts[0].data_calls, 100);
  p.feed("\r\n--b--");
  p.finish();
  EXPECT_EQ(r.parts[0].data.size(), 100u * 65536);
}

TEST(MultipartTest, FirstBoundaryWithoutPreamble) {
  Recorder r;
  MultipartParser p("b", r);
  p.feed("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--");
  p.finish();
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].headers.name, "x");
  EXPECT_EQ(r.parts[0].data, "1");
}

TEST(MultipartTest, Errors) {
  auto fails = [](std::string body, MultipartLimits limits = {}) {
    Recorder r;
    MultipartParser p("b", r, limits);
    try {
      p.feed(body);
      p.finish();
    } catch (const MultipartError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(fails("no boundary here"), "no opening boundary");
  EXPECT_NE(fails("--b\r\nContent-Disposition: form-data; name=x\r\n\r\ntruncated"), "");
  EXPECT_NE(fails("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b\r\n"), "");
  EXPECT_NE(fails("--bX\r\n"), "");  // delimiter followed by neither CRLF nor "--"
  EXPECT_NE(fails("--b\r\nno colon line\r\n\r\nx\r\n--b--"), "");
  MultipartLimits small;
  small.max_header_bytes = 64;
  EXPECT_EQ(fails("--b\r\nX: " + std::string(100, 'h') + "\r\n\r\nx\r\n--b--", small), "part headers too long");
  EXPECT_EQ(fails("--b\r\nX: " + std::string(100, 'h'), small), "part headers too long");
  small.max_parts = 2;
  EXPECT_EQ(fails("--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--", small), "too many parts");
  Recorder unused;
  EXPECT_THROW(MultipartParser("", unused), MultipartError);
}

TEST(MultipartTest, MediaTypes) {
  auto m = parse_media_type("Multipart/Form-Data; boundary=\"a \\\"b\\\" c\"; Charset=UTF-8");
  EXPECT_EQ(m.type, "multipart/form-data");
  EXPECT_EQ(m.param("boundary").value_or(""), "a \"b\" c");
  EXPECT_EQ(m.param("charset").value_or(""), "UTF-8");
  m = parse_media_type("multipart/mixed;boundary=abc;novalue;x=");
  EXPECT_EQ(m.param("boundary").value_or(""), "abc");
  EXPECT_FALSE(m.param("novalue"));
  m = parse_media_type("form-data; name=\"unterminated");
  EXPECT_FALSE(m.param("name"));
  m = parse_media_type("");
  EXPECT_EQ(m.type, "");
}

}  // namespace
}  // namespace bw::http
