// Queue benchmarks (docs/benchmarks.md, "Queues"):
//   PublishConsume/<backend>: one durable publish per message, then consume + ack each;
//                             items_per_second is messages through the queue per second.
//   IdlePriority/<backend>:   a consumer blocked in consume(); the time from the start of a
//                             priority publish to the consumer holding the message; p50/p99.
// Backends: "embedded" (SQLite file in a temporary folder; BW_BENCH_DIR to choose the disk) and
// "rabbitmq" (a private broker started once on loopback).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "queue/crash_queue.h"
#include "tests/rabbitmq/rabbitmq_server.h"

namespace {

using namespace std::chrono_literals;
using bw::queue::CrashMessage;
using bw::queue::QueueKind;
using Clock = std::chrono::steady_clock;

std::filesystem::path bench_dir() {
  const char* d = std::getenv("BW_BENCH_DIR");
  return d ? std::filesystem::path(d) : std::filesystem::temp_directory_path();
}

bw::testing::RabbitMqServer& broker() {
  static bw::testing::RabbitMqServer server;
  return server;
}

std::atomic<int> g_run{0};

// Fresh queues for one benchmark run; removes its files at the end.
struct Backend {
  bw::queue::QueueSettings settings;
  std::filesystem::path dir;
  explicit Backend(bool rabbitmq) {
    int run = g_run.fetch_add(1);
    if (rabbitmq) {
      settings.url = broker().url();
      for (QueueKind k : bw::queue::kAllQueueKinds) {
        settings.names[static_cast<size_t>(k)] = "bench" + std::to_string(run) + "." + std::string(to_string(k));
      }
    } else {
      dir = bench_dir() / ("bw-queue-bench-" + std::to_string(::getpid()) + "-" + std::to_string(run));
      settings.embedded_path = dir / "queue.sqlite";
    }
  }
  ~Backend() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

void PublishConsume(benchmark::State& state, bool rabbitmq) {
  Backend backend(rabbitmq);
  auto publisher = bw::queue::open_crash_queue(backend.settings);
  auto consumer = bw::queue::open_crash_queue(backend.settings);
  const int batch = 200;
  std::vector<CrashMessage> messages;
  for (int i = 0; i < batch; ++i) messages.push_back(CrashMessage{bw::CrashId::generate(bw::ThrottleResult::kAccept)});
  for (auto _ : state) {
    for (const auto& m : messages) publisher->publish(m, QueueKind::kStandard);
    for (int i = 0; i < batch; ++i) {
      auto d = consumer->consume(30s);
      if (!d) {
        state.SkipWithError("a message did not arrive");
        return;
      }
      consumer->ack(*d);
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void IdlePriority(benchmark::State& state, bool rabbitmq) {
  Backend backend(rabbitmq);
  auto publisher = bw::queue::open_crash_queue(backend.settings);
  auto consumer = bw::queue::open_crash_queue(backend.settings);
  consumer->consume(100ms);  // connected and idle
  std::vector<double> samples;
  for (auto _ : state) {
    std::mutex mutex;
    std::condition_variable cv;
    bool waiting = false;
    Clock::time_point received;
    std::thread t([&] {
      {
        std::lock_guard lock(mutex);
        waiting = true;
      }
      cv.notify_all();
      auto d = consumer->consume(30s);
      received = Clock::now();
      if (d) consumer->ack(*d);
    });
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return waiting; });
    }
    std::this_thread::sleep_for(20ms);  // let the consumer settle into its blocking wait
    auto sent = Clock::now();
    publisher->publish(CrashMessage{bw::CrashId::generate(bw::ThrottleResult::kAccept)}, QueueKind::kPriority);
    t.join();
    double seconds = std::chrono::duration<double>(received - sent).count();
    samples.push_back(seconds);
    state.SetIterationTime(seconds);
  }
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()))]; };
  state.counters["p50_ms"] = at(0.50) * 1000;
  state.counters["p99_ms"] = at(0.99) * 1000;
  state.counters["max_ms"] = samples.back() * 1000;
}

BENCHMARK_CAPTURE(PublishConsume, embedded, false)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(5);
BENCHMARK_CAPTURE(PublishConsume, rabbitmq, true)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(5);
BENCHMARK_CAPTURE(IdlePriority, embedded, false)->UseManualTime()->Iterations(200)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(IdlePriority, rabbitmq, true)->UseManualTime()->Iterations(200)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
