#include "http/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/ascii.h"

namespace bw::http {
namespace {

using Clock = std::chrono::steady_clock;

int wait_readable(int fd, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, static_cast<int>(left));
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace

std::string ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return "";
}

Connection::Connection(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    throw std::runtime_error("resolve " + host + ": " + gai_strerror(rc));
  }
  std::string error = "no address";
  for (auto* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) throw std::runtime_error("connect " + host + ":" + service + ": " + error);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Connection::Connection(Connection&& other) noexcept : fd_(other.fd_), buffered_(std::move(other.buffered_)) {
  other.fd_ = -1;
}

bool Connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Connection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool Connection::fill(Clock::time_point deadline) {
  int r = wait_readable(fd_, deadline);
  if (r == 0) throw std::runtime_error("timed out waiting for the server");
  if (r < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
  char buf[65536];
  ssize_t n;
  do {
    n = ::recv(fd_, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET) return false;
    throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
  }
  if (n == 0) return false;
  buffered_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string Connection::read_line(Clock::time_point deadline) {
  for (;;) {
    auto pos = buffered_.find("\r\n");
    if (pos != std::string::npos) {
      std::string line = buffered_.substr(0, pos);
      buffered_.erase(0, pos + 2);
      return line;
    }
    if (!fill(deadline)) throw std::runtime_error("connection closed before a full response line");
  }
}

std::string Connection::read_exact(size_t n, Clock::time_point deadline) {
  while (buffered_.size() < n) {
    if (!fill(deadline)) throw std::runtime_error("connection closed in the middle of a response body");
  }
  std::string out = buffered_.substr(0, n);
  buffered_.erase(0, n);
  return out;
}

ClientResponse Connection::read_response(std::chrono::milliseconds timeout, bool head) {
  auto deadline = Clock::now() + timeout;
  ClientResponse res;
  for (;;) {
    std::string status_line = read_line(deadline);
    // "HTTP/1.1 200 OK"
    auto sp = status_line.find(' ');
    if (status_line.rfind("HTTP/", 0) != 0 || sp == std::string::npos) {
      throw std::runtime_error("not an HTTP status line: '" + status_line + "'");
    }
    res.status = std::atoi(status_line.c_str() + sp + 1);
    res.headers.clear();
    for (;;) {
      std::string line = read_line(deadline);
      if (line.empty()) break;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      res.headers.emplace_back(line.substr(0, colon), value);
    }
    if (res.status >= 100 && res.status < 200) continue;  // 100 Continue: the real answer follows
    break;
  }
  if (head || res.status == 204 || res.status == 304) return res;
  std::string te = res.header("Transfer-Encoding");
  std::string cl = res.header("Content-Length");
  if (iequals(te, "chunked")) {
    for (;;) {
      size_t size = std::stoul(read_line(deadline), nullptr, 16);
      if (size == 0) {
        while (!read_line(deadline).empty()) {
        }
        break;
      }
      res.body += read_exact(size, deadline);
      read_exact(2, deadline);
    }
  } else if (!cl.empty()) {
    res.body = read_exact(std::stoul(cl), deadline);
  } else {
    while (fill(deadline)) {
    }
    res.body = std::move(buffered_);
    buffered_.clear();
  }
  return res;
}

std::string Connection::read_until(std::string_view delimiter, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto pos = buffered_.find(delimiter);
    if (pos != std::string::npos) {
      std::string out = buffered_.substr(0, pos + delimiter.size());
      buffered_.erase(0, pos + delimiter.size());
      return out;
    }
    if (!fill(deadline)) throw std::runtime_error("connection closed before '" + std::string(delimiter) + "'");
  }
}

bool Connection::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int r = wait_readable(fd_, deadline);
    if (r <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
  }
}

std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
  std::string out;
  out.reserve(body.size() + 512);
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  bool has_te = false;
  for (const auto& [k, v] : headers) {
    if (iequals(k, "Transfer-Encoding")) has_te = true;
    out.append(k).append(": ").append(v).append("\r\n");
  }
  if (!has_te) out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("\r\n").append(body);
  return out;
}

std::string chunk_encode(std::string_view body, size_t chunk_size) {
  std::string out;
  char size_hex[32];
  while (!body.empty()) {
    size_t n = std::min(chunk_size, body.size());
    std::snprintf(size_hex, sizeof size_hex, "%zx\r\n", n);
    out.append(size_hex).append(body.substr(0, n)).append("\r\n");
    body.remove_prefix(n);
  }
  out.append("0\r\n\r\n");
  return out;
}

}  // namespace bw::http
