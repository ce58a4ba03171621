#include "core/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/fs_util.h"

namespace bw {
namespace {

std::filesystem::path write_temp_toml(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("bw-config-" + fs::unique_temp_name() + ".toml");
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsWithNoConfigAtAll) {
  auto cfg = Config::defaults();
  EXPECT_EQ(cfg.get_string("server", "listen"), "127.0.0.1:8000");
  EXPECT_EQ(cfg.get_string("server", "data"), "./var");
  EXPECT_EQ(cfg.data_path("", "collector"), std::filesystem::path("./var/collector"));
  EXPECT_TRUE(cfg.get_string_list("symbols", "paths").empty());
}

TEST(ConfigTest, PrecedenceFileThenEnvironmentThenFlags) {
  auto file = write_temp_toml("[server]\nlisten = \"0.0.0.0:9000\"\ndata = \"/srv/bw\"\n[log]\nlevel = \"debug\"\n");
  Config::Sources src;
  src.file = file;
  auto cfg = Config::load(src);
  EXPECT_EQ(cfg.get_string("server", "listen"), "0.0.0.0:9000");
  EXPECT_EQ(cfg.get_string("log", "level"), "debug");

  src.environment = {{"BREAKWATER_SERVER_LISTEN", "127.0.0.1:7000"}, {"PATH", "/bin"}};
  cfg = Config::load(src);
  EXPECT_EQ(cfg.get_string("server", "listen"), "127.0.0.1:7000");
  EXPECT_EQ(cfg.get_string("server", "data"), "/srv/bw");

  src.overrides = {{"server.listen", "127.0.0.1:6000"}};
  cfg = Config::load(src);
  EXPECT_EQ(cfg.get_string("server", "listen"), "127.0.0.1:6000");
  std::filesystem::remove(file);
}

// The crash mover's keys moved from [queue] mover_* to [crashmover]: the old names still set them,
// each with a warning, and the new name wins when both are given.
TEST(ConfigTest, RenamedKeysStillWorkWithAWarning) {
  auto file = write_temp_toml("[queue]\nmover_idle_wait = \"250ms\"\nmover_backoff_max = \"2m\"\n"
                              "[crashmover]\nbackoff_max = \"3m\"\n");
  Config::Sources src;
  src.file = file;
  auto cfg = Config::load(src);
  EXPECT_EQ(cfg.get_duration("crashmover", "idle_wait"), std::chrono::milliseconds(250));
  EXPECT_EQ(cfg.get_duration("crashmover", "backoff_max"), std::chrono::minutes(3));
  ASSERT_EQ(cfg.warnings().size(), 1u);
  EXPECT_NE(cfg.warnings()[0].find("'queue.mover_idle_wait'"), std::string::npos) << cfg.warnings()[0];
  EXPECT_NE(cfg.warnings()[0].find("'crashmover.idle_wait'"), std::string::npos) << cfg.warnings()[0];

  src.file.reset();
  src.environment = {{"BREAKWATER_QUEUE_MOVER_CLAIM_LEASE", "90s"}, {"BREAKWATER_QUEUE_MOVER_IDLE_WAIT", "5s"},
                     {"BREAKWATER_CRASHMOVER_IDLE_WAIT", "2s"}};
  cfg = Config::load(src);
  EXPECT_EQ(cfg.get_duration("crashmover", "claim_lease"), std::chrono::seconds(90));
  EXPECT_EQ(cfg.get_duration("crashmover", "idle_wait"), std::chrono::seconds(2));
  ASSERT_EQ(cfg.warnings().size(), 1u);
  EXPECT_NE(cfg.warnings()[0].find("BREAKWATER_QUEUE_MOVER_CLAIM_LEASE"), std::string::npos) << cfg.warnings()[0];

  src.environment.clear();
  src.overrides = {{"queue.mover_backoff_initial", "3s"}, {"queue.mover_idle_wait", "7s"}, {"crashmover.idle_wait", "8s"}};
  cfg = Config::load(src);
  EXPECT_EQ(cfg.get_duration("crashmover", "backoff_initial"), std::chrono::seconds(3));
  EXPECT_EQ(cfg.get_duration("crashmover", "idle_wait"), std::chrono::seconds(8));
  EXPECT_EQ(cfg.warnings().size(), 1u);

  // Names that never existed are still errors.
  src.overrides = {{"queue.mover_nothing", "1s"}};
  EXPECT_THROW(Config::load(src), ConfigError);
  EXPECT_TRUE(Config::defaults().warnings().empty());
  std::filesystem::remove(file);
}

TEST(ConfigTest, UnknownKeyInFileNamesTheKey) {
  auto file = write_temp_toml("[server]\nlisten = \"x\"\nlisen = \"typo\"\n");
  Config::Sources src;
  src.file = file;
  try {
    Config::load(src);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("server.lisen"), std::string::npos) << e.what();
  }
  std::filesystem::remove(file);
}

TEST(ConfigTest, UnknownSectionIsAnError) {
  auto file = write_temp_toml("[severs]\nlisten = \"x\"\n");
  Config::Sources src;
  src.file = file;
  EXPECT_THROW(Config::load(src), ConfigError);
  std::filesystem::remove(file);
}

TEST(ConfigTest, WrongTypeNamesTheKey) {
  auto file = write_temp_toml("[server]\nlisten = 8000\n");
  Config::Sources src;
  src.file = file;
  try {
    Config::load(src);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("server.listen"), std::string::npos) << e.what();
  }
  std::filesystem::remove(file);
}

TEST(ConfigTest, SyntaxErrorGivesLine) {
  auto file = write_temp_toml("[server]\nlisten = \"unterminated\n");
  Config::Sources src;
  src.file = file;
  try {
    Config::load(src);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  std::filesystem::remove(file);
}

TEST(ConfigTest, UnknownEnvironmentVariableIsAnError) {
  Config::Sources src;
  src.environment = {{"BREAKWATER_SERVER_LISTN", "x"}};
  EXPECT_THROW(Config::load(src), ConfigError);
}

TEST(ConfigTest, UnknownFlagKeyIsAnError) {
  Config::Sources src;
  src.overrides = {{"server.nope", "x"}};
  EXPECT_THROW(Config::load(src), ConfigError);
  src.overrides = {{"noseparator", "x"}};
  EXPECT_THROW(Config::load(src), ConfigError);
}

TEST(ConfigTest, ListsFromEnvironmentAreCommaSeparated) {
  Config::Sources src;
  src.environment = {{"BREAKWATER_SYMBOLS_PATHS", "/a, /b,,/c"}};
  auto cfg = Config::load(src);
  EXPECT_EQ(cfg.get_string_list("symbols", "paths"), (std::vector<std::string>{"/a", "/b", "/c"}));
}

TEST(ConfigTest, ListInFileMustHoldStrings) {
  auto file = write_temp_toml("[symbols]\npaths = [1, 2]\n");
  Config::Sources src;
  src.file = file;
  EXPECT_THROW(Config::load(src), ConfigError);
  std::filesystem::remove(file);
}

TEST(ConfigTest, SizesAndDurations) {
  EXPECT_EQ(parse_size("25MiB"), 25u * 1024 * 1024);
  EXPECT_EQ(parse_size("512KB"), 512000u);
  EXPECT_EQ(parse_size("1234"), 1234u);
  EXPECT_EQ(parse_size("1.5 GiB"), 1610612736u);
  EXPECT_THROW(parse_size("lots"), std::invalid_argument);
  EXPECT_THROW(parse_size("25 parsecs"), std::invalid_argument);
  EXPECT_EQ(parse_duration("120s"), std::chrono::seconds(120));
  EXPECT_EQ(parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("30"), std::chrono::seconds(30));
  EXPECT_THROW(parse_duration("soon"), std::invalid_argument);
  EXPECT_THROW(parse_duration("5 fortnights"), std::invalid_argument);
}

TEST(ConfigTest, DumpMasksPasswordsInUrls) {
  Config::Sources src;
  src.overrides = {{"queue.url", "amqp://guest:hunter2-pw@127.0.0.1:5672/%2f"}};
  auto text = Config::load(src).dump();
  EXPECT_EQ(text.find("hunter2-pw"), std::string::npos) << text;
  EXPECT_NE(text.find("amqp://guest:***@127.0.0.1"), std::string::npos) << text;
}

TEST(ConfigTest, DumpNeverShowsKeysThatAreSecrets) {
  Config::Sources src;
  src.overrides = {{"oidc.client_secret", "s3cr3t-value"}, {"oidc.client_id", "breakwater-site"}};
  auto text = Config::load(src).dump();
  EXPECT_EQ(text.find("s3cr3t-value"), std::string::npos) << text;
  EXPECT_NE(text.find("client_secret = '***'"), std::string::npos) << text;
  EXPECT_NE(text.find("breakwater-site"), std::string::npos) << "other keys are shown: " << text;
  EXPECT_NE(text.find("client_secret_file = ''"), std::string::npos) << "an empty value stays empty: " << text;
}

TEST(ConfigTest, ReadingAnUndeclaredKeyIsAProgrammingError) {
  auto cfg = Config::defaults();
  EXPECT_THROW(cfg.get_string("server", "nope"), std::logic_error);
  EXPECT_THROW(cfg.get_int("server", "listen"), std::logic_error);
}

TEST(ConfigTest, SizesAreFormattedForPeople) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(1023), "1023 B");
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(uint64_t{5} << 20), "5.0 MiB");
  EXPECT_EQ(format_size(uint64_t{5} << 30), "5.00 GiB");
  EXPECT_EQ(parse_size("4GiB"), uint64_t{4} << 30);
}

}  // namespace
}  // namespace bw
