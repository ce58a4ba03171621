// The embedded queue: the shared behavioural suite plus what only SQLite shows (durability across
// reopen, lease expiry, several processes on one file).
#include "queue/sqlite_crash_queue.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "queue/crash_queue_contract.h"
#include "core/temp_dir.h"
#include "tests/child_process/child_process.h"

namespace bw::queue {
namespace {

using namespace std::chrono_literals;

using bw::test_support::ForkedChild;
using bw::test_support::TempDir;

class SqliteBackend : public contract::QueueBackend {
 public:
  QueueSettings fresh_settings() override {
    QueueSettings s;
    s.embedded_path = dir_.path() / "queue" / "crash-queue.sqlite";
    s.lease = 1s;
    return s;
  }
  void inject_raw(const QueueSettings& settings, QueueKind queue, const std::string& body) override {
    SqliteCrashQueue create(settings);  // makes sure the schema exists
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(settings.embedded_path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO messages(queue, body, enqueued_ms) VALUES(?, ?, 0)", -1, &stmt, nullptr);
    sqlite3_bind_text(stmt, 1, settings.name(queue).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  // Another process holding the write lock is the embedded queue's outage.
  void interrupt() override {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "queue" / "crash-queue.sqlite").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    std::this_thread::sleep_for(3s);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::chrono::milliseconds redelivery_delay() const override { return 1100ms; }
  bool strict_priority() const override { return true; }

 private:
  TempDir dir_;
};

using contract::CrashQueueContract;
INSTANTIATE_TEST_SUITE_P(Sqlite, CrashQueueContract,
                         ::testing::Values(contract::BackendFactory([] { return std::make_unique<SqliteBackend>(); })));

QueueSettings settings_in(const TempDir& dir) {
  QueueSettings s;
  s.embedded_path = dir.path() / "q.sqlite";
  s.lease = 1s;
  return s;
}

TEST(SqliteCrashQueue, PublishedMessagesSurviveReopening) {
  TempDir dir;
  auto s = settings_in(dir);
  auto id = CrashId::generate(ThrottleResult::kAccept);
  { SqliteCrashQueue(s).publish(CrashMessage{id}, QueueKind::kStandard); }
  SqliteCrashQueue reopened(s);
  auto d = reopened.consume(1s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message.id, id);
  EXPECT_TRUE(reopened.ack(*d));
}

TEST(SqliteCrashQueue, AnExpiredLeaseCannotBeAckedAfterRedelivery) {
  TempDir dir;
  auto s = settings_in(dir);
  SqliteCrashQueue first(s), second(s);
  first.publish(CrashMessage{CrashId::generate(ThrottleResult::kAccept)}, QueueKind::kStandard);
  auto d1 = first.consume(1s);
  ASSERT_TRUE(d1);
  EXPECT_EQ(first.stats().of(QueueKind::kStandard).in_flight, 1u);
  auto d2 = second.consume(10s);  // after the 1 s lease ran out
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->attempt, 2u);
  EXPECT_FALSE(first.ack(*d1)) << "the first consumer's lease is gone";
  EXPECT_TRUE(second.ack(*d2));
}

TEST(SqliteCrashQueue, SeveralProcessesShareOneFile) {
  TempDir dir;
  auto s = settings_in(dir);
  s.lease = 60s;
  std::vector<CrashMessage> messages;
  for (int i = 0; i < 300; ++i) messages.push_back(CrashMessage{CrashId::generate(ThrottleResult::kAccept)});
  SqliteCrashQueue(s).publish_batch(messages, QueueKind::kStandard);

  // Two child processes consume and report each id through a pipe.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<std::unique_ptr<ForkedChild>> children;
  for (int c = 0; c < 2; ++c) {
    children.push_back(std::make_unique<ForkedChild>([&] {
      ::close(fds[0]);
      int code = 0;
      SqliteCrashQueue q(s);
      while (auto d = q.consume(1s)) {
        std::string line = d->message.id.str() + "\n";
        if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) code = 3;
        if (!q.ack(*d)) code = 4;
      }
      return code;
    }));
  }
  ::close(fds[1]);
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  for (auto& child : children) EXPECT_TRUE(child->succeeded());
  std::multiset<std::string> seen;
  for (size_t pos = 0; pos < all.size();) {
    size_t nl = all.find('\n', pos);
    seen.insert(all.substr(pos, nl - pos));
    pos = nl + 1;
  }
  EXPECT_EQ(seen.size(), messages.size());
  for (const auto& m : messages) EXPECT_EQ(seen.count(m.id.str()), 1u);
}

// Hardening finding 5: after SIGKILL the deliveries a consumer held stayed leased for the whole
// lease (5 minutes); a consumer that starts gives them back at once when their owner is gone.
TEST(SqliteCrashQueue, LeasesOfAKilledConsumerAreGivenBackWhenTheNextStarts) {
  TempDir dir;
  auto s = settings_in(dir);
  s.lease = std::chrono::minutes(5);
  std::vector<CrashMessage> messages;
  for (int i = 0; i < 3; ++i) messages.push_back(CrashMessage{CrashId::generate(ThrottleResult::kAccept)});
  SqliteCrashQueue(s).publish_batch(messages, QueueKind::kStandard);

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ForkedChild holder([&] {
    ::close(fds[0]);
    SqliteCrashQueue q(s);
    auto a = q.consume(5s);
    auto b = q.consume(5s);
    char ok = (a && b) ? 'y' : 'n';
    if (::write(fds[1], &ok, 1) != 1) return 3;
    ::pause();  // killed while holding two leases
    return 0;
  });
  ::close(fds[1]);
  char ok = 0;
  ASSERT_EQ(::read(fds[0], &ok, 1), 1);
  ::close(fds[0]);
  ASSERT_EQ(ok, 'y');
  {
    // While the holder lives its leases stand.
    SqliteCrashQueue live(s);
    auto d = live.consume(200ms);
    ASSERT_TRUE(d);
    EXPECT_FALSE(live.consume(200ms));
    EXPECT_TRUE(live.retry(*d, "test"));
  }
  holder.kill_now();

  auto started = std::chrono::steady_clock::now();
  SqliteCrashQueue restarted(s);
  std::set<std::string> got;
  while (auto d = restarted.consume(500ms)) {
    got.insert(d->message.id.str());
    EXPECT_TRUE(restarted.ack(*d));
  }
  EXPECT_EQ(got.size(), 3u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s) << "not the 5-minute lease";
  EXPECT_EQ(restarted.stats().queues[static_cast<size_t>(QueueKind::kStandard)].in_flight, 0u);
}

// A queue file written before lease owners existed is upgraded in place, its messages kept.
TEST(SqliteCrashQueue, OldQueueFilesGetTheLeaseOwnerColumn) {
  TempDir dir;
  auto s = settings_in(dir);
  std::filesystem::create_directories(s.embedded_path.parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.embedded_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE messages(seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, body TEXT NOT NULL,"
                         " deliveries INTEGER NOT NULL DEFAULT 0, lease_until INTEGER NOT NULL DEFAULT 0,"
                         " lease_token INTEGER NOT NULL DEFAULT 0, last_error TEXT, enqueued_ms INTEGER NOT NULL);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto id = CrashId::generate(ThrottleResult::kAccept);
  std::string insert = "INSERT INTO messages(queue, body, enqueued_ms) VALUES('" + s.name(QueueKind::kStandard) + "', '" +
                       id.str() + "', 0)";
  ASSERT_EQ(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  SqliteCrashQueue q(s);
  auto d = q.consume(1s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message.id, id);
  EXPECT_TRUE(q.ack(*d));
}

// Processes started together (a crash mover and processors) all open a queue file that does not
// exist yet; none may fail on the first one's switch to WAL or table creation.
TEST(SqliteCrashQueue, ProcessesOpeningANewFileTogetherAllSucceed) {
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    QueueSettings s;
    s.embedded_path = dir.path() / "queue" / "crash-queue.sqlite";
    constexpr int kProcesses = 6;
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    std::vector<std::unique_ptr<ForkedChild>> children;
    for (int p = 0; p < kProcesses; ++p) {
      children.push_back(std::make_unique<ForkedChild>([&] {
        ::close(go[1]);
        char c;
        if (::read(go[0], &c, 1) < 0) return 5;  // all start at once when the pipe closes
        SqliteCrashQueue q(s);
        q.publish(CrashMessage{CrashId::generate(ThrottleResult::kAccept)}, QueueKind::kStandard);
        return 0;
      }));
    }
    ::close(go[0]);
    ::close(go[1]);
    for (auto& child : children) EXPECT_TRUE(child->succeeded()) << "round " << round;
    SqliteCrashQueue q(s);
    EXPECT_EQ(q.stats().of(QueueKind::kStandard).ready, static_cast<uint64_t>(kProcesses)) << "round " << round;
  }
}

TEST(SqliteCrashQueue, UnwritableLocationIsQueueUnavailable) {
  QueueSettings s;
  s.embedded_path = "/proc/version/cannot/be/here.sqlite";
  EXPECT_THROW(SqliteCrashQueue{s}, QueueUnavailable);
}

}  // namespace
}  // namespace bw::queue
