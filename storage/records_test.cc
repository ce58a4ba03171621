#include "storage/records.h"

#include <gtest/gtest.h>

#include "storage/crash_storage.h"
#include "storage/storage_test_util.h"

namespace bw::storage::records {
namespace {

TEST(RecordsTest, GzipRoundTripsEmptySmallAndLarge) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    auto bytes = testing::binary_bytes(size, static_cast<uint32_t>(size));
    auto packed = gzip_compress(bytes);
    ASSERT_GE(packed.size(), 18u);  // gzip header + trailer
    EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
    EXPECT_EQ(gzip_decompress(packed, bytes.size()), bytes);
  }
}

TEST(RecordsTest, GzipRefusesTruncatedTrailingOversizedAndGarbage) {
  auto packed = gzip_compress(std::string(100000, 'a'));
  EXPECT_THROW(gzip_decompress(packed.substr(0, packed.size() - 1), 1 << 20), CorruptCrashData);
  EXPECT_THROW(gzip_decompress(packed.substr(0, 10), 1 << 20), CorruptCrashData);
  EXPECT_THROW(gzip_decompress(packed + "x", 1 << 20), CorruptCrashData);
  EXPECT_THROW(gzip_decompress(packed, 99999), CorruptCrashData);
  EXPECT_THROW(gzip_decompress("not gzip at all", 1 << 20), CorruptCrashData);
  EXPECT_THROW(gzip_decompress("", 1 << 20), CorruptCrashData);
}

TEST(RecordsTest, DumpNamesRoundTripAndRefuseBadLists) {
  std::vector<std::string> names{"upload_file_minidump", "memory_report", "x"};
  EXPECT_EQ(decode_dump_names(encode_dump_names(names)), names);
  EXPECT_TRUE(decode_dump_names("[]").empty());
  EXPECT_THROW(decode_dump_names("{}"), CorruptCrashData);
  EXPECT_THROW(decode_dump_names("[1]"), CorruptCrashData);
  EXPECT_THROW(decode_dump_names("[\"../x\"]"), CorruptCrashData);
  EXPECT_THROW(decode_dump_names("[\"a\",\"a\"]"), CorruptCrashData);
  EXPECT_THROW(decode_dump_names("[\"a\""), CorruptCrashData);
  std::string many = "[";
  for (size_t i = 0; i <= kMaxDumps; ++i) many += (i ? ",\"d" : "\"d") + std::to_string(i) + "\"";
  EXPECT_THROW(decode_dump_names(many + "]"), CorruptCrashData);
}

TEST(RecordsTest, RawCrashMustBeAnObject) {
  EXPECT_EQ(decode_raw_crash("{\"ProductName\":\"Firefox\"}")["ProductName"], "Firefox");
  EXPECT_THROW(decode_raw_crash("[]"), CorruptCrashData);
  EXPECT_THROW(decode_raw_crash("{"), CorruptCrashData);
  EXPECT_THROW(decode_raw_crash(std::string("{\"a\":\"\0\"}", 9)), CorruptCrashData);
}

TEST(RecordsTest, InvalidUtf8IsReplacedNotRefused) {
  nlohmann::json raw = {{"Comments", std::string("bad \xff byte")}};
  auto back = decode_raw_crash(encode_json(raw));
  EXPECT_EQ(back["Comments"], "bad \xEF\xBF\xBD byte");
}

TEST(RecordsTest, ProcessedRoundTripsThroughGzip) {
  nlohmann::json processed = {{"signature", "foo | bar"}, {"json_dump", {{"threads", nlohmann::json::array()}}}};
  EXPECT_EQ(decode_processed(encode_processed(processed)), processed);
  EXPECT_THROW(decode_processed(gzip_compress("[1,2]")), CorruptCrashData);
  EXPECT_THROW(decode_processed(gzip_compress("{\"a\":1}"), 3), CorruptCrashData);
}

TEST(RecordsTest, DumpNameRule) {
  EXPECT_TRUE(is_valid_dump_name("upload_file_minidump"));
  EXPECT_TRUE(is_valid_dump_name(std::string(30, 'a')));
  for (const std::string& bad : std::vector<std::string>{"", "../x", "a/b", "a.dump", "a b", "x\n", std::string(31, 'a'),
                                                        std::string("a\0b", 3), "..", "\xc3\xa9"}) {
    EXPECT_FALSE(is_valid_dump_name(bad)) << bad;
    EXPECT_THROW(check_dump_name(bad), std::invalid_argument);
  }
}

}  // namespace
}  // namespace bw::storage::records
