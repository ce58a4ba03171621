#include "index/postgres_crash_index.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/crash_id.h"
#include "core/log.h"
#include "index/backend_support.h"
#include "index/fields.h"
#include "index/migrations.h"
#include "index/super_search_query.h"
#include "index/topcrash_day_cache.h"
#include "pg/connection.h"

namespace bw::index {
namespace {

using json = nlohmann::json;

// Advisory lock keys (any constants private to Breakwater): one serializes writers of every
// process, the other migrations.
constexpr const char* kWriteLock = "SELECT pg_advisory_xact_lock(7160529375421190001)";
constexpr int64_t kMigrationLock = 7160529375421190002;
// A search running longer than this is cancelled by the server (IndexUnavailable), as SQLite's.
constexpr std::chrono::milliseconds kStatementTimeout{30000};
constexpr size_t kMaxRegexCandidates = 1'000'000;
// `~`, `^` and `$` on signature first look for the matching signatures among every signature
// ever indexed (signature_first_seen); up to this many, the crashes are then found by the
// (signature, date) index instead of a pattern test on every crash of the date range.
constexpr size_t kMaxSignatureCandidates = 2000;
constexpr int64_t kRetentionChunk = 5000;

// ----- values -----

// PostgreSQL text holds neither NUL nor invalid UTF-8 (SQLite keeps both): such bytes become
// U+FFFD, so a crash is never refused for them.
bool valid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || i + len > n) return false;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c1 & 0xC0) != 0x80) return false;
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) {
      return false;
    }
    for (size_t k = 2; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

std::string pg_text(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c != 0 && i + len <= s.size() && valid_utf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// The same, through a JSON value (strings anywhere inside).
void sanitize(json& v) {
  if (v.is_string()) {
    auto& s = v.get_ref<std::string&>();
    if (!valid_utf8(s)) s = pg_text(s);
  } else if (v.is_array()) {
    for (auto& e : v) sanitize(e);
  } else if (v.is_object()) {
    json clean = json::object();
    for (auto& [k, e] : v.items()) {
      sanitize(e);
      clean[pg_text(k)] = std::move(e);
    }
    v = std::move(clean);
  }
}

std::string double_text(double d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// A JSON scalar as a text-format parameter value.
std::string param_text(const json& v) {
  if (v.is_string()) return pg_text(v.get_ref<const std::string&>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return double_text(v.get<double>());
  return v.dump();
}

// A PostgreSQL array literal ({"a","b",NULL}); bound as one parameter, never spliced into SQL.
class ArrayLiteral {
 public:
  ArrayLiteral() { text_ = "{"; }
  void add_null() { sep() += "NULL"; }
  void add_text(std::string_view s) {
    std::string& t = sep();
    t += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') t += '\\';
      t += c;
    }
    t += '"';
  }
  void add_int(int64_t v) { sep() += std::to_string(v); }
  void add(const json& v) {
    if (v.is_null()) {
      add_null();
    } else if (v.is_string()) {
      add_text(pg_text(v.get_ref<const std::string&>()));
    } else {
      add_text(param_text(v));  // quoted numbers and booleans read fine as any element type
    }
  }
  std::string str() const { return text_ + "}"; }
  bool empty() const { return count_ == 0; }

 private:
  std::string& sep() {
    if (count_++) text_ += ',';
    return text_;
  }
  std::string text_;
  size_t count_ = 0;
};

// The PostgreSQL type of a field's values.
const char* pg_type(const Field& f) {
  switch (f.type) {
    case FieldType::kString:
    case FieldType::kEnum: return "text";
    case FieldType::kInteger:
    case FieldType::kDate: return "bigint";
    case FieldType::kFloat: return "float8";
    case FieldType::kBoolean: return "boolean";
  }
  return "text";
}

// A value read back in text format, typed by its PostgreSQL type.
json from_pg(std::string_view type, const char* text) {
  std::string_view t(text);
  if (type == "bigint") {
    int64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }
  if (type == "float8") return std::strtod(text, nullptr);
  if (type == "boolean") return t == "t";
  return std::string(t);
}

// A document key in SQL: catalogue names are [A-Za-z0-9_-] (fields.cc); quotes are doubled all
// the same, so no name could ever end the literal.
std::string doc_key(const Field& f) {
  std::string out = "'";
  for (char c : f.name) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The SQL expression of a non-list field, typed (document values are cast from their text).
std::string scalar_expr(const Field& f) {
  if (f.indexed()) return "c." + f.column;
  std::string v = "(c.doc->>" + doc_key(f) + ")";
  switch (f.type) {
    case FieldType::kString:
    case FieldType::kEnum: return "(" + v + " COLLATE \"C\")";
    default: return "(" + v + "::" + pg_type(f) + ")";
  }
}

// LIKE pattern for a literal: the wildcards and the escape character itself escaped.
std::string like_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// SQL text with $n placeholders; values go to params (text format, NULL as nullopt).
struct Sql {
  std::string text;
  std::vector<std::optional<std::string>> params;
  Sql& operator<<(std::string_view s) {
    text += s;
    return *this;
  }
  Sql& param(std::optional<std::string> v, std::string_view type) {
    params.push_back(std::move(v));
    text += "$" + std::to_string(params.size()) + "::" + std::string(type);
    return *this;
  }
};

// ----- connections -----

// What the index throws for a PostgreSQL failure (pg::Error turned into the contract's
// IndexUnavailable by with_connection), its SQLSTATE kept for the one caller that retries on one.
class PgError : public IndexUnavailable {
 public:
  PgError(const std::string& what, std::string sqlstate) : IndexUnavailable(what), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

using pg::Result;
using pg::Transaction;

// A connection that also runs the index's Sql (text and parameters).
class Connection : public pg::Connection {
 public:
  using pg::Connection::Connection;
  using pg::Connection::run;
  Result run(const Sql& sql) { return run(sql.text, sql.params); }
};

class Pool {
 public:
  Pool(std::string url, size_t max) : url_(std::move(url)), max_(std::max<size_t>(1, max)) {}

  // An idle connection, a new one while fewer than `max` are open, or (when `fresh`, after a
  // failure) always a new one. Throws IndexUnavailable when the server cannot be reached.
  std::unique_ptr<Connection> acquire(bool fresh) {
    {
      std::unique_lock lock(mutex_);
      if (!fresh) {
        cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
        while (!idle_.empty()) {
          auto c = std::move(idle_.back());
          idle_.pop_back();
          if (!c->broken()) return c;
          --open_;
        }
      }
      ++open_;
    }
    try {
      return connect();
    } catch (...) {
      std::lock_guard lock(mutex_);
      --open_;
      cv_.notify_one();
      throw;
    }
  }

  void release(std::unique_ptr<Connection> c, bool broken) {
    std::lock_guard lock(mutex_);
    if (broken || c->broken()) {
      c.reset();
      --open_;
      // A lost connection usually means every connection to that server is lost.
      open_ -= idle_.size();
      idle_.clear();
    } else {
      idle_.push_back(std::move(c));
    }
    cv_.notify_all();
  }

 private:
  std::unique_ptr<Connection> connect() {
    return std::make_unique<Connection>(pg::ConnectOptions{url_, "breakwater-index", "postgres index", kStatementTimeout});
  }

  std::string url_;
  size_t max_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;
};

// A rollup key: (product, version, day, process_type, platform, signature).
using RollupKey = std::tuple<std::string, std::string, int64_t, std::string, std::string, std::string>;

struct Deltas {
  std::map<RollupKey, int64_t> rollup;
  std::map<std::string, std::pair<int64_t, std::string>> first_seen;  // signature -> (day, build)

  void add(const std::string& product, const std::string& version, int64_t day, const std::string& process_type,
           const std::string& platform, const std::string& signature, int64_t d) {
    rollup[RollupKey{product, version, day, process_type, platform, signature}] += d;
  }
  // A deleted row's contribution, from the columns product, version, date, process_type,
  // platform, signature (from `col` on) of a result row.
  void subtract_row(const Result& r, int row, int col) {
    auto text = [&](int k) { return r.null_at(row, col + k) ? std::string() : r.text(row, col + k); };
    add(text(0), text(1), floor_div(r.int_at(row, col + 2), kMicrosPerDay), text(3), text(4), text(5), -1);
  }
};

// Orders keys: strings bytewise, numbers numerically (both backends must agree).
bool key_less(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() < b.get<double>();
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  return a.type() < b.type();
}

// Partitions: weeks start on Monday; 1970-01-05 (day 4) was one.
int64_t week_start_day(int64_t day) { return floor_div(day - 4, 7) * 7 + 4; }

std::string partition_name(int64_t start_day) {
  std::string name = "crashes_w";
  if (start_day >= days_from_civil(1000, 1, 1) && start_day <= days_from_civil(9999, 12, 31)) {
    for (char c : format_day(start_day)) {
      if (c != '-') name += c;
    }
  } else {
    name += (start_day < 0 ? "m" : "p") + std::to_string(start_day < 0 ? -start_day : start_day);
  }
  return name;
}

// A partition bound in microseconds, or MINVALUE/MAXVALUE past the int64 range (only absurd
// dates get there).
std::string bound_text(int64_t day) {
  int64_t us = 0;
  if (__builtin_mul_overflow(day, kMicrosPerDay, &us)) return day < 0 ? "MINVALUE" : "MAXVALUE";
  return std::to_string(us);
}

}  // namespace

int64_t postgres_partition_start_day(int64_t date_us) { return week_start_day(floor_div(date_us, kMicrosPerDay)); }

struct PostgresCrashIndex::Impl {
  IndexSettings settings;
  std::shared_ptr<const FieldCatalogue> catalogue;
  std::unique_ptr<Pool> pool;
  std::vector<const Field*> column_fields;  // indexed fields, catalogue order
  std::string insert_sql;                   // the batch INSERT into crashes
  std::mutex write_mutex;
  std::set<int64_t> known_partitions;       // start days; guarded by write_mutex
  TopcrashDayCache topcrash_days_held;      // Top Crashers' days (index/topcrash_day_cache.h)

  // Runs `op` on a pooled connection; when the connection turns out lost, once more on a new
  // one. Other failures and a second loss are IndexUnavailable (PgError).
  template <typename F>
  auto with_connection(F&& op) -> decltype(op(std::declval<Connection&>())) {
    try {
      return with_connection_retried(op);
    } catch (const pg::Error& e) {
      throw PgError(e.what(), e.sqlstate());
    }
  }

  template <typename F>
  auto with_connection_retried(F& op) -> decltype(op(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> c = pool->acquire(attempt > 0);
      bool broken = false;
      try {
        auto release = [&] { pool->release(std::move(c), broken); };
        if constexpr (std::is_void_v<decltype(op(*c))>) {
          op(*c);
          release();
          return;
        } else {
          auto result = op(*c);
          release();
          return result;
        }
      } catch (const pg::Error& e) {
        broken = e.lost();
        if (c) pool->release(std::move(c), broken);
        if (!e.lost() || attempt > 0) throw;
        logger("index")->warn("postgres index: connection lost ({}); retrying on a new connection", e.what());
      } catch (...) {
        if (c) pool->release(std::move(c), false);
        throw;
      }
    }
  }

  void migrate(Connection& c) {
    pg::migrate(c, kMigrationLock, "schema_version", postgres_migrations(), [](const Migration& m) {
      logger("index")->info("postgres index: applied migration {} ({})", m.version, m.name);
    });
  }

  void load_partitions(Connection& c) {
    Result r = c.run(
        "SELECT pg_get_expr(p.relpartbound, p.oid) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid "
        "WHERE i.inhparent = 'crashes'::regclass",
        {});
    known_partitions.clear();
    for (int i = 0; i < r.rows(); ++i) {
      // "FOR VALUES FROM ('1764547200000000') TO ('...')"
      std::string bound = r.text(i, 0);
      size_t at = bound.find("FROM (");
      if (at == std::string::npos) continue;
      at += 6;
      while (at < bound.size() && bound[at] == '\'') ++at;
      int64_t lo = 0;
      auto [p, ec] = std::from_chars(bound.data() + at, bound.data() + bound.size(), lo);
      if (ec == std::errc()) known_partitions.insert(week_start_day(floor_div(lo, kMicrosPerDay)));
      (void)p;
    }
  }

  // Creates the missing weekly partitions (their own short transaction: creating one locks the
  // parent table). DDL cannot take parameters; the bounds are integers computed here.
  void ensure_partitions(Connection& c, const std::set<int64_t>& weeks) {
    std::vector<int64_t> missing;
    for (int64_t w : weeks) {
      if (!known_partitions.count(w)) missing.push_back(w);
    }
    if (missing.empty()) return;
    Transaction tx(c);
    c.exec(kWriteLock);
    for (int64_t w : missing) {
      c.exec("CREATE TABLE IF NOT EXISTS " + partition_name(w) + " PARTITION OF crashes FOR VALUES FROM (" +
             bound_text(w) + ") TO (" + bound_text(w + 7) + ")");
    }
    tx.commit();
    for (int64_t w : missing) known_partitions.insert(w);
  }

  // Applies rollup and first-seen deltas inside the caller's transaction. Both Top Crashers
  // rollups key signatures by their id in signature_ids (migration 8): new signatures get one first.
  void apply(Connection& c, const Deltas& deltas) {
    std::set<std::string> signatures;
    ArrayLiteral product, version, day, process_type, platform, signature, count;
    ArrayLiteral nproduct, nversion, nday, nprocess_type, nplatform, nsignature;  // keys that went down
    for (const auto& [k, d] : deltas.rollup) {
      if (d == 0) continue;
      const auto& [p, v, dy, pt, pl, s] = k;
      signatures.insert(s);
      product.add_text(p), version.add_text(v), day.add_int(dy), process_type.add_text(pt), platform.add_text(pl),
          signature.add_text(s), count.add_int(d);
      if (d < 0) {
        nproduct.add_text(p), nversion.add_text(v), nday.add_int(dy), nprocess_type.add_text(pt),
            nplatform.add_text(pl), nsignature.add_text(s);
      }
    }
    if (!signatures.empty()) {
      ArrayLiteral names;
      for (const auto& s : signatures) names.add_text(s);
      c.run("INSERT INTO signature_ids(signature) SELECT * FROM unnest($1::text[]) ON CONFLICT (signature) DO NOTHING",
            {names.str()});
    }
    if (!product.empty()) {
      c.run("INSERT INTO topcrash_daily AS t(product, version, day, process_type, platform, sig, count) "
            "SELECT k.product, k.version, k.day, k.process_type, k.platform, s.id, k.count "
            "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[]) "
            "AS k(product, version, day, process_type, platform, signature, count), signature_ids AS s "
            "WHERE s.signature = k.signature "
            "ON CONFLICT (product, version, day, process_type, platform, sig) "
            "DO UPDATE SET count = t.count + EXCLUDED.count",
            {product.str(), version.str(), day.str(), process_type.str(), platform.str(), signature.str(),
             count.str()});
    }
    if (!nproduct.empty()) {
      c.run("DELETE FROM topcrash_daily AS t USING unnest($1::text[], $2::text[], $3::bigint[], $4::text[], "
            "$5::text[], $6::text[]) AS k(product, version, day, process_type, platform, signature), signature_ids AS s "
            "WHERE s.signature = k.signature AND t.product = k.product AND t.version = k.version AND t.day = k.day AND "
            "t.process_type = k.process_type AND t.platform = k.platform AND t.sig = s.id AND t.count <= 0",
            {nproduct.str(), nversion.str(), nday.str(), nprocess_type.str(), nplatform.str(), nsignature.str()});
    }
    // Crashes per product, version and day (migration 6): the home page's charts.
    std::map<std::tuple<std::string, std::string, int64_t>, int64_t> by_version;
    for (const auto& [k, d] : deltas.rollup) {
      const auto& [p, v, dy, pt, pl, s] = k;
      if (d != 0) by_version[{p, v, dy}] += d;
    }
    ArrayLiteral vproduct, vversion, vday, vcount, wproduct, wversion, wday;
    for (const auto& [k, d] : by_version) {
      if (d == 0) continue;
      const auto& [p, v, dy] = k;
      vproduct.add_text(p), vversion.add_text(v), vday.add_int(dy), vcount.add_int(d);
      if (d < 0) wproduct.add_text(p), wversion.add_text(v), wday.add_int(dy);
    }
    if (!vproduct.empty()) {
      c.run("INSERT INTO product_version_daily AS t(product, version, day, count) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) "
            "ON CONFLICT (product, version, day) DO UPDATE SET count = t.count + EXCLUDED.count",
            {vproduct.str(), vversion.str(), vday.str(), vcount.str()});
    }
    if (!wproduct.empty()) {
      c.run("DELETE FROM product_version_daily AS t USING unnest($1::text[], $2::text[], $3::bigint[]) "
            "AS k(product, version, day) "
            "WHERE t.product = k.product AND t.version = k.version AND t.day = k.day AND t.count <= 0",
            {wproduct.str(), wversion.str(), wday.str()});
    }
    // Every version's rollup (migrations 3 and 8), which Top Crashers without a version reads.
    std::map<std::tuple<std::string, int64_t, std::string, std::string, std::string>, int64_t> by_signature;
    for (const auto& [k, d] : deltas.rollup) {
      const auto& [p, v, dy, pt, pl, s] = k;
      if (d != 0) by_signature[{p, dy, s, pl, pt}] += d;
    }
    ArrayLiteral sproduct, sday, ssignature, splatform, sprocess_type, scount;
    ArrayLiteral tproduct, tday, tsignature, tplatform, tprocess_type;  // keys that went down
    std::set<std::pair<std::string, int64_t>> changed_days;  // product, day: each gets a new version
    for (const auto& [k, d] : by_signature) {
      if (d == 0) continue;
      const auto& [p, dy, s, pl, pt] = k;
      sproduct.add_text(p), sday.add_int(dy), ssignature.add_text(s), splatform.add_text(pl),
          sprocess_type.add_text(pt), scount.add_int(d);
      if (d < 0) {
        tproduct.add_text(p), tday.add_int(dy), tsignature.add_text(s), tplatform.add_text(pl),
            tprocess_type.add_text(pt);
      }
      changed_days.emplace(p, dy);
    }
    if (!sproduct.empty()) {
      c.run("INSERT INTO topcrash_signature_daily AS t(product, day, sig, platform, process_type, count) "
            "SELECT k.product, k.day, s.id, k.platform, k.process_type, k.count FROM unnest($1::text[], "
            "$2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[]) "
            "AS k(product, day, signature, platform, process_type, count), signature_ids AS s "
            "WHERE s.signature = k.signature "
            "ON CONFLICT (product, day, sig, platform, process_type) DO UPDATE SET count = t.count + EXCLUDED.count",
            {sproduct.str(), sday.str(), ssignature.str(), splatform.str(), sprocess_type.str(), scount.str()});
    }
    if (!tproduct.empty()) {
      c.run("DELETE FROM topcrash_signature_daily AS t USING unnest($1::text[], $2::bigint[], $3::text[], "
            "$4::text[], $5::text[]) AS k(product, day, signature, platform, process_type), signature_ids AS s "
            "WHERE s.signature = k.signature AND t.product = k.product AND t.day = k.day AND t.sig = s.id AND "
            "t.platform = k.platform AND t.process_type = k.process_type AND t.count <= 0",
            {tproduct.str(), tday.str(), tsignature.str(), tplatform.str(), tprocess_type.str()});
    }
    // Each changed day gets a new version (migration 7), in key order like every rollup write.
    if (!changed_days.empty()) {
      ArrayLiteral cproduct, cday;
      for (const auto& [p, dy] : changed_days) cproduct.add_text(p), cday.add_int(dy);
      c.run("INSERT INTO topcrash_day_versions AS t(product, day, version) "
            "SELECT k.product, k.day, nextval('topcrash_day_version_seq') FROM unnest($1::text[], $2::bigint[]) "
            "AS k(product, day) ON CONFLICT (product, day) DO UPDATE SET version = EXCLUDED.version",
            {cproduct.str(), cday.str()});
    }
    if (!deltas.first_seen.empty()) {
      ArrayLiteral fsig, fday, fbuild;
      for (const auto& [s, first] : deltas.first_seen) {
        fsig.add_text(s), fday.add_int(first.first), fbuild.add_text(first.second);
      }
      c.run("INSERT INTO signature_first_seen AS t(signature, first_day, first_build) "
            "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT (signature) "
            "DO UPDATE SET first_day = EXCLUDED.first_day, first_build = EXCLUDED.first_build "
            "WHERE EXCLUDED.first_day < t.first_day",
            {fsig.str(), fday.str(), fbuild.str()});
    }
  }

  // ----- reads -----

  // The product's days first..last of topcrash_signature_daily as c's transaction sees them:
  // held days whose version is the snapshot's, the others read in one statement and held.
  std::map<int64_t, std::shared_ptr<const TopcrashDayCache::Day>> topcrash_days(Connection& c, const std::string& product,
                                                                              int64_t first, int64_t last) {
    Result versions = c.run(
        "SELECT day, version FROM topcrash_day_versions WHERE product = $1::text AND day >= $2::bigint AND "
        "day <= $3::bigint",
        {pg_text(product), std::to_string(first), std::to_string(last)});
    std::map<int64_t, std::shared_ptr<const TopcrashDayCache::Day>> days;
    std::map<int64_t, std::shared_ptr<TopcrashDayCache::Day>> stale;
    ArrayLiteral stale_days;
    for (int i = 0; i < versions.rows(); ++i) {
      const int64_t day = versions.int_at(i, 0), version = versions.int_at(i, 1);
      if (auto held = topcrash_days_held.find({product, day}, version)) {
        days.emplace(day, std::move(held));
      } else {
        auto fresh = std::make_shared<TopcrashDayCache::Day>();
        fresh->version = version;
        stale.emplace(day, std::move(fresh));
        stale_days.add_int(day);
      }
    }
    if (stale.empty()) return days;
    Result r = c.run(
        "SELECT day, sig, platform, process_type, count FROM topcrash_signature_daily WHERE product = $1::text AND "
        "day = ANY($2::bigint[])",
        {pg_text(product), stale_days.str()});
    std::unordered_map<std::string, int32_t> ids;  // saves a lock per row
    auto name_id = [&](std::string name) {
      auto n = ids.find(name);
      if (n == ids.end()) n = ids.emplace(name, topcrash_days_held.name_id(name)).first;
      return n->second;
    };
    for (int i = 0; i < r.rows(); ++i) {
      auto it = stale.find(r.int_at(i, 0));
      if (it == stale.end()) continue;
      it->second->rows.push_back(
          {static_cast<int32_t>(r.int_at(i, 1)), name_id(r.text(i, 2)), name_id(r.text(i, 3)), r.int_at(i, 4)});
    }
    for (auto& [day, fresh] : stale) {
      topcrash_days_held.store({product, day}, fresh);
      days.emplace(day, std::move(fresh));
    }
    return days;
  }

  json hit_from(const Result& r, int row, const std::vector<const Field*>& cols, int doc_column) {
    json hit = json::object();
    json doc;
    if (doc_column >= 0 && !r.null_at(row, doc_column)) doc = json::parse(r.at(row, doc_column), nullptr, false);
    int i = 0;
    for (const Field* f : cols) {
      json v;
      if (f->indexed()) {
        int col = i++;
        if (!r.null_at(row, col)) v = from_pg(pg_type(*f), r.at(row, col));
      } else if (doc.is_object()) {
        auto it = doc.find(f->name);
        if (it != doc.end()) v = *it;
      }
      hit[f->name] = hit_value(*f, v);
    }
    return hit;
  }

  // The condition "e <op> v" for one operand; `type` is e's PostgreSQL type.
  static void single_condition(Sql& sql, const std::string& e, const char* type, Op op, const json& v) {
    switch (op) {
      case Op::kDefault:
      case Op::kEquals:
        if (v.is_array()) {  // dates: [from, to)
          sql << "(" << e << " >= ";
          sql.param(param_text(v[0]), "bigint") << " AND " << e << " < ";
          sql.param(param_text(v[1]), "bigint") << ")";
        } else {
          sql << e << " = ";
          sql.param(param_text(v), type);
        }
        return;
      case Op::kContains:
        sql << e << " LIKE ";
        sql.param("%" + like_literal(param_text(v)) + "%", "text");
        return;
      case Op::kStartsWith:
        sql << e << " LIKE ";
        sql.param(like_literal(param_text(v)) + "%", "text");
        return;
      case Op::kEndsWith:
        sql << e << " LIKE ";
        sql.param("%" + like_literal(param_text(v)), "text");
        return;
      case Op::kGreater: sql << e << " > "; sql.param(param_text(v), type); return;
      case Op::kLess: sql << e << " < "; sql.param(param_text(v), type); return;
      case Op::kGreaterEq: sql << e << " >= "; sql.param(param_text(v), type); return;
      case Op::kLessEq: sql << e << " <= "; sql.param(param_text(v), type); return;
      case Op::kNull: sql << e << " IS NULL"; return;
      case Op::kTrue: sql << e << " = true"; return;
      case Op::kRegex: break;  // values_condition: matched against the RE2-selected values
    }
  }

  // The OR of a filter's values on expression `e`. `matched`: for `@`, the values RE2 selected.
  static void values_condition(Sql& sql, const std::string& e, const char* type, const Filter& f,
                               const std::vector<std::string>* matched) {
    const auto& values = f.values;
    if (f.op == Op::kNull || f.op == Op::kTrue) {
      single_condition(sql, e, type, f.op, json());
      return;
    }
    if (f.op == Op::kRegex) {
      ArrayLiteral a;
      for (const auto& m : *matched) a.add_text(m);
      sql << e << " = ANY(";
      sql.param(a.str(), "text[]") << ")";
      return;
    }
    if (auto bound = backend::loosest_bound(f.op, values)) {
      single_condition(sql, e, type, f.op, *bound);
      return;
    }
    if (values.size() == 1) {
      single_condition(sql, e, type, f.op, values[0]);
      return;
    }
    if ((f.op == Op::kDefault || f.op == Op::kEquals) && !values.front().is_array()) {
      ArrayLiteral a;
      for (const auto& v : values) a.add(v);
      sql << e << " = ANY(";
      sql.param(a.str(), std::string(type) + "[]") << ")";
      return;
    }
    sql << "(";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) sql << " OR ";
      single_condition(sql, e, type, f.op, values[i]);
    }
    sql << ")";
  }

  static std::string list_elements(const Field& f, const std::string& alias) {
    return "jsonb_array_elements_text(c.doc->" + doc_key(f) + ") AS " + alias + "(value)";
  }

  static void filter_condition(Sql& sql, const Filter& f, const std::vector<std::string>* matched) {
    if (f.negated) sql << "NOT COALESCE((";
    if (f.field->is_list) {
      if (f.op == Op::kNull) {
        sql << "COALESCE(jsonb_array_length(c.doc->" << doc_key(*f.field) << "), 0) = 0";
      } else {
        sql << "EXISTS (SELECT 1 FROM " << list_elements(*f.field, "le") << " WHERE ";
        values_condition(sql, "le.value", "text", f, matched);
        sql << ")";
      }
    } else {
      values_condition(sql, scalar_expr(*f.field), pg_type(*f.field), f, matched);
    }
    if (f.negated) sql << "), false)";
  }

  // A `~`, `^` or `$` filter on signature, whose matches can be looked up among the signatures
  // ever indexed (signature_first_seen holds every signature a crash row has, in the same
  // snapshot, and is small).
  static bool signature_pattern(const Filter& f) {
    return f.field->name == "signature" && f.field->indexed() && !f.field->is_list &&
           (f.op == Op::kContains || f.op == Op::kStartsWith || f.op == Op::kEndsWith);
  }

  // An `=` or `^` filter on uuid: partitions have no uuid index (migration 9), so the crashes'
  // dates are looked up in crash_keys first and found through (date, signature); "c.date IN
  // (...) AND " goes before the filter itself, which still decides.
  static void uuid_dates_condition(Sql& sql, const Filter& f) {
    if (f.field->name != "uuid" || !f.field->indexed() || f.field->is_list || f.negated ||
        !(f.op == Op::kDefault || f.op == Op::kEquals || f.op == Op::kStartsWith)) {
      return;
    }
    sql << "c.date IN (SELECT k.date FROM crash_keys AS k WHERE ";
    values_condition(sql, "k.uuid", "text", f, nullptr);
    sql << ") AND ";
  }

  // The signatures such a filter matches; nullopt when there are more than
  // kMaxSignatureCandidates (the pattern is then tested on the crashes themselves).
  std::optional<std::vector<std::string>> signature_candidates(Connection& c, const Filter& f) {
    Sql sql;
    sql << "SELECT s.signature FROM signature_first_seen AS s WHERE ";
    values_condition(sql, "s.signature", "text", f, nullptr);
    sql << " LIMIT " << std::to_string(kMaxSignatureCandidates + 1);
    Result r = c.run(sql);
    if (static_cast<size_t>(r.rows()) > kMaxSignatureCandidates) return std::nullopt;
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.at(i, 0));
    return out;
  }

  // The filter as "signature is one of `matched`", negated as filter_condition negates.
  static void candidates_condition(Sql& sql, const Filter& f, const std::vector<std::string>& matched) {
    if (f.negated) sql << "NOT COALESCE((";
    ArrayLiteral a;
    for (const auto& m : matched) a.add_text(m);
    sql << scalar_expr(*f.field) << " = ANY(";
    sql.param(a.str(), "text[]") << ")";
    if (f.negated) sql << "), false)";
  }

  // The values of an `@` filter's field that its patterns match, among the crashes the query's
  // other filters select (RE2 decides, exactly as the SQLite backend's bw_regexp).
  std::vector<std::string> regex_matches_for(Connection& c, const Sql& base, const Filter& f) {
    Sql sql;
    sql.params = base.params;
    if (f.field->is_list) {
      sql << "SELECT DISTINCT le.value FROM crashes AS c CROSS JOIN LATERAL " << list_elements(*f.field, "le")
          << " WHERE " << base.text;
    } else {
      std::string e = scalar_expr(*f.field);
      sql << "SELECT DISTINCT " << e << " FROM crashes AS c WHERE " << base.text << " AND " << e << " IS NOT NULL";
    }
    sql << " LIMIT " << std::to_string(kMaxRegexCandidates + 1);
    Result r = c.run(sql);
    if (static_cast<size_t>(r.rows()) > kMaxRegexCandidates) {
      throw QueryError(f.field->name, f.field->name + ": a regular expression can only be matched against " +
                                          std::to_string(kMaxRegexCandidates) +
                                          " distinct values; narrow the search (dates, product...)");
    }
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) {
      std::string_view v(r.at(i, 0));
      for (const auto& re : f.regexes) {
        if (regex_matches(*re, v)) {
          out.emplace_back(v);
          break;
        }
      }
    }
    return out;
  }

  // One level of an aggregation tree.
  struct Level {
    const Aggregation* agg;
    std::string type;   // the key's PostgreSQL type
    std::string join;   // " CROSS JOIN LATERAL jsonb_array_elements_text(...) AS jN(value)" for lists
    ArrayLiteral kept;  // terms: the keys kept at this level, bound as an array
    // The SQL expression of the bucket key, written into `sql` with its own parameters (histogram
    // widths) bound afresh each time: nested levels reuse it in queries numbered differently.
    std::function<void(Sql&)> key;
  };

  static Level level_of(const Aggregation& a, size_t depth) {
    Level level{&a, "", "", ArrayLiteral(), nullptr};
    const Field& f = *a.field;
    if (f.is_list) {
      std::string alias = "j" + std::to_string(depth);
      level.join = " CROSS JOIN LATERAL " + list_elements(f, alias);
      level.type = "text";
      level.key = [k = alias + ".value"](Sql& sql) { sql << k; };
      return level;
    }
    std::string e = scalar_expr(f);
    level.type = pg_type(f);
    if (a.kind != Aggregation::Kind::kHistogram) {
      level.key = [e](Sql& sql) { sql << e; };
    } else if (f.type == FieldType::kDate || f.type == FieldType::kInteger) {
      // Floor to the bucket: e - ((e - offset) mod interval), the modulo made non-negative.
      std::string iv = std::to_string(static_cast<int64_t>(a.interval));
      std::string off = std::to_string(a.weeks ? 4 * kMicrosPerDay : 0);  // 1970-01-05 was a Monday
      level.type = "bigint";
      level.key = [e, iv, off](Sql& sql) {
        sql << "(" << e << " - (((" << e << " - ";
        sql.param(off, "bigint") << ") % ";
        sql.param(iv, "bigint") << ") + ";
        sql.param(iv, "bigint") << ") % ";
        sql.param(iv, "bigint") << ")";
      };
    } else {
      std::string iv = double_text(a.interval);
      level.type = "float8";
      level.key = [e, iv](Sql& sql) {
        sql << "(floor(" << e << " / ";
        sql.param(iv, "float8") << ") * ";
        sql.param(iv, "float8") << ")";
      };
    }
    return level;
  }

  // Crashes per UTC day for a DayRollupPlan: whole days from the rollup, partial days counted
  // from the crashes matching `where` (the search's own filters), in the caller's transaction, so
  // from one snapshot.
  std::map<int64_t, int64_t> day_counts(Connection& c, const backend::DayRollupPlan& plan, const Sql& where) {
    std::map<int64_t, int64_t> per_day;
    if (plan.first_whole_day <= plan.last_whole_day) {
      Sql sql;
      sql << "SELECT day, SUM(count)::bigint FROM product_version_daily WHERE day >= ";
      sql.param(std::to_string(plan.first_whole_day), "bigint") << " AND day <= ";
      sql.param(std::to_string(plan.last_whole_day), "bigint");
      auto any_of = [&](const char* column, const std::vector<std::string>& values) {
        if (values.empty()) return;
        ArrayLiteral list;
        for (const auto& v : values) list.add_text(pg_text(v));
        sql << " AND " << column << " = ANY(";
        sql.param(list.str(), "text[]") << ")";
      };
      any_of("product", plan.products);
      any_of("version", plan.versions);
      sql << " GROUP BY day";
      Result r = c.run(sql);
      for (int i = 0; i < r.rows(); ++i) per_day[r.int_at(i, 0)] += r.int_at(i, 1);
    }
    for (const auto& [from, to] : plan.partial) {
      Sql sql;
      sql.params = where.params;
      sql << "SELECT COUNT(*) FROM crashes AS c WHERE " << where.text << " AND c.date >= ";
      sql.param(std::to_string(from), "bigint") << " AND c.date < ";
      sql.param(std::to_string(to), "bigint");
      per_day[floor_div(from, kMicrosPerDay)] += c.run(sql).int_at(0, 0);
    }
    return per_day;
  }

  static json term_of(const Aggregation& a, const json& key) {
    if (a.field->type == FieldType::kDate && key.is_number()) return format_date_us(key.get<int64_t>());
    if (a.kind == Aggregation::Kind::kHistogram && a.field->type == FieldType::kInteger && key.is_number_float()) {
      return static_cast<int64_t>(key.get<double>());
    }
    return key;
  }

  // Evaluates `agg` under `parents` (one Level per ancestor) and attaches results to the facets
  // objects of the parent buckets (by key path). Mirrors the SQLite backend's aggregate().
  //
  // `total` (top level, scalar field only): also counts every matching crash, those without a
  // value included (their NULL group is counted, not made a bucket).
  void aggregate(Connection& c, const SuperSearchQuery& query, const Sql& where, const Aggregation& agg,
                 std::vector<Level>& parents, std::map<std::string, json*>& targets, int64_t* total = nullptr) {
    if (targets.empty()) return;
    Sql sql;
    sql.params = where.params;
    Level self = level_of(agg, parents.size());
    sql << "SELECT ";
    for (const auto& p : parents) {
      p.key(sql);
      sql << ", ";
    }
    bool cardinality = agg.kind == Aggregation::Kind::kCardinality;
    if (cardinality) {
      sql << "COUNT(DISTINCT ";
      self.key(sql);
      sql << ")";
    } else {
      self.key(sql);
      sql << ", COUNT(*)";
    }
    sql << " FROM crashes AS c";
    for (const auto& p : parents) sql << p.join;
    sql << self.join << " WHERE " << where.text;
    for (const auto& p : parents) {
      sql << " AND ";
      p.key(sql);
      sql << " IS NOT NULL";
      if (p.agg->kind == Aggregation::Kind::kTerms) {
        sql << " AND ";
        p.key(sql);
        sql << " = ANY(";
        sql.param(p.kept.str(), p.type + "[]") << ")";
      }
    }
    if (!cardinality && !total) {
      sql << " AND ";
      self.key(sql);
      sql << " IS NOT NULL";
    }
    if (!parents.empty() || !cardinality) {
      sql << " GROUP BY ";
      for (size_t i = 0; i < parents.size(); ++i) sql << (i ? ", " : "") << std::to_string(i + 1);
      if (!cardinality) sql << (parents.empty() ? "" : ", ") << std::to_string(parents.size() + 1);
    }
    std::map<std::string, std::vector<std::pair<json, int64_t>>> by_parent;
    {
      Result r = c.run(sql);
      int np = static_cast<int>(parents.size());
      for (int row = 0; row < r.rows(); ++row) {
        std::string path;
        for (int i = 0; i < np; ++i) {
          path += from_pg(parents[static_cast<size_t>(i)].type, r.at(row, i)).dump() + "\x1f";
        }
        if (!targets.count(path)) continue;  // a combination of kept keys that was not kept together
        if (cardinality) {
          by_parent[path].emplace_back(json(), r.int_at(row, np));
        } else if (total) {
          *total += r.int_at(row, np + 1);
          if (!r.null_at(row, np)) by_parent[path].emplace_back(from_pg(self.type, r.at(row, np)), r.int_at(row, np + 1));
        } else {
          by_parent[path].emplace_back(from_pg(self.type, r.at(row, np)), r.int_at(row, np + 1));
        }
      }
    }
    std::map<std::string, json*> child_targets;
    std::set<std::string> kept_keys;
    for (auto& [path, target] : targets) {
      auto& buckets = by_parent[path];
      if (cardinality) {
        (*target)[agg.name()] = {{"value", buckets.empty() ? 0 : buckets.front().second}};
        continue;
      }
      if (agg.kind == Aggregation::Kind::kTerms) {
        std::sort(buckets.begin(), buckets.end(), [](const auto& a, const auto& b) {
          if (a.second != b.second) return a.second > b.second;
          return key_less(a.first, b.first);
        });
        if (buckets.size() > static_cast<size_t>(query.facets_size)) buckets.resize(static_cast<size_t>(query.facets_size));
      } else {
        std::sort(buckets.begin(), buckets.end(), [](const auto& a, const auto& b) { return key_less(a.first, b.first); });
      }
      json list = json::array();
      for (const auto& [key, n] : buckets) {
        json b = {{"term", term_of(agg, key)}, {"count", n}};
        if (!agg.children.empty()) b["facets"] = json::object();
        list.push_back(std::move(b));
      }
      json& placed = (*target)[agg.name()] = std::move(list);
      if (agg.children.empty()) continue;
      for (size_t i = 0; i < buckets.size(); ++i) {
        std::string key = buckets[i].first.dump();
        child_targets[path + key + "\x1f"] = &placed[i]["facets"];
        if (kept_keys.insert(key).second) self.kept.add(buckets[i].first);
      }
    }
    if (agg.children.empty() || child_targets.empty()) return;
    parents.push_back(std::move(self));
    for (const auto& child : agg.children) aggregate(c, query, where, child, parents, child_targets);
    parents.pop_back();
  }
};

PostgresCrashIndex::PostgresCrashIndex(const IndexSettings& settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
  impl_->catalogue = settings.fields ? settings.fields : FieldCatalogue::builtin();
  if (!settings.url.starts_with("postgresql://") && !settings.url.starts_with("postgres://")) {
    throw IndexUnavailable("postgres index: not a postgresql:// URL");
  }
  // One connection beyond the readers for the (serialized) writer.
  impl_->pool = std::make_unique<Pool>(settings.url, static_cast<size_t>(std::max(1, settings.readers)) + 1);

  std::string columns, types;
  for (const auto& f : impl_->catalogue->all()) {
    if (!f.indexed()) continue;
    impl_->column_fields.push_back(&f);
    columns += f.column + ", ";
    types += "$" + std::to_string(impl_->column_fields.size()) + "::" + pg_type(f) + "[], ";
  }
  impl_->insert_sql = "INSERT INTO crashes(" + columns + "doc) SELECT * FROM unnest(" + types + "$" +
                      std::to_string(impl_->column_fields.size() + 1) + "::jsonb[])";

  impl_->with_connection([&](Connection& c) {
    impl_->migrate(c);
    // Every catalogue column must exist in the table (a site cannot index new columns by config).
    Result r = c.run(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'crashes'::regclass AND attnum > 0 AND NOT attisdropped",
        {});
    std::set<std::string> present;
    for (int i = 0; i < r.rows(); ++i) present.insert(r.text(i, 0));
    for (const Field* f : impl_->column_fields) {
      if (!present.count(f->column)) {
        throw IndexUnavailable("postgres index: column " + f->column + " of field " + f->name +
                               " is missing from the schema");
      }
    }
    std::lock_guard lock(impl_->write_mutex);
    impl_->load_partitions(c);
  });
}

PostgresCrashIndex::~PostgresCrashIndex() = default;

const FieldCatalogue& PostgresCrashIndex::fields() const { return *impl_->catalogue; }

int PostgresCrashIndex::schema_version() {
  return impl_->with_connection([](Connection& c) {
    return static_cast<int>(c.run("SELECT COALESCE(MAX(version), 0) FROM schema_version", {}).int_at(0, 0));
  });
}

std::vector<int64_t> PostgresCrashIndex::partitions() {
  std::lock_guard lock(impl_->write_mutex);
  impl_->with_connection([&](Connection& c) { impl_->load_partitions(c); });
  return {impl_->known_partitions.begin(), impl_->known_partitions.end()};
}

void PostgresCrashIndex::upsert_batch(std::span<const CrashInput> crashes) {
  if (crashes.empty()) return;
  // Validate everything before writing anything.
  std::vector<CrashRow> rows;
  rows.reserve(crashes.size());
  for (const auto& c : crashes) {
    rows.push_back(extract_row(*impl_->catalogue, c.processed, c.raw));
    CrashRow& row = rows.back();
    for (auto& v : row.values) sanitize(v);
    sanitize(row.document);
    for (auto* s : {&row.product, &row.version, &row.platform, &row.process_type, &row.signature, &row.build_id}) {
      if (!valid_utf8(*s)) *s = pg_text(*s);
    }
    for (auto& m : row.missing_modules) {
      for (auto* s : {&m.debug_file, &m.debug_id, &m.code_file, &m.code_id}) {
        if (!valid_utf8(*s)) *s = pg_text(*s);
      }
    }
  }
  // A crash id present twice ends as its last version; first-seen history still sees every
  // version, as when the versions are upserted one after the other.
  Deltas fresh;
  std::unordered_map<std::string, size_t> last;
  for (size_t i = 0; i < rows.size(); ++i) {
    const CrashRow& row = rows[i];
    last[row.uuid] = i;
    auto [it, inserted] = fresh.first_seen.try_emplace(row.signature, row.day, row.build_id);
    if (!inserted && row.day < it->second.first) it->second = {row.day, row.build_id};
  }
  std::vector<const CrashRow*> kept;
  std::set<int64_t> weeks;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (last[rows[i].uuid] != i) continue;
    kept.push_back(&rows[i]);
    weeks.insert(week_start_day(rows[i].day));
    const CrashRow& row = rows[i];
    fresh.add(row.product, row.version, row.day, row.process_type, row.platform, row.signature, 1);
  }
  // The statements' array parameters.
  ArrayLiteral uuids, dates;
  std::vector<ArrayLiteral> columns(impl_->column_fields.size());
  ArrayLiteral docs;
  for (const CrashRow* row : kept) {
    uuids.add_text(row->uuid);
    dates.add_int(row->date_us);
    for (size_t k = 0; k < impl_->column_fields.size(); ++k) {
      columns[k].add(row->values[impl_->catalogue->position(*impl_->column_fields[k])]);
    }
    docs.add_text(row->document.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  std::vector<std::optional<std::string>> insert_params;
  for (const auto& col : columns) insert_params.emplace_back(col.str());
  insert_params.emplace_back(docs.str());
  const std::string uuid_array = uuids.str(), date_array = dates.str();
  // missing_symbols rows of the kept crashes, as six arrays.
  std::array<ArrayLiteral, 6> missing;
  for (const CrashRow* row : kept) {
    for (const auto& m : row->missing_modules) {
      missing[0].add(json(m.debug_file));
      missing[1].add(json(m.debug_id));
      missing[2].add_text(row->uuid);
      missing[3].add_int(row->date_us);
      missing[4].add(json(m.code_file));
      missing[5].add(json(m.code_id));
    }
  }

  std::lock_guard lock(impl_->write_mutex);
  bool reloaded = false;
  for (;;) {
    try {
      impl_->with_connection([&](Connection& c) {
        impl_->ensure_partitions(c, weeks);
        Transaction tx(c);
        c.exec(kWriteLock);
        Deltas deltas = fresh;
        Result old = c.run("DELETE FROM crash_keys WHERE uuid = ANY($1::text[]) RETURNING uuid, date", {uuid_array});
        if (old.rows() > 0) {
          ArrayLiteral ou, od;
          for (int i = 0; i < old.rows(); ++i) ou.add_text(old.text(i, 0)), od.add_int(old.int_at(i, 1));
          Result gone = c.run(
              "DELETE FROM crashes WHERE uuid = ANY($1::text[]) AND date = ANY($2::bigint[]) "
              "RETURNING product, version, date, process_type, platform, signature",
              {ou.str(), od.str()});
          for (int i = 0; i < gone.rows(); ++i) deltas.subtract_row(gone, i, 0);
        }
        c.run("INSERT INTO crash_keys(uuid, date) SELECT * FROM unnest($1::text[], $2::bigint[])",
              {uuid_array, date_array});
        c.run(impl_->insert_sql, insert_params);
        c.run("DELETE FROM missing_symbols WHERE uuid = ANY($1::text[])", {uuid_array});
        if (!missing[0].empty()) {
          c.run("INSERT INTO missing_symbols(debug_file, debug_id, uuid, date, code_file, code_id) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) "
                "ON CONFLICT DO NOTHING",
                {missing[0].str(), missing[1].str(), missing[2].str(), missing[3].str(), missing[4].str(),
                 missing[5].str()});
        }
        impl_->apply(c, deltas);
        tx.commit();
      });
      return;
    } catch (const PgError& e) {
      // 23514: no partition for a row: another process's retention dropped one we knew.
      if (e.sqlstate() != "23514" || reloaded) throw;
      reloaded = true;
      impl_->with_connection([&](Connection& c) { impl_->load_partitions(c); });
    }
  }
}

std::optional<json> PostgresCrashIndex::get(std::string_view crash_id, const Permissions& permissions) {
  auto id = backend::crash_id_for_lookup(crash_id);
  auto cols = backend::visible_fields(*impl_->catalogue, permissions);
  int doc_column = -1;
  std::string sel = backend::select_list(cols, doc_column, "c.uuid");
  return impl_->with_connection([&](Connection& c) -> std::optional<json> {
    Transaction tx(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    Result key = c.run("SELECT date FROM crash_keys WHERE uuid = $1::text", {id.str()});
    if (key.rows() == 0) return std::nullopt;
    Result r = c.run("SELECT " + sel + " FROM crashes AS c WHERE c.uuid = $1::text AND c.date = $2::bigint",
                     {id.str(), key.text(0, 0)});
    tx.commit();
    if (r.rows() == 0) return std::nullopt;
    json hit = impl_->hit_from(r, 0, cols, doc_column);
    backend::drop_null_members(hit);
    return hit;
  });
}

bool PostgresCrashIndex::remove(std::string_view crash_id) {
  auto id = CrashId::parse(crash_id);
  if (!id) return false;
  std::lock_guard lock(impl_->write_mutex);
  return impl_->with_connection([&](Connection& c) {
    Transaction tx(c);
    c.exec(kWriteLock);
    Result key = c.run("DELETE FROM crash_keys WHERE uuid = $1::text RETURNING date", {id->str()});
    if (key.rows() == 0) return false;
    c.run("DELETE FROM missing_symbols WHERE uuid = $1::text", {id->str()});
    Deltas deltas;
    Result gone = c.run(
        "DELETE FROM crashes WHERE uuid = $1::text AND date = $2::bigint "
        "RETURNING product, version, date, process_type, platform, signature",
        {id->str(), key.text(0, 0)});
    for (int i = 0; i < gone.rows(); ++i) deltas.subtract_row(gone, i, 0);
    impl_->apply(c, deltas);
    tx.commit();
    return true;
  });
}

json PostgresCrashIndex::execute(const SuperSearchQuery& query) {
  return impl_->with_connection([&](Connection& c) {
    // One snapshot for the total, the hits and the facets.
    Transaction tx(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    Sql base;
    base << "true";
    for (const auto& f : query.filters) {
      if (f.op == Op::kRegex) continue;
      base << " AND ";
      Impl::uuid_dates_condition(base, f);
      if (Impl::signature_pattern(f)) {
        if (auto matched = impl_->signature_candidates(c, f)) {
          Impl::candidates_condition(base, f, *matched);
          continue;
        }
      }
      Impl::filter_condition(base, f, nullptr);
    }
    Sql where = base;
    for (const auto& f : query.filters) {
      if (f.op != Op::kRegex) continue;
      std::vector<std::string> matched = impl_->regex_matches_for(c, base, f);
      where << " AND ";
      Impl::filter_condition(where, f, &matched);
    }
    json out = {{"hits", json::array()}, {"total", 0}, {"facets", json::object()}, {"errors", json::array()}};
    std::map<std::string, json*> top{{"", &out["facets"]}};
    std::vector<Impl::Level> parents;
    // The first scalar aggregation counts the total on its way (one scan instead of two), as in
    // the SQLite backend; it runs first so the hits query knows the total.
    const auto plan = backend::day_rollup_plan(query);
    const size_t counted_by = plan ? query.aggregations.size() : backend::total_counting_aggregation(query);
    if (plan) {
      backend::fill_from_day_counts(query, impl_->day_counts(c, *plan, where), out);
    } else if (counted_by < query.aggregations.size()) {
      int64_t total = 0;
      impl_->aggregate(c, query, where, query.aggregations[counted_by], parents, top, &total);
      out["total"] = total;
    } else {
      out["total"] = c.run("SELECT COUNT(*) FROM crashes AS c WHERE " + where.text, where.params).int_at(0, 0);
    }
    if (query.results_number > 0 && out["total"].get<int64_t>() > query.results_offset) {
      int doc_column = -1;
      std::string sel = backend::select_list(query.columns, doc_column, "c.uuid");
      Sql sql;
      sql.params = where.params;
      sql << "SELECT " << sel << " FROM crashes AS c WHERE " << where.text << " ORDER BY ";
      sql << backend::order_by_terms(query.sort, scalar_expr) << "c.uuid ASC LIMIT ";
      sql.param(std::to_string(query.results_number), "bigint") << " OFFSET ";
      sql.param(std::to_string(query.results_offset), "bigint");
      Result r = c.run(sql);
      json& hits = out["hits"];
      for (int i = 0; i < r.rows(); ++i) hits.push_back(impl_->hit_from(r, i, query.columns, doc_column));
    }
    for (size_t i = 0; i < query.aggregations.size(); ++i) {
      if (!plan && i != counted_by) impl_->aggregate(c, query, where, query.aggregations[i], parents, top);
    }
    tx.commit();
    return out;
  });
}

TopCrashersResult PostgresCrashIndex::top_crashers(const TopCrashersQuery& query) {
  query.validate();
  TopCrashersResult result;
  const auto days = backend::top_crashers_days(query, result);
  const int64_t start_day = days.start_day, end_day = days.end_day;

  using Platforms = std::map<std::string, int64_t>;
  using Entry = backend::SignatureCount<Platforms>;
  auto period = [&](Connection& c, int64_t from, int64_t to, int64_t& total) {
    Sql sql;
    sql << "SELECT s.signature, r.platform, r.n FROM (SELECT sig, platform, SUM(count) AS n FROM topcrash_daily "
           "WHERE product = ";
    sql.param(pg_text(query.product), "text");
    ArrayLiteral vs;
    for (const auto& v : query.versions) vs.add_text(pg_text(v));
    sql << " AND version = ANY(";
    sql.param(vs.str(), "text[]") << ")";
    sql << " AND day >= ";
    sql.param(std::to_string(from), "bigint") << " AND day <= ";
    sql.param(std::to_string(to), "bigint");
    if (!query.process_type.empty()) {
      sql << " AND process_type = ";
      sql.param(pg_text(query.process_type), "text");
    }
    if (!query.platform.empty()) {
      sql << " AND platform = ";
      sql.param(pg_text(query.platform), "text");
    }
    sql << " GROUP BY sig, platform) AS r JOIN signature_ids AS s ON s.id = r.sig";
    std::map<std::string, Entry> entries;
    Result r = c.run(sql);
    total = 0;
    for (int i = 0; i < r.rows(); ++i) {
      auto& e = entries[r.text(i, 0)];
      int64_t n = r.int_at(i, 2);
      e.count += n;
      e.platforms[r.text(i, 1)] += n;
      total += n;
    }
    backend::RankedSignatures<Platforms> ranked(entries.begin(), entries.end());
    backend::rank_signatures(ranked);
    return ranked;
  };
  // Every version (the default view) ranks from the rollup by signature id, summed in memory
  // from the days held by the day cache (only days whose version moved are read); the platform
  // split is made for the ids shown.
  auto every_version = [&](Connection& c, TopCrashersResult& res) {
    const auto held_days = impl_->topcrash_days(c, query.product, start_day - query.days, end_day);
    auto& held_names = impl_->topcrash_days_held;
    const bool one_platform = !query.platform.empty(), one_process_type = !query.process_type.empty();
    const int32_t platform = one_platform ? held_names.known_name_id(query.platform) : -1;
    const int32_t process_type = one_process_type ? held_names.known_name_id(query.process_type) : -1;
    auto counted = [&](const TopcrashDayCache::Row& row) {
      return (!one_platform || row.platform == platform) && (!one_process_type || row.process_type == process_type);
    };
    backend::IdCounts current, previous;
    for (const auto& [day, held] : held_days) {
      backend::IdCounts& counts = day >= start_day ? current : previous;
      for (const auto& row : held->rows) {
        if (counted(row)) counts[row.signature_id].count += row.count;
      }
    }
    auto names = [&](const std::vector<int64_t>& ids) {
      ArrayLiteral list;
      for (int64_t id : ids) list.add_int(id);
      std::unordered_map<int64_t, std::string> found;
      Result r = c.run("SELECT id, signature FROM signature_ids WHERE id = ANY($1::integer[])", {list.str()});
      for (int i = 0; i < r.rows(); ++i) found.emplace(r.int_at(i, 0), r.text(i, 1));
      return found;
    };
    auto platforms = [&](const std::vector<int64_t>& ids) {
      std::unordered_map<int64_t, std::map<int32_t, int64_t>> split;
      for (int64_t id : ids) split[id];
      for (auto it = held_days.lower_bound(start_day); it != held_days.end(); ++it) {
        for (const auto& row : it->second->rows) {
          if (!counted(row)) continue;
          if (auto s = split.find(row.signature_id); s != split.end()) s->second[row.platform] += row.count;
        }
      }
      std::unordered_map<int64_t, std::vector<std::pair<std::string, int64_t>>> named;
      for (const auto& [id, by_platform] : split) {
        auto& out = named[id];
        for (const auto& [p, n] : by_platform) out.emplace_back(held_names.name_of(p), n);
      }
      return named;
    };
    backend::fill_top_crashers_by_id(res, current, previous, query.limit, names, platforms);
  };
  return impl_->with_connection([&](Connection& c) {
    TopCrashersResult res = result;
    Transaction tx(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (query.versions.empty()) {
      every_version(c, res);
    } else {
      auto current = period(c, start_day, end_day, res.total);
      auto previous = period(c, start_day - query.days, start_day - 1, res.previous_total);
      backend::fill_top_crashers(res, std::move(current), previous, query.limit);
    }
    ArrayLiteral sigs;
    for (const auto& tc : res.crashers) sigs.add_text(tc.signature);
    if (!sigs.empty()) {
      std::unordered_map<std::string, int64_t> first;
      Result r = c.run("SELECT signature, first_day FROM signature_first_seen WHERE signature = ANY($1::text[])",
                       {sigs.str()});
      for (int i = 0; i < r.rows(); ++i) first[r.text(i, 0)] = r.int_at(i, 1);
      for (auto& tc : res.crashers) {
        if (auto it = first.find(tc.signature); it != first.end()) tc.first_seen = format_day(it->second);
      }
    }
    tx.commit();
    return res;
  });
}

uint64_t PostgresCrashIndex::drop_older_than(std::chrono::system_clock::time_point cutoff) {
  int64_t cutoff_us = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
  uint64_t removed = 0;
  std::lock_guard lock(impl_->write_mutex);
  impl_->with_connection([&](Connection& c) { impl_->load_partitions(c); });
  // Whole weeks before the cutoff: their rollup contributions are subtracted and the partition
  // dropped, one partition per transaction.
  std::vector<int64_t> whole;
  for (int64_t w : impl_->known_partitions) {
    int64_t end_us = 0;
    if (!__builtin_mul_overflow(w + 7, kMicrosPerDay, &end_us) && end_us <= cutoff_us) whole.push_back(w);
  }
  for (int64_t w : whole) {
    removed += impl_->with_connection([&](Connection& c) -> uint64_t {
      Transaction tx(c);
      c.exec("SET LOCAL statement_timeout = 0");
      c.exec(kWriteLock);
      std::string name = partition_name(w);
      Result exists = c.run("SELECT to_regclass($1::text) IS NOT NULL", {name});
      if (exists.text(0, 0) != "t") return 0;  // another process dropped it
      // The day of a date, floored (dates before 1970 too).
      Result groups = c.exec(
          "SELECT product, version, date - (((date % 86400000000) + 86400000000) % 86400000000) AS day0, "
          "process_type, platform, signature, COUNT(*) FROM " + name +
          " GROUP BY product, version, day0, process_type, platform, signature");
      Deltas deltas;
      uint64_t n = 0;
      for (int i = 0; i < groups.rows(); ++i) {
        auto text = [&](int k) { return groups.null_at(i, k) ? std::string() : groups.text(i, k); };
        int64_t count = groups.int_at(i, 6);
        deltas.add(text(0), text(1), floor_div(groups.int_at(i, 2), kMicrosPerDay), text(3), text(4), text(5), -count);
        n += static_cast<uint64_t>(count);
      }
      c.run("DELETE FROM crash_keys WHERE date >= $1::bigint AND date < $2::bigint",
            {std::to_string(w * kMicrosPerDay), std::to_string((w + 7) * kMicrosPerDay)});
      c.run("DELETE FROM missing_symbols WHERE date >= $1::bigint AND date < $2::bigint",
            {std::to_string(w * kMicrosPerDay), std::to_string((w + 7) * kMicrosPerDay)});
      c.exec("DROP TABLE " + name);
      impl_->apply(c, deltas);
      tx.commit();
      return n;
    });
    impl_->known_partitions.erase(w);
  }
  // The week the cutoff falls in: its older rows, in chunks so writers are never held up long.
  for (;;) {
    uint64_t n = impl_->with_connection([&](Connection& c) -> uint64_t {
      Transaction tx(c);
      c.exec(kWriteLock);
      Result gone = c.run(
          "DELETE FROM crashes WHERE date < $1::bigint AND (date, uuid) IN (SELECT date, uuid FROM crashes "
          "WHERE date < $1::bigint LIMIT $2::bigint) RETURNING uuid, product, version, date, process_type, platform, "
          "signature",
          {std::to_string(cutoff_us), std::to_string(kRetentionChunk)});
      if (gone.rows() == 0) return 0;
      Deltas deltas;
      ArrayLiteral uuids;
      for (int i = 0; i < gone.rows(); ++i) {
        uuids.add_text(gone.text(i, 0));
        deltas.subtract_row(gone, i, 1);
      }
      c.run("DELETE FROM crash_keys WHERE uuid = ANY($1::text[])", {uuids.str()});
      c.run("DELETE FROM missing_symbols WHERE uuid = ANY($1::text[])", {uuids.str()});
      impl_->apply(c, deltas);
      tx.commit();
      return static_cast<uint64_t>(gone.rows());
    });
    if (n == 0) break;
    removed += n;
  }
  return removed;
}

std::vector<MissingSymbol> PostgresCrashIndex::missing_symbols(const MissingSymbolsQuery& query) {
  query.validate();
  // Not a structured binding: the lambda below captures them, which clang 14 refuses.
  const auto period = backend::missing_symbols_period(query);
  const int64_t from = period.first, to = period.second;
  return impl_->with_connection([&](Connection& c) {
    Result r = c.run(
        "SELECT debug_file, debug_id, max(code_file), max(code_id), count(*), max(date) FROM missing_symbols "
        "WHERE date >= $1::bigint AND date < $2::bigint GROUP BY debug_file, debug_id "
        "ORDER BY count(*) DESC, debug_file, debug_id LIMIT $3::bigint",
        {std::to_string(from), std::to_string(to), std::to_string(query.limit)});
    std::vector<MissingSymbol> out;
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.int_at(i, 4), format_date_us(r.int_at(i, 5))});
    }
    return out;
  });
}

std::vector<std::string> PostgresCrashIndex::crashes_missing_symbols(std::string_view debug_file,
                                                                     std::string_view debug_id, size_t limit) {
  return impl_->with_connection([&](Connection& c) {
    Result r = c.run(
        "SELECT uuid FROM missing_symbols WHERE debug_file = $1::text AND debug_id = $2::text "
        "ORDER BY date DESC, uuid LIMIT $3::bigint",
        {pg_text(debug_file), pg_text(backend::upper_case(debug_id)), std::to_string(std::min<size_t>(limit, INT64_MAX))});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  });
}

std::vector<ProductVersionDay> PostgresCrashIndex::product_version_days(int64_t first_day) {
  return impl_->with_connection([first_day](Connection& c) {
    Result r = c.run("SELECT product, version, day, count FROM product_version_daily "
                     "WHERE day >= $1::bigint AND count > 0 ORDER BY product, version, day",
                     {std::to_string(first_day)});
    std::vector<ProductVersionDay> rows;
    for (int i = 0; i < r.rows(); ++i) rows.push_back(ProductVersionDay{r.text(i, 0), r.text(i, 1), r.int_at(i, 2), r.int_at(i, 3)});
    return rows;
  });
}

uint64_t PostgresCrashIndex::stored_bytes() {
  // The index's own tables in the schema it uses (the database may hold others: accounts):
  // pg_total_relation_size counts each table's indexes and TOAST; crashes' partitions are tables
  // of their own (the partitioned parent has no storage) and are found through pg_inherits.
  static const char* kSql =
      "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c "
      "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND ("
      "c.relname IN ('crash_keys', 'signature_first_seen', 'signature_ids', 'topcrash_daily', "
      "'topcrash_signature_daily', 'topcrash_day_versions', 'missing_symbols', "
      "'product_version_daily', 'schema_version') "
      "OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'crashes'::regclass))";
  return impl_->with_connection(
      [](Connection& c) { return static_cast<uint64_t>(c.run(kSql, {}).int_at(0, 0)); });
}

uint64_t PostgresCrashIndex::count() {
  return impl_->with_connection(
      [](Connection& c) { return static_cast<uint64_t>(c.run("SELECT COUNT(*) FROM crash_keys", {}).int_at(0, 0)); });
}

}  // namespace bw::index
