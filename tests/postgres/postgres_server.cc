#include "tests/postgres/postgres_server.h"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/child_process/child_process.h"
#include "tests/free_port.h"

extern char** environ;

namespace bw::testing {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr const char* kLogin = "breakwater";

std::string bin(const char* name) { return std::string(kBinDir) + "/" + name; }

std::string random_token(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < length; ++i) out.push_back(kAlphabet[rd() % (sizeof kAlphabet - 1)]);
  return out;
}

// The environment for initdb and postgres: ours without PG* and locale variables (a developer's
// PGDATA or PGPORT must not leak in), plus a fixed locale and time zone.
std::vector<std::string> child_env(const std::filesystem::path& home) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (entry.rfind("PG", 0) == 0 || entry.rfind("LC_", 0) == 0 || entry.rfind("LANG", 0) == 0 ||
        entry.rfind("HOME=", 0) == 0 || entry.rfind("TZ=", 0) == 0) {
      continue;
    }
    env.push_back(entry);
  }
  env.push_back("LC_ALL=C");
  env.push_back("TZ=UTC");
  env.push_back("HOME=" + home.string());
  return env;
}

std::atomic<int> g_instance{0};

}  // namespace

// How initdb and postgres run: in their own process group (the postmaster's children leave it:
// each calls setsid()), as the unprivileged user when this process is root, output appended to `log`. The parent-death
// signal is SIGQUIT, PostgreSQL's immediate shutdown, so a crashed test leaves no server behind.
test_support::SpawnOptions PostgresServer::child_options(std::vector<std::string> argv, const char* log) const {
  test_support::SpawnOptions o;
  o.argv = std::move(argv);
  o.env = child_env(base_);
  o.cwd = base_;
  o.out = base_ / log;
  o.own_process_group = true;
  o.parent_death_signal = SIGQUIT;
  if (drop_privileges_) {
    o.uid = run_uid_;
    o.gid = run_gid_;
  }
  return o;
}

bool PostgresServer::available() {
  if (::access(bin("initdb").c_str(), X_OK) != 0 || ::access(bin("postgres").c_str(), X_OK) != 0) return false;
  return ::geteuid() != 0 || ::getpwnam("postgres") != nullptr;
}

PostgresServer::PostgresServer(std::chrono::seconds start_timeout, std::vector<std::string> settings)
    : start_timeout_(start_timeout), settings_(std::move(settings)) {
  if (!available()) throw std::runtime_error("PostgreSQL 15 is not installed (scripts/install-deps.sh test)");
  std::filesystem::path tmp = std::filesystem::temp_directory_path();
  if (::geteuid() == 0) {
    // The postgres user must be able to reach the folder, which a root-only TMPDIR may forbid.
    const passwd* pw = ::getpwnam("postgres");
    run_uid_ = pw->pw_uid;
    run_gid_ = pw->pw_gid;
    drop_privileges_ = true;
    tmp = "/tmp";
  } else {
    run_uid_ = ::geteuid();
    run_gid_ = ::getegid();
  }
  int instance = g_instance.fetch_add(1);
  base_ = tmp / ("bw-postgres-" + std::to_string(::getpid()) + "-" + std::to_string(instance) + "-" +
                 random_token(8));
  std::filesystem::create_directories(base_ / "sock");
  ::chmod(base_.c_str(), 0700);
  if (drop_privileges_ && (::chown(base_.c_str(), run_uid_, run_gid_) != 0 ||
                           ::chown((base_ / "sock").c_str(), run_uid_, run_gid_) != 0)) {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
    throw std::runtime_error("cannot hand " + base_.string() + " to the postgres user: " + std::strerror(errno));
  }
  password_ = random_token(24);
  try {
    run_initdb();
    // The port is free when chosen but another process may take it before the server binds it
    // (ctest -j runs several test binaries): try a few ports.
    for (int attempt = 0;; ++attempt) {
      port_ = free_loopback_port();
      try {
        start();
        break;
      } catch (const std::runtime_error&) {
        if (attempt >= 2 || log_tail().find("could not bind") == std::string::npos) throw;
      }
    }
    create_database(kLogin);
  } catch (...) {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
    kill();
  }
  std::error_code ec;
  std::filesystem::remove_all(base_, ec);
}

std::string PostgresServer::url_for(const std::string& database) const {
  return "postgresql://" + std::string(kLogin) + ":" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" +
         database;
}

std::string PostgresServer::log_tail() const { return test_support::file_tail(base_ / "server.log", 4000); }

void PostgresServer::run_initdb() {
  std::filesystem::path pwfile = base_ / "pwfile";
  {
    std::ofstream out(pwfile, std::ios::binary | std::ios::trunc);
    out << password_ << "\n";
    if (!out) throw std::runtime_error("cannot write " + pwfile.string());
  }
  ::chmod(pwfile.c_str(), 0600);
  if (drop_privileges_ && ::chown(pwfile.c_str(), run_uid_, run_gid_) != 0) {
    throw std::runtime_error("cannot hand the password file to the postgres user: " + std::string(std::strerror(errno)));
  }
  // Loopback TCP logins need the password (as a real deployment); the unix socket, private to
  // the folder, trusts its user.
  std::vector<std::string> argv = {bin("initdb"), "-D", (base_ / "data").string(), "-U", kLogin,
                                   "--pwfile=" + pwfile.string(), "--auth-host=scram-sha-256", "--auth-local=trust",
                                   "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"};
  int status = test_support::wait_exit_code(test_support::spawn_child(child_options(std::move(argv), "initdb.log")));
  std::error_code ec;
  std::filesystem::remove(pwfile, ec);
  if (status != 0) {
    throw std::runtime_error("initdb failed (status " + std::to_string(status) +
                             "): " + test_support::file_tail(base_ / "initdb.log", 4000));
  }
}

void PostgresServer::launch() {
  std::vector<std::string> argv = {bin("postgres"),
               "-D", (base_ / "data").string(),
               "-p", std::to_string(port_),
               "-c", "listen_addresses=127.0.0.1",
               "-c", "unix_socket_directories=" + (base_ / "sock").string(),
               // Test speed over durability against a machine crash. Commits are still written
               // to the OS before they are acknowledged (synchronous_commit stays on), so kill()
               // loses nothing committed, like a real server process crash.
               "-c", "fsync=off",
               "-c", "full_page_writes=off",
               // Several clusters may run at once on a small machine.
               "-c", "shared_buffers=32MB",
               "-c", "max_connections=60",
               "-c", "logging_collector=off",
               "-c", "log_line_prefix=%m [%p] ",
               "-c", "log_min_messages=warning"};
  for (const auto& setting : settings_) {
    argv.push_back("-c");
    argv.push_back(setting);
  }
  postmaster_pid_ = test_support::spawn_child(child_options(std::move(argv), "server.log"));
}

void PostgresServer::start() {
  if (postmaster_pid_ > 0) return;
  launch();
  wait_until_ready();
}

void PostgresServer::wait_until_ready() {
  // The maintenance database initdb creates: ours may not exist yet.
  std::string conninfo = url_for("postgres") + "?connect_timeout=2";
  auto deadline = std::chrono::steady_clock::now() + start_timeout_;
  std::string last_error;
  for (;;) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
    if (conn && PQstatus(conn.get()) == CONNECTION_OK) return;
    last_error = conn ? PQerrorMessage(conn.get()) : "out of memory";
    int status = 0;
    if (::waitpid(postmaster_pid_, &status, WNOHANG) == postmaster_pid_) {
      postmaster_pid_ = -1;
      throw std::runtime_error("postgres exited while starting: " + log_tail());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill();
      throw std::runtime_error("postgres did not accept logins in time (" + last_error + "): " + log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void PostgresServer::stop() {
  if (postmaster_pid_ <= 0) return;
  pid_t pid = postmaster_pid_;
  postmaster_pid_ = -1;
  // SIGTERM would be a "smart" shutdown that waits for every client (a pool never leaves).
  ::kill(pid, SIGINT);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::killpg(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::killpg(pid, SIGKILL);  // anything of the group still lingering (no-op when gone)
}

namespace {

// The SysV segment id the postmaster wrote to line 7 of postmaster.pid ("key id"); -1 when unknown.
int interlock_segment_id(const std::filesystem::path& data) {
  std::ifstream in(data / "postmaster.pid");
  std::string line;
  for (int i = 0; i < 7 && std::getline(in, line); ++i) {
  }
  if (!in) return -1;
  std::istringstream fields(line);
  unsigned long key = 0;
  long id = -1;
  if (!(fields >> key >> id) || id < 0) return -1;
  return static_cast<int>(id);
}

// True while a process is still attached to segment `id`: the test a new postmaster makes before
// refusing to start ("pre-existing shared memory block is still in use").
bool segment_attached(int id) {
  shmid_ds stat{};
  if (::shmctl(id, IPC_STAT, &stat) != 0) return false;  // removed, or never ours
  return stat.shm_nattch > 0;
}

struct ProcStat {
  char state = 'X';  // 'R', 'S', 'Z', ...; 'X' when the process is gone
  long ppid = 0;
};

ProcStat read_stat(const std::filesystem::path& proc_entry) {
  std::ifstream in(proc_entry / "stat");
  std::string line;
  ProcStat stat;
  if (!in || !std::getline(in, line)) return stat;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream rest(line.substr(close + 1));
  ProcStat parsed;
  return rest >> parsed.state >> parsed.ppid ? parsed : stat;
}

bool alive(pid_t pid) {
  char state = read_stat("/proc/" + std::to_string(pid)).state;
  return state != 'Z' && state != 'X';
}

// Every process a postmaster forks: the backends and auxiliary processes (read from /proc).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    if (read_stat(entry.path()).ppid == parent) {
      children.push_back(static_cast<pid_t>(std::atol(entry.path().filename().c_str())));
    }
  }
  return children;
}

}  // namespace

void PostgresServer::kill() {
  if (postmaster_pid_ <= 0) return;
  pid_t pid = postmaster_pid_;
  postmaster_pid_ = -1;
  int segment = interlock_segment_id(base_ / "data");
  // Each child of the postmaster calls setsid(), so killing the postmaster's group misses them.
  // Stop the postmaster first so that it forks no more, then kill it and every child it has.
  ::kill(pid, SIGSTOP);
  std::vector<pid_t> children = children_of(pid);
  for (pid_t child : children) ::kill(child, SIGKILL);
  ::killpg(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  // The children are not ours to reap; until they have exited they hold the cluster's shared
  // memory and a new postmaster refuses to start.
  auto any_child_alive = [&children] {
    for (pid_t child : children) {
      if (alive(child)) return true;
    }
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (((segment >= 0 && segment_attached(segment)) || any_child_alive()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string PostgresServer::create_database(const std::string& name) {
  bool valid = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!valid) throw std::invalid_argument("database name must be [a-z][a-z0-9_]{0,62}: " + name);
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url_for("postgres").c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to the test server: " +
                             std::string(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  // An identifier cannot be a bound parameter; the name was checked above.
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), ("CREATE DATABASE " + name).c_str()),
                                                    &PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error("CREATE DATABASE " + name + ": " + PQerrorMessage(conn.get()));
  }
  return url_for(name);
}

}  // namespace bw::testing
