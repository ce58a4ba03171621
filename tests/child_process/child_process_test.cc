// The one child-process helper: output files, lines, exit codes, stop and kill, process groups,
// the environment, the folder and the parent-death signal.
#include "tests/child_process/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "core/fs_util.h"
#include "core/temp_dir.h"

namespace bw::test_support {
namespace {

using namespace std::chrono_literals;

TEST(ChildProcess, OutputGoesToItsFilesAndLinesAreReadInOrder) {
  TempDir dir;
  ChildProcess child({"/bin/sh", "-c", "echo one; echo two; echo oops >&2; printf three"}, dir.path() / "sh");
  EXPECT_EQ(child.read_line(10s), "one");
  EXPECT_EQ(child.read_line(10s), "two");
  ASSERT_TRUE(child.wait(10s));
  EXPECT_EQ(child.out(), "one\ntwo\nthree");
  EXPECT_EQ(child.err(), "oops\n");
  EXPECT_THROW(child.read_line(1s), std::runtime_error) << "no whole line left and the process ended";
}

TEST(ChildProcess, ARestartOnTheSameFilesReadsOnlyTheNewOutput) {
  TempDir dir;
  {
    ChildProcess first({"/bin/sh", "-c", "echo first"}, dir.path() / "same");
    ASSERT_EQ(first.read_line(10s), "first");
  }
  // The files are emptied before the second one starts, not whenever it gets to it.
  ChildProcess second({"/bin/sh", "-c", "sleep 0.3; echo second"}, dir.path() / "same");
  EXPECT_EQ(second.out(), "");
  EXPECT_EQ(second.read_line(10s), "second");
}

TEST(ChildProcess, ExitCodesAndSignals) {
  TempDir dir;
  EXPECT_EQ(run({"/bin/sh", "-c", "exit 3"}, dir.path() / "three").exit_code, 3);
  EXPECT_EQ(run({"/nonexistent/program"}, dir.path() / "missing").exit_code, 127);
  auto r = run({"/bin/sh", "-c", "sleep 30"}, dir.path() / "slow", 200ms);
  EXPECT_EQ(r.exit_code, -1) << "killed at the timeout";
  ChildProcess sleeper({"/bin/sleep", "30"}, dir.path() / "sleeper");
  EXPECT_TRUE(sleeper.running());
  EXPECT_EQ(exit_code(sleeper.stop(10s)), 128 + SIGTERM);
  EXPECT_FALSE(sleeper.running());
}

TEST(ChildProcess, StopFallsBackToSigkillAfterTheGrace) {
  TempDir dir;
  ChildProcess stubborn({"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"}, dir.path() / "s");
  ASSERT_EQ(stubborn.read_line(10s), "ready");
  EXPECT_EQ(exit_code(stubborn.stop(300ms)), 128 + SIGKILL);
}

TEST(ChildProcess, EnvironmentFolderAndAppendedOutput) {
  TempDir dir;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo \"$ONLY $HOME\"; pwd"};
  o.env = std::vector<std::string>{"ONLY=this", "HOME=/nowhere"};
  o.cwd = dir.path();
  o.out = dir.path() / "log";
  fs::write_file_synced(dir.path() / "log", "before\n");
  ChildProcess child(o);
  ASSERT_TRUE(child.wait(10s));
  EXPECT_EQ(child.out(), "before\nthis /nowhere\n" + std::filesystem::canonical(dir.path()).string() + "\n")
      << "appended, and stderr shares the file when err is empty";
  EXPECT_EQ(child.err(), child.out());
}

TEST(ChildProcess, KillReachesTheWholeProcessGroup) {
  TempDir dir;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 60 & echo $!; wait"};
  o.out = dir.path() / "group";
  o.own_process_group = true;
  ChildProcess shell(o);
  pid_t grandchild = std::stoi(shell.read_line(10s));
  ASSERT_EQ(::kill(grandchild, 0), 0);
  shell.kill_now();
  // The grandchild is not ours to reap: it is gone when kill(0) fails or it is a zombie.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    std::string stat;
    try {
      stat = fs::read_file("/proc/" + std::to_string(grandchild) + "/stat");
    } catch (const std::system_error&) {
      gone = true;
      break;
    }
    gone = stat.substr(stat.rfind(')') + 2, 1) == "Z";
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "the group's other process survived kill_now";
}

TEST(ForkedChild, ExitCodesExceptionsAndKill) {
  ForkedChild ok([] { return 0; });
  EXPECT_TRUE(ok.succeeded());
  EXPECT_EQ(ok.wait(), -1) << "reaped once";
  ForkedChild three([] { return 3; });
  EXPECT_EQ(exit_code(three.wait()), 3);
  ForkedChild throws([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(exit_code(throws.wait()), 2);
  ForkedChild sleeper([] {
    ::pause();
    return 0;
  });
  pid_t pid = sleeper.pid();
  sleeper.kill_now();
  EXPECT_NE(::kill(pid, 0), 0) << "killed and reaped";
}

TEST(ChildProcess, ParentDeathSignalEndsTheChildWhenTheTestDies) {
  TempDir dir;
  auto pid_file = dir.path() / "grandchild.pid";
  // A middle process starts the child with a parent-death signal, writes its pid, then dies.
  ForkedChild middle([&] {
    SpawnOptions o;
    o.argv = {"/bin/sleep", "60"};
    o.parent_death_signal = SIGKILL;
    pid_t child = spawn_child(o);
    fs::write_file_synced(pid_file, std::to_string(child));
    return 0;
  });
  EXPECT_TRUE(middle.succeeded());
  pid_t child = std::stoi(fs::read_file(pid_file));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (::kill(child, 0) == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_NE(::kill(child, 0), 0) << "the orphan kept running";
}

}  // namespace
}  // namespace bw::test_support
