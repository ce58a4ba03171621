#include "processor/worker_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <thread>

#include "core/log.h"
#include "core/metrics.h"
#include "processor/rule.h"
#include "processor/stackwalk_worker.h"

#if defined(__SANITIZE_ADDRESS__)
#define BW_PROCESSOR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BW_PROCESSOR_ASAN 1
#endif
#endif

namespace bw::processor {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
  }
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "ended with wait status " + std::to_string(status);
}

metrics::Counter& restarts_counter(const std::string& reason) {
  return metrics::Registry::global().counter("bw_processor_worker_restarts_total",
                                             "stack-walking workers killed or found dead, replaced on next use",
                                             {{"reason", reason}});
}

std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

bool worker_memory_limit_supported() {
#ifdef BW_PROCESSOR_ASAN
  return false;
#else
  return true;
#endif
}

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(std::move(options)), workers_(std::max<size_t>(1, options_.processes)) {
  if (options_.command.empty()) throw std::invalid_argument("worker pool needs a worker command");
  spawner_ = std::thread([this] { spawner_loop(); });
  if (options_.memory_limit != 0 && !worker_memory_limit_supported()) {
    bw::logger("processor")->warn("stack-walking workers run without a memory limit in this (AddressSanitizer) build");
  }
}

void WorkerPool::spawner_loop() {
  std::unique_lock lock(spawn_mu_);
  while (true) {
    spawn_cv_.wait(lock, [this] { return spawn_stop_ || !spawn_jobs_.empty(); });
    if (spawn_jobs_.empty()) return;  // stopping, nothing left to fork
    auto job = std::move(spawn_jobs_.front());
    spawn_jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

pid_t WorkerPool::fork_on_spawner(const std::function<pid_t()>& fork_child) {
  std::packaged_task<pid_t()> task(fork_child);
  auto result = task.get_future();
  {
    std::lock_guard lock(spawn_mu_);
    spawn_jobs_.emplace_back([&task] { task(); });
  }
  spawn_cv_.notify_one();
  return result.get();
}

WorkerPool::~WorkerPool() {
  // Closing stdin asks each worker to exit; those that do not within the grace period are killed.
  for (auto& w : workers_) close_fd(w.to);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& w : workers_) {
    if (w.pid <= 0) continue;
    int status = 0;
    while (::waitpid(w.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(w.pid, SIGKILL);
        ::waitpid(w.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    close_fd(w.from);
    w.pid = -1;
  }
  {
    std::lock_guard lock(spawn_mu_);
    spawn_stop_ = true;
  }
  spawn_cv_.notify_one();
  spawner_.join();
}

std::vector<pid_t> WorkerPool::worker_pids() const {
  std::lock_guard lock(mu_);
  std::vector<pid_t> out;
  for (const auto& w : workers_) {
    if (w.pid > 0) out.push_back(w.pid);
  }
  return out;
}

size_t WorkerPool::acquire() {
  std::unique_lock lock(mu_);
  while (true) {
    // Prefer a running worker (warm caches) over starting a new one.
    size_t pick = workers_.size();
    for (size_t i = 0; i < workers_.size(); ++i) {
      if (workers_[i].busy) continue;
      if (workers_[i].pid > 0) {
        pick = i;
        break;
      }
      if (pick == workers_.size()) pick = i;
    }
    if (pick < workers_.size()) {
      workers_[pick].busy = true;
      return pick;
    }
    idle_cv_.wait(lock);
  }
}

void WorkerPool::release(size_t index) {
  {
    std::lock_guard lock(mu_);
    workers_[index].busy = false;
  }
  idle_cv_.notify_one();
}

void WorkerPool::start(Worker& w) {
  // Socket pairs rather than pipes: the processor writes with MSG_NOSIGNAL, so a worker that died
  // is an EPIPE here, never a SIGPIPE for the whole processor.
  int to_child[2], from_child[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, to_child) != 0) {
    throw TransientProcessingError(std::string("socketpair: ") + std::strerror(errno));
  }
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, from_child) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    throw TransientProcessingError(std::string("socketpair: ") + std::strerror(errno));
  }
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : options_.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  bool limit = options_.memory_limit != 0 && worker_memory_limit_supported();
  rlimit rl{static_cast<rlim_t>(options_.memory_limit), static_cast<rlim_t>(options_.memory_limit)};
  pid_t parent = ::getpid();
  sigset_t none;
  sigemptyset(&none);

  int fork_errno = 0;
  pid_t pid = fork_on_spawner([&]() -> pid_t {
    pid_t child = ::fork();
    if (child == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the processor died before the prctl
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (limit) ::setrlimit(RLIMIT_AS, &rl);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (child < 0) fork_errno = errno;
    return child;
  });
  if (pid < 0) {
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
    throw TransientProcessingError(std::string("fork: ") + std::strerror(fork_errno));
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  w.pid = pid;
  w.to = to_child[1];
  w.from = from_child[0];
  w.decoder = FrameDecoder();

  WorkerHello hello{options_.symbols, options_.test_hooks};
  std::string frame, why;
  bool ok = write_all(w.to, encode_frame(encode_hello(hello)));
  ReadStatus status = ReadStatus::kError;
  if (ok) {
    status = read_frame(w.from, w.decoder, std::chrono::steady_clock::now() + options_.start_timeout, &frame);
    ok = status == ReadStatus::kFrame && decode_ready(frame, &why);
  }
  if (!ok) {
    std::string how = retire(w, status == ReadStatus::kTimeout || status == ReadStatus::kFrame, "start_failed");
    throw TransientProcessingError("could not start a stack-walking worker (" + options_.command[0] + "): " +
                                   (why.empty() ? how : why + ", " + how));
  }
  bw::log_fields(*bw::logger("processor"), spdlog::level::debug, "stack-walking worker started",
                 {{"pid", std::to_string(pid)}});
}

std::string WorkerPool::retire(Worker& w, bool kill_first, const std::string& reason, int* exit_code, bool* signalled) {
  close_fd(w.to);
  close_fd(w.from);
  int status = 0;
  if (w.pid > 0) {
    if (!kill_first) {
      // It closed its stdout: give it a moment to finish dying so the reason is its own.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (::waitpid(w.pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
          kill_first = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    if (kill_first) {
      ::kill(w.pid, SIGKILL);
      while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  w.pid = -1;
  restarts_.fetch_add(1);
  restarts_counter(reason).inc();
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (signalled) *signalled = WIFSIGNALED(status);
  return describe_status(status);
}

WalkResult WorkerPool::walk_on(Worker& w, const WalkRequest& request) {
  if (w.pid <= 0) start(w);
  std::string frame = encode_frame(encode_request(request));
  if (!write_all(w.to, frame)) {
    // It died while idle (killed from outside): not this dump's doing, so start another and retry.
    retire(w, true, "died_idle");
    start(w);
    if (!write_all(w.to, frame)) {
      std::string how = retire(w, true, "crashed");
      return failed_walk(kStatusCrashed, "stack-walking worker could not take the dump: " + how);
    }
  }
  std::string reply, why;
  auto log = bw::logger("processor");
  switch (read_frame(w.from, w.decoder, std::chrono::steady_clock::now() + options_.timeout, &reply)) {
    case ReadStatus::kFrame:
      if (auto result = decode_result(reply, &why)) return std::move(*result);
      retire(w, true, "protocol");
      return failed_walk(kStatusProtocol, "stack-walking worker answered garbage (" + why + "); it was replaced");
    case ReadStatus::kBadFrame:
      why = w.decoder.error();
      retire(w, true, "protocol");
      return failed_walk(kStatusProtocol, "stack-walking worker sent a bad frame (" + why + "); it was replaced");
    case ReadStatus::kTimeout: {
      pid_t pid = w.pid;
      retire(w, true, "timeout");
      log_fields(*log, spdlog::level::warn, "stack-walking worker timed out; killed",
                 {{"pid", std::to_string(pid)}, {"timeout", seconds_text(options_.timeout)}});
      return failed_walk(kStatusTimeout, "stack walk took longer than " + seconds_text(options_.timeout) +
                                             "; the worker was killed and replaced");
    }
    case ReadStatus::kEof:
    case ReadStatus::kError:
      break;
  }
  int code = -1;
  bool signalled = false;
  pid_t pid = w.pid;
  // The reason label is decided after reaping; count it under the right one.
  std::string how = retire(w, false, "died", &code, &signalled);
  log_fields(*log, spdlog::level::warn, "stack-walking worker died", {{"pid", std::to_string(pid)}, {"how", how}});
  if (!signalled && code == kWorkerOutOfMemoryExit) {
    return failed_walk(kStatusOutOfMemory, "stack-walking worker ran out of its memory limit on this dump; replaced");
  }
  return failed_walk(kStatusCrashed, "stack-walking worker died on this dump (" + how + "); replaced");
}

WalkResult WorkerPool::walk(const WalkRequest& request) {
  size_t index = acquire();
  try {
    WalkResult r = walk_on(workers_[index], request);
    release(index);
    return r;
  } catch (...) {
    release(index);
    throw;
  }
}

}  // namespace bw::processor
