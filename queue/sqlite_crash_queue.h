// The embedded crash queue (docs/design.md §7) for `breakwater serve`: one SQLite file in WAL mode,
// synchronous=FULL, so a publish that returned survives a power cut.
//
// A delivery is a lease: the row gets `lease_until` and a random token. ack deletes the row if
// the token still matches; a lease that runs out makes the row ready again for any consumer, in
// this process or another. A row already delivered `max_deliveries` times is moved to the
// dead_letters table instead of being delivered again.
//
// Dead consumers: each lease records its owner (boot id, pid namespace, pid and the process's
// start time). Opening the queue, and every consumer every `kReapInterval`, gives back at once the
// leases whose owner is provably gone (same boot and pid namespace, and no process with that pid
// and start time; or an earlier boot), so a processor restarted after SIGKILL resumes its
// crashes without waiting out `lease`. Leases of owners that cannot be checked (another
// machine or container) are left to expire.
//
// Waking: every write that makes a message ready touches `<file>.notify`; consumers wait on it
// with inotify, so an idle consumer in any process sees a new message at once. Waits are cut into
// slices of at most 500 ms so expired leases are noticed without any notification.
//
// Thread safety: an instance serializes its calls with a mutex; several instances (threads or
// processes) on one file are safe: every read-modify-write is one BEGIN IMMEDIATE transaction.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "queue/crash_queue.h"

namespace bw::queue {

class SqliteCrashQueue final : public CrashQueue {
 public:
  // Creates the file (and its folder) when missing. Throws QueueUnavailable when it cannot.
  explicit SqliteCrashQueue(QueueSettings settings);
  ~SqliteCrashQueue() override;
  SqliteCrashQueue(const SqliteCrashQueue&) = delete;
  SqliteCrashQueue& operator=(const SqliteCrashQueue&) = delete;

  void publish(const CrashMessage& message, QueueKind queue) override;
  void publish_batch(std::span<const CrashMessage> messages, QueueKind queue) override;
  std::optional<Delivery> consume(std::chrono::milliseconds wait) override;
  bool ack(const Delivery& delivery) override;
  bool retry(const Delivery& delivery, std::string_view reason) override;
  bool give_up(const Delivery& delivery, std::string_view reason) override;
  QueueStats stats() override;
  uint64_t purge(QueueKind queue) override;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  class Transaction;

  void exec(const char* sql);
  void add_lease_owner_column();
  [[noreturn]] void fail(const std::string& what) const;
  std::optional<Delivery> try_take(std::vector<DeadLetter>& dead);
  // The body and delivery count of a message still leased to `delivery`; nullopt when the lease
  // is gone. Under the mutex, inside a transaction.
  struct Leased {
    std::string body;
    uint32_t deliveries = 0;
  };
  std::optional<Leased> find_leased_locked(const Delivery& delivery);
  void dead_letter_locked(int64_t seq, QueueKind kind, const std::string& body, uint32_t deliveries,
                          const std::string& reason, std::vector<DeadLetter>& dead);
  void notify_consumers() const;
  void wait_for_notification(std::chrono::milliseconds timeout) const;
  void publish_with_retry(std::span<const CrashMessage> messages, QueueKind queue);
  // Gives back the leases of dead owners; returns how many. Takes the mutex.
  size_t release_dead_owners();

  QueueSettings settings_;
  std::filesystem::path notify_path_;
  std::mutex mutex_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  int inotify_fd_ = -1;
  ConsumptionOrder order_;
  std::mt19937_64 rng_;
  std::chrono::steady_clock::time_point next_reap_;
};

}  // namespace bw::queue
