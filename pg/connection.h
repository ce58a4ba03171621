// PostgreSQL through libpq, as the crash index (index/postgres_crash_index.h) and the account
// store (auth/postgres_auth_store.h) use it: a connection with its prepared statements, results,
// transactions, and the schema migration runner. Each part keeps its own policy on top (the
// index a pool, the accounts one connection under a mutex) and turns Error into its own
// "unavailable" error at its boundary.
//
// Values are always bound parameters in text format, never spliced into SQL.
//
// Errors: every failure is an Error with the server's SQLSTATE ("08001" when no connection could
// be made) and `lost()` set when the connection is gone (class 08, or 57P01-03: the server
// restarted or is shutting down): the caller drops the connection and may run the operation again
// on a new one. Messages start with the connection's label ("postgres index: ...").
//
// Thread safety: a Connection (and its Results and Transactions) belongs to one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "index/migrations.h"

struct pg_conn;
struct pg_result;

namespace bw::pg {

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, std::string sqlstate, bool lost)
      : std::runtime_error(what), sqlstate_(std::move(sqlstate)), lost_(lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool lost() const { return lost_; }

 private:
  std::string sqlstate_;
  bool lost_;
};

// The rows of one statement. Values are libpq's text; NULL reads as "" (null_at tells).
class Result {
 public:
  explicit Result(pg_result* r);
  int rows() const;
  bool null_at(int row, int col) const;
  const char* at(int row, int col) const;
  std::string text(int row, int col) const { return at(row, col); }
  int64_t int_at(int row, int col) const;     // 0 when not an integer
  bool boolean(int row, int col) const { return at(row, col)[0] == 't'; }
  uint64_t affected() const;                  // rows an INSERT/UPDATE/DELETE touched

 private:
  std::shared_ptr<pg_result> r_;
};

// Parameters in text format; nullopt is SQL NULL.
using Params = std::vector<std::optional<std::string>>;

struct ConnectOptions {
  std::string url;                    // postgresql://... (its own parameters win over the ones below)
  std::string application_name;       // shown in pg_stat_activity
  std::string label;                  // starts every error message
  std::chrono::milliseconds statement_timeout{30000};
};

class Connection {
 public:
  // Connects (10 s connect timeout, UTF8, server notices dropped, the statement timeout set);
  // Error (lost) when it cannot.
  explicit Connection(const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool broken() const;

  // A statement without parameters (transaction control, DDL, migrations).
  Result exec(const std::string& sql);
  // A statement with parameters, prepared on this connection the first time its text is seen
  // (at most 256 kept: beyond, every prepared statement is deallocated and the count restarts).
  Result run(const std::string& sql, const Params& params);

 private:
  Result check(pg_result* raw, const std::string& sql);

  pg_conn* conn_ = nullptr;
  std::string label_;
  std::unordered_map<std::string, std::string> prepared_;
  uint64_t next_statement_ = 0;
};

// BEGIN (or `begin`) ... COMMIT, rolled back when left by an exception (unless the connection is
// gone).
class Transaction {
 public:
  explicit Transaction(Connection& c, const char* begin = "BEGIN");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& c_;
  bool done_ = false;
};

// Applies, in order and each in its own transaction, every migration above the highest version
// recorded in `version_table` (created when missing), recording it there and calling `applied`.
// Holds the session advisory lock `lock_key` meanwhile, so processes starting at once migrate one
// after the other. `version_table` is an identifier from the caller's code, never outside input.
void migrate(Connection& c, int64_t lock_key, std::string_view version_table,
             const std::vector<index::Migration>& migrations,
             const std::function<void(const index::Migration&)>& applied);

}  // namespace bw::pg
