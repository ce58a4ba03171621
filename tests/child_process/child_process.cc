#include "tests/child_process/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/fs_util.h"

extern char** environ;

namespace bw::test_support {

namespace {

// Blocks until `pid` ends (EINTR-safe); its wait status, or -1 when it is not our child.
int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

std::string read_or_empty(const std::filesystem::path& path) {
  if (path.empty()) return {};
  try {
    return bw::fs::read_file(path);
  } catch (const std::system_error&) {
    return {};  // not written yet
  }
}

}  // namespace

pid_t spawn_child(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::invalid_argument("spawn_child: empty argv");
  // Everything the child touches is built here, before fork.
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  if (options.env) {
    env_strings = *options.env;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  char** child_env = options.env ? envp.data() : environ;
  std::string out = options.out.empty() ? std::string("/dev/null") : options.out.string();
  std::string err = options.err.empty() ? out : options.err.string();
  bool same_file = err == out;
  std::string cwd = options.cwd.string();
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND;
  if (options.truncate) {
    // Here, not in the child: once this returns, a reader of the files sees only the new child.
    for (const std::string& file : {out, err}) {
      int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) throw std::runtime_error("cannot create " + file + ": " + std::strerror(errno));
      ::close(fd);
    }
  }
  pid_t parent = ::getpid();
  sigset_t no_signals;
  sigemptyset(&no_signals);

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    if (options.own_process_group) ::setpgid(0, 0);
    if (options.gid && (::setgroups(0, nullptr) != 0 || ::setgid(*options.gid) != 0)) ::_exit(125);
    if (options.uid && ::setuid(*options.uid) != 0) ::_exit(125);
    // After the credential change, which would clear it.
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_fd = ::open(out.c_str(), flags, 0600);
    int err_fd = same_file ? out_fd : ::open(err.c_str(), flags, 0600);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (out_fd >= 0) ::dup2(out_fd, 1);
    if (err_fd >= 0) ::dup2(err_fd, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), child_env);
    ::_exit(127);
  }
  if (options.own_process_group) ::setpgid(pid, pid);  // also from here, so killpg works at once
  return pid;
}

int exit_code(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

int wait_exit_code(pid_t pid) {
  int status = wait_status(pid);
  return status < 0 ? -1 : exit_code(status);
}

std::string file_tail(const std::filesystem::path& path, size_t max_bytes) {
  std::string text = read_or_empty(path);
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

ChildProcess::ChildProcess(SpawnOptions options) : options_(std::move(options)) { pid_ = spawn_child(options_); }

namespace {
SpawnOptions logged_to(std::vector<std::string> argv, const std::filesystem::path& log_prefix) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.out = log_prefix.string() + ".out";
  o.err = log_prefix.string() + ".err";
  o.truncate = true;
  return o;
}
}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_prefix)
    : ChildProcess(logged_to(std::move(argv), log_prefix)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop(std::chrono::seconds(30));
}

std::string ChildProcess::out() const { return read_or_empty(options_.out); }
std::string ChildProcess::err() const { return read_or_empty(options_.err.empty() ? options_.out : options_.err); }

void ChildProcess::send(int signal) const {
  if (options_.own_process_group) {
    ::killpg(pid_, signal);
  } else {
    ::kill(pid_, signal);
  }
}

bool ChildProcess::running() {
  if (status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

bool ChildProcess::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (out().find(text) != std::string::npos) return true;
    if (!running()) return out().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool ended = !running();
    std::string text = out();
    auto nl = text.find('\n', lines_read_);
    if (nl != std::string::npos) {
      std::string line = text.substr(lines_read_, nl - lines_read_);
      lines_read_ = nl + 1;
      return line;
    }
    if (ended) throw std::runtime_error("child ended without writing another line: " + err());
    if (std::chrono::steady_clock::now() >= deadline) throw std::runtime_error("child wrote no line in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ChildProcess::stop(std::chrono::milliseconds grace, int signal) {
  if (status_) return *status_;
  send(signal);
  if (auto s = wait(grace)) return *s;
  kill_now();
  return status_.value_or(-1);
}

void ChildProcess::kill_now() {
  if (status_) return;
  send(SIGKILL);
  status_ = wait_status(pid_);
}

std::vector<pid_t> ChildProcess::children() const {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec)) {
    std::string text;
    try {
      text = bw::fs::read_file(task.path() / "children");
    } catch (const std::system_error&) {
      continue;  // the thread ended since the listing
    }
    std::istringstream in(text);
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  return out;
}

ForkedChild::ForkedChild(const std::function<int()>& body) {
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int code = 0;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "forked child: %s\n", e.what());
      code = 2;
    } catch (...) {
      code = 2;
    }
    ::_exit(code);
  }
}

ForkedChild::~ForkedChild() { kill_now(); }

int ForkedChild::wait() {
  if (pid_ <= 0) return -1;
  int status = wait_status(pid_);
  pid_ = -1;
  return status;
}

void ForkedChild::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait();
}

RunResult run(std::vector<std::string> argv, const std::filesystem::path& log_prefix, std::chrono::milliseconds timeout) {
  ChildProcess child(std::move(argv), log_prefix);
  RunResult r;
  if (auto status = child.wait(timeout)) {
    r.exit_code = exit_code(*status);
  } else {
    child.kill_now();
  }
  r.out = child.out();
  r.err = child.err();
  return r;
}

}  // namespace bw::test_support
