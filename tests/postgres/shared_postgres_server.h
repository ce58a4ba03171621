// One private PostgreSQL server (postgres_server.h) shared by every test of a GoogleTest binary:
// initdb takes seconds, so a binary starts one, on the first call of shared_postgres_server(),
// and a test environment registered by this header stops it when the binary's tests end (a binary
// whose tests never ask starts none). Each test then works in a database of its own
// (fresh_postgres_database). Include it in one file per test binary.
//
// shared_postgres_server() is nullptr when PostgreSQL is not installed: the caller skips or fails
// as it chooses. Thread safety: call from the test's main thread.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "tests/postgres/postgres_server.h"

namespace bw::testing {

class SharedPostgresServer : public ::testing::Environment {
 public:
  static PostgresServer* get() {
    if (!started_) {
      started_ = true;
      if (PostgresServer::available()) server_ = std::make_unique<PostgresServer>();
    }
    return server_.get();
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline bool started_ = false;
  static inline std::unique_ptr<PostgresServer> server_;
};

[[maybe_unused]] inline auto* const g_shared_postgres_environment =
    ::testing::AddGlobalTestEnvironment(new SharedPostgresServer);

inline PostgresServer* shared_postgres_server() { return SharedPostgresServer::get(); }

// A new database on the shared server, "<prefix>_<n>" (prefix: [a-z][a-z0-9_]*). The server must
// be there.
inline std::string fresh_postgres_database(const std::string& prefix) {
  static std::atomic<int> n{0};
  return shared_postgres_server()->create_database(prefix + "_" + std::to_string(n.fetch_add(1)));
}

}  // namespace bw::testing
