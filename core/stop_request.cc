#include "core/stop_request.h"

namespace bw {

void StopRequest::request() {
  {
    // Under the lock: a waiter between its check and its sleep cannot miss the notification.
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

void StopRequest::reset() {
  std::lock_guard lock(mu_);
  requested_ = false;
}

bool StopRequest::wait_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, duration, [this] { return requested_.load(); });
}

}  // namespace bw
