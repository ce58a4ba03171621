// Runs the real `breakwater` binary as a user would.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/fs_util.h"

namespace {

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr
};

Run run(const std::string& args) {
  std::string cmd = std::string(BW_BREAKWATER_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

TEST(CliTest, VersionPrintsVersion) {
  auto r = run("version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("breakwater 0."), std::string::npos) << r.output;
}

TEST(CliTest, NoSubcommandIsAUsageError) {
  auto r = run("");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("subcommand"), std::string::npos) << r.output;
}

TEST(CliTest, ConfigShowsFlagsOverEnvironmentOverFile) {
  auto file = std::filesystem::temp_directory_path() / ("bw-cli-" + bw::fs::unique_temp_name() + ".toml");
  std::ofstream(file) << "[server]\ndata = \"/from/file\"\nlisten = \"127.0.0.1:1111\"\n";
  auto r = run("config --config " + file.string() + " --listen 127.0.0.1:2222");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("/from/file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:2222"), std::string::npos) << r.output;
  r = run("config --config " + file.string() + " --set server.nope=1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("server.nope"), std::string::npos) << r.output;
  r = run("config --log-level loud");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::filesystem::remove(file);
}

TEST(CliTest, UnknownKeyInEnvironmentIsNamed) {
  auto r = run("config");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run("config 2>&1; BREAKWATER_SERVER_LISTN=x " + std::string(BW_BREAKWATER_BIN) + " config");
  EXPECT_NE(r.output.find("BREAKWATER_SERVER_LISTN"), std::string::npos) << r.output;
}

}  // namespace

namespace {

TEST(CliTest, ConfigurationDocsListEveryKey) {
  auto r = run("config --keys");
  ASSERT_EQ(r.exit_code, 0);
  std::string docs = bw::fs::read_file(std::string(BW_SOURCE_DIR) + "/docs/configuration.md");
  auto begin = docs.find("<!-- keys:begin -->\n");
  auto end = docs.find("\n<!-- keys:end -->");
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  std::string table = docs.substr(begin + 20, end - begin - 20);
  EXPECT_EQ(table + "\n", r.output) << "docs/configuration.md is stale: run scripts/gen-config-docs.sh";
}

}  // namespace
