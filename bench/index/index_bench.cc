// Crash index benchmark (docs/benchmarks.md, "Crash index").
//
//   bench_index [--crashes N] [--runs R] [--backend sqlite|postgres|both] [--batch B]
//               [--dir DIR] [--keep] [--index-url URL] [--only q1,q2] [--seed S]
//               [--order random|arrival] [--pg-setting name=value]...
//   bench_index --serve-postgres [--pg-setting name=value]...
//
// Loads N synthetic crashes (index/test_crashes.h: Zipf over 20,000 signatures, a few products,
// versions and platforms, dated over the 30 days before the start of the run) into each backend
// through CrashIndex::upsert_batch in batches of B (default 500, as `admin index rebuild`), then
// times R runs (after 2 warm-up runs) of each question below through the public API (search with
// query-string pairs, top_crashers, get) and prints median, p99 (nearest rank: with 50 runs, the
// slowest) and min/max in milliseconds, the upsert rate (crashes per second of upsert_batch time,
// generation excluded) and the bytes on disk per crash.
//
// SQLite: a file in a fresh folder under DIR (default $TMPDIR), removed at the end unless --keep.
// With --keep and a folder already holding N crashes, the load is skipped (for profiling
// queries). PostgreSQL: a private server (tests/postgres) started by the bench, or --index-url
// (an index already holding N crashes is reused). --serve-postgres only starts such a server,
// prints its URL and waits for SIGINT, to keep one loaded index across runs. --order arrival
// loads the crashes in date order, as processors and `admin index rebuild` write them (the
// default, random, dates each crash anywhere in the 30 days: the slowest case). --pg-setting
// overrides the test server's settings (it runs with shared_buffers=32MB) to measure a tuned one.
#include <libpq-fe.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "index/crash_index.h"
#include "index/fields.h"
#include "index/test_crashes.h"
#include "tests/postgres/postgres_server.h"

namespace fs = std::filesystem;
using namespace bw::index;
using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;
using json = nlohmann::json;

namespace {

struct Options {
  size_t crashes = 1'000'000;
  int runs = 50;
  std::string backend = "both";
  size_t batch = 500;
  fs::path dir = fs::temp_directory_path();
  bool keep = false;
  std::string index_url;
  std::set<std::string> only;
  uint64_t seed = 1;
  bool serve_postgres = false;
  bool arrival_order = false;            // --order arrival: crashes loaded in date order
  std::vector<std::string> pg_settings;  // --pg-setting name=value: for the server the bench starts
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_index: " << why
            << "\nusage: bench_index [--crashes N] [--runs R] [--backend sqlite|postgres|both] [--batch B]"
               " [--dir DIR] [--keep] [--index-url URL] [--only q1,q2] [--seed S] [--order random|arrival]"
               " [--pg-setting name=value]..."
               " | --serve-postgres\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> uint64_t {
      std::string v = value();
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end) usage(a + ": not a number: " + v);
      return n;
    };
    if (a == "--crashes") {
      o.crashes = number();
    } else if (a == "--runs") {
      o.runs = static_cast<int>(std::max<uint64_t>(1, number()));
    } else if (a == "--backend") {
      o.backend = value();
      if (o.backend != "sqlite" && o.backend != "postgres" && o.backend != "both") usage("bad --backend");
    } else if (a == "--batch") {
      o.batch = std::max<uint64_t>(1, number());
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--index-url") {
      o.index_url = value();
    } else if (a == "--only") {
      std::stringstream s(value());
      for (std::string q; std::getline(s, q, ',');) o.only.insert(q);
    } else if (a == "--seed") {
      o.seed = number();
    } else if (a == "--order") {
      std::string order = value();
      if (order != "random" && order != "arrival") usage("--order is random or arrival");
      o.arrival_order = order == "arrival";
    } else if (a == "--pg-setting") {
      std::string setting = value();
      if (setting.find('=') == std::string::npos) usage("--pg-setting wants name=value, not " + setting);
      o.pg_settings.push_back(setting);
    } else if (a == "--serve-postgres") {
      o.serve_postgres = true;
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.crashes == 0) usage("--crashes must be at least 1");
  return o;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string iso(SysClock::time_point t) {
  return format_date_us(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

struct Stats {
  double p50 = 0, p99 = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto rank = [&](double p) {  // nearest rank
    size_t r = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(r, 1, v.size()) - 1];
  };
  return {rank(0.5), rank(0.99), v.front(), v.back()};
}

struct Measured {
  std::string backend;
  double upsert_per_s = 0;   // 0: not loaded in this run
  double load_s = 0;
  double bytes_per_crash = 0;
  uint64_t bytes = 0;
  std::vector<std::pair<std::string, Stats>> queries;
  std::vector<std::pair<std::string, std::string>> notes;  // query -> what it returned
};

// Loads `n` crashes; returns the upsert rate (crashes per second of upsert_batch time).
double load(CrashIndex& index, const Options& o, SysClock::time_point end, double& wall_s) {
  test_data::GeneratorOptions g;
  g.seed = o.seed;
  g.end = end;
  g.days = 30;
  g.signatures = 20000;
  if (o.arrival_order) g.arrival_order_total = o.crashes;
  test_data::CrashGenerator gen(g);
  const json no_raw = json::object();
  double upsert_ms = 0;
  auto wall0 = Clock::now();
  size_t done = 0;
  std::vector<test_data::TestCrash> batch;
  std::vector<CrashInput> inputs;
  size_t next_report = 100'000;
  while (done < o.crashes) {
    size_t n = std::min(o.batch, o.crashes - done);
    batch = gen.make(n);
    inputs.clear();
    for (const auto& c : batch) inputs.push_back(CrashInput{c.processed, c.raw});
    auto t0 = Clock::now();
    index.upsert_batch(inputs);
    upsert_ms += ms_since(t0);
    done += n;
    if (done >= next_report || done == o.crashes) {
      std::fprintf(stderr, "  %zu crashes, %.0f/s upsert so far\n", done, 1000.0 * static_cast<double>(done) / upsert_ms);
      next_report += 100'000;
    }
  }
  wall_s = ms_since(wall0) / 1000.0;
  return 1000.0 * static_cast<double>(o.crashes) / upsert_ms;
}

// The newest crash date in the index (the end the data was generated for), through search.
std::optional<SysClock::time_point> newest_date(CrashIndex& index) {
  auto now = SysClock::now();
  json r = index.search({{"date", ">=" + iso(now - std::chrono::hours(24 * 360))},
                         {"_columns", "date"},
                         {"_sort", "-date"},
                         {"_results_number", "1"},
                         {"_facets", ""}},
                        {}, now);
  if (r["hits"].empty()) return std::nullopt;
  auto us = parse_date_us(r["hits"][0]["date"].get<std::string>());
  if (!us) return std::nullopt;
  return SysClock::time_point(std::chrono::microseconds(*us + 1));
}

uint64_t sqlite_bytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

uint64_t postgres_bytes(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  uint64_t total = 0;
  if (PQstatus(c) == CONNECTION_OK) {
    // Every table of the index with its indexes and TOAST (partitions are tables of their own).
    PGresult* r = PQexec(c,
                         "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n "
                         "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) total = std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10);
    PQclear(r);
  }
  PQfinish(c);
  return total;
}

void run_queries(CrashIndex& index, const Options& o, SysClock::time_point end, Measured& m) {
  using std::chrono::hours;
  const std::string to = iso(end), from7 = iso(end - hours(24 * 7)), from14 = iso(end - hours(24 * 14)),
                    from30 = iso(end - hours(24 * 30));
  const std::string top_signature = test_data::CrashGenerator::signature_name(0);

  // Crash ids to fetch: a spread of them (sorted by uuid, so from every day).
  std::vector<std::string> ids;
  {
    json r = index.search({{"date", ">=" + from30}, {"date", "<" + to}, {"_columns", "uuid"}, {"_sort", "uuid"},
                           {"_results_number", "1000"}, {"_facets", ""}},
                          {}, end);
    for (const auto& h : r["hits"]) ids.push_back(h["uuid"].get<std::string>());
    if (ids.empty()) throw std::runtime_error("no crash to fetch");
  }

  struct Query {
    std::string name;
    std::function<std::string(int)> run;  // returns a short note on what it found
    std::function<void(int)> before = nullptr, after = nullptr;  // around each run, not timed
  };
  auto search = [&](QueryPairs pairs) {
    return [&index, end, pairs](int) {
      json r = index.search(pairs, {}, end);
      std::string note = "total " + std::to_string(r["total"].get<int64_t>()) + ", " +
                         std::to_string(r["hits"].size()) + " hits";
      for (auto& [name, facet] : r["facets"].items()) note += ", " + std::to_string(facet.size()) + " " + name + " buckets";
      return note;
    };
  };
  auto top_crashers_7d = [&](int) {
    TopCrashersQuery q;
    q.product = "Firefox";
    q.days = 7;
    q.end = end - std::chrono::microseconds(1);
    auto r = index.top_crashers(q);
    return "total " + std::to_string(r.total) + ", " + std::to_string(r.crashers.size()) + " signatures";
  };
  // A live server: a crash arrives on the period's last day before each run (and leaves after
  // it, so the index keeps its N crashes), so that day's rollup rows changed since the last run.
  const json arriving = {{"uuid", "b0b0b0b0-0000-4000-8000-000000261101"}, {"date_processed", iso(end - hours(1))},
                         {"product", "Firefox"}, {"version", "140.0"}, {"os_name", "Windows NT"},
                         {"signature", top_signature}};
  std::vector<Query> queries = {
      {"signature_exact_7d",
       search({{"signature", "=" + top_signature}, {"date", ">=" + from7}, {"date", "<" + to}})},
      {"signature_contains_7d",
       search({{"signature", "~Element::SetAttr"}, {"date", ">=" + from7}, {"date", "<" + to}})},
      {"product_version_14d_by_date",
       search({{"product", "Firefox"}, {"version", "140.0"}, {"date", ">=" + from14}, {"date", "<" + to},
               {"_sort", "-date"}})},
      {"facets_signature_top50_7d",
       search({{"date", ">=" + from7}, {"date", "<" + to}, {"_facets", "signature"}, {"_facets_size", "50"},
               {"_results_number", "0"}})},
      {"histogram_day_30d",
       search({{"date", ">=" + from30}, {"date", "<" + to}, {"_histogram.date", ""},
               {"_histogram_interval.date", "day"}, {"_facets", ""}, {"_results_number", "0"}})},
      {"top_crashers_7d", top_crashers_7d},
      {"top_crashers_7d_live", top_crashers_7d, [&](int) { index.upsert(arriving, json::object()); },
       [&](int) { index.remove(arriving["uuid"].get<std::string>()); }},
      {"get_by_id",
       [&](int i) {
         auto hit = index.get(ids[static_cast<size_t>(i) * 7919 % ids.size()], {});
         return std::string(hit ? "found" : "MISSING");
       }},
  };
  for (const auto& q : queries) {
    if (!o.only.empty() && !o.only.count(q.name)) continue;
    std::string note;
    auto timed = [&](int i) {
      if (q.before) q.before(i);
      auto t0 = Clock::now();
      note = q.run(i);
      const double t = ms_since(t0);
      if (q.after) q.after(i);
      return t;
    };
    for (int i = 0; i < 2; ++i) timed(i);  // warm-up
    std::vector<double> times;
    for (int i = 0; i < o.runs; ++i) times.push_back(timed(i));
    Stats s = stats(times);
    std::fprintf(stderr, "  %-28s p50 %8.2f ms  p99 %8.2f ms  (min %.2f, max %.2f)  [%s]\n", q.name.c_str(), s.p50,
                 s.p99, s.min, s.max, note.c_str());
    m.queries.emplace_back(q.name, s);
    m.notes.emplace_back(q.name, note);
  }
}

SysClock::time_point resolve_end(CrashIndex& index, const Options& o, uint64_t count, bool& must_load) {
  must_load = count == 0;
  if (count == 0) return SysClock::now();
  if (count != o.crashes) {
    throw std::runtime_error("the index holds " + std::to_string(count) + " crashes, not " +
                             std::to_string(o.crashes) + "; give an empty one");
  }
  auto newest = newest_date(index);
  if (!newest) throw std::runtime_error("cannot find the newest crash of the index");
  return *newest;
}

Measured bench_sqlite(const Options& o) {
  Measured m;
  m.backend = "sqlite";
  fs::path dir = o.keep ? o.dir / ("bw-index-bench-" + std::to_string(o.crashes))
                        : o.dir / ("bw-index-bench-" + std::to_string(::getpid()));
  IndexSettings s;
  s.sqlite_path = dir / "crashes.sqlite";
  s.fields = FieldCatalogue::builtin();
  SysClock::time_point end;
  {
    auto index = open_crash_index(s);
    bool must_load = false;
    end = resolve_end(*index, o, index->count(), must_load);
    if (must_load) {
      std::fprintf(stderr, "sqlite: loading %zu crashes into %s\n", o.crashes, s.sqlite_path.c_str());
      m.upsert_per_s = load(*index, o, end, m.load_s);
    }
  }
  // Closed: the WAL is checkpointed into the file and removed.
  m.bytes = sqlite_bytes(dir);
  m.bytes_per_crash = static_cast<double>(m.bytes) / static_cast<double>(o.crashes);
  {
    auto index = open_crash_index(s);
    std::fprintf(stderr, "sqlite: %zu crashes, %.0f bytes per crash; queries, %d runs each\n", o.crashes,
                 m.bytes_per_crash, o.runs);
    run_queries(*index, o, end, m);
  }
  if (!o.keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return m;
}

Measured bench_postgres(const Options& o) {
  Measured m;
  m.backend = "postgres";
  std::unique_ptr<bw::testing::PostgresServer> server;
  std::string url = o.index_url;
  if (url.empty()) {
    server = std::make_unique<bw::testing::PostgresServer>(std::chrono::seconds(120), o.pg_settings);
    url = server->url();
  }
  IndexSettings s;
  s.url = url;
  s.fields = FieldCatalogue::builtin();
  auto index = open_crash_index(s);
  bool must_load = false;
  auto end = resolve_end(*index, o, index->count(), must_load);
  if (must_load) {
    std::fprintf(stderr, "postgres: loading %zu crashes\n", o.crashes);
    m.upsert_per_s = load(*index, o, end, m.load_s);
  }
  m.bytes = postgres_bytes(url);
  m.bytes_per_crash = static_cast<double>(m.bytes) / static_cast<double>(o.crashes);
  std::fprintf(stderr, "postgres: %zu crashes, %.0f bytes per crash; queries, %d runs each\n", o.crashes,
               m.bytes_per_crash, o.runs);
  run_queries(*index, o, end, m);
  return m;
}

int serve_postgres(const Options& o) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  bw::testing::PostgresServer server(std::chrono::seconds(120), o.pg_settings);
  std::cout << server.url() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.serve_postgres) return serve_postgres(o);
  std::vector<Measured> results;
  try {
    if (o.backend != "postgres") results.push_back(bench_sqlite(o));
    if (o.backend != "sqlite") results.push_back(bench_postgres(o));
  } catch (const std::exception& e) {
    std::cerr << "bench_index: " << e.what() << "\n";
    return 1;
  }
  std::printf("\ncrash index, %zu crashes, %d runs per query (ms: median / p99 / min-max)\n", o.crashes, o.runs);
  for (const auto& m : results) {
    std::printf("\n[%s]\n", m.backend.c_str());
    if (m.upsert_per_s > 0) {
      std::printf("  %-28s %.0f crashes/s (batches of %zu; load %.0f s with generation)\n", "upsert", m.upsert_per_s,
                  o.batch, m.load_s);
    }
    std::printf("  %-28s %.0f bytes per crash (%.1f MiB)\n", "size on disk", m.bytes_per_crash,
                static_cast<double>(m.bytes) / 1048576.0);
    for (const auto& [name, s] : m.queries) {
      std::printf("  %-28s %8.2f / %8.2f / %.2f-%.2f\n", name.c_str(), s.p50, s.p99, s.min, s.max);
    }
  }
  return 0;
}
