// The `breakwater` binary as a user runs it: `breakwater serve` with no config, `curl -F` and
// `breakwater submit --gzip --chunked` with real dumps and annotations, the crash on disk in the
// docs/design.md §4 layout; and SIGKILL of `breakwater collector` during uploads, then a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "collector/submit_client.h"
#include "collector/test_support.h"
#include "core/crash_id.h"
#include "core/fs_util.h"
#include "storage/fs_crash_storage.h"
#include "tests/child_process/child_process.h"

namespace bw::collector {
namespace {

using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

const stdfs::path kTestdata = BW_TESTDATA_DIR;

using test_support::ChildProcess;

// Started in `dir` (as a user would, from a folder), its output in dir/child.out and .err.
test_support::SpawnOptions in_folder(std::vector<std::string> argv, const stdfs::path& dir) {
  test_support::SpawnOptions o;
  o.argv = std::move(argv);
  o.cwd = dir;
  o.out = dir / "child.out";
  o.err = dir / "child.err";
  o.truncate = true;
  return o;
}

struct Run {
  int exit_code;
  std::string output;
};

Run run(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

std::optional<CrashId> id_in(const std::string& answer) {
  auto at = answer.find("CrashID=bp-");
  if (at == std::string::npos) return std::nullopt;
  return CrashId::parse(answer.substr(at + 8, 39));
}

// The crash's folder in the docs/design.md §4 layout.
stdfs::path name_folder(const stdfs::path& root, const CrashId& id) {
  return root / id.date_folder() / "name" / id.str().substr(0, 2) / id.str().substr(2, 2) / id.str();
}

// Under `serve` the crash mover takes an answered crash out of the collector buffer into primary
// storage within moments, so reading it from the buffer races with the mover. Primary storage
// never lets go of it, and a crash folder appears there whole (renamed into place): wait for it.
stdfs::path folder_in_primary(const stdfs::path& var, const CrashId& id) {
  auto folder = name_folder(var / "crashes" / "standard", id);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!stdfs::exists(folder / "raw_crash.json") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling for the mover, not synchronising on time
  }
  return folder;
}

TEST(CollectorProcessTest, NewUserServeCurlAndSubmit) {
  testing::TempDir dir;
  // As the README says: `breakwater serve` in a folder, no config (data goes to ./var). The port
  // is the only change, so tests can run side by side.
  ChildProcess serve(in_folder({BW_BREAKWATER_BIN, "serve", "--listen", "127.0.0.1:0"}, dir.path()));
  uint16_t port = testing::port_from_banner(serve.read_line(60s));
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/submit";
  stdfs::path root = dir.path() / "var" / "collector";

  // 1. curl -F, as people try a collector first.
  stdfs::path dump = kTestdata / "minidumps" / "linux-mini.dmp";
  auto r = run("curl -sS -F ProductName=TestApp -F Version=1.2.3 -F upload_file_minidump=@" + dump.string() + " " + url);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto id = id_in(r.output);
  ASSERT_TRUE(id) << r.output;
  EXPECT_EQ(r.output, "CrashID=" + id->with_prefix() + "\n");
  stdfs::path folder = folder_in_primary(dir.path() / "var", *id);
  ASSERT_TRUE(stdfs::is_directory(folder)) << folder;
  EXPECT_EQ(fs::read_file(folder / "upload_file_minidump.dump"), fs::read_file(dump));
  auto raw = nlohmann::json::parse(fs::read_file(folder / "raw_crash.json"));
  EXPECT_EQ(raw["ProductName"], "TestApp");
  EXPECT_EQ(raw["Version"], "1.2.3");
  EXPECT_EQ(nlohmann::json::parse(fs::read_file(folder / "dump_names.json")), nlohmann::json::array({"upload_file_minidump"}));
  // The collector buffer forgets it once moved (its date links are checked by the next test,
  // where no mover runs).
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (stdfs::exists(name_folder(root, *id)) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(stdfs::exists(name_folder(root, *id)));

  // 2. breakwater submit --gzip --chunked, a Firefox dump with the annotations it was sent with,
  //    both as text parts and as Firefox's JSON extra part.
  stdfs::path ff_dump = kTestdata / "minidumps" / "firefox-linux-x86_64.dmp";
  stdfs::path ff_ann = kTestdata / "annotations" / "firefox-linux-x86_64.json";
  auto sent = nlohmann::json::parse(fs::read_file(ff_ann));
  for (std::string mode : {"", " --json-extra"}) {
    r = run(std::string(BW_BREAKWATER_BIN) + " submit --gzip --chunked" + mode + " " + url + " " + ff_dump.string() +
            " --annotations-file " + ff_ann.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto ff = id_in(r.output);
    ASSERT_TRUE(ff) << r.output;
    stdfs::path ff_folder = folder_in_primary(dir.path() / "var", *ff);
    EXPECT_EQ(fs::read_file(ff_folder / "upload_file_minidump.dump"), fs::read_file(ff_dump));
    auto stored = nlohmann::json::parse(fs::read_file(ff_folder / "raw_crash.json"));
    EXPECT_EQ(stored["metadata"]["payload_compressed"], "1");
    EXPECT_EQ(stored["metadata"]["payload"], mode.empty() ? "multipart" : "json");
    const std::set<std::string> removed = {"Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId"};
    for (const auto& [key, value] : sent.items()) {
      if (removed.count(key)) {
        EXPECT_FALSE(stored.contains(key)) << key;
        continue;
      }
      // Text parts carry strings: a JSON object value arrives as its JSON text.
      nlohmann::json expected = mode.empty() && !value.is_string() ? nlohmann::json(value.dump()) : value;
      EXPECT_EQ(stored[key], expected) << key << mode;
    }
  }
  EXPECT_EQ(test_support::exit_code(serve.stop()), 0);  // graceful stop on SIGTERM
}

TEST(CollectorProcessTest, SigkillDuringUploadsLosesNoAnsweredCrash) {
  testing::TempDir dir;
  std::vector<std::string> argv = {BW_BREAKWATER_BIN, "collector", "--listen", "127.0.0.1:0", "--data",
                                   (dir.path() / "data").string(), "--log-level", "warn"};
  auto collector = std::make_unique<ChildProcess>(in_folder(argv, dir.path()));
  uint16_t port = testing::port_from_banner(collector->read_line(60s));
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/submit";

  constexpr int kUploads = 50;
  std::vector<stdfs::path> dumps;
  for (int i = 0; i < kUploads; ++i) {
    std::string bytes(256 * 1024 + i, static_cast<char>(i));
    dumps.push_back(dir.path() / ("dump-" + std::to_string(i)));
    fs::write_file_synced(dumps.back(), bytes);
  }
  std::mutex mu;
  std::map<int, CrashId> answered;
  std::atomic<int> finished{0};
  std::vector<std::thread> uploads;
  for (int i = 0; i < kUploads; ++i) {
    uploads.emplace_back([&, i] {
      SubmitRequest req;
      req.url = url;
      req.dumps = {{"upload_file_minidump", dumps[i]}};
      req.annotations = {{"ProductName", "KillTest"}, {"Index", std::to_string(i)}};
      req.gzip = i % 2 == 0;
      req.chunked = i % 3 == 0;
      req.timeout = 120s;
      try {
        auto res = submit_crash(req);
        if (auto id = id_in(res.body); id && res.status == 200) {
          std::lock_guard lock(mu);
          answered.emplace(i, *id);
        }
      } catch (const std::exception&) {
        // Connection reset by the kill: the client would retry; no id was promised.
      }
      finished.fetch_add(1);
    });
  }
  // Kill once some crashes are answered and others are still in flight.
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (answered.size() >= 10) break;
    }
    if (finished.load() == kUploads) break;
    std::this_thread::sleep_for(1ms);  // polling a counter, not synchronising on time
  }
  collector->kill_now();
  for (auto& t : uploads) t.join();
  ASSERT_GE(answered.size(), 10u);
  std::cout << answered.size() << " of " << kUploads << " uploads were answered before SIGKILL\n";

  // Restart on the same data: it serves again, and the buffer holds every answered crash whole.
  collector = std::make_unique<ChildProcess>(in_folder(argv, dir.path()));
  port = testing::port_from_banner(collector->read_line(60s));
  SubmitRequest after;
  after.url = "http://127.0.0.1:" + std::to_string(port) + "/submit";
  after.dumps = {{"upload_file_minidump", dumps[0]}};
  after.annotations = {{"ProductName", "AfterRestart"}};
  auto res = submit_crash(after);
  ASSERT_EQ(res.status, 200) << res.body;

  storage::FileSystemRawCrashStorage buffer(dir.path() / "data" / "collector");
  for (const auto& [i, id] : answered) {
    ASSERT_TRUE(buffer.has_raw_crash(id)) << id.str();
    auto raw = buffer.get_raw_crash(id);
    EXPECT_EQ(raw["Index"], std::to_string(i));
    EXPECT_EQ(buffer.get_dump(id, "upload_file_minidump"), fs::read_file(dumps[i]));
  }
  // Every crash the buffer yields is complete, answered or not (no half crash).
  auto fresh = buffer.new_crashes(1000);
  EXPECT_GE(fresh.size(), answered.size() + 1);
  for (const auto& id : fresh) {
    auto raw = buffer.get_raw_crash(id);
    int i = raw["ProductName"] == "AfterRestart" ? 0 : std::stoi(raw["Index"].get<std::string>());
    EXPECT_EQ(buffer.get_dump_names(id), std::vector<std::string>{"upload_file_minidump"});
    EXPECT_EQ(buffer.get_dump(id, "upload_file_minidump"), fs::read_file(dumps[i])) << id.str();
  }
  EXPECT_EQ(test_support::exit_code(collector->stop()), 0);
}

}  // namespace
}  // namespace bw::collector
