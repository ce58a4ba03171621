// Frames and messages between the processor and its workers, including hostile input.
#include "processor/worker_protocol.h"

#include <gtest/gtest.h>

namespace bw::processor {
namespace {

TEST(FrameDecoder, SplitsFramesArrivingInPieces) {
  std::string stream = encode_frame("hello") + encode_frame("") + encode_frame(std::string(70000, 'x'));
  FrameDecoder d;
  std::vector<std::string> frames;
  for (size_t i = 0; i < stream.size(); i += 7) {
    ASSERT_TRUE(d.feed(std::string_view(stream).substr(i, 7)));
    while (auto f = d.next()) frames.push_back(*f);
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], "hello");
  EXPECT_EQ(frames[1], "");
  EXPECT_EQ(frames[2].size(), 70000u);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, RefusesFramesOverTheLimit) {
  FrameDecoder d(100);
  EXPECT_FALSE(d.feed(encode_frame(std::string(101, 'a'))));
  EXPECT_TRUE(d.broken());
  EXPECT_NE(d.error().find("over the limit"), std::string::npos);
  EXPECT_FALSE(d.next());
  FrameDecoder big;
  EXPECT_FALSE(big.feed(std::string("\xff\xff\xff\xff", 4)));  // 4 GiB claimed
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_TRUE(json_depth_within("{\"a\":[[1]]}", 3));
  EXPECT_FALSE(json_depth_within("{\"a\":[[1]]}", 2));
  EXPECT_TRUE(json_depth_within("{\"a\":\"[[[[[\\\"[[[\"}", 1));
  EXPECT_FALSE(json_depth_within(std::string(100000, '['), kMaxJsonDepth));
}

TEST(Messages, RoundTrip) {
  WorkerHello h;
  h.symbols.store_dir = "/data/symbols";
  h.symbols.paths = {"/a", "/b"};
  h.symbols.urls = {"https://symbols.example/"};
  h.symbols.cache_dir = "/cache";
  h.symbols.lru_bytes = 12345;
  h.test_hooks = true;
  std::string why;
  auto h2 = decode_hello(encode_hello(h), &why);
  ASSERT_TRUE(h2) << why;
  EXPECT_EQ(h2->symbols.store_dir, h.symbols.store_dir);
  EXPECT_EQ(h2->symbols.paths, h.symbols.paths);
  EXPECT_EQ(h2->symbols.urls, h.symbols.urls);
  EXPECT_EQ(h2->symbols.cache_dir, h.symbols.cache_dir);
  EXPECT_EQ(h2->symbols.lru_bytes, 12345u);
  EXPECT_EQ(h2->symbols.total_timeout, h.symbols.total_timeout);
  EXPECT_TRUE(h2->test_hooks);

  auto r = decode_request(encode_request({"/x/upload_file_minidump.dump", "stackwalk_hang"}), &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->dump, "/x/upload_file_minidump.dump");
  EXPECT_EQ(r->test_hook, "stackwalk_hang");

  WalkResult w;
  w.json_dump = {{"status", "OK"}, {"threads", nlohmann::json::array()}};
  w.notes = {"n"};
  w.symbol_hits = 3;
  w.symbol_misses = 4;
  auto w2 = decode_result(encode_result(w), &why);
  ASSERT_TRUE(w2) << why;
  EXPECT_EQ(w2->status, "OK");
  EXPECT_EQ(w2->json_dump, w.json_dump);
  EXPECT_EQ(w2->notes, w.notes);
  EXPECT_EQ(w2->symbol_hits, 3u);
  EXPECT_EQ(w2->symbol_misses, 4u);
  EXPECT_TRUE(decode_ready(encode_ready(), &why));
}

TEST(Messages, RefuseMalformedInput) {
  std::string why;
  for (const char* bad : {"", "nope", "[]", "{}", "{\"status\":\"OK\"}",
                          "{\"status\":5,\"json_dump\":{},\"notes\":[],\"symbol_hits\":0,\"symbol_misses\":0}",
                          "{\"status\":\"ok; rm\",\"json_dump\":{},\"notes\":[],\"symbol_hits\":0,\"symbol_misses\":0}",
                          "{\"status\":\"OK\",\"json_dump\":{},\"notes\":[1],\"symbol_hits\":0,\"symbol_misses\":0}",
                          "{\"status\":\"OK\",\"json_dump\":{},\"notes\":[],\"symbol_hits\":-1,\"symbol_misses\":0}"}) {
    why.clear();
    EXPECT_FALSE(decode_result(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_FALSE(decode_result(std::string(10000, '[') , &why));
  EXPECT_EQ(why, "message nested too deeply");
  EXPECT_FALSE(decode_request("{\"dump\":\"\",\"test_hook\":\"\"}", &why));
  EXPECT_FALSE(decode_hello("{\"symbols\":{},\"test_hooks\":true}", &why));
  EXPECT_FALSE(decode_ready("{\"ready\":false}", &why));
}

}  // namespace
}  // namespace bw::processor
