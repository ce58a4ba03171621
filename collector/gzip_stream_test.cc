#include "collector/gzip_stream.h"

#include <gtest/gtest.h>

#include <random>

namespace bw::collector {
namespace {

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() % 7);  // compressible but not trivial
  return s;
}

std::string inflate_in_pieces(const std::string& gz, size_t piece, uint64_t limit = UINT64_MAX, size_t* max_out = nullptr) {
  std::string out;
  GzipInflater inf(limit, [&](std::string_view d) {
    if (max_out) *max_out = std::max(*max_out, d.size());
    out.append(d);
  });
  for (size_t i = 0; i < gz.size(); i += piece) inf.feed(std::string_view(gz).substr(i, piece));
  inf.finish();
  EXPECT_EQ(inf.total_out(), out.size());
  EXPECT_EQ(inf.total_in(), gz.size());
  return out;
}

TEST(GzipStreamTest, RoundTripsInAnyPieceSize) {
  std::string data = random_bytes(300'000, 1);
  std::string gz = gzip_compress(data);
  for (size_t piece : {1ul, 7ul, 4096ul, 65536ul, gz.size()}) {
    size_t max_out = 0;
    EXPECT_EQ(inflate_in_pieces(gz, piece, UINT64_MAX, &max_out), data) << piece;
    EXPECT_LE(max_out, 64u * 1024);
  }
}

TEST(GzipStreamTest, ConcatenatedMembersAreOneStream) {
  std::string gz = gzip_compress("hello ") + gzip_compress("world");
  EXPECT_EQ(inflate_in_pieces(gz, 3), "hello world");
}

TEST(GzipStreamTest, NotGzipIsAnError) {
  GzipInflater inf(1000, [](std::string_view) {});
  EXPECT_THROW(inf.feed("--boundary\r\nthis is plain text"), GzipError);
}

TEST(GzipStreamTest, CorruptDataIsAnError) {
  std::string gz = gzip_compress(random_bytes(10'000, 2));
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0x55;
  GzipInflater inf(UINT64_MAX, [](std::string_view) {});
  EXPECT_ANY_THROW({
    inf.feed(gz);
    inf.finish();
  });
}

// The trailer is checked by our code (libdeflate's CRC-32), so test both of its fields, with the
// trailer arriving whole and split across pieces, and in a second member.
TEST(GzipStreamTest, WrongTrailerChecksumOrLengthIsAnError) {
  const std::string good = gzip_compress(random_bytes(70'000, 4));
  for (size_t field : {size_t{8}, size_t{4}}) {  // CRC-32 at size-8, ISIZE at size-4
    std::string bad = good;
    bad[bad.size() - field] ^= 0x01;
    for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, bad.size()}) {
      GzipInflater inf(UINT64_MAX, [](std::string_view) {});
      EXPECT_THROW(
          {
            for (size_t at = 0; at < bad.size(); at += piece) inf.feed(std::string_view(bad).substr(at, piece));
            inf.finish();
          },
          GzipError)
          << "field at -" << field << ", pieces of " << piece;
    }
    GzipInflater second(UINT64_MAX, [](std::string_view) {});
    EXPECT_THROW(second.feed(gzip_compress("first member") + bad), GzipError);
  }
  EXPECT_EQ(inflate_in_pieces(good, 1).size(), 70'000u);
}

TEST(GzipStreamTest, TruncatedStreamFailsAtFinish) {
  std::string gz = gzip_compress(random_bytes(10'000, 3));
  GzipInflater inf(UINT64_MAX, [](std::string_view) {});
  inf.feed(std::string_view(gz).substr(0, gz.size() - 10));
  EXPECT_THROW(inf.finish(), GzipError);
  GzipInflater empty(UINT64_MAX, [](std::string_view) {});
  EXPECT_THROW(empty.finish(), GzipError);
}

TEST(GzipStreamTest, TrailingJunkIsAnError) {
  std::string gz = gzip_compress("abc") + "junk";
  GzipInflater inf(UINT64_MAX, [](std::string_view) {});
  EXPECT_THROW(inf.feed(gz), GzipError);
}

TEST(GzipStreamTest, BombStopsAtTheLimitWithoutPassingTheExcessOn) {
  std::string zeros(50u << 20, '\0');
  std::string gz = gzip_compress(zeros, 9);
  ASSERT_LT(gz.size(), 100u * 1024);  // a bomb: ~50 KiB in, 50 MiB out
  uint64_t seen = 0;
  GzipInflater inf(1u << 20, [&](std::string_view d) { seen += d.size(); });
  EXPECT_THROW(inf.feed(gz), GzipTooLarge);
  EXPECT_LE(seen, 1u << 20);
}

}  // namespace
}  // namespace bw::collector
