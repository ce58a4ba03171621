// A minimal blocking HTTP/1.1 client over one TCP connection, for tests and the load generator:
// it sends bytes exactly as given (so tests can send malformed or slow requests) and reads
// responses with a deadline. Not for production traffic (`breakwater submit` uses libcurl).
//
// Errors: std::runtime_error on connect failure, timeout, or a connection closed mid-response.
// Thread safety: one connection per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bw::http {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

class Connection {
 public:
  // Connects to host (numeric IPv4/IPv6 or "localhost") and port.
  Connection(const std::string& host, uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;

  // Sends all bytes. Returns false if the peer closed or reset the connection.
  bool send(std::string_view bytes);
  // Reads one response (Content-Length, chunked, or until close). HEAD responses: pass head=true.
  ClientResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(60), bool head = false);
  // Raw bytes up to and including `delimiter` (for interim answers such as 100 Continue).
  std::string read_until(std::string_view delimiter, std::chrono::milliseconds timeout);
  // True if the peer closes (EOF or reset) within `timeout`; discards what it sends meanwhile.
  bool wait_closed(std::chrono::milliseconds timeout);
  void shutdown_write();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // false on EOF
  std::string read_line(std::chrono::steady_clock::time_point deadline);
  std::string read_exact(size_t n, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffered_;
};

// "POST /submit HTTP/1.1\r\nHost: x\r\n<headers>\r\nContent-Length: n\r\n\r\n<body>": a whole
// request with Content-Length (unless a Transfer-Encoding header is given).
std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);
// Encodes `body` as HTTP chunks of at most `chunk_size` bytes, with the final zero chunk.
std::string chunk_encode(std::string_view body, size_t chunk_size);

}  // namespace bw::http
