// The whole request path on hostile bytes: a real server on loopback (Beast's parser, routing,
// limits, timeouts), the collector's multipart, JSON and gzip handling, and the real file-system
// storage in a temporary folder. Each input is sent as raw bytes on a fresh connection, the write
// side is closed, and the answer is read. The server must never crash, answer with a well-formed
// status line or close, store exactly the crashes it answered CrashID= for (byte for byte where
// the input holds the dump), and keep answering the next request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "collector/collector.h"
#include "core/crash_id.h"
#include "core/log.h"
#include "core/temp_dir.h"
#include "http/health.h"
#include "http/server.h"
#include "storage/fs_crash_storage.h"

namespace {

using namespace std::chrono_literals;

struct Harness {
  Harness() {
    bw::init_logging("off", bw::LogFormat::kPlain);
    auto root = dir.path() / "collector";
    storage = std::make_unique<bw::storage::FileSystemRawCrashStorage>(root);
    bw::collector::CollectorOptions o;
    o.storage_root = root;
    o.staging_dir = dir.path() / "staging";
    o.heartbeat_min_free = 0;
    o.max_body_size = 1 << 20;
    o.max_decompressed_size = 4 << 20;
    collector = std::make_unique<bw::collector::Collector>(o, *storage);
    bw::http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.io_threads = 1;
    so.worker_threads = 2;
    so.access_log = false;
    so.header_timeout = 2s;
    so.read_timeout = 2s;
    so.request_timeout = 5s;
    so.max_header_size = 8 * 1024;
    server = std::make_unique<bw::http::Server>(so);
    collector->add_routes(*server);
    bw::http::add_health_routes(*server, {"{}", {}});
    server->start();
  }

  // Sends `bytes`, closes the write side, returns everything the server sends until it closes.
  std::string exchange(std::string_view bytes) const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) std::abort();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // libFuzzer's -timeout timer sends SIGALRM every few seconds, without SA_RESTART: a blocking
    // call may return EINTR. An interrupted connect goes on in the background.
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno == EINTR) {
      pollfd w{fd, POLLOUT, 0};
      while (::poll(&w, 1, 30000) < 0 && errno == EINTR) {
      }
      int error = 0;
      socklen_t length = sizeof error;
      rc = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 ? 0 : -1;
      if (error != 0) errno = error;
    }
    if (rc != 0) {
      std::fprintf(stderr, "connect to the collector: %s\n", std::strerror(errno));
      std::abort();  // the server is gone
    }
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the server answered early and closed: fine
      sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    char buf[16 * 1024];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) std::abort();  // the server held a finished request: a hang
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return answer;
  }

  bw::test_support::TempDir dir;
  std::unique_ptr<bw::storage::FileSystemRawCrashStorage> storage;
  std::unique_ptr<bw::collector::Collector> collector;
  std::unique_ptr<bw::http::Server> server;
};

Harness& harness() {
  static auto* h = new Harness();  // lives for the whole run (threads keep serving)
  return *h;
}

void check_answers(std::string_view answer) {
  if (answer.empty()) return;  // closed without an answer: only when no request head arrived
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12) std::abort();
  int status = std::atoi(std::string(answer.substr(9, 3)).c_str());
  if (status < 100 || status > 599) std::abort();
  // The storage is healthy, so a 500 anywhere means a request broke something.
  if (answer.find("HTTP/1.1 500") != std::string_view::npos) std::abort();
  // Every crash id answered (several with keep-alive) was stored.
  for (size_t at = answer.find("CrashID=bp-"); at != std::string_view::npos; at = answer.find("CrashID=bp-", at + 1)) {
    auto id = bw::CrashId::parse(answer.substr(at + 8, 39));
    if (!id || !harness().storage->has_raw_crash(*id)) std::abort();  // answered but not stored
    harness().storage->remove(*id);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& h = harness();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_answers(h.exchange(input));
  // The server still answers after whatever came before.
  std::string ping = h.exchange("GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  if (ping.rfind("HTTP/1.1 200", 0) != 0) std::abort();
  return 0;
}
