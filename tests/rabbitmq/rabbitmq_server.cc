#include "tests/rabbitmq/rabbitmq_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "queue/amqp_connection.h"
#include "tests/child_process/child_process.h"
#include "tests/free_port.h"

extern char** environ;

namespace bw::testing {
namespace {

constexpr const char* kBrokerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
constexpr const char* kEpmd = "/usr/bin/epmd";

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// `argv` with this process's environment plus `env`, in its own process group, output appended to
// `log`; the child gets SIGTERM if this process dies first, so a crashed test leaves no broker
// behind.
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::filesystem::path& log, const std::filesystem::path& cwd) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos && env.count(entry.substr(0, eq))) continue;
    env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  test_support::SpawnOptions o;
  o.argv = argv;
  o.env = std::move(env_strings);
  o.cwd = cwd;
  o.out = log;
  o.own_process_group = true;
  o.parent_death_signal = SIGTERM;
  return test_support::spawn_child(o);
}

std::atomic<int> g_instance{0};

}  // namespace

bool RabbitMqServer::available() { return ::access(kBrokerScript, X_OK) == 0 && ::access(kEpmd, X_OK) == 0; }

RabbitMqServer::RabbitMqServer(std::chrono::seconds start_timeout) : start_timeout_(start_timeout) {
  if (!available()) throw std::runtime_error("rabbitmq-server is not installed (scripts/install-deps.sh test)");
  std::random_device rd;
  int instance = g_instance.fetch_add(1);
  node_name_ = "bw-test-" + std::to_string(::getpid()) + "-" + std::to_string(instance) + "@localhost";
  base_ = std::filesystem::temp_directory_path() /
          ("bw-rabbitmq-" + std::to_string(::getpid()) + "-" + std::to_string(instance) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(base_ / "mnesia");
  std::filesystem::create_directories(base_ / "log");
  // The cookie must be private to its owner or Erlang refuses it.
  std::string cookie;
  for (int i = 0; i < 20; ++i) cookie.push_back(static_cast<char>('A' + rd() % 26));
  write_text(base_ / ".erlang.cookie", cookie);
  std::filesystem::permissions(base_ / ".erlang.cookie", std::filesystem::perms::owner_read);
  write_text(base_ / "enabled_plugins", "[].\n");
  write_text(base_ / "rabbitmq.conf",
             "log.console = false\nlog.file.level = warning\ndisk_free_limit.absolute = 10MB\n");
  write_text(base_ / "rabbitmq-env.conf", "");
  amqp_port_ = free_loopback_port();
  dist_port_ = free_loopback_port();
  epmd_port_ = free_loopback_port();
  try {
    start_epmd();
    start();
  } catch (...) {
    if (broker_pid_ > 0) kill();
    if (epmd_pid_ > 0) {
      ::kill(epmd_pid_, SIGKILL);
      ::waitpid(epmd_pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
    throw;
  }
}

RabbitMqServer::~RabbitMqServer() {
  try {
    if (broker_pid_ > 0) stop();
  } catch (...) {
    kill();
  }
  if (epmd_pid_ > 0) {
    ::kill(epmd_pid_, SIGTERM);
    ::waitpid(epmd_pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::permissions(base_ / ".erlang.cookie", std::filesystem::perms::owner_all, ec);
  std::filesystem::remove_all(base_, ec);
}

std::string RabbitMqServer::url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(amqp_port_) + "/"; }

void RabbitMqServer::start_epmd() {
  epmd_pid_ = spawn({kEpmd, "-port", std::to_string(epmd_port_), "-address", "127.0.0.1"},
                    {{"HOME", base_.string()}}, base_ / "epmd.out", base_);
  // epmd is ready once its port accepts connections.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(epmd_port_));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return;
    if (::waitpid(epmd_pid_, nullptr, WNOHANG) == epmd_pid_) {
      epmd_pid_ = -1;
      throw std::runtime_error("epmd exited: " + test_support::file_tail(base_ / "epmd.out", 2000));
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("epmd did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void RabbitMqServer::start() {
  if (broker_pid_ > 0) return;
  std::map<std::string, std::string> env = {
      {"HOME", base_.string()},
      {"ERL_EPMD_PORT", std::to_string(epmd_port_)},
      {"ERL_EPMD_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_NODENAME", node_name_},
      {"RABBITMQ_USE_LONGNAME", "false"},
      {"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_NODE_PORT", std::to_string(amqp_port_)},
      {"RABBITMQ_DIST_PORT", std::to_string(dist_port_)},
      {"RABBITMQ_MNESIA_BASE", (base_ / "mnesia").string()},
      {"RABBITMQ_LOG_BASE", (base_ / "log").string()},
      {"RABBITMQ_CONFIG_FILE", (base_ / "rabbitmq.conf").string()},
      {"RABBITMQ_ADVANCED_CONFIG_FILE", (base_ / "advanced.config").string()},
      {"RABBITMQ_ENABLED_PLUGINS_FILE", (base_ / "enabled_plugins").string()},
      {"RABBITMQ_CONF_ENV_FILE", (base_ / "rabbitmq-env.conf").string()},
      {"RABBITMQ_PID_FILE", (base_ / "broker.pid").string()},
  };
  broker_pid_ = spawn({kBrokerScript}, env, base_ / "broker.out", base_);
  wait_until_ready();
}

void RabbitMqServer::wait_until_ready() {
  queue::AmqpEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = amqp_port_;
  auto deadline = std::chrono::steady_clock::now() + start_timeout_;
  std::string last_error;
  for (;;) {
    try {
      queue::AmqpConnection probe(endpoint, std::chrono::seconds(0), std::chrono::milliseconds(2000));
      return;
    } catch (const queue::AmqpError& e) {
      last_error = e.what();
    }
    int status = 0;
    if (::waitpid(broker_pid_, &status, WNOHANG) == broker_pid_) {
      broker_pid_ = -1;
      throw std::runtime_error("rabbitmq-server exited while starting: " + test_support::file_tail(base_ / "broker.out", 4000));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill();
      throw std::runtime_error("rabbitmq-server did not accept logins in time (" + last_error +
                               "): " + test_support::file_tail(base_ / "broker.out", 4000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void RabbitMqServer::wait_for_exit(pid_t pid, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return;
    if (std::chrono::steady_clock::now() > deadline) {
      ::killpg(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void RabbitMqServer::stop() {
  if (broker_pid_ <= 0) return;
  pid_t pid = broker_pid_;
  broker_pid_ = -1;
  ::killpg(pid, SIGTERM);
  wait_for_exit(pid, std::chrono::seconds(90));
  ::killpg(pid, SIGKILL);  // anything of the group still lingering (no-op when gone)
}

void RabbitMqServer::kill() {
  if (broker_pid_ <= 0) return;
  pid_t pid = broker_pid_;
  broker_pid_ = -1;
  ::killpg(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace bw::testing
