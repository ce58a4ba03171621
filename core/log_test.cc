#include "core/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>

namespace bw {
namespace {

// Captures what is written to stderr while `fn` runs.
template <typename Fn>
std::string capture_stderr(Fn fn) {
  fflush(stderr);
  char name[] = "/tmp/bw-log-XXXXXX";
  int fd = mkstemp(name);
  int saved = dup(2);
  dup2(fd, 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  lseek(fd, 0, SEEK_SET);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  unlink(name);
  return out;
}

TEST(LogTest, JsonLinesCarryFields) {
  init_logging("info", LogFormat::kJson);
  auto out = capture_stderr([] {
    log_fields(*logger("test"), spdlog::level::info, "stored", {{"crash_id", "abc"}, {"bytes", "12"}});
    logger("test")->flush();
  });
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["msg"], "stored");
  EXPECT_EQ(j["crash_id"], "abc");
  EXPECT_EQ(j["logger"], "test");
  EXPECT_EQ(j["level"], "info");
  init_logging("info", LogFormat::kPlain);
}

TEST(LogTest, PlainLinesAndLevels) {
  init_logging("warn", LogFormat::kPlain);
  auto out = capture_stderr([] {
    logger("test")->info("hidden");
    log_fields(*logger("test"), spdlog::level::warn, "shown", {{"k", "v"}});
    logger("test")->flush();
  });
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("shown k=v"), std::string::npos) << out;
  init_logging("info", LogFormat::kPlain);
}

TEST(LogTest, BadNamesAreErrors) {
  EXPECT_THROW(init_logging("loud", LogFormat::kPlain), std::invalid_argument);
  EXPECT_THROW(parse_log_format("xml"), std::invalid_argument);
}

}  // namespace
}  // namespace bw
