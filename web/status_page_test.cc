// The status page (web/status_page.h) over real HTTP: crashes from the shared corpus are stored
// in real file-system storage, queued on the embedded queue and processed by a real Processor
// (in-process stack walks with the corpus symbols, indexed into SQLite); then every figure of
// /status/ (and of ?format=json) equals the same series fetched from /metrics of the same server,
// and the "last hour" figures equal what this test did. Also: the figures from snapshots, a
// young history's span, absent series, storage use (measured by the web app's monitor over real
// folders and the index, or said to be not measured), hostile label values escaped and cut, the
// routes through WebApp.
#include "web/status_page.h"

#include <atomic>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "core/temp_dir.h"
#include "http/client.h"
#include "http/health.h"
#include "index/fields.h"
#include "processor/crash_pipeline.h"
#include "processor/dump_walker.h"
#include "processor/processor.h"
#include "processor/rules.h"
#include "queue/queue_metrics.h"
#include "signature/signature_generator.h"
#include "storage/factory.h"
#include "tests/test_server_options.h"
#include "web/storage_usage.h"
#include "web/web_app.h"
#include "web/web_test_support.h"

namespace bw::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::filesystem::path kTestdata = BW_TESTDATA_DIR;

using test::contains;

std::string unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {{"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) s.replace(at, std::strlen(from), to);
  }
  return s;
}

// /metrics text → series → value as written.
std::map<std::string, std::string> parse_metrics(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

struct PageFigure {
  std::string value;
  std::string window;  // "" when the cell has none
  std::string sum;
};

// Every figure cell of a status page: series → its data-value, data-window and data-sum. A series
// shown twice (the failures section repeats some) must show the same numbers both times.
std::map<std::string, PageFigure> parse_page(const std::string& body) {
  std::map<std::string, PageFigure> out;
  static const std::regex cell(R"re(<td [^>]*data-series="([^"]*)"[^>]*>)re");
  static const std::regex value(R"re(data-value="([^"]*)")re");
  static const std::regex window(R"re(data-window="([^"]*)")re");
  static const std::regex sum(R"re(data-sum="([^"]*)")re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), cell); it != std::sregex_iterator(); ++it) {
    std::string tag = (*it)[0].str();
    PageFigure f;
    std::smatch m;
    if (std::regex_search(tag, m, value)) f.value = m[1].str();
    if (std::regex_search(tag, m, window)) f.window = m[1].str();
    if (std::regex_search(tag, m, sum)) f.sum = m[1].str();
    auto [at, inserted] = out.emplace(unescape((*it)[1].str()), f);
    if (!inserted) {
      EXPECT_EQ(at->second.value, f.value) << at->first;
      EXPECT_EQ(at->second.window, f.window) << at->first;
    }
  }
  return out;
}

http::Request request(std::string query = "") {
  http::Request r;
  r.method = "GET";
  r.path = "/status/";
  r.query = std::move(query);
  r.target = r.query.empty() ? "/status/" : "/status/?" + r.query;
  return r;
}

class StatusPageTest : public ::testing::Test {
 protected:
  StatusPageTest() {
    queue_settings_ = queue::QueueSettings::from_config(site_.config);
    index_ = test::open_sqlite_index(dir_);
  }

  http::ClientResponse get(uint16_t port, const std::string& target) {
    return test::request_to(port, target);
  }

  test_support::TempDir dir_;
  test::SiteParts site_{dir_};
  queue::QueueSettings queue_settings_;
  std::unique_ptr<index::CrashIndex> index_;
};

TEST_F(StatusPageTest, FiguresEqualMetricsAfterProcessingKnownCrashes) {
  // The page first: its history starts now, so "last hour" is what happens below.
  StatusPage page(site_.queue.get(), {50ms, 60s, 3600s});
  http::ServerOptions opts = test_support::small_server_options();
  http::Server server(opts);
  page.add_routes(server);
  http::add_health_routes(server, {});
  server.start();

  // Three crashes submitted (stored and queued as the crash mover does) and one id that is not
  // stored at all: the processor gives it up, so the standard queue gets one dead letter.
  const std::vector<std::string> dumps = {"linux_inline.dmp", "linux_null_dereference.dmp", "linux_overflow.dmp"};
  std::vector<CrashId> ids;
  for (const auto& dump : dumps) {
    auto id = CrashId::generate(ThrottleResult::kAccept);
    site_.storage->save_raw_crash(id, {{"ProductName", "StatusTest"}, {"Version", "1.0"}, {"submitted_timestamp", "2026-01-01T00:00:00+00:00"}},
                             {{"upload_file_minidump", kTestdata / "minidumps" / dump}});
    site_.queue->publish({id}, queue::QueueKind::kStandard);
    ids.push_back(id);
  }
  site_.queue->publish({CrashId::generate(ThrottleResult::kAccept)}, queue::QueueKind::kStandard);

  symbols::SymbolOptions symbol_options;
  symbol_options.paths = {kTestdata / "symbols"};
  processor::InProcessDumpWalker walker(symbol_options);
  auto generator = signature::SignatureGenerator::builtin();
  processor::CrashPipeline pipeline(*site_.storage, processor::make_ruleset(processor::default_rule_names(), {&walker, &generator, 500}),
                                    processor::make_ruleset({"signature"}, {&walker, &generator, 500}), false, index_.get());
  {
    processor::Processor p(pipeline, [this] { return queue::open_crash_queue(queue_settings_); }, 1, 100ms);
    p.start();
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    auto done = [&] {
      for (const auto& id : ids) {
        try {
          site_.storage->get_processed(id);
        } catch (const storage::CrashNotFound&) {
          return false;
        }
      }
      auto s = site_.queue->stats().of(queue::QueueKind::kStandard);
      return s.ready == 0 && s.in_flight == 0 && s.dead_letters == 1;
    };
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    p.stop();
    ASSERT_TRUE(done());
  }
  page.sample_now();  // the queue depths as they are now (the thread would within 50 ms)

  auto html = get(server.port(), "/status/");
  auto js = get(server.port(), "/status/?format=json");
  auto metrics_text = get(server.port(), "/metrics");
  server.stop();
  ASSERT_EQ(html.status, 200);
  ASSERT_EQ(js.status, 200);
  ASSERT_EQ(metrics_text.status, 200);
  EXPECT_TRUE(contains(html.header("Content-Type"), "text/html"));
  EXPECT_TRUE(contains(html.header("Content-Security-Policy"), "script-src 'self'"));
  auto metrics = parse_metrics(metrics_text.body);
  auto figures = parse_page(html.body);

  // Every figure on the page is the /metrics value of its series (HTTP series change with the
  // very requests of this test: they are left out).
  size_t compared = 0;
  for (const auto& [series, f] : figures) {
    if (series.starts_with("bw_http_")) continue;
    ASSERT_TRUE(metrics.contains(series)) << series;
    EXPECT_EQ(f.value, metrics[series]) << series;
    if (!f.sum.empty()) {
      std::string sum_series = series;
      sum_series.replace(sum_series.find("_count"), 6, "_sum");
      EXPECT_EQ(f.sum, metrics[sum_series]) << sum_series;
    }
    ++compared;
  }
  EXPECT_GE(compared, 10u);

  // What this test did, on the page and in /metrics alike.
  auto one = [&](const std::string& series) {
    auto it = figures.find(series);
    EXPECT_NE(it, figures.end()) << series;
    return it == figures.end() ? PageFigure{} : it->second;
  };
  EXPECT_EQ(one("bw_queue_messages{queue=\"standard\",state=\"ready\"}").value, "0");
  EXPECT_EQ(one("bw_queue_messages{queue=\"standard\",state=\"in_flight\"}").value, "0");
  EXPECT_EQ(one("bw_queue_messages{queue=\"standard\",state=\"dead_letter\"}").value, "1");
  EXPECT_EQ(metrics["bw_queue_messages{queue=\"standard\",state=\"dead_letter\"}"], "1");
  // Over the window: the three crashes, each processed once, the one dead letter.
  double processed = 0;
  for (const auto& [series, f] : figures) {
    if (series.starts_with("bw_processor_crashes_total{") && !f.window.empty()) processed += std::stod(f.window);
  }
  EXPECT_EQ(processed, 3);
  EXPECT_EQ(one("bw_processor_processing_seconds_count").window, "3");
  EXPECT_EQ(one("bw_processor_dead_letters_total").window, "1");
  EXPECT_TRUE(contains(html.body, "id=\"processed-window\" data-value=\"3\""));
  EXPECT_TRUE(contains(html.body, "per minute"));
  EXPECT_TRUE(contains(html.body, "Not measured"));

  // The JSON form: the same values.
  json j = json::parse(js.body);
  EXPECT_EQ(j["processed_in_window"], 3);
  EXPECT_EQ(j["queues"]["standard"]["dead_letter"], 1);
  EXPECT_EQ(j["queues"]["standard"]["ready"], 0);
  EXPECT_TRUE(j["storage_use"]["measured_at"].is_null()) << "this StatusPage measures no storage";
  EXPECT_EQ(j["storage_use"]["interval_seconds"], 0);
  EXPECT_EQ(j["storage_use"]["areas"], json::object());
  EXPECT_EQ(j["processing_time"]["window_increase"], 3);
  size_t json_compared = 0;
  for (const auto& [id, list] : j["sections"].items()) {
    for (const auto& f : list) {
      if (!f["reported"].get<bool>() || f["series"].get<std::string>().starts_with("bw_http_")) continue;
      const std::string series = f["series"];
      ASSERT_TRUE(metrics.contains(series)) << series;
      EXPECT_EQ(metrics::format_value(f["value"].get<double>()), metrics[series]) << series;
      ++json_compared;
    }
  }
  // Processed (success), processing time, dumps walked, walk time, symbol lookups, dead letters.
  EXPECT_GE(json_compared, 6u);
  for (const auto& [name, states] : j["queues"].items()) {
    for (const auto& [state, value] : states.items()) {
      const std::string series = "bw_queue_messages{queue=\"" + name + "\",state=\"" + state + "\"}";
      ASSERT_TRUE(metrics.contains(series)) << series;
      EXPECT_EQ(metrics::format_value(value.get<double>()), metrics[series]) << series;
    }
  }
}

// build_status from two snapshots: increases, the rate per minute, the processing time's mean
// and 95 % bound, a young history's span, absent series.
TEST(StatusDataTest, FiguresFromSnapshots) {
  metrics::Registry r;
  auto& ok = r.counter("bw_processor_crashes_total", "x", {{"result", "success"}});
  auto& seconds = r.histogram("bw_processor_processing_seconds", "x", metrics::default_latency_buckets());
  ok.inc(100);
  seconds.observe(0.2);
  metrics::History history(3600s);
  const auto t0 = metrics::History::Clock::now();
  history.record(t0, std::make_shared<metrics::Snapshot>(r.snapshot()));
  ok.inc(30);
  r.counter("bw_processor_crashes_total", "x", {{"result", "failure"}}).inc(6);
  for (int i = 0; i < 35; ++i) seconds.observe(0.2);
  seconds.observe(3);
  r.gauge("bw_queue_messages", "x", {{"queue", "standard"}, {"state", "ready"}}).set(12);

  const auto t1 = t0 + 12min;
  StatusData d = build_status(r.snapshot(), history.baseline(t1), t1, std::chrono::system_clock::now(), true);
  ASSERT_TRUE(d.window.has_value());
  EXPECT_EQ(d.window->count(), 720);
  EXPECT_EQ(d.processed_in_window, 36);
  EXPECT_DOUBLE_EQ(*d.processed_per_minute, 3.0);
  EXPECT_EQ(d.processing_time.window_increase, 36);
  EXPECT_NEAR(*d.processing_time.window_mean, (35 * 0.2 + 3) / 36, 1e-12);
  EXPECT_EQ(d.processing_time.window_p95_bound, 0.25);  // ceil(0.95 · 36) = 35 observations are ≤ 0.25 s
  ASSERT_EQ(d.queues.size(), 3u);
  EXPECT_TRUE(d.queues[0][0].present);
  EXPECT_EQ(d.queues[0][0].value, 12);
  EXPECT_FALSE(d.queues[0][1].present);  // in flight not read: not shown as 0
  const StatusSection* processing = nullptr;
  const StatusSection* collection = nullptr;
  for (const auto& s : d.sections) {
    if (s.id == "processing") processing = &s;
    if (s.id == "collection") collection = &s;
  }
  ASSERT_NE(processing, nullptr);
  ASSERT_NE(collection, nullptr);
  EXPECT_EQ(processing->figures[0].title, "Crashes processed \xE2\x80\x94 result: failure");
  EXPECT_EQ(processing->figures[0].window_increase, 6);  // born after the baseline: counted from 0
  EXPECT_EQ(processing->figures[1].value, 130);
  EXPECT_EQ(processing->figures[1].window_increase, 30);
  // No collector in this registry: its figures are absent, not zero.
  EXPECT_FALSE(collection->figures[0].present);
  EXPECT_EQ(collection->figures[0].series, "bw_collector_received_total");
  // A kept series that does not exist is named as such, not as its family.
  for (const auto& s : d.sections) {
    if (s.id != "failures") continue;
    bool named = false;
    for (const auto& f : s.figures) named = named || (f.series == "bw_http_requests_total{code=\"5xx\"}" && !f.present);
    EXPECT_TRUE(named);
  }

  html::Html page = render_status(d);
  EXPECT_TRUE(contains(page.str(), "last 12 min"));
  EXPECT_TRUE(contains(page.str(), "started recording 12 min ago"));
  EXPECT_TRUE(contains(page.str(), "3.00 per minute"));
  EXPECT_TRUE(contains(page.str(), "(not reported)"));
  EXPECT_TRUE(contains(page.str(), "storage-not-measured"));
  json j = status_json(d);
  EXPECT_EQ(j["window_seconds"], 720);
  EXPECT_EQ(j["queues"]["standard"]["ready"], 12);
  EXPECT_TRUE(j["queues"]["standard"]["in_flight"].is_null());
}

// The 95 % bound above is the bucket that holds the 35th of 36 observations.
TEST(StatusDataTest, NinetyFifthPercentileBoundIsABucketBound) {
  metrics::Registry r;
  auto& seconds = r.histogram("bw_processor_processing_seconds", "x", metrics::default_latency_buckets());
  metrics::History history(3600s);
  const auto t0 = metrics::History::Clock::now();
  history.record(t0, std::make_shared<metrics::Snapshot>(r.snapshot()));
  for (int i = 0; i < 19; ++i) seconds.observe(0.2);
  seconds.observe(3);  // 1 of 20 = 5 %: 95 % are at most 0.25 s
  StatusData d = build_status(r.snapshot(), history.baseline(t0 + 1min), t0 + 1min, std::chrono::system_clock::now(), false);
  EXPECT_EQ(d.processing_time.window_p95_bound, 0.25);
  EXPECT_TRUE(contains(render_status(d).str(), "95 % \xE2\x89\xA4 250 ms"));
}

TEST(StatusDataTest, HostileLabelValuesAreEscapedAndCut) {
  metrics::Registry r;
  const std::string hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>" + std::string(5000, 'x');
  r.counter("bw_processor_rule_failures_total", "x", {{"rule", hostile}}).inc(2);
  StatusPage page(nullptr, {1h, 1h, 3600s}, r);
  auto resp = page.answer(request());
  ASSERT_EQ(resp.status, 200);
  EXPECT_FALSE(contains(resp.body, "<script>alert(1)"));
  EXPECT_FALSE(contains(resp.body, "<img src=x"));
  EXPECT_TRUE(contains(resp.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(resp.body, "[cut:"));  // the title and the series text are cut
  EXPECT_TRUE(contains(resp.body, "This process reads no queue."));
  // JSON: escaped as JSON, whole.
  auto j = page.answer(request("format=json"));
  ASSERT_EQ(j.status, 200);
  EXPECT_TRUE(contains(json::parse(j.body).dump(), "rule: <script>alert(1)</script>"));
  // A bad format is a 400 naming it, escaped.
  auto bad = page.answer(request("format=%3Cb%3E"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(contains(bad.body, "format"));
  EXPECT_FALSE(contains(bad.body, "<b>"));
}

// The monitor's round over real folders: gauges per area, files only for folders, a failing area
// counted and logged without stopping the others; the page and its JSON show the readings.
TEST(StorageUsageTest, RoundWritesGaugesThePageShows) {
  test_support::TempDir dir;
  std::filesystem::create_directories(dir.path() / "standard" / "20261206");
  std::ofstream(dir.path() / "standard" / "20261206" / "a.json") << std::string(5000, 'a');
  std::ofstream(dir.path() / "standard" / "b.dmp") << std::string(70000, 'b');
  metrics::Registry r;
  std::vector<StorageArea> areas = {folder_area("standard", dir.path() / "standard"),
                                    folder_area("collector", dir.path() / "not-made-yet"),
                                    StorageArea{"index", [](const std::function<bool()>&) { return DiskUsage{123456, 0}; }, false},
                                    StorageArea{"symbols", [](const std::function<bool()>&) -> DiskUsage {
                                                  throw std::runtime_error("disk on fire");
                                                }, true}};
  StatusPage::Options options{1h, 1h, 3600s};
  {
    // A monitor whose first round has not finished: the page knows it measures, not what.
    metrics::Registry early;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    StorageUsageMonitor slow({StorageArea{"index", [released](const std::function<bool()>&) {
                                            released.wait();
                                            return DiskUsage{1, 0};
                                          }, false}},
                             1h, early);
    StatusPage page(nullptr, options, early);
    auto before = page.answer(request());
    EXPECT_TRUE(contains(before.body, "Not measured yet")) << "the first round has not finished";
    EXPECT_TRUE(contains(before.body, "repeated every 60.0 min"));
    release.set_value();
  }
  {
    StorageUsageMonitor monitor(areas, 1h, r);  // its thread makes the first round at once
    monitor.measure_now();
  }
  auto snap = r.snapshot();
  const auto* standard = snap.series("bw_storage_bytes", "{area=\"standard\"}");
  ASSERT_NE(standard, nullptr);
  EXPECT_GE(standard->value, 75000);
  EXPECT_EQ(snap.series("bw_storage_files", "{area=\"standard\"}")->value, 2);
  EXPECT_EQ(snap.series("bw_storage_bytes", "{area=\"collector\"}")->value, 0);
  EXPECT_EQ(snap.series("bw_storage_bytes", "{area=\"index\"}")->value, 123456);
  EXPECT_EQ(snap.series("bw_storage_files", "{area=\"index\"}"), nullptr) << "a database has no files to count";
  EXPECT_EQ(snap.series("bw_storage_bytes", "{area=\"symbols\"}"), nullptr);
  EXPECT_GE(snap.series("bw_storage_measure_failures_total", "{area=\"symbols\"}")->value, 1) << "one round or two";
  ASSERT_NE(snap.series("bw_storage_measured_timestamp_seconds", ""), nullptr);

  StatusPage page(nullptr, options, r);
  auto html = page.answer(request());
  ASSERT_EQ(html.status, 200);
  EXPECT_FALSE(contains(html.body, "storage-not-measured"));
  EXPECT_TRUE(contains(html.body, "data-area=\"standard\""));
  EXPECT_TRUE(contains(html.body, "Crashes to process (storage.standard_root)"));
  EXPECT_TRUE(contains(html.body, "120.6 KiB")) << "the index's 123,456 bytes";
  EXPECT_TRUE(contains(html.body, "every 60.0 min"));
  json j = json::parse(page.answer(request("format=json")).body);
  EXPECT_EQ(j["storage_use"]["areas"]["standard"]["bytes"], standard->value);
  EXPECT_EQ(j["storage_use"]["areas"]["standard"]["files"], 2);
  EXPECT_EQ(j["storage_use"]["areas"]["index"], json({{"bytes", 123456}}));
  EXPECT_FALSE(j["storage_use"]["areas"].contains("symbols"));
  EXPECT_FALSE(j["storage_use"]["measured_at"].is_null());
  EXPECT_EQ(j["storage_use"]["interval_seconds"], 3600);
}

// The monitor's destructor ends a long walk: a stop is seen before the next folder.
TEST(StorageUsageTest, DestructorStopsAWalkInProgress) {
  metrics::Registry r;
  std::atomic<bool> walking{false};
  std::vector<StorageArea> areas = {StorageArea{"standard", [&](const std::function<bool()>& stop) {
                                                  walking = true;
                                                  while (!stop()) std::this_thread::sleep_for(1ms);
                                                  return DiskUsage{1, 1};
                                                }, true}};
  const auto started = std::chrono::steady_clock::now();
  {
    StorageUsageMonitor monitor(areas, 1h, r);
    while (!walking) std::this_thread::sleep_for(1ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  EXPECT_EQ(r.snapshot().series("bw_storage_bytes", "{area=\"standard\"}"), nullptr) << "a partial walk is no reading";
}

// Through WebApp: /status/ and /api/ are pages, their bare forms redirect, /metrics has the
// queue depths the page's thread reads.
TEST_F(StatusPageTest, ServedByTheWebApp) {
  site_.queue->publish({CrashId::generate(ThrottleResult::kAccept)}, queue::QueueKind::kPriority);
  site_.queue->publish({CrashId::generate(ThrottleResult::kAccept)}, queue::QueueKind::kPriority);
  site_.storage->save_raw_crash(CrashId::generate(ThrottleResult::kAccept), {{"ProductName", "StatusTest"}},
                           {{"upload_file_minidump", kTestdata / "minidumps" / "linux_inline.dmp"}});
  site_.storage->save_raw_crash(CrashId::generate(ThrottleResult::kDefer), {{"ProductName", "StatusTest"}}, {});
  WebApp app(site_.config, *site_.storage, *site_.queue, index_.get());
  http::ServerOptions opts = test_support::small_server_options();
  http::Server server(opts);
  app.add_routes(server);
  http::add_health_routes(server, {});
  server.start();
  auto status = get(server.port(), "/status/");
  EXPECT_EQ(status.status, 200);
  EXPECT_TRUE(contains(status.body, "<h1>Status</h1>"));
  EXPECT_TRUE(contains(status.body, "href=\"/status/\" aria-current=\"page\""));
  auto moved = get(server.port(), "/status?format=json");
  EXPECT_EQ(moved.status, 301);
  EXPECT_EQ(moved.header("Location"), "/status/?format=json");
  EXPECT_EQ(get(server.port(), "/status/?format=json").status, 200);
  EXPECT_EQ(get(server.port(), "/status/?format=xml").status, 400);
  auto api = get(server.port(), "/api/");
  EXPECT_EQ(api.status, 200);
  EXPECT_TRUE(contains(api.body, "href=\"/api/\" aria-current=\"page\""));
  EXPECT_EQ(get(server.port(), "/api").header("Location"), "/api/");
  EXPECT_EQ(get(server.port(), "/api/NoSuchEndpoint/").status, 404);
  // The web app's status page reads its queue on its thread: /metrics has the depths.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string text;
  while (std::chrono::steady_clock::now() < deadline) {
    text = get(server.port(), "/metrics").body;
    if (contains(text, "bw_queue_messages{queue=\"priority\",state=\"ready\"} 2\n")) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(contains(text, "bw_queue_messages{queue=\"priority\",state=\"ready\"} 2\n")) << text;
  // Storage use: the web app measures every folder of the configuration and the index at once
  // (web.storage_usage_interval's default); the page shows what an independent count finds.
  json storage;
  while (std::chrono::steady_clock::now() < deadline) {
    storage = json::parse(get(server.port(), "/status/?format=json").body)["storage_use"];
    if (!storage["measured_at"].is_null()) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(storage["measured_at"].is_null()) << storage.dump();
  EXPECT_EQ(storage["interval_seconds"], 600);
  for (const char* area : {"collector", "standard", "deferred", "processed", "symbols", "symbols_cache", "index"}) {
    EXPECT_TRUE(storage["areas"].contains(area)) << area;
  }
  uint64_t crash_files = 0;  // counted apart: the standard, deferred and processed roots
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path() / "crashes")) crash_files += e.is_regular_file();
  EXPECT_GE(crash_files, 3u) << "two raw crashes and a dump";
  EXPECT_EQ(storage["areas"]["standard"]["files"].get<uint64_t>() + storage["areas"]["deferred"]["files"].get<uint64_t>() +
                storage["areas"]["processed"]["files"].get<uint64_t>(),
            crash_files);
  EXPECT_GT(storage["areas"]["index"]["bytes"].get<uint64_t>(), 0u);
  EXPECT_FALSE(storage["areas"]["index"].contains("files"));
  text = get(server.port(), "/metrics").body;
  EXPECT_TRUE(contains(text, "bw_storage_bytes{area=\"index\"} " + metrics::format_value(storage["areas"]["index"]["bytes"].get<double>()) + "\n"))
      << text;
  server.stop();
}

}  // namespace
}  // namespace bw::web
