// A private PostgreSQL server for tests: its own cluster (initdb) in a fresh temporary folder,
// listening on 127.0.0.1 only, on a free port, with its unix socket inside the folder, so test
// binaries never touch a system server or each other. Tuned for speed, not durability against a
// machine crash (fsync and full_page_writes off: the cluster would not survive one, which is fine
// for a test); a commit is still handed to the OS before it is acknowledged, so committed data
// survives kill() as it would a crash of the server process.
//
// PostgreSQL refuses to run as root. When this process is root (CI), initdb and postgres run as
// the `postgres` system user (privileges dropped in the forked child) and the folder is created
// under /tmp and handed to that user; otherwise they run as the current user.
//
// Clients log in over TCP with a password (scram-sha-256): url() is
// postgresql://breakwater:<random password>@127.0.0.1:<port>/breakwater. The login is the
// cluster's superuser, so tests may create databases (create_database) and drop them.
//
// Ownership: the object owns the postmaster (and through it the server's processes) and the temporary folder; the
// destructor shuts the server down (fast shutdown, then SIGKILL after a timeout) and removes the
// folder. stop() and start() keep the data folder and the port, so data survives a restart and
// clients reconnect to the same URL.
//
// Errors: std::runtime_error when the server cannot be set up or started (not installed, initdb
// failed, did not accept logins within the start timeout), with the tail of the server's log;
// available() tells tests whether to skip. Thread safety: none; drive it from the test's main
// thread (clients on other threads may use the URL freely).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/child_process/child_process.h"

namespace bw::testing {

class PostgresServer {
 public:
  // Creates the folder, runs initdb, starts the server and waits until it accepts logins.
  // `settings` ("name=value", e.g. "shared_buffers=2GB") are passed as -c options after the test
  // defaults, so they override them (benchmarks of a tuned server).
  explicit PostgresServer(std::chrono::seconds start_timeout = std::chrono::seconds(120),
                          std::vector<std::string> settings = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // True when PostgreSQL's server binaries are installed (and, as root, the postgres user exists).
  static bool available();

  // postgresql://breakwater:<password>@127.0.0.1:<port>/breakwater
  std::string url() const { return url_for("breakwater"); }
  // The same login and server, another database.
  std::string url_for(const std::string& database) const;
  int port() const { return port_; }
  const std::filesystem::path& folder() const { return base_; }

  // CREATE DATABASE <name> and returns its URL. `name` must be [a-z0-9_]{1,63} starting with a
  // letter (it is an identifier, so it cannot be a bound parameter); std::invalid_argument
  // otherwise, std::runtime_error when the server refuses.
  std::string create_database(const std::string& name);

  // Fast shutdown (SIGINT: open sessions are ended, no checkpoint wait for clients); waits for
  // the postmaster to exit.
  void stop();
  // Starts again on the same port and data; waits until it accepts logins.
  void start();
  // SIGKILL of the postmaster and of every process it forked: no shutdown at all (start()
  // recovers from the WAL, keeping every acknowledged commit). Returns once no process holds the
  // cluster's shared memory, so start() may follow at once.
  void kill();
  bool running() const { return postmaster_pid_ > 0; }

 private:
  test_support::SpawnOptions child_options(std::vector<std::string> argv, const char* log) const;
  void run_initdb();
  void launch();
  void wait_until_ready();
  std::string log_tail() const;

  std::filesystem::path base_;
  std::string password_;
  int port_ = 0;
  pid_t postmaster_pid_ = -1;
  uid_t run_uid_ = 0;
  gid_t run_gid_ = 0;
  bool drop_privileges_ = false;
  std::chrono::seconds start_timeout_;
  std::vector<std::string> settings_;
};

}  // namespace bw::testing
