#include "pg/connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace bw::pg {
namespace {

constexpr size_t kStatementCache = 256;

std::string trimmed_error(const PGconn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

Result::Result(PGresult* r) : r_(r, &PQclear) {}
int Result::rows() const { return PQntuples(r_.get()); }
bool Result::null_at(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
const char* Result::at(int row, int col) const { return PQgetvalue(r_.get(), row, col); }

int64_t Result::int_at(int row, int col) const {
  int64_t v = 0;
  const char* p = at(row, col);
  std::from_chars(p, p + std::strlen(p), v);
  return v;
}

uint64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return *n ? std::strtoull(n, nullptr, 10) : 0;
}

Connection::Connection(const ConnectOptions& options) : label_(options.label) {
  // Earlier keywords are defaults the URL's own parameters override (expand_dbname).
  const char* keys[] = {"connect_timeout", "client_encoding", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "UTF8", options.application_name.c_str(), options.url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (!conn_) throw Error(label_ + ": out of memory connecting", "08001", true);
  if (broken()) {
    std::string message = trimmed_error(conn_);
    PQfinish(conn_);
    throw Error(label_ + ": cannot connect: " + message, "08001", true);
  }
  // Server notices ("relation already exists, skipping") are not for the log.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  try {
    exec("SET statement_timeout = " + std::to_string(options.statement_timeout.count()));
  } catch (...) {
    PQfinish(conn_);
    throw;
  }
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

Result Connection::exec(const std::string& sql) { return check(PQexec(conn_, sql.c_str()), sql); }

Result Connection::run(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    // Search SQL varies with the query's shape: the cache stays bounded.
    if (prepared_.size() >= kStatementCache) {
      exec("DEALLOCATE ALL");
      prepared_.clear();
    }
    std::string name = "bw" + std::to_string(next_statement_++);
    check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), sql);
    it = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return check(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                              nullptr, 0),
               sql);
}

Result Connection::check(PGresult* raw, const std::string& sql) {
  Result r(raw);
  ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  // Class 08: connection exceptions; 57P01-03: the server is shutting down or starting.
  bool lost = broken() || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
              sqlstate == "57P03";
  std::string message = trimmed_error(conn_);
  if (sqlstate == "57014") message = "the query ran longer than the limit (" + message + ")";
  std::string head = sql.substr(0, std::min<size_t>(sql.find_first_of(" \n"), 40));
  throw Error(label_ + ": " + head + ": " + message, sqlstate, lost);
}

Transaction::Transaction(Connection& c, const char* begin) : c_(c) { c_.exec(begin); }

Transaction::~Transaction() {
  if (done_ || c_.broken()) return;
  try {
    c_.exec("ROLLBACK");
  } catch (const std::exception&) {  // the connection is then dropped as broken
  }
}

void Transaction::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

void migrate(Connection& c, int64_t lock_key, std::string_view version_table,
             const std::vector<index::Migration>& migrations,
             const std::function<void(const index::Migration&)>& applied) {
  const std::string key = std::to_string(lock_key), table(version_table);
  c.exec("SELECT pg_advisory_lock(" + key + ")");
  try {
    c.exec("CREATE TABLE IF NOT EXISTS " + table + "(version integer NOT NULL)");
    for (const auto& m : migrations) {
      Transaction tx(c);
      Result r = c.run("SELECT COALESCE(MAX(version), 0) FROM " + table, {});
      if (m.version <= r.int_at(0, 0)) continue;
      c.exec(std::string(m.sql));
      c.run("INSERT INTO " + table + "(version) VALUES($1::integer)", {std::to_string(m.version)});
      tx.commit();
      applied(m);
    }
  } catch (...) {
    if (!c.broken()) {
      try {
        c.exec("SELECT pg_advisory_unlock(" + key + ")");
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  c.exec("SELECT pg_advisory_unlock(" + key + ")");
}

}  // namespace bw::pg
