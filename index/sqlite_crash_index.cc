#include "index/sqlite_crash_index.h"

#include <re2/re2.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/crash_id.h"
#include "core/disk_usage.h"
#include "core/log.h"
#include "index/backend_support.h"
#include "index/fields.h"
#include "index/migrations.h"
#include "index/super_search_query.h"

namespace bw::index {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A search running longer than this is stopped (IndexUnavailable): the limits of the grammar
// keep real queries far below it, this only bounds the unforeseen.
constexpr auto kSearchDeadline = std::chrono::seconds(30);

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw IndexUnavailable("sqlite index: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// A cached prepared statement; reset (and bindings cleared) when the Use goes away.
class Use {
 public:
  Use(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  Use& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Use& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Use& bind_json(int i, const json& v) {
    if (v.is_string()) return bind(i, std::string_view(v.get_ref<const std::string&>()));
    if (v.is_boolean()) return bind(i, static_cast<int64_t>(v.get<bool>() ? 1 : 0));
    if (v.is_number_integer()) return bind(i, v.get<int64_t>());
    if (v.is_number_float()) {
      check(sqlite3_bind_double(stmt_, i, v.get<double>()));
      return *this;
    }
    if (v.is_null()) {
      check(sqlite3_bind_null(stmt_, i));
      return *this;
    }
    return bind(i, std::string_view(v.dump()));  // arrays: JSON text for json_each()
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_INTERRUPT) throw IndexUnavailable("sqlite index: the query ran longer than the limit");
    fail(db_, "step");
  }
  int64_t int_at(int c) const { return sqlite3_column_int64(stmt_, c); }
  bool null_at(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  // The column's text, valid until the next step or reset.
  std::string_view view_at(int c) const {
    const auto* p = sqlite3_column_text(stmt_, c);
    int n = sqlite3_column_bytes(stmt_, c);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
  }
  std::string text_at(int c) const {
    const auto* p = sqlite3_column_text(stmt_, c);
    int n = sqlite3_column_bytes(stmt_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  // Appends the column as a compact typed key (tag + bytes); decode_cell turns it back to JSON.
  void append_cell(int c, std::string& out) const {
    switch (sqlite3_column_type(stmt_, c)) {
      case SQLITE_INTEGER: {
        int64_t v = sqlite3_column_int64(stmt_, c);
        out += 'i';
        out.append(reinterpret_cast<const char*>(&v), sizeof v);
        return;
      }
      case SQLITE_FLOAT: {
        double v = sqlite3_column_double(stmt_, c);
        out += 'f';
        out.append(reinterpret_cast<const char*>(&v), sizeof v);
        return;
      }
      case SQLITE_TEXT:
      case SQLITE_BLOB: {
        const auto* p = sqlite3_column_text(stmt_, c);
        out += 's';
        out.append(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, c)));
        return;
      }
      default: out += 'n';
    }
  }
  // The column as JSON by its SQLite storage class.
  json value_at(int c) const {
    switch (sqlite3_column_type(stmt_, c)) {
      case SQLITE_INTEGER: return sqlite3_column_int64(stmt_, c);
      case SQLITE_FLOAT: return sqlite3_column_double(stmt_, c);
      case SQLITE_TEXT:
      case SQLITE_BLOB: return text_at(c);
      default: return nullptr;
    }
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) fail(db_, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// bw_regexp(pattern, value): RE2 whole-value match; the compiled pattern is cached per statement.
void regexp_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  using Compiled = std::shared_ptr<const RE2>;
  auto* re = static_cast<Compiled*>(sqlite3_get_auxdata(ctx, 0));
  if (!re) {
    const char* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    int n = sqlite3_value_bytes(argv[0]);
    try {
      re = new Compiled(compile_regex("@", std::string_view(p ? p : "", static_cast<size_t>(n))));
    } catch (const std::exception& e) {
      sqlite3_result_error(ctx, e.what(), -1);
      return;
    }
    sqlite3_set_auxdata(ctx, 0, re, [](void* x) { delete static_cast<Compiled*>(x); });
    re = static_cast<Compiled*>(sqlite3_get_auxdata(ctx, 0));
    if (!re) {  // SQLite could not keep it (and has deleted it)
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  const char* v = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  int vn = sqlite3_value_bytes(argv[1]);
  sqlite3_result_int(ctx, regex_matches(**re, std::string_view(v ? v : "", static_cast<size_t>(vn))) ? 1 : 0);
}

// One connection with its statement cache.
struct Connection {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements;
  Clock::time_point deadline = Clock::time_point::max();

  ~Connection() {
    for (auto& [sql, st] : statements) sqlite3_finalize(st);
    sqlite3_close_v2(db);
  }

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      throw IndexUnavailable("sqlite index: " + message);
    }
  }

  Use use(const std::string& sql) {
    auto it = statements.find(sql);
    if (it == statements.end()) {
      // Search SQL varies with the query's shape; keep the cache bounded.
      if (statements.size() >= 256) {
        for (auto& [s, st] : statements) sqlite3_finalize(st);
        statements.clear();
      }
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr) !=
          SQLITE_OK) {
        fail(db, "prepare");
      }
      it = statements.emplace(sql, st).first;
    }
    return Use(db, it->second);
  }
};

std::unique_ptr<Connection> open_connection(const std::filesystem::path& path) {
  auto c = std::make_unique<Connection>();
  int rc = sqlite3_open_v2(path.c_str(), &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) fail(c->db, "cannot open " + path.string());
  sqlite3_busy_timeout(c->db, 10000);
  sqlite3_extended_result_codes(c->db, 1);
  if (sqlite3_create_function_v2(c->db, "bw_regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, regexp_function,
                                 nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail(c->db, "registering bw_regexp");
  }
  sqlite3_progress_handler(
      c->db, 10000,
      [](void* p) -> int { return Clock::now() > static_cast<Connection*>(p)->deadline ? 1 : 0; }, c.get());
  return c;
}

// BEGIN IMMEDIATE ... COMMIT, rolled back when left by an exception.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) { c_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(c_.db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    c_.exec("COMMIT");
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

// A rollup key: (product, version, day, process_type, platform, signature).
using RollupKey = std::tuple<std::string, std::string, int64_t, std::string, std::string, std::string>;

// Hashes std::string keys and std::string_view lookups alike (heterogeneous find).
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The column of `crashes` a field lives in, or "" for a field of the JSON document. Besides the
// catalogue's columns, every list field has a column named after it holding its JSON array as text
// (migration 7): a facet, filter or hit on it reads that short array, not the whole document.
std::string stored_column(const Field& f) {
  if (f.indexed()) return f.column;
  return f.is_list ? f.name : std::string();
}

// The stored columns of the catalogue's fields, comma separated, in catalogue order.
std::string column_list(const FieldCatalogue& cat) {
  std::string out;
  for (const auto& f : cat.all()) {
    std::string column = stored_column(f);
    if (column.empty()) continue;
    if (!out.empty()) out += ", ";
    out += column;
  }
  return out;
}

// JSON path of a document field: '$."name"' (names come from the catalogue: no quotes in them).
std::string doc_path(const Field& f) { return "'$.\"" + f.name + "\"'"; }

// Smallest string greater than every string starting with `prefix` (byte order); empty if none.
std::string prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Builds SQL text from catalogue identifiers and "?" placeholders; values go to params.
struct Sql {
  std::string text;
  std::vector<json> params;
  Sql& operator<<(std::string_view s) {
    text += s;
    return *this;
  }
  Sql& param(json v) {
    text += '?';
    params.push_back(std::move(v));
    return *this;
  }
};

// A list field's JSON array (text), for json_each and json_array_length.
std::string list_expr(const Field& f) { return "c." + stored_column(f); }

std::string scalar_expr(const Field& f) {
  if (f.indexed()) return "c." + f.column;
  return "json_extract(c.doc, " + doc_path(f) + ")";
}

json to_sql_value(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return v;
}

// The condition "expr <op> value" for one operand.
void single_condition(Sql& sql, const std::string& e, Op op, const json& v) {
  switch (op) {
    case Op::kDefault:
    case Op::kEquals:
      if (v.is_array()) {  // dates: [from, to)
        sql << "(" << e << " >= ";
        sql.param(v[0]) << " AND " << e << " < ";
        sql.param(v[1]) << ")";
      } else {
        sql << e << " = ";
        sql.param(to_sql_value(v));
      }
      return;
    case Op::kContains:
      sql << "instr(" << e << ", ";
      sql.param(v) << ") > 0";
      return;
    case Op::kStartsWith: {
      std::string upper = prefix_successor(v.get<std::string>());
      sql << "(" << e << " >= ";
      sql.param(v);
      if (!upper.empty()) {
        sql << " AND " << e << " < ";
        sql.param(upper);
      }
      sql << ")";
      return;
    }
    case Op::kEndsWith:
      sql << "substr(" << e << ", -length(";
      sql.param(v) << ")) = ";
      sql.param(v);
      return;
    case Op::kRegex:
      sql << "bw_regexp(";
      sql.param(v) << ", " << e << ")";
      return;
    case Op::kGreater: sql << e << " > "; sql.param(v); return;
    case Op::kLess: sql << e << " < "; sql.param(v); return;
    case Op::kGreaterEq: sql << e << " >= "; sql.param(v); return;
    case Op::kLessEq: sql << e << " <= "; sql.param(v); return;
    case Op::kNull: sql << e << " IS NULL"; return;
    case Op::kTrue: sql << e << " = 1"; return;
  }
}

// The condition for one operand where the operand is `value` of a json_each over a bound array.
std::string each_condition(const std::string& e, Op op) {
  switch (op) {
    case Op::kDefault:
    case Op::kEquals: return "(" + e + " >= json_extract(value, '$[0]') AND " + e + " < json_extract(value, '$[1]'))";
    case Op::kContains: return "instr(" + e + ", value) > 0";
    case Op::kStartsWith: return "substr(" + e + ", 1, length(value)) = value";
    case Op::kEndsWith: return "substr(" + e + ", -length(value)) = value";
    case Op::kRegex: return "bw_regexp(value, " + e + ")";
    default: return "0";
  }
}

// Condition on a scalar expression: the OR of the filter's values.
void values_condition(Sql& sql, const std::string& e, const Filter& f) {
  const auto& values = f.values;
  if (f.op == Op::kNull || f.op == Op::kTrue) {
    single_condition(sql, e, f.op, json());
    return;
  }
  if (auto bound = backend::loosest_bound(f.op, values)) {
    single_condition(sql, e, f.op, *bound);
    return;
  }
  if (values.size() == 1) {
    single_condition(sql, e, f.op, values[0]);
    return;
  }
  json array = json::array();
  for (const auto& v : values) array.push_back(to_sql_value(v));
  bool ranges = values.front().is_array();
  if ((f.op == Op::kDefault || f.op == Op::kEquals) && !ranges) {
    sql << e << " IN (SELECT value FROM json_each(";
    sql.param(std::move(array)) << "))";
    return;
  }
  sql << "EXISTS (SELECT 1 FROM json_each(";
  sql.param(std::move(array)) << ") WHERE " << each_condition(e, f.op) << ")";
}

void filter_condition(Sql& sql, const Filter& f) {
  if (f.negated) sql << "NOT COALESCE((";
  if (f.field->is_list) {
    if (f.op == Op::kNull) {
      sql << "COALESCE(json_array_length(" << list_expr(*f.field) << "), 0) = 0";
    } else {
      sql << "EXISTS (SELECT 1 FROM json_each(" << list_expr(*f.field) << ") AS le WHERE ";
      values_condition(sql, "le.value", f);
      sql << ")";
    }
  } else {
    values_condition(sql, scalar_expr(*f.field), f);
  }
  if (f.negated) sql << "), 0)";
}

// A value read back from SQLite, typed as the field says.
json typed(const Field& f, json v) {
  if (v.is_null()) return v;
  if (f.type == FieldType::kBoolean && v.is_number_integer()) return v.get<int64_t>() != 0;
  return v;
}

// The term of a bucket as search returns it.
json term_of(const Aggregation& a, const json& key) {
  if (a.field->type == FieldType::kDate && key.is_number()) return format_date_us(key.get<int64_t>());
  if (a.kind == Aggregation::Kind::kHistogram && a.field->type == FieldType::kInteger && key.is_number_float()) {
    return static_cast<int64_t>(key.get<double>());
  }
  return typed(*a.field, key);
}

json decode_cell(std::string_view cell) {
  switch (cell.empty() ? 'n' : cell[0]) {
    case 'i': {
      int64_t v;
      std::memcpy(&v, cell.data() + 1, sizeof v);
      return v;
    }
    case 'f': {
      double v;
      std::memcpy(&v, cell.data() + 1, sizeof v);
      return v;
    }
    case 's': return std::string(cell.substr(1));
    default: return nullptr;
  }
}

// Appends a cell to a bucket path, length-prefixed so paths never collide.
void append_path(std::string& path, std::string_view cell) {
  uint32_t n = static_cast<uint32_t>(cell.size());
  path.append(reinterpret_cast<const char*>(&n), sizeof n);
  path.append(cell);
}

// Orders keys: strings bytewise, numbers numerically (both backends must agree).
bool key_less(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() < b.get<double>();
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  return a.type() < b.type();
}

}  // namespace

struct SqliteCrashIndex::Impl {
  IndexSettings settings;
  std::shared_ptr<const FieldCatalogue> catalogue;
  std::string columns;  // the indexed columns, comma separated, in catalogue order
  std::mutex write_mutex;
  std::unique_ptr<Connection> writer;
  std::mutex pool_mutex;
  std::condition_variable pool_cv;
  std::vector<std::unique_ptr<Connection>> idle;
  uint64_t rows_since_optimize = 0;
  // Signature -> first day as committed to signature_first_seen (guarded by write_mutex). The
  // table's days only ever go down, so a known day at or before a crash's day means its upsert
  // would be a no-op and is skipped. Bounded: cleared when it grows past kFirstSeenCache.
  std::unordered_map<std::string, int64_t> first_seen_days;
  static constexpr size_t kFirstSeenCache = 200000;
  // Signature -> id in signature_ids, as committed (ids never change; guarded by write_mutex).
  std::unordered_map<std::string, int64_t> signature_ids;

  // A reader from the pool, returned on destruction.
  class Reader {
   public:
    explicit Reader(Impl& impl) : impl_(impl) {
      std::unique_lock lock(impl_.pool_mutex);
      impl_.pool_cv.wait(lock, [&] { return !impl_.idle.empty(); });
      take_locked();
    }
    // A reader only if one is idle now: for work that can do without a second connection, so a
    // search holding one never waits for another (several such searches would deadlock).
    static std::unique_ptr<Reader> if_idle(Impl& impl) {
      std::lock_guard lock(impl.pool_mutex);
      if (impl.idle.empty()) return nullptr;
      return std::unique_ptr<Reader>(new Reader(impl, Locked{}));
    }
    ~Reader() {
      conn_->deadline = Clock::time_point::max();
      std::lock_guard lock(impl_.pool_mutex);
      impl_.idle.push_back(std::move(conn_));
      impl_.pool_cv.notify_one();
    }
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    struct Locked {};
    Reader(Impl& impl, Locked) : impl_(impl) { take_locked(); }
    void take_locked() {
      conn_ = std::move(impl_.idle.back());
      impl_.idle.pop_back();
      conn_->deadline = Clock::now() + kSearchDeadline;
    }
    Impl& impl_;
    std::unique_ptr<Connection> conn_;
  };

  // Whether a second reader may take half of a search: not on one core, where the halves would
  // only take turns.
  static bool several_cores() {
    static const bool several = std::thread::hardware_concurrency() > 1;
    return several;
  }

  // first(conn) on `conn` and, at the same time, second(conn) on another reader if one is idle
  // now (never waited for); both on `conn`, one after the other, when none is or on one core.
  template <class First, class Second>
  auto both(Connection& conn, First first, Second second) {
    std::unique_ptr<Reader> other = several_cores() ? Reader::if_idle(*this) : nullptr;
    if (!other) {
      auto a = first(conn);
      return std::make_pair(std::move(a), second(conn));
    }
    auto later = std::async(std::launch::async, [&] { return second(**other); });
    try {
      auto a = first(conn);
      return std::make_pair(std::move(a), later.get());
    } catch (...) {
      later.wait();
      throw;
    }
  }

  void migrate() {
    auto& w = *writer;
    // Several processes may create the file at once; WAL switch and schema are retried.
    const auto give_up = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      try {
        w.exec("PRAGMA journal_mode=WAL");
        w.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
        break;
      } catch (const IndexUnavailable&) {
        int code = sqlite3_errcode(w.db) & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || Clock::now() >= give_up) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    for (const auto& m : sqlite_migrations()) {
      Transaction tx(w);
      int current = 0;
      {
        auto q = w.use("SELECT COALESCE(MAX(version), 0) FROM schema_version");
        if (q.step()) current = static_cast<int>(q.int_at(0));
      }
      if (m.version <= current) continue;
      w.exec(std::string(m.sql));
      w.use("INSERT INTO schema_version(version) VALUES(?)").bind(1, static_cast<int64_t>(m.version)).step();
      tx.commit();
      logger("index")->info("sqlite index: applied migration {} ({})", m.version, m.name);
    }
  }

  // ----- writes -----

  struct Deltas {
    std::map<RollupKey, int64_t> rollup;
    std::map<std::string, std::pair<int64_t, std::string>> first_seen;  // signature -> (day, build)
    std::vector<std::pair<std::string, int64_t>> ids;  // signature ids looked up or made by apply

    void add(const std::string& product, const std::string& version, int64_t day, const std::string& process_type,
             const std::string& platform, const std::string& signature, int64_t d) {
      rollup[RollupKey{product, version, day, process_type, platform, signature}] += d;
    }
  };

  // After a commit: what `deltas` wrote to signature_first_seen is now the table's content (or
  // later than it, when another process lowered a day meanwhile, which only costs an upsert), and
  // the signature ids it used exist for good.
  void remember(const Deltas& deltas) {
    if (first_seen_days.size() + deltas.first_seen.size() > kFirstSeenCache) first_seen_days.clear();
    for (const auto& [signature, first] : deltas.first_seen) {
      auto [it, fresh] = first_seen_days.try_emplace(signature, first.first);
      if (!fresh && first.first < it->second) it->second = first.first;
    }
    if (signature_ids.size() + deltas.ids.size() > kFirstSeenCache) signature_ids.clear();
    for (const auto& [signature, id] : deltas.ids) signature_ids.emplace(signature, id);
  }

  // The id of a signature in signature_ids, made when new (inside the caller's transaction: it is
  // only cached once that commits).
  int64_t signature_id(const std::string& signature, Deltas& deltas) {
    if (auto it = signature_ids.find(signature); it != signature_ids.end()) return it->second;
    auto& w = *writer;
    int64_t id = 0;
    {
      auto q = w.use("SELECT id FROM signature_ids WHERE signature = ?");
      q.bind(1, signature);
      if (q.step()) id = q.int_at(0);
    }
    if (!id) {
      w.use("INSERT INTO signature_ids(signature) VALUES(?)").bind(1, signature).step();
      id = sqlite3_last_insert_rowid(w.db);
    }
    deltas.ids.emplace_back(signature, id);
    return id;
  }

  // Takes the old row's contribution away; returns its rid or 0.
  int64_t forget(const std::string& uuid, Deltas& deltas, bool delete_row) {
    auto& w = *writer;
    auto q = w.use("SELECT rid, product, version, date, process_type, platform, signature FROM crashes WHERE uuid = ?");
    q.bind(1, uuid);
    if (!q.step()) return 0;
    int64_t rid = q.int_at(0);
    deltas.add(q.text_at(1), q.text_at(2), floor_div(q.int_at(3), kMicrosPerDay), q.text_at(4), q.text_at(5),
               q.text_at(6), -1);
    if (delete_row) w.use("DELETE FROM crashes WHERE rid = ?").bind(1, rid).step();
    w.use("DELETE FROM missing_symbols WHERE uuid = ?").bind(1, uuid).step();
    return rid;
  }

  void write_missing_modules(const CrashRow& row) {
    for (const auto& m : row.missing_modules) {
      writer->use("INSERT OR REPLACE INTO missing_symbols(debug_file, debug_id, uuid, date, code_file, code_id) "
                  "VALUES(?, ?, ?, ?, ?, ?)")
          .bind(1, m.debug_file).bind(2, m.debug_id).bind(3, row.uuid).bind(4, row.date_us).bind(5, m.code_file)
          .bind(6, m.code_id).step();
    }
  }

  void apply(Deltas& deltas) {
    auto& w = *writer;
    std::map<std::tuple<std::string, int64_t, std::string, std::string, std::string>, int64_t> all;
    std::map<std::tuple<std::string, int64_t, std::string, std::string>, int64_t> by_signature;
    std::map<std::tuple<std::string, std::string, int64_t>, int64_t> by_version;
    for (const auto& [k, d] : deltas.rollup) {
      if (d == 0) continue;
      const auto& [product, version, day, process_type, platform, signature] = k;
      all[{product, day, process_type, platform, signature}] += d;
      by_signature[{product, day, signature, platform}] += d;
      by_version[{product, version, day}] += d;
      w.use("INSERT INTO topcrash_daily(product, version, day, process_type, platform, signature, count) "
            "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count")
          .bind(1, product).bind(2, version).bind(3, day).bind(4, process_type).bind(5, platform).bind(6, signature)
          .bind(7, d).step();
      if (d < 0) {
        w.use("DELETE FROM topcrash_daily WHERE product = ? AND version = ? AND day = ? AND process_type = ? AND "
              "platform = ? AND signature = ? AND count <= 0")
            .bind(1, product).bind(2, version).bind(3, day).bind(4, process_type).bind(5, platform).bind(6, signature)
            .step();
      }
    }
    for (const auto& [k, d] : all) {
      if (d == 0) continue;
      const auto& [product, day, process_type, platform, signature] = k;
      w.use("INSERT INTO topcrash_daily_all(product, day, process_type, platform, signature, count) "
            "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count")
          .bind(1, product).bind(2, day).bind(3, process_type).bind(4, platform).bind(5, signature).bind(6, d).step();
      if (d < 0) {
        w.use("DELETE FROM topcrash_daily_all WHERE product = ? AND day = ? AND process_type = ? AND platform = ? AND "
              "signature = ? AND count <= 0")
            .bind(1, product).bind(2, day).bind(3, process_type).bind(4, platform).bind(5, signature).step();
      }
    }
    for (const auto& [k, d] : by_signature) {
      if (d == 0) continue;
      const auto& [product, day, signature, platform] = k;
      int64_t sig = signature_id(signature, deltas);
      w.use("INSERT INTO topcrash_signature_daily(product, day, sig, platform, count) VALUES(?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET count = count + excluded.count")
          .bind(1, product).bind(2, day).bind(3, sig).bind(4, platform).bind(5, d).step();
      if (d < 0) {
        w.use("DELETE FROM topcrash_signature_daily WHERE product = ? AND day = ? AND sig = ? AND platform = ? AND "
              "count <= 0")
            .bind(1, product).bind(2, day).bind(3, sig).bind(4, platform).step();
      }
    }
    for (const auto& [k, d] : by_version) {
      if (d == 0) continue;
      const auto& [product, version, day] = k;
      w.use("INSERT INTO product_version_daily(product, version, day, count) VALUES(?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET count = count + excluded.count")
          .bind(1, product).bind(2, version).bind(3, day).bind(4, d).step();
      if (d < 0) {
        w.use("DELETE FROM product_version_daily WHERE product = ? AND version = ? AND day = ? AND count <= 0")
            .bind(1, product).bind(2, version).bind(3, day).step();
      }
    }
    for (const auto& [signature, first] : deltas.first_seen) {
      // A first day already recorded at or before this one: the upsert below would change nothing.
      if (auto known = first_seen_days.find(signature); known != first_seen_days.end() && known->second <= first.first) {
        continue;
      }
      w.use("INSERT INTO signature_first_seen(signature, first_day, first_build) VALUES(?, ?, ?) "
            "ON CONFLICT DO UPDATE SET first_day = excluded.first_day, first_build = excluded.first_build "
            "WHERE excluded.first_day < first_day")
          .bind(1, signature).bind(2, first.first).bind(3, first.second).step();
    }
  }

  // The row statements, built once from the catalogue.
  std::string insert_sql, update_sql;
  void build_row_statements() {
    update_sql = "UPDATE crashes SET ";
    insert_sql = "INSERT INTO crashes(" + columns + ", doc) VALUES(";
    for (const auto& f : catalogue->all()) {
      std::string column = stored_column(f);
      if (column.empty()) continue;
      update_sql += column + " = ?, ";
      insert_sql += "?, ";
    }
    update_sql += "doc = ? WHERE rid = ?";
    insert_sql += "?)";
  }

  void write_row(const CrashRow& row, int64_t rid) {
    auto q = writer->use(rid ? update_sql : insert_sql);
    int i = 1;
    json without_lists;  // the document minus the lists, which their columns hold (copied if any)
    bool copied = false;
    for (size_t k = 0; k < catalogue->all().size(); ++k) {
      const Field& f = catalogue->all()[k];
      if (stored_column(f).empty()) continue;
      q.bind_json(i++, to_sql_value(row.values[k]));
      if (f.is_list && row.document.contains(f.name)) {
        if (!copied) without_lists = row.document;
        copied = true;
        without_lists.erase(f.name);
      }
    }
    const json& doc = copied ? without_lists : row.document;
    q.bind(i++, std::string_view(doc.dump(-1, ' ', false, json::error_handler_t::replace)));
    if (rid) q.bind(i++, rid);
    q.step();
  }

  // ----- reads -----

  json hit_from(Use& q, const std::vector<const Field*>& cols, int doc_column) {
    json hit = json::object();
    json doc;
    if (doc_column >= 0 && !q.null_at(doc_column)) doc = json::parse(q.text_at(doc_column), nullptr, false);
    int i = 0;
    for (const Field* f : cols) {
      json v;
      if (f->indexed()) {
        v = typed(*f, q.value_at(i++));
      } else if (f->is_list) {
        int c = i++;
        if (!q.null_at(c)) v = json::parse(q.text_at(c), nullptr, false);
        if (v.is_discarded()) v = nullptr;
      } else if (doc.is_object()) {
        auto it = doc.find(f->name);
        if (it != doc.end()) v = *it;
      }
      hit[f->name] = hit_value(*f, v);
    }
    return hit;
  }

  void bind_all(Use& q, const std::vector<json>& params) {
    for (size_t i = 0; i < params.size(); ++i) q.bind_json(static_cast<int>(i + 1), params[i]);
  }

  // One level of an aggregation tree.
  struct Level {
    const Aggregation* agg;
    std::string key;   // SQL expression of the bucket key
    std::string join;  // ", json_each(...) AS jN" for list fields
    json kept;         // terms: the keys kept at this level (array), bound as an IN list
  };

  void key_of(const Aggregation& a, size_t depth, std::string& key, std::string& join) {
    const Field& f = *a.field;
    if (f.is_list) {
      std::string alias = "j" + std::to_string(depth);
      join = ", json_each(" + list_expr(f) + ") AS " + alias;
      key = alias + ".value";
      return;
    }
    join.clear();
    std::string e = scalar_expr(f);
    if (a.kind != Aggregation::Kind::kHistogram) {
      key = e;
      return;
    }
    if (f.type == FieldType::kDate || f.type == FieldType::kInteger) {
      // Floor to the bucket: e - ((e - offset) mod interval), the modulo made non-negative.
      int64_t iv = static_cast<int64_t>(a.interval);
      int64_t off = a.weeks ? 4 * kMicrosPerDay : 0;  // 1970-01-05 was a Monday
      std::string ivs = std::to_string(iv), offs = std::to_string(off);
      key = "(" + e + " - (((" + e + " - " + offs + ") % " + ivs + ") + " + ivs + ") % " + ivs + ")";
    } else {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", a.interval);
      std::string q = "(" + e + " / " + buf + ")";
      key = "((CAST(" + q + " AS INTEGER) - (" + q + " < CAST(" + q + " AS INTEGER))) * " + buf + ")";
    }
  }

  using Targets = std::unordered_map<std::string, json*>;

  // A top-level histogram of `date` without sub-aggregations, as one COUNT(*) per bucket: each
  // count is an index range the query's filters narrow (a signature's, a product's or the dates'),
  // counted inside SQLite rather than stepped out row by row, which is what made a 30-day
  // histogram of every crash slow. Same buckets as the general path (empty ones left out).
  // False when there are too many buckets to count one by one (the caller then streams rows).
  // The crashes matching `where` dated in [from, to). The range comes first in the WHERE: of
  // several ranges on one indexed column SQLite bounds the index scan by the first it meets, and
  // the query's own date range would make a short range's count scan the whole query range.
  int64_t count_between(Connection& conn, const Sql& where, int64_t from, int64_t to) {
    auto q = conn.use("SELECT COUNT(*) FROM crashes AS c WHERE c.date >= ? AND c.date < ? AND " + where.text);
    q.bind(1, from).bind(2, to);
    for (size_t i = 0; i < where.params.size(); ++i) q.bind_json(static_cast<int>(i + 3), where.params[i]);
    return q.step() ? q.int_at(0) : 0;
  }

  // Crashes per UTC day for a DayRollupPlan: whole days from the rollup, partial days counted
  // from the crashes matching `where` (the search's own filters).
  std::map<int64_t, int64_t> day_counts(Connection& conn, const backend::DayRollupPlan& plan, const Sql& where) {
    std::map<int64_t, int64_t> per_day;
    if (plan.first_whole_day <= plan.last_whole_day) {
      Sql sql;
      sql << "SELECT day, SUM(count) FROM product_version_daily WHERE day >= ";
      sql.param(plan.first_whole_day) << " AND day <= ";
      sql.param(plan.last_whole_day);
      auto any_of = [&](const char* column, const std::vector<std::string>& values) {
        if (values.empty()) return;
        sql << " AND " << column << " IN (SELECT value FROM json_each(";
        sql.param(json(values)) << "))";
      };
      any_of("product", plan.products);
      any_of("version", plan.versions);
      sql << " GROUP BY day";
      auto q = conn.use(sql.text);
      bind_all(q, sql.params);
      while (q.step()) per_day[q.int_at(0)] += q.int_at(1);
    }
    for (const auto& [from, to] : plan.partial) {
      per_day[floor_div(from, kMicrosPerDay)] += count_between(conn, where, from, to);
    }
    return per_day;
  }

  bool date_histogram(Connection& conn, const Sql& where, const Aggregation& agg, Targets& targets, int64_t* total) {
    auto bound = [&](const char* order) -> std::optional<int64_t> {
      auto q = conn.use("SELECT c.date FROM crashes AS c WHERE " + where.text + " ORDER BY c.date " + order + " LIMIT 1");
      bind_all(q, where.params);
      if (!q.step()) return std::nullopt;
      return q.int_at(0);
    };
    json list = json::array();
    int64_t sum = 0;
    if (auto lo = bound("ASC")) {
      int64_t hi = bound("DESC").value_or(*lo);
      const int64_t iv = static_cast<int64_t>(agg.interval);
      const int64_t off = agg.weeks ? 4 * kMicrosPerDay : 0;  // 1970-01-05 was a Monday
      if (iv <= 0) return false;
      const int64_t first = *lo - ((((*lo - off) % iv) + iv) % iv);
      if ((hi - first) / iv >= 20000) return false;
      for (int64_t b = first; b <= hi; b += iv) {
        const int64_t count = count_between(conn, where, b, b + iv);
        if (count) list.push_back({{"term", term_of(agg, json(b))}, {"count", count}});
        sum += count;
      }
    }
    for (auto& [path, target] : targets) (*target)[agg.name()] = list;
    if (total) *total += sum;
    return true;
  }

  struct Bucket {
    json key;
    std::string cell;
    int64_t count;
  };

  // The buckets of one aggregation from its counts by key cell: terms by count (ties by key), cut
  // to `facets_size`; histograms by key, all of them.
  static std::vector<Bucket> ranked_buckets(const Aggregation& agg,
                                            const std::unordered_map<std::string, int64_t>& found,
                                            int64_t facets_size) {
    std::vector<Bucket> buckets;
    buckets.reserve(found.size());
    for (const auto& [cell, n] : found) buckets.push_back(Bucket{decode_cell(cell), cell, n});
    if (agg.kind == Aggregation::Kind::kTerms) {
      auto by_count = [](const Bucket& a, const Bucket& b) {
        if (a.count != b.count) return a.count > b.count;
        return key_less(a.key, b.key);
      };
      size_t keep = std::min(buckets.size(), static_cast<size_t>(std::max<int64_t>(facets_size, 0)));
      std::partial_sort(buckets.begin(), buckets.begin() + static_cast<long>(keep), buckets.end(), by_count);
      buckets.resize(keep);
    } else {
      std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return key_less(a.key, b.key); });
    }
    return buckets;
  }

  // True for a top-level aggregation that aggregate_together can count: a list field without
  // sub-aggregations (its column's array is counted element by element), or a scalar field (one
  // key per crash) whose sub-aggregations, if any, are scalar fields without sub-aggregations of
  // their own. A date histogram without sub-aggregations is left to date_histogram, which counts
  // each bucket inside SQLite.
  static bool countable_together(const Aggregation& a) {
    if (a.field->is_list) return a.children.empty();
    for (const auto& child : a.children) {
      if (!child.children.empty() || child.field->is_list) return false;
    }
    return !(a.children.empty() && a.kind == Aggregation::Kind::kHistogram && a.field->name == "date" &&
             a.field->indexed());
  }

  // Counts each element of a list column's array (text) as json_each would give it: a crash
  // counts once per element. List values are arrays of strings (fields.cc convert_value).
  static void count_elements(Use& q, int column, std::unordered_map<std::string, int64_t>& counts) {
    if (q.null_at(column)) return;
    json list = json::parse(q.text_at(column), nullptr, false);
    if (!list.is_array()) return;
    std::string cell;
    for (const auto& e : list) {
      if (!e.is_string()) continue;
      cell.assign(1, 's');
      cell += e.get_ref<const std::string&>();
      ++counts[cell];
    }
  }

  // What aggregate_together counts for one aggregation.
  struct Counted {
    const Aggregation* agg;
    int column;                                     // the parent's key column
    std::unordered_map<std::string, int64_t> counts;  // parent key cell -> count
    // per child: parent key cell -> child key cell -> count
    std::vector<std::unordered_map<std::string, std::unordered_map<std::string, int64_t>>> children;

    void add(const Counted& other) {
      for (const auto& [key, n] : other.counts) counts[key] += n;
      for (size_t k = 0; k < children.size(); ++k) {
        for (const auto& [key, sub] : other.children[k]) {
          auto& mine = children[k][key];
          for (const auto& [child_key, n] : sub) mine[child_key] += n;
        }
      }
    }
  };

  // Counts the rows of `sql` (a SELECT of aggregate_together's columns) into `counted`; returns
  // how many there were.
  int64_t count_rows(Connection& conn, const std::string& sql, const std::vector<json>& params,
                     std::vector<Counted>& counted) {
    auto q = conn.use(sql);
    bind_all(q, params);
    std::string key, child_key;
    int64_t rows = 0;
    while (q.step()) {
      ++rows;
      for (auto& c : counted) {
        if (c.agg->field->is_list) {
          count_elements(q, c.column, c.counts);
          continue;
        }
        key.clear();
        q.append_cell(c.column, key);
        if (key == "n") continue;  // no value: counted in the total, not in a bucket
        ++c.counts[key];
        for (size_t k = 0; k < c.children.size(); ++k) {
          child_key.clear();
          q.append_cell(c.column + 1 + static_cast<int>(k), child_key);
          if (child_key != "n") ++c.children[k][key][child_key];
        }
      }
    }
    return rows;
  }

  // Several top-level aggregations counted in one scan of the matching crashes: each row is read
  // once for all of them, where one query each read it once per aggregation (a signature page asks
  // for a dozen facets and a per-day histogram by version of one signature). Sub-aggregations are
  // counted in the same scan, per key of their parent; the parent's buckets are then ranked and
  // cut as `aggregate` would, and each kept bucket gets its own ranked children, so the answer is
  // the one `aggregate` gives. Also counts every matching crash into `total`.
  //
  // When the query's date range spans a day or more on a machine with several cores, the two
  // halves of the range are counted apart and added: at once, one per connection, when another
  // reader is idle (never waited for), else one after the other. Each crash has one date, so it
  // is counted in exactly one half.
  void aggregate_together(Connection& conn, const SuperSearchQuery& query, const Sql& where,
                          const std::vector<const Aggregation*>& aggs, json& facets, int64_t& total) {
    std::vector<Counted> counted;
    std::string select = "SELECT ";
    int column = 0;
    for (const Aggregation* a : aggs) {
      std::string key, join;
      if (a->field->is_list) {
        key = list_expr(*a->field);  // the array itself, its elements counted below
      } else {
        key_of(*a, 0, key, join);
      }
      select += (column ? ", " : "") + key;
      counted.push_back(Counted{a, column++, {}, {}});
      counted.back().children.resize(a->children.size());
      for (const auto& child : a->children) {
        key_of(child, 1, key, join);
        select += ", " + key;
        ++column;
      }
    }
    select += " FROM crashes AS c WHERE ";
    const int64_t from = query.date_from_us, to = query.date_to_us;  // the parser's [from, to]
    if (!several_cores() || to - from < kMicrosPerDay) {
      total += count_rows(conn, select + where.text, where.params, counted);
    } else {
      // The half's bound first: of several ranges on one indexed column SQLite bounds the index
      // scan by the first it meets (see count_between).
      const int64_t middle = from + (to - from) / 2;
      std::vector<json> params{middle};
      params.insert(params.end(), where.params.begin(), where.params.end());
      std::vector<Counted> later = counted;
      auto rows = both(
          conn, [&](Connection& c) { return count_rows(c, select + "c.date < ? AND " + where.text, params, counted); },
          [&](Connection& c) { return count_rows(c, select + "c.date >= ? AND " + where.text, params, later); });
      for (size_t i = 0; i < counted.size(); ++i) counted[i].add(later[i]);
      total += rows.first + rows.second;
    }
    for (const auto& c : counted) {
      const Aggregation& agg = *c.agg;
      if (agg.kind == Aggregation::Kind::kCardinality) {
        facets[agg.name()] = {{"value", static_cast<int64_t>(c.counts.size())}};
        continue;
      }
      json list = json::array();
      for (const auto& b : ranked_buckets(agg, c.counts, query.facets_size)) {
        json bucket = {{"term", term_of(agg, b.key)}, {"count", b.count}};
        if (!agg.children.empty()) {
          json& sub = bucket["facets"] = json::object();
          for (size_t k = 0; k < agg.children.size(); ++k) {
            const Aggregation& child = agg.children[k];
            auto found = c.children[k].find(b.cell);
            static const std::unordered_map<std::string, int64_t> kNone;
            const auto& child_counts = found == c.children[k].end() ? kNone : found->second;
            if (child.kind == Aggregation::Kind::kCardinality) {
              sub[child.name()] = {{"value", static_cast<int64_t>(child_counts.size())}};
              continue;
            }
            json child_list = json::array();
            for (const auto& cb : ranked_buckets(child, child_counts, query.facets_size)) {
              child_list.push_back({{"term", term_of(child, cb.key)}, {"count", cb.count}});
            }
            sub[child.name()] = std::move(child_list);
          }
        }
        list.push_back(std::move(bucket));
      }
      facets[agg.name()] = std::move(list);
    }
  }

  // Evaluates `agg` under `parents` (one Level per ancestor) and attaches results to the facets
  // objects of the parent buckets (keyed by bucket path, see append_path). Rows are streamed and
  // counted in hash maps: several times cheaper than SQLite's GROUP BY, which sorts.
  //
  // `total` (top level, scalar field only): also counts every matching crash, those without a
  // value included, so the search needs no separate COUNT scan.
  void aggregate(Connection& conn, const SuperSearchQuery& query, const Sql& where, const Aggregation& agg,
                 std::vector<Level>& parents, Targets& targets, int64_t* total = nullptr) {
    if (targets.empty()) return;
    if (parents.empty() && agg.children.empty() && agg.kind == Aggregation::Kind::kHistogram &&
        agg.field->name == "date" && agg.field->indexed() && date_histogram(conn, where, agg, targets, total)) {
      return;
    }
    Level self{&agg, "", "", json::array()};
    key_of(agg, parents.size(), self.key, self.join);
    Sql sql;
    sql << "SELECT ";
    for (const auto& p : parents) sql << p.key << ", ";
    sql << self.key << " FROM crashes AS c";
    for (const auto& p : parents) sql << p.join;
    sql << self.join << " WHERE " << where.text;
    sql.params = where.params;
    for (const auto& p : parents) {
      sql << " AND " << p.key << " IS NOT NULL";
      if (p.agg->kind == Aggregation::Kind::kTerms) {
        sql << " AND " << p.key << " IN (SELECT value FROM json_each(";
        sql.param(p.kept) << "))";
      }
    }
    if (!total) sql << " AND " << self.key << " IS NOT NULL";
    const bool cardinality = agg.kind == Aggregation::Kind::kCardinality;
    const int self_column = static_cast<int>(parents.size());
    // path -> key cell -> count (cardinality: the distinct keys, counts unused)
    std::unordered_map<std::string, std::unordered_map<std::string, int64_t>> counts;
    {
      auto q = conn.use(sql.text);
      bind_all(q, sql.params);
      std::string path, cell, key;
      // Top level: one bucket map, and a run of equal keys (a histogram over the date index)
      // counted without a lookup each.
      auto& top = counts[""];
      int64_t* last = nullptr;
      std::string last_key;
      while (q.step()) {
        if (parents.empty()) {
          key.clear();
          q.append_cell(self_column, key);
          if (total) {
            ++*total;
            if (key == "n") continue;  // no value: counted in the total, not in a bucket
          }
          if (!last || key != last_key) {
            last = &top[key];
            last_key = key;
          }
          ++*last;
          continue;
        }
        path.clear();
        for (int i = 0; i < self_column; ++i) {
          cell.clear();
          q.append_cell(i, cell);
          append_path(path, cell);
        }
        if (!parents.empty() && !targets.count(path)) continue;  // kept keys that were not kept together
        key.clear();
        q.append_cell(self_column, key);
        if (total) {
          ++*total;
          if (key == "n") continue;  // no value: counted in the total, not in a bucket
        }
        ++counts[path][key];
      }
    }
    Targets child_targets;
    std::set<std::string> kept_keys;
    for (auto& [path, target] : targets) {
      auto& found = counts[path];
      if (cardinality) {
        (*target)[agg.name()] = {{"value", static_cast<int64_t>(found.size())}};
        continue;
      }
      std::vector<Bucket> buckets = ranked_buckets(agg, found, query.facets_size);
      json list = json::array();
      for (const auto& b : buckets) {
        json j = {{"term", term_of(agg, b.key)}, {"count", b.count}};
        if (!agg.children.empty()) j["facets"] = json::object();
        list.push_back(std::move(j));
      }
      json& placed = (*target)[agg.name()] = std::move(list);
      if (agg.children.empty()) continue;
      for (size_t i = 0; i < buckets.size(); ++i) {
        std::string child_path = path;
        append_path(child_path, buckets[i].cell);
        child_targets[child_path] = &placed[i]["facets"];
        if (kept_keys.insert(buckets[i].cell).second) self.kept.push_back(buckets[i].key);
      }
    }
    if (agg.children.empty() || child_targets.empty()) return;
    parents.push_back(std::move(self));
    for (const auto& child : agg.children) aggregate(conn, query, where, child, parents, child_targets);
    parents.pop_back();
  }
};

SqliteCrashIndex::SqliteCrashIndex(const IndexSettings& settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
  impl_->catalogue = settings.fields ? settings.fields : FieldCatalogue::builtin();
  impl_->columns = column_list(*impl_->catalogue);
  impl_->build_row_statements();
  const auto& path = settings.sqlite_path;
  if (path.empty()) throw IndexUnavailable("sqlite index: no file path");
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  impl_->writer = open_connection(path);
  impl_->migrate();
  auto& w = *impl_->writer;
  w.exec("PRAGMA synchronous=NORMAL");
  // The hot index pages of a busy index (index.sqlite_cache_size; negative: KiB).
  const int64_t cache_kib = static_cast<int64_t>(settings.sqlite_cache_bytes >> 10);
  w.exec("PRAGMA cache_size=-" + std::to_string(cache_kib));
  // Upserts probe the uuid and signature indexes at random: mapped pages spare a read() per miss.
  w.exec("PRAGMA mmap_size=1073741824");
  // Checkpoint every 32 MiB of WAL rather than 4 MiB: the hot index and rollup pages a stream of
  // batches keeps changing are copied back (and synced) once per checkpoint, not once per 4 MiB.
  w.exec("PRAGMA wal_autocheckpoint=8192");
  w.exec("PRAGMA temp_store=MEMORY");
  w.exec("PRAGMA analysis_limit=1000");
  w.exec("PRAGMA optimize");
  // Every catalogue column must exist in the table (a site cannot index new columns by config).
  std::set<std::string> present;
  {
    auto q = w.use("SELECT name FROM pragma_table_info('crashes')");
    while (q.step()) present.insert(q.text_at(0));
  }
  for (const auto& f : impl_->catalogue->all()) {
    std::string column = stored_column(f);
    if (!column.empty() && !present.count(column)) {
      throw IndexUnavailable("sqlite index: column " + column + " of field " + f.name + " is missing from the schema");
    }
  }
  int readers = std::max(1, settings.readers);
  for (int i = 0; i < readers; ++i) {
    auto c = open_connection(path);
    c->exec("PRAGMA cache_size=-" + std::to_string(std::max<int64_t>(cache_kib / 2, 1)));
    c->exec("PRAGMA temp_store=MEMORY");
    // Searches scan index ranges: mapped pages skip a copy per page read.
    c->exec("PRAGMA mmap_size=1073741824");
    impl_->idle.push_back(std::move(c));
  }
}

SqliteCrashIndex::~SqliteCrashIndex() = default;

const FieldCatalogue& SqliteCrashIndex::fields() const { return *impl_->catalogue; }

int SqliteCrashIndex::schema_version() {
  Impl::Reader r(*impl_);
  auto q = r->use("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  return q.step() ? static_cast<int>(q.int_at(0)) : 0;
}

void SqliteCrashIndex::upsert_batch(std::span<const CrashInput> crashes) {
  if (crashes.empty()) return;
  // Validate everything before writing anything.
  std::vector<CrashRow> rows;
  rows.reserve(crashes.size());
  for (const auto& c : crashes) rows.push_back(extract_row(*impl_->catalogue, c.processed, c.raw));

  std::lock_guard lock(impl_->write_mutex);
  Transaction tx(*impl_->writer);
  Impl::Deltas deltas;
  for (const auto& row : rows) {
    int64_t rid = impl_->forget(row.uuid, deltas, false);
    impl_->write_row(row, rid);
    impl_->write_missing_modules(row);
    deltas.add(row.product, row.version, row.day, row.process_type, row.platform, row.signature, 1);
    auto [it, fresh] = deltas.first_seen.try_emplace(row.signature, row.day, row.build_id);
    if (!fresh && row.day < it->second.first) it->second = {row.day, row.build_id};
  }
  impl_->apply(deltas);
  tx.commit();
  impl_->remember(deltas);
  impl_->rows_since_optimize += rows.size();
  if (impl_->rows_since_optimize >= 100000) {
    // Keeps the planner's statistics current as the index grows (cheap with analysis_limit).
    impl_->rows_since_optimize = 0;
    impl_->writer->exec("PRAGMA optimize");
  }
}

std::optional<json> SqliteCrashIndex::get(std::string_view crash_id, const Permissions& permissions) {
  auto id = backend::crash_id_for_lookup(crash_id);
  auto cols = backend::visible_fields(*impl_->catalogue, permissions);
  Impl::Reader r(*impl_);
  int doc_column = -1;
  std::string sel = backend::select_list(cols, doc_column, "c.rid", stored_column);
  auto q = r->use("SELECT " + sel + " FROM crashes AS c WHERE c.uuid = ?");
  q.bind(1, id.str());
  if (!q.step()) return std::nullopt;
  json hit = impl_->hit_from(q, cols, doc_column);
  backend::drop_null_members(hit);
  return hit;
}

bool SqliteCrashIndex::remove(std::string_view crash_id) {
  auto id = CrashId::parse(crash_id);
  if (!id) return false;
  std::lock_guard lock(impl_->write_mutex);
  Transaction tx(*impl_->writer);
  Impl::Deltas deltas;
  bool found = impl_->forget(id->str(), deltas, true) != 0;
  impl_->apply(deltas);
  tx.commit();
  return found;
}

json SqliteCrashIndex::execute(const SuperSearchQuery& query) {
  Sql where;
  where << "1";
  for (const auto& f : query.filters) {
    where << " AND ";
    filter_condition(where, f);
  }
  Impl::Reader r(*impl_);
  json out = {{"hits", json::array()}, {"total", 0}, {"facets", json::object()}, {"errors", json::array()}};
  const auto plan = backend::day_rollup_plan(query);
  Impl::Targets top{{"", &out["facets"]}};
  std::vector<Impl::Level> parents;
  // Two or more aggregations that can share a scan share one, and it counts the total on its way;
  // so does one with sub-aggregations (one scan instead of one per level).
  std::vector<const Aggregation*> together;
  bool nested = false;
  for (const auto& a : query.aggregations) {
    if (plan || !Impl::countable_together(a)) continue;
    together.push_back(&a);
    nested = nested || !a.children.empty();
  }
  if (together.size() < 2 && !nested) together.clear();
  // Otherwise the first scalar aggregation counts the total on its way (one scan instead of two).
  const size_t counted_by =
      together.empty() ? backend::total_counting_aggregation(query) : query.aggregations.size();
  if (plan) {
    backend::fill_from_day_counts(query, impl_->day_counts(*r, *plan, where), out);
  } else if (!together.empty()) {
    int64_t total = 0;
    impl_->aggregate_together(*r, query, where, together, out["facets"], total);
    out["total"] = total;
  } else if (counted_by < query.aggregations.size()) {
    int64_t total = 0;
    impl_->aggregate(*r, query, where, query.aggregations[counted_by], parents, top, &total);
    out["total"] = total;
  } else {
    auto q = r->use("SELECT COUNT(*) FROM crashes AS c WHERE " + where.text);
    impl_->bind_all(q, where.params);
    if (q.step()) out["total"] = q.int_at(0);
  }
  if (query.results_number > 0 && out["total"].get<int64_t>() > query.results_offset) {
    int doc_column = -1;
    std::string sel = backend::select_list(query.columns, doc_column, "c.rid", stored_column);
    Sql sql;
    sql << "SELECT " << sel << " FROM crashes AS c WHERE " << where.text << " ORDER BY ";
    sql.params = where.params;
    sql << backend::order_by_terms(query.sort, scalar_expr) << "c.uuid ASC LIMIT ";
    sql.param(static_cast<int64_t>(query.results_number)) << " OFFSET ";
    sql.param(static_cast<int64_t>(query.results_offset));
    auto q = r->use(sql.text);
    impl_->bind_all(q, sql.params);
    json& hits = out["hits"];
    while (q.step()) hits.push_back(impl_->hit_from(q, query.columns, doc_column));
  }
  for (size_t i = 0; i < query.aggregations.size(); ++i) {
    const Aggregation& a = query.aggregations[i];
    const bool counted = std::find(together.begin(), together.end(), &a) != together.end();
    if (!plan && i != counted_by && !counted) impl_->aggregate(*r, query, where, a, parents, top);
  }
  return out;
}

TopCrashersResult SqliteCrashIndex::top_crashers(const TopCrashersQuery& query) {
  query.validate();
  TopCrashersResult result;
  const auto days = backend::top_crashers_days(query, result);
  const int64_t start_day = days.start_day, end_day = days.end_day;

  Impl::Reader r(*impl_);
  // A handful of platforms per signature: a vector beats a map.
  using Platforms = std::vector<std::pair<std::string, int64_t>>;
  using Entry = backend::SignatureCount<Platforms>;
  auto period = [&](Connection& conn, int64_t from, int64_t to, int64_t& total) {
    Sql sql;
    sql << "SELECT signature, platform, count FROM ";
    sql << (query.versions.empty() ? "topcrash_daily_all" : "topcrash_daily") << " WHERE product = ";
    sql.param(query.product);
    if (!query.versions.empty()) {
      json vs = json::array();
      for (const auto& v : query.versions) vs.push_back(v);
      sql << " AND version IN (SELECT value FROM json_each(";
      sql.param(vs) << "))";
    }
    sql << " AND day >= ";
    sql.param(from) << " AND day <= ";
    sql.param(to);
    if (!query.process_type.empty()) {
      sql << " AND process_type = ";
      sql.param(query.process_type);
    }
    if (!query.platform.empty()) {
      sql << " AND platform = ";
      sql.param(query.platform);
    }
    // Rows are summed here rather than by GROUP BY (which sorts): several times faster. Looked up
    // by the column's own bytes: no string is made for a signature already seen.
    std::unordered_map<std::string, Entry, ViewHash, std::equal_to<>> entries;
    auto q = conn.use(sql.text);
    impl_->bind_all(q, sql.params);
    total = 0;
    while (q.step()) {
      std::string_view signature = q.view_at(0), platform = q.view_at(1);
      auto found = entries.find(signature);
      if (found == entries.end()) found = entries.emplace(std::string(signature), Entry{}).first;
      auto& e = found->second;
      int64_t n = q.int_at(2);
      e.count += n;
      auto it = std::find_if(e.platforms.begin(), e.platforms.end(), [&](const auto& p) { return p.first == platform; });
      if (it == e.platforms.end()) {
        e.platforms.emplace_back(platform, n);
      } else {
        it->second += n;
      }
      total += n;
    }
    backend::RankedSignatures<Platforms> ranked;
    ranked.reserve(entries.size());
    for (auto& [sig, e] : entries) ranked.emplace_back(sig, std::move(e));
    backend::rank_signatures(ranked);
    return ranked;
  };
  if (query.versions.empty() && query.process_type.empty()) {
    // The default view: the narrow rollup keyed by signature id (migration 3).
    auto by_id = [&](Connection& conn, int64_t from, int64_t to) {
      Sql sql;
      sql << "SELECT sig, platform, count FROM topcrash_signature_daily WHERE product = ";
      sql.param(query.product) << " AND day >= ";
      sql.param(from) << " AND day <= ";
      sql.param(to);
      if (!query.platform.empty()) {
        sql << " AND platform = ";
        sql.param(query.platform);
      }
      backend::IdCounts counts;
      auto q = conn.use(sql.text);
      impl_->bind_all(q, sql.params);
      while (q.step()) counts[q.int_at(0)].add(q.view_at(1), q.int_at(2));
      return counts;
    };
    // The two periods are read on two readers at once when a second is idle.
    auto periods = impl_->both(
        *r, [&](Connection& conn) { return by_id(conn, start_day, end_day); },
        [&](Connection& conn) { return by_id(conn, start_day - query.days, start_day - 1); });
    backend::fill_top_crashers_by_id(result, periods.first, periods.second, query.limit, [&](const std::vector<int64_t>& ids) {
      std::unordered_map<int64_t, std::string> names;
      json list = json::array();
      for (int64_t id : ids) list.push_back(id);
      auto q = r->use("SELECT id, signature FROM signature_ids WHERE id IN (SELECT value FROM json_each(?))");
      q.bind_json(1, list);
      while (q.step()) names.emplace(q.int_at(0), q.text_at(1));
      return names;
    });
  } else {
    auto periods = impl_->both(
        *r, [&](Connection& conn) { return period(conn, start_day, end_day, result.total); },
        [&](Connection& conn) { return period(conn, start_day - query.days, start_day - 1, result.previous_total); });
    backend::fill_top_crashers(result, std::move(periods.first), periods.second, query.limit);
  }
  json sigs = json::array();
  for (const auto& c : result.crashers) sigs.push_back(c.signature);
  if (!sigs.empty()) {
    std::unordered_map<std::string, int64_t> first;
    auto q = r->use("SELECT signature, first_day FROM signature_first_seen WHERE signature IN (SELECT value FROM json_each(?))");
    q.bind_json(1, sigs);
    while (q.step()) first[q.text_at(0)] = q.int_at(1);
    for (auto& c : result.crashers) {
      if (auto it = first.find(c.signature); it != first.end()) c.first_seen = format_day(it->second);
    }
  }
  return result;
}

uint64_t SqliteCrashIndex::drop_older_than(std::chrono::system_clock::time_point cutoff) {
  int64_t cutoff_us = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
  uint64_t removed = 0;
  // In chunks, each its own transaction, so ingestion is never blocked for long.
  for (;;) {
    std::lock_guard lock(impl_->write_mutex);
    auto& w = *impl_->writer;
    Transaction tx(w);
    Impl::Deltas deltas;
    std::vector<int64_t> rids;
    {
      auto q = w.use("SELECT rid, product, version, date, process_type, platform, signature FROM crashes "
                     "WHERE date < ? ORDER BY date LIMIT 5000");
      q.bind(1, cutoff_us);
      while (q.step()) {
        rids.push_back(q.int_at(0));
        deltas.add(q.text_at(1), q.text_at(2), floor_div(q.int_at(3), kMicrosPerDay), q.text_at(4), q.text_at(5),
                   q.text_at(6), -1);
      }
    }
    if (rids.empty()) break;
    for (int64_t rid : rids) w.use("DELETE FROM crashes WHERE rid = ?").bind(1, rid).step();
    w.use("DELETE FROM missing_symbols WHERE date < ?").bind(1, cutoff_us).step();
    impl_->apply(deltas);
    tx.commit();
    removed += rids.size();
  }
  return removed;
}

std::vector<MissingSymbol> SqliteCrashIndex::missing_symbols(const MissingSymbolsQuery& query) {
  query.validate();
  auto [from, to] = backend::missing_symbols_period(query);
  Impl::Reader r(*impl_);
  auto q = r->use(
      "SELECT debug_file, debug_id, max(code_file), max(code_id), count(*), max(date) FROM missing_symbols "
      "WHERE date >= ? AND date < ? GROUP BY debug_file, debug_id ORDER BY count(*) DESC, debug_file, debug_id LIMIT ?");
  q.bind(1, from).bind(2, to).bind(3, static_cast<int64_t>(query.limit));
  std::vector<MissingSymbol> out;
  while (q.step()) {
    out.push_back({q.text_at(0), q.text_at(1), q.text_at(2), q.text_at(3), q.int_at(4), format_date_us(q.int_at(5))});
  }
  return out;
}

std::vector<std::string> SqliteCrashIndex::crashes_missing_symbols(std::string_view debug_file,
                                                                   std::string_view debug_id, size_t limit) {
  Impl::Reader r(*impl_);
  auto q = r->use("SELECT uuid FROM missing_symbols WHERE debug_file = ? AND debug_id = ? ORDER BY date DESC, uuid LIMIT ?");
  q.bind(1, debug_file).bind(2, backend::upper_case(debug_id)).bind(3, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.text_at(0));
  return out;
}

uint64_t SqliteCrashIndex::count() {
  Impl::Reader r(*impl_);
  auto q = r->use("SELECT COUNT(*) FROM crashes");
  return q.step() ? static_cast<uint64_t>(q.int_at(0)) : 0;
}

std::vector<ProductVersionDay> SqliteCrashIndex::product_version_days(int64_t first_day) {
  Impl::Reader r(*impl_);
  auto q = r->use("SELECT product, version, day, count FROM product_version_daily WHERE day >= ? AND count > 0 "
                  "ORDER BY product, version, day");
  q.bind(1, first_day);
  std::vector<ProductVersionDay> rows;
  while (q.step()) rows.push_back(ProductVersionDay{q.text_at(0), q.text_at(1), q.int_at(2), q.int_at(3)});
  return rows;
}

uint64_t SqliteCrashIndex::stored_bytes() {
  const auto& path = impl_->settings.sqlite_path;
  uint64_t bytes = 0;
  try {
    for (const char* suffix : {"", "-wal", "-shm"}) bytes += measure_disk_usage(path.string() + suffix).bytes;
  } catch (const std::exception& e) {
    throw IndexUnavailable(std::string("measuring the index file: ") + e.what());
  }
  return bytes;
}

}  // namespace bw::index
