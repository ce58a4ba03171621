#include "queue/sqlite_crash_queue.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/log.h"

namespace bw::queue {
namespace {

using Clock = std::chrono::steady_clock;

// How often a consumer looks for leases held by dead processes.
constexpr auto kReapInterval = std::chrono::seconds(15);

std::string read_small_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or "" when there is no
// such process. The command name (field 2) may hold spaces and parentheses: skip to its last ')'.
std::string process_start_time(const std::string& pid) {
  std::string stat = read_small_file(("/proc/" + pid + "/stat").c_str());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  size_t pos = close + 2;  // field 3 starts here
  for (int field = 3; field < 22 && pos < stat.size(); ++field) {
    pos = stat.find(' ', pos);
    if (pos == std::string::npos) return {};
    ++pos;
  }
  auto end = stat.find(' ', pos);
  return pos < stat.size() ? stat.substr(pos, end - pos) : std::string();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// This boot's id and this process's pid namespace: the same for every process forked from it.
const std::string& boot_id() {
  static const std::string id = trimmed(read_small_file("/proc/sys/kernel/random/boot_id"));
  return id;
}
const std::string& pid_namespace() {
  static const std::string ns = [] {
    char buf[128];
    ssize_t n = ::readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?");
  }();
  return ns;
}

// "<boot id> <pid namespace> <pid> <start time>": who holds a lease, checkable from any process
// on the same machine and in the same pid namespace.
// Computed again after a fork (a forked child is another owner).
std::string this_process_owner() {
  static std::mutex mu;
  static pid_t cached_pid = -1;
  static std::string cached;
  std::lock_guard lock(mu);
  if (cached_pid != ::getpid()) {
    cached_pid = ::getpid();
    std::string pid = std::to_string(cached_pid);
    cached = boot_id() + " " + pid_namespace() + " " + pid + " " + process_start_time(pid);
  }
  return cached;
}

// True only when the owner is certainly not running any more.
bool owner_is_dead(const std::string& owner) {
  std::array<std::string, 4> part;
  size_t pos = 0;
  for (size_t i = 0; i < part.size(); ++i) {
    auto space = owner.find(' ', pos);
    if (space == std::string::npos && i + 1 < part.size()) return false;  // malformed: cannot tell
    part[i] = owner.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
    pos = space == std::string::npos ? owner.size() : space + 1;
  }
  const std::string& boot = boot_id();
  const std::string& ns = pid_namespace();
  if (boot.empty() || part[0].empty()) return false;
  if (part[0] != boot) return true;  // the machine rebooted since: every process of then is gone
  if (part[1] != ns || part[2].empty() || part[3].empty()) return false;
  for (char c : part[2]) {
    if (c < '0' || c > '9') return false;
  }
  return process_start_time(part[2]) != part[3];  // gone, or the pid now belongs to another process
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw QueueUnavailable(std::string("embedded queue: prepare failed: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  // True while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw QueueUnavailable(std::string("embedded queue: ") + sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int changes() const { return sqlite3_changes(db_); }
  int64_t int_at(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text_at(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    int n = sqlite3_column_bytes(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) throw QueueUnavailable(std::string("embedded queue: bind failed: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  body TEXT NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  lease_token INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT NOT NULL DEFAULT '',
  last_error TEXT,
  enqueued_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages(queue, seq);
CREATE TABLE IF NOT EXISTS dead_letters(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  body TEXT NOT NULL,
  deliveries INTEGER NOT NULL,
  reason TEXT NOT NULL,
  failed_ms INTEGER NOT NULL);
)sql";

}  // namespace

// BEGIN IMMEDIATE ... COMMIT, rolled back when left by an exception.
class SqliteCrashQueue::Transaction {
 public:
  explicit Transaction(SqliteCrashQueue& q) : q_(q) { q_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(q_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    q_.exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteCrashQueue& q_;
  bool done_ = false;
};

SqliteCrashQueue::SqliteCrashQueue(QueueSettings settings)
    : settings_(std::move(settings)), order_(settings_.reprocessing_share), rng_(std::random_device{}()) {
  settings_.validate();
  const auto& path = settings_.embedded_path;
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) fail("cannot open " + path.string());
  sqlite3_busy_timeout(db_.get(), 10000);
  // Several processes may open a new queue file at once (a crash mover and processors started
  // together). Switching to WAL and creating the tables can then fail at once with "database is
  // locked" (SQLite does not wait on a lock it could deadlock on), or with an I/O error while the
  // other connection is mid-switch. Both steps are idempotent, so they are retried for as long as
  // the busy timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    try {
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=FULL");
      exec(kSchema);
      add_lease_owner_column();
      break;
    } catch (const QueueUnavailable&) {
      int code = sqlite3_errcode(db_.get()) & 0xff;  // the primary code of an extended one
      bool transient = code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR;
      if (!transient || std::chrono::steady_clock::now() >= give_up) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  release_dead_owners();
  next_reap_ = Clock::now() + kReapInterval;

  notify_path_ = path;
  notify_path_ += ".notify";
  int fd = ::open(notify_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw QueueUnavailable("embedded queue: cannot create " + notify_path_.string() + ": " + std::strerror(errno));
  ::close(fd);
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 || inotify_add_watch(inotify_fd_, notify_path_.c_str(), IN_CLOSE_WRITE) < 0) {
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    // Without inotify consumers still see messages through the 500 ms wait slices.
    inotify_fd_ = -1;
    logger("queue")->warn("embedded queue: inotify unavailable ({}); consumers fall back to short waits",
                          std::strerror(errno));
  }
}

SqliteCrashQueue::~SqliteCrashQueue() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void SqliteCrashQueue::add_lease_owner_column() {
  // Queue files written before lease owners existed: add the column (idempotent).
  Statement columns(db_.get(), "SELECT 1 FROM pragma_table_info('messages') WHERE name = 'lease_owner'");
  if (!columns.step()) exec("ALTER TABLE messages ADD COLUMN lease_owner TEXT NOT NULL DEFAULT ''");
}

size_t SqliteCrashQueue::release_dead_owners() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> owners;
  {
    Statement select(db_.get(), "SELECT DISTINCT lease_owner FROM messages WHERE lease_until > ? AND lease_owner != ''");
    select.bind(1, wall_ms());
    while (select.step()) owners.push_back(select.text_at(0));
  }
  size_t released = 0;
  for (const auto& owner : owners) {
    if (owner == this_process_owner() || !owner_is_dead(owner)) continue;
    Statement release(db_.get(),
                      "UPDATE messages SET lease_until = 0, lease_token = 0, lease_owner = '' WHERE lease_owner = ?");
    release.bind(1, owner);
    release.step();
    released += static_cast<size_t>(release.changes());
  }
  if (released > 0) {
    logger("queue")->info("embedded queue: gave back {} deliveries held by consumers that are gone", released);
  }
  return released;
}

void SqliteCrashQueue::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : sqlite3_errmsg(db_.get());
    sqlite3_free(err);
    throw QueueUnavailable("embedded queue: " + message);
  }
}

void SqliteCrashQueue::fail(const std::string& what) const {
  throw QueueUnavailable("embedded queue: " + what + ": " + (db_ ? sqlite3_errmsg(db_.get()) : "out of memory"));
}

void SqliteCrashQueue::notify_consumers() const {
  // Opening for writing and closing raises IN_CLOSE_WRITE for every watcher; nothing is written.
  int fd = ::open(notify_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
}

void SqliteCrashQueue::wait_for_notification(std::chrono::milliseconds timeout) const {
  auto slice = std::min<std::chrono::milliseconds>(timeout, std::chrono::milliseconds(500));
  if (slice.count() <= 0) return;
  if (inotify_fd_ < 0) {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(slice, std::chrono::milliseconds(50)));
    return;
  }
  pollfd p{inotify_fd_, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(slice.count()));
}

void SqliteCrashQueue::publish(const CrashMessage& message, QueueKind queue) {
  publish_with_retry(std::span<const CrashMessage>(&message, 1), queue);
}

void SqliteCrashQueue::publish_batch(std::span<const CrashMessage> messages, QueueKind queue) {
  if (!messages.empty()) publish_with_retry(messages, queue);
}

void SqliteCrashQueue::publish_with_retry(std::span<const CrashMessage> messages, QueueKind queue) {
  // Validate on the way in: only well-formed bodies are ever stored.
  std::vector<std::string> bodies;
  bodies.reserve(messages.size());
  for (const auto& m : messages) {
    bodies.push_back(m.encode());
    if (!CrashMessage::parse(bodies.back())) throw std::invalid_argument("invalid crash message " + bodies.back());
  }
  auto deadline = Clock::now() + settings_.publish_timeout;
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    try {
      std::lock_guard lock(mutex_);
      Transaction tx(*this);
      Statement insert(db_.get(), "INSERT INTO messages(queue, body, enqueued_ms) VALUES(?, ?, ?)");
      int64_t now = wall_ms();
      for (const auto& body : bodies) {
        insert.bind(1, settings_.name(queue)).bind(2, body).bind(3, now);
        insert.step();
        insert.reset();
      }
      tx.commit();
      break;
    } catch (const QueueUnavailable& e) {
      if (Clock::now() + backoff > deadline) throw;
      logger("queue")->warn("embedded queue: publish failed, retrying: {}", e.what());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }
  notify_consumers();
}

void SqliteCrashQueue::dead_letter_locked(int64_t seq, QueueKind kind, const std::string& body,
                                          uint32_t deliveries, const std::string& reason,
                                          std::vector<DeadLetter>& dead) {
  Statement insert(db_.get(),
                   "INSERT INTO dead_letters(queue, body, deliveries, reason, failed_ms) VALUES(?, ?, ?, ?, ?)");
  insert.bind(1, settings_.name(kind)).bind(2, body).bind(3, deliveries).bind(4, reason).bind(5, wall_ms());
  insert.step();
  Statement remove(db_.get(), "DELETE FROM messages WHERE seq = ?");
  remove.bind(1, seq);
  remove.step();
  dead.push_back(DeadLetter{kind, body, CrashMessage::parse(body), deliveries, reason});
}

std::optional<Delivery> SqliteCrashQueue::try_take(std::vector<DeadLetter>& dead) {
  Transaction tx(*this);
  int64_t now = wall_ms();
  Statement ready(db_.get(), "SELECT 1 FROM messages WHERE queue = ? AND lease_until <= ? LIMIT 1");
  Statement head(db_.get(),
                 "SELECT seq, body, deliveries FROM messages WHERE queue = ? AND lease_until <= ? "
                 "ORDER BY seq LIMIT 1");
  for (;;) {
    std::array<bool, 3> has{};
    for (QueueKind kind : kAllQueueKinds) {
      ready.bind(1, settings_.name(kind)).bind(2, now);
      has[static_cast<size_t>(kind)] = ready.step();
      ready.reset();
    }
    auto kind = order_.next(has[static_cast<size_t>(QueueKind::kPriority)],
                            has[static_cast<size_t>(QueueKind::kStandard)],
                            has[static_cast<size_t>(QueueKind::kReprocessing)]);
    if (!kind) {
      tx.commit();
      return std::nullopt;
    }
    head.bind(1, settings_.name(*kind)).bind(2, now);
    if (!head.step()) {  // cannot happen inside the transaction, but never trust it
      head.reset();
      continue;
    }
    int64_t seq = head.int_at(0);
    std::string body = head.text_at(1);
    auto deliveries = static_cast<uint32_t>(head.int_at(2));
    head.reset();
    if (deliveries >= settings_.max_deliveries) {
      dead_letter_locked(seq, *kind, body, deliveries,
                         "not acknowledged after " + std::to_string(deliveries) + " deliveries (lease expired)", dead);
      continue;
    }
    std::string why;
    auto message = CrashMessage::parse(body, &why);
    if (!message) {
      dead_letter_locked(seq, *kind, body, deliveries, "invalid message: " + why, dead);
      continue;
    }
    auto token = static_cast<int64_t>(rng_() >> 1) | 1;  // never 0, the "no lease" token
    Statement lease(db_.get(),
                    "UPDATE messages SET deliveries = deliveries + 1, lease_until = ?, lease_token = ?, lease_owner = ? "
                    "WHERE seq = ?");
    lease.bind(1, now + settings_.lease.count()).bind(2, token).bind(3, this_process_owner()).bind(4, seq);
    lease.step();
    tx.commit();
    return Delivery{*message, *kind, deliveries + 1, static_cast<uint64_t>(seq), static_cast<uint64_t>(token)};
  }
}

std::optional<Delivery> SqliteCrashQueue::consume(std::chrono::milliseconds wait) {
  auto deadline = Clock::now() + wait;
  bool reap = false;
  {
    std::lock_guard lock(mutex_);
    reap = Clock::now() >= next_reap_;
    if (reap) next_reap_ = Clock::now() + kReapInterval;
  }
  if (reap) {
    try {
      if (release_dead_owners() > 0) notify_consumers();
    } catch (const QueueUnavailable& e) {
      logger("queue")->warn("embedded queue: could not check for dead consumers: {}", e.what());
    }
  }
  for (;;) {
    // Drain pending notifications first: a publish after the query below raises a new one.
    if (inotify_fd_ >= 0) {
      alignas(inotify_event) char buffer[4096];
      while (::read(inotify_fd_, buffer, sizeof buffer) > 0) {
      }
    }
    std::vector<DeadLetter> dead;
    std::optional<Delivery> delivery;
    try {
      std::lock_guard lock(mutex_);
      delivery = try_take(dead);
    } catch (const QueueUnavailable& e) {
      if (Clock::now() >= deadline) throw;
      logger("queue")->warn("embedded queue: consume failed, retrying: {}", e.what());
    }
    for (const auto& letter : dead) report_dead_letter(letter);
    if (delivery) return delivery;
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return std::nullopt;
    wait_for_notification(remaining);
  }
}

bool SqliteCrashQueue::ack(const Delivery& delivery) {
  std::lock_guard lock(mutex_);
  Statement remove(db_.get(), "DELETE FROM messages WHERE seq = ? AND lease_token = ?");
  remove.bind(1, static_cast<int64_t>(delivery.handle)).bind(2, static_cast<int64_t>(delivery.lease));
  remove.step();
  return remove.changes() == 1;
}

std::optional<SqliteCrashQueue::Leased> SqliteCrashQueue::find_leased_locked(const Delivery& delivery) {
  Statement find(db_.get(), "SELECT body, deliveries FROM messages WHERE seq = ? AND lease_token = ?");
  find.bind(1, static_cast<int64_t>(delivery.handle)).bind(2, static_cast<int64_t>(delivery.lease));
  if (!find.step()) return std::nullopt;
  return Leased{find.text_at(0), static_cast<uint32_t>(find.int_at(1))};
}

bool SqliteCrashQueue::retry(const Delivery& delivery, std::string_view reason) {
  std::vector<DeadLetter> dead;
  bool requeued = false;
  {
    std::lock_guard lock(mutex_);
    Transaction tx(*this);
    auto leased = find_leased_locked(delivery);
    if (!leased) return false;
    auto& [body, deliveries] = *leased;
    if (deliveries >= settings_.max_deliveries) {
      dead_letter_locked(static_cast<int64_t>(delivery.handle), delivery.queue, body, deliveries,
                         std::string(reason) + " (gave up after " + std::to_string(deliveries) + " deliveries)", dead);
    } else {
      Statement requeue(db_.get(),
                        "UPDATE messages SET lease_until = 0, lease_token = 0, lease_owner = '', last_error = ? WHERE seq = ?");
      requeue.bind(1, reason).bind(2, static_cast<int64_t>(delivery.handle));
      requeue.step();
      requeued = true;
    }
    tx.commit();
  }
  if (requeued) notify_consumers();
  for (const auto& letter : dead) report_dead_letter(letter);
  return true;
}

bool SqliteCrashQueue::give_up(const Delivery& delivery, std::string_view reason) {
  std::vector<DeadLetter> dead;
  {
    std::lock_guard lock(mutex_);
    Transaction tx(*this);
    auto leased = find_leased_locked(delivery);
    if (!leased) return false;
    auto& [body, deliveries] = *leased;
    dead_letter_locked(static_cast<int64_t>(delivery.handle), delivery.queue, body, deliveries, std::string(reason),
                       dead);
    tx.commit();
  }
  for (const auto& letter : dead) report_dead_letter(letter);
  return true;
}

QueueStats SqliteCrashQueue::stats() {
  std::lock_guard lock(mutex_);
  QueueStats stats;
  int64_t now = wall_ms();
  for (QueueKind kind : kAllQueueKinds) {
    auto& depth = stats.queues[static_cast<size_t>(kind)];
    Statement count(db_.get(),
                    "SELECT COALESCE(SUM(lease_until <= ?), 0), COALESCE(SUM(lease_until > ?), 0) "
                    "FROM messages WHERE queue = ?");
    count.bind(1, now).bind(2, now).bind(3, settings_.name(kind));
    if (count.step()) {
      depth.ready = static_cast<uint64_t>(count.int_at(0));
      depth.in_flight = static_cast<uint64_t>(count.int_at(1));
    }
    Statement dead(db_.get(), "SELECT COUNT(*) FROM dead_letters WHERE queue = ?");
    dead.bind(1, settings_.name(kind));
    if (dead.step()) depth.dead_letters = static_cast<uint64_t>(dead.int_at(0));
  }
  return stats;
}

uint64_t SqliteCrashQueue::purge(QueueKind queue) {
  std::lock_guard lock(mutex_);
  Statement remove(db_.get(), "DELETE FROM messages WHERE queue = ? AND lease_until <= ?");
  remove.bind(1, settings_.name(queue)).bind(2, wall_ms());
  remove.step();
  return static_cast<uint64_t>(remove.changes());
}

}  // namespace bw::queue
