// Runs the real `breakwater` binary as a user would.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/fs_util.h"
#include "tests/postgres/postgres_server.h"

namespace {

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr
};

Run run_binary(const std::string& binary, const std::string& args) {
  std::string cmd = binary + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

Run run(const std::string& args) { return run_binary(BW_BREAKWATER_BIN, args); }
Run run_all(const std::string& args) { return run_binary(BW_BREAKWATER_ALL_BIN, args); }

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

// Hardening finding 6: `admin queue publish` queued ids that were never stored.
TEST(CliTest, QueuePublishRefusesCrashesThatAreNotStored) {
  auto data = std::filesystem::temp_directory_path() / ("bw-cli-" + bw::fs::unique_temp_name());
  auto r = run("admin queue publish 0bba61c5-dfc3-43e7-854e-ae0c70160918 --data " + data.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no such crash is stored"), std::string::npos) << r.output;
  r = run("admin queue stats --json --data " + data.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string compact;
  for (char ch : r.output) {
    if (ch != ' ' && ch != '\n') compact += ch;
  }
  EXPECT_NE(compact.find("\"ready\":0"), std::string::npos) << r.output;
  EXPECT_EQ(compact.find("\"ready\":1"), std::string::npos) << r.output;
  r = run("admin queue publish not-an-id --data " + data.string());
  EXPECT_NE(r.exit_code, 0) << r.output;
  std::filesystem::remove_all(data);
}

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

// `breakwater` (front_main.cc) walks stacks itself and hands everything else to breakwater-all.
namespace {

const std::string kDumps = std::string(BW_TESTDATA_DIR) + "/minidumps/";
const std::string kSymbols = std::string(BW_TESTDATA_DIR) + "/symbols";

TEST(FrontTest, StackwalkPrintsWhatBreakwaterAllPrints) {
  for (const char* dump : {"linux-mini.dmp", "firefox-windows-x86_64.dmp"}) {
    for (const char* format : {"--json", "-m", "--human"}) {
      std::string args = std::string("stackwalk ") + format + " " + kDumps + dump + " " + kSymbols;
      auto front = run(args);
      auto all = run_all(args);
      EXPECT_EQ(front.exit_code, 0) << args;
      EXPECT_GT(front.output.size(), 500u) << args;
      EXPECT_EQ(front.output, all.output) << args;
    }
  }
  auto bad = run("stackwalk --json " + kDumps + "invalid-range.dmp");
  EXPECT_EQ(bad.exit_code, run_all("stackwalk --json " + kDumps + "invalid-range.dmp").exit_code) << bad.output;
}

TEST(FrontTest, OtherCommandsAndHelpAreBreakwaterAlls) {
  EXPECT_EQ(run("version").output, run_all("version").output);
  auto help = run("--help");
  EXPECT_EQ(help.output, run_all("--help").output);
  EXPECT_NE(help.output.find("serve"), std::string::npos) << help.output;
  EXPECT_EQ(run("stackwalk --help").output, run_all("stackwalk --help").output);
}

TEST(FrontTest, HttpSymbolsHandTheWalkToBreakwaterAll) {
  // No server listens on port 1: the HTTP supplier (only in breakwater-all, with libcurl) finds
  // nothing and the walk goes on with the local symbols, as breakwater-all's own run does.
  auto cache = std::filesystem::temp_directory_path() / ("bw-front-" + bw::fs::unique_temp_name());
  std::string args = "stackwalk -m --symbols-cache " + cache.string() + " " + kDumps + "linux-mini.dmp " + kSymbols +
                     " --symbols-url http://127.0.0.1:1/";
  auto front = run(args);
  EXPECT_EQ(front.exit_code, 0) << front.output;
  EXPECT_EQ(front.output, run_all(args).output);
  std::filesystem::remove_all(cache);
}

TEST(FrontTest, MissingBreakwaterAllIsAClearError) {
  auto dir = std::filesystem::temp_directory_path() / ("bw-front-" + bw::fs::unique_temp_name());
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(BW_BREAKWATER_BIN, dir / "breakwater");
  auto r = run_binary((dir / "breakwater").string(), "version");
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.output.find("cannot run " + (dir / "breakwater-all").string()), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// The index maintenance commands on an empty data folder: they run, say what they did, and
// refuse bad arguments with status 2 naming them (the work itself: maintenance/*_test.cc).
TEST(CliTest, IndexRebuildExpireAndSearchRunOnAnEmptySite) {
  auto data = std::filesystem::temp_directory_path() / ("bw-cli-" + bw::fs::unique_temp_name());
  std::string at = " --data " + data.string();
  auto r = run("admin index rebuild" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rebuilt: 0 crashes indexed from 0 days, 0 skipped"), std::string::npos) << r.output;
  r = run("admin index rebuild --since 2026-02-30" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--since '2026-02-30' is not a day"), std::string::npos) << r.output;
  r = run("admin index rebuild --batch 0" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;

  r = run("admin expire" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no retention is configured"), std::string::npos) << r.output;
  r = run("admin expire --set index.retention_days=30 --set storage.processed_retention_days=30" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 crashes dropped from the index"), std::string::npos) << r.output;
  r = run("admin expire --set index.retention_days=-1" + at);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("index.retention_days"), std::string::npos) << r.output;

  r = run("search product=Firefox" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run("search nosuchfield=1" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nosuchfield"), std::string::npos) << r.output;
  std::filesystem::remove_all(data);
}

}  // namespace

namespace {

// The account commands against a real site: a user and a token made, listed and taken away. The
// secret is printed once, alone on the last line, and never again; bad input exits with status 2.
// `at`: the flags naming the site (its data folder, and its index URL for PostgreSQL); `pw` a
// file holding a password.
void check_user_and_token_commands(const std::string& at, const std::filesystem::path& pw) {
  auto r = run("admin user add alice --permission view_pii --permission upload_symbols --password-file " +
               pw.string() + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("user alice added with upload_symbols,view_pii"), std::string::npos) << r.output;
  r = run("admin user add alice --password-file " + pw.string() + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run("admin user add bob --permission view_everything --password-file " + pw.string() + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("view_everything"), std::string::npos) << r.output;
  r = run("admin user add 'bad name' --password-file " + pw.string() + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;

  r = run("admin token create --user alice --permission view_pii --label ci" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string secret = out.substr(out.rfind('\n') + 1);
  EXPECT_EQ(secret.size(), 68u) << r.output;
  EXPECT_EQ(secret.rfind("bwt_", 0), 0u) << r.output;
  r = run("admin token create --user alice --permission reprocess_crashes" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("reprocess_crashes"), std::string::npos) << r.output;

  r = run("admin token list" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(secret), std::string::npos) << "a listing shows a secret";
  EXPECT_NE(r.output.find(secret.substr(0, 8)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("valid"), std::string::npos) << r.output;

  r = run("admin user revoke alice view_pii" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alice now holds upload_symbols"), std::string::npos) << r.output;
  r = run("admin user disable alice" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run("admin user list" + at);
  EXPECT_NE(r.output.find("disabled"), std::string::npos) << r.output;
  r = run("admin token revoke 1" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run("admin token revoke 1" + at);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = run("admin token list --user alice" + at);
  EXPECT_NE(r.output.find("revoked"), std::string::npos) << r.output;
}

// The line of `output` that starts with `word` and a space ("" when none).
std::string line_of(const std::string& output, const std::string& word) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(word + " ", 0) == 0) return line;
  }
  return "";
}

// Groups: made, filled, listed (with members, and in `user list`), their permissions given to
// members' new tokens and taken back, emptied and deleted; bad input exits with status 2.
void check_group_commands(const std::string& at, const std::filesystem::path& pw) {
  auto r = run("admin user add carol --password-file " + pw.string() + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run("admin group add triage --permission view_rawdump --permission view_pii" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("group triage added with view_pii,view_rawdump"), std::string::npos) << r.output;
  r = run("admin group add triage" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  r = run("admin group add 'bad name'" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run("admin group add other --permission view_everything" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("view_everything"), std::string::npos) << r.output;

  r = run("admin token create --user carol --permission view_rawdump" + at);
  EXPECT_EQ(r.exit_code, 2) << "not a member yet: " << r.output;
  r = run("admin group add-member triage carol" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("user carol added to group triage"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("user carol now holds view_pii,view_rawdump (own: -; groups: triage)"), std::string::npos)
      << r.output;
  r = run("admin group add-member triage carol" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("user carol was already in group triage"), std::string::npos) << r.output;
  r = run("admin group add-member triage nobody" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no user named nobody"), std::string::npos) << r.output;
  r = run("admin group add-member nogroup carol" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no group named nogroup"), std::string::npos) << r.output;

  r = run("admin user list" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string carol = line_of(r.output, "carol");
  EXPECT_NE(carol.find("triage"), std::string::npos) << r.output;
  EXPECT_NE(carol.find("view_pii,view_rawdump"), std::string::npos) << r.output;
  r = run("admin group list" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string triage = line_of(r.output, "triage");
  EXPECT_NE(triage.find("view_pii,view_rawdump"), std::string::npos) << r.output;
  EXPECT_NE(triage.find("carol"), std::string::npos) << r.output;

  r = run("admin token create --user carol --permission view_rawdump" + at);
  EXPECT_EQ(r.exit_code, 0) << "through the group: " << r.output;
  r = run("admin user grant carol view_pii" + at);
  EXPECT_NE(r.output.find("user carol now holds view_pii,view_rawdump (own: view_pii; groups: triage)"),
            std::string::npos)
      << r.output;
  r = run("admin group revoke triage view_rawdump view_pii" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("group triage now holds -"), std::string::npos) << r.output;
  r = run("admin token create --user carol --permission view_rawdump" + at);
  EXPECT_EQ(r.exit_code, 2) << "the group no longer gives it: " << r.output;
  EXPECT_NE(r.output.find("view_rawdump"), std::string::npos) << r.output;
  r = run("admin group grant triage admin" + at);
  EXPECT_NE(r.output.find("group triage now holds admin"), std::string::npos) << r.output;
  r = run("admin group grant triage everything" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;

  r = run("admin group remove-member triage carol" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("user carol removed from group triage"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("user carol now holds view_pii\n"), std::string::npos) << r.output;
  r = run("admin group remove-member triage carol" + at);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("user carol was not in group triage"), std::string::npos) << r.output;
  r = run("admin group add-member triage carol" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run("admin group delete triage" + at);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run("admin group list" + at);
  EXPECT_EQ(line_of(r.output, "triage"), "") << r.output;
  r = run("admin user list" + at);
  EXPECT_EQ(line_of(r.output, "carol").find("triage"), std::string::npos) << "members lose it: " << r.output;
  r = run("admin group delete triage" + at);
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

// A site in a temporary data folder; `pw` a password file inside it.
struct Site {
  Site() : data(std::filesystem::temp_directory_path() / ("bw-cli-" + bw::fs::unique_temp_name())) {
    std::filesystem::create_directories(data);
    std::ofstream(pw()) << "correct horse battery\n";
  }
  ~Site() { std::filesystem::remove_all(data); }
  std::filesystem::path pw() const { return data / "pw"; }
  std::string at() const { return " --data " + data.string(); }
  std::filesystem::path data;
};

TEST(CliTest, UserAndTokenCommands) {
  Site site;
  check_user_and_token_commands(site.at(), site.pw());
}

TEST(CliTest, GroupCommands) {
  Site site;
  check_group_commands(site.at(), site.pw());
}

// The same commands on a site whose index is PostgreSQL (a private server): the accounts are in
// that database, and no SQLite file is made.
TEST(CliTest, AccountCommandsOnAPostgresIndex) {
  if (!bw::testing::PostgresServer::available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
  bw::testing::PostgresServer server;
  Site site;
  std::string at = site.at() + " --index-url '" + server.create_database("cli_accounts") + "'";
  check_user_and_token_commands(at, site.pw());
  check_group_commands(at, site.pw());
  EXPECT_FALSE(std::filesystem::exists(site.data / "index" / "crashes.sqlite"));
  // A database that does not exist is an error saying so, not an empty site.
  auto r = run("admin user list --data " + site.data.string() + " --index-url '" + server.url_for("nosuchdb") + "'");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nosuchdb"), std::string::npos) << r.output;
}

}  // namespace
