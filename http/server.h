// The HTTP/1.1 server every Breakwater role that listens uses (collector now, web app later).
//
// What it promises:
// - Keep-alive, chunked request bodies (de-chunked before handlers see them; trailer fields are
//   read within the head limit and dropped), `Expect: 100-continue` (the 100 is sent only when the
//   route wants the body), a limit on the request head and on a chunked body's trailer (431),
//   per-route body limits (413 from the route's handler).
// - Every request it cannot take gets the status that tells the client what to do, then the
//   connection closes: a head that is not HTTP, an HTTP/1.1 request without `Host`, a bad chunk
//   (400); a transfer coding other than `chunked` (501, RFC 9112 §6.1); a timeout (408).
// - Slow clients cannot hold the server: a request head must arrive within `header_timeout`; a
//   body may not pause longer than `read_timeout`, must keep up an average of `min_body_rate`
//   bytes/s after `body_rate_grace` (as Apache's mod_reqtimeout MinRate), and one request may not
//   take longer than `request_timeout`; each is answered 408. At `max_connections`, a new
//   connection takes the place of the slowest one that is shed-able (a connection idle for a
//   second or more, else a body upload below `min_body_rate` after its first second): health
//   checks and fast clients are served while slow ones are shed. Only when no connection can be
//   shed is the new one answered 503 and closed.
// - No exception escapes a connection: one thrown by a route, a handler or the parser answers
//   500 (or closes that one connection) and the server goes on.
// - Request bodies are streamed: a route returns a BodyHandler whose `on_body` gets each piece
//   as it arrives (at most 64 KiB at a time), so a handler can write a body to disk piecewise and
//   memory per connection stays small whatever the body size.
// - `on_complete` runs on a separate worker pool, so slow durable work (fsync) never stalls the
//   threads that move bytes.
// - Graceful shutdown (`stop`): stop accepting, close idle connections, let in-flight requests
//   finish (their answers carry `Connection: close`), and return once all are done or
//   `shutdown_timeout` passed.
// - Access log (logger "http": method, path, status, bytes, duration, peer; never the part of a
//   path a route marks secret) and metrics
//   (bw_http_requests_total{code}, bw_http_open_connections, bw_http_request_duration_seconds).
//
// Ownership and threads: the Server owns its threads and connections. Routes are added before
// `start`. A BodyHandler is used by one connection at a time (no locking needed inside it) and is
// destroyed on the connection's thread or the worker pool; its destructor must release whatever
// it holds (temporary files...), since a request can end at any point (client gone, timeout).
// Errors: `start` throws std::runtime_error when it cannot bind; an exception escaping a route
// or handler is logged and answered with 500.
// Metrics also count bw_http_shed_connections_total and bw_http_timeouts_total{phase}.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/config.h"

namespace bw::http {

struct Request {
  std::string method;  // "POST"
  std::string target;  // "/submit?product=Firefox"
  std::string path;    // "/submit"
  std::string query;   // "product=Firefox" (still percent-encoded)
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string peer;    // "127.0.0.1:40312", "[::1]:5000" (client_address() drops the port)
  bool chunked = false;
  std::optional<uint64_t> content_length;

  // First header with this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
  // An API answer: JSON that browsers must not sniff (X-Content-Type-Options: nosniff) with the
  // given Cache-Control ("no-cache" for the web API, "no-store" for symbol uploads).
  static Response api_json(int status, std::string body, std::string_view cache_control);
};

// Receives one request's body as it arrives.
class BodyHandler {
 public:
  virtual ~BodyHandler() = default;
  // A piece of the body (after chunked decoding). Return a response to stop reading and answer at
  // once (the connection is then closed, since the rest of the body is not read).
  virtual std::optional<Response> on_body(std::string_view piece) = 0;
  // The whole body arrived (possibly empty). Runs on the worker pool.
  virtual Response on_complete() = 0;
  // The body is larger than the route's limit (known from Content-Length, or counted).
  virtual Response on_too_large() { return Response::text(413, ""); }
};

// What a route answers when the head has arrived: a response now, or a handler for the body.
using Reply = std::variant<Response, std::unique_ptr<BodyHandler>>;

// A reply that runs `work` on the worker pool once the body (usually none: a GET) has arrived and
// been dropped: file reads, database queries and rendering stay off the threads that move bytes.
Reply deferred(std::function<Response()> work);
// A reply that gathers the whole body in memory (a small form: the route's body_limit bounds it)
// and runs `work` with it on the worker pool; `too_large` (optional) answers a body over the limit.
Reply collected(std::function<Response(std::string body)> work, std::function<Response()> too_large = {});

// Who may use a route and what its answers hold (docs/security.md "Every route declares its
// access"). The permission-matrix test (web/route_matrix_test.cc) lists every route of a whole site
// with Server::routes() and fails on a route that declares nothing or that it has no case for.
struct Access {
  enum class Kind {
    kUndeclared,
    kPublic,        // the same answer for every caller; nothing protected in it
    kByPermission,  // open to all; protected parts only for callers holding the permission they need
    kSignedIn,      // a signed-in user's own things (or signing in/out); nothing protected otherwise
    kRequires,      // refused (401/403) unless the caller holds `permission`
  };
  Kind kind = Kind::kUndeclared;
  std::string permission{};  // kRequires

  static Access open() { return {Kind::kPublic, {}}; }
  static Access by_permission() { return {Kind::kByPermission, {}}; }
  static Access signed_in() { return {Kind::kSignedIn, {}}; }
  static Access requires_permission(std::string name) { return {Kind::kRequires, std::move(name)}; }
};

// The body limit of routes that take no body (GET pages and API reads): room for a stray small
// body, nothing more.
inline constexpr uint64_t kNoBodyLimit = 1024;

struct Route {
  std::string method;  // "GET", "POST", ...; GET routes also answer HEAD
  std::string path;    // exact match on Request::path, or a prefix of it when `prefix` is set
  uint64_t body_limit = 64 * 1024;
  std::function<Reply(const Request&)> handle;
  // "/report/index/" matches "/report/index/<id>"; an exact route wins, then the longest prefix. A
  // path that is an exact route for other methods only answers 405 with Allow (never a prefix's).
  bool prefix = false;
  // The whole request's time limit for this route instead of ServerOptions::request_timeout (a
  // multi-gigabyte upload needs longer than a crash report; min_body_rate still applies).
  std::optional<std::chrono::milliseconds> request_timeout{};
  Access access{};  // set with Server::route(Access, Route)
  // The rest of the path past `path` is a secret (a one-time link, an upload key): logs show
  // "<path>(secret)" instead.
  bool secret_in_path = false;
};

// A registered route as Server::routes() lists it.
struct RouteInfo {
  std::string method, path;
  bool prefix = false;
  Access access{};
};

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT, "[::1]:PORT"; port 0 picks a free one
  unsigned io_threads = 0;              // 0: one per core
  unsigned worker_threads = 32;
  size_t max_connections = 1024;
  size_t max_header_size = 32 * 1024;
  std::chrono::milliseconds header_timeout{20'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds request_timeout{600'000};
  uint64_t min_body_rate = 1024;                     // bytes/s over a whole body; 0 = no minimum
  std::chrono::milliseconds body_rate_grace{10'000};  // a body's first seconds are not rated
  std::chrono::milliseconds shutdown_timeout{30'000};
  bool access_log = true;

  // server.listen and the [http] section.
  static ServerOptions from_config(const Config& config);
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stop()s if running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Adds a route; only before start().
  void route(Route r);
  // Adds a route declaring who may use it (every route of the site's parts does).
  void route(Access access, Route r);
  // Every route added, in order.
  std::vector<RouteInfo> routes() const;
  // Binds and starts serving. Throws std::runtime_error if the address cannot be bound.
  void start();
  // The bound address and port (after start).
  std::string address() const;
  uint16_t port() const;
  // Graceful shutdown; idempotent. Returns when every connection is closed.
  void stop();
  // Connections currently open (for tests and metrics).
  size_t open_connections() const;

  struct Impl;  // defined in server.cc, the only file that sees Beast

 private:
  std::shared_ptr<Impl> impl_;
};

// Splits a query string into decoded key → value pairs ("a=1&b=%20x" → {a:"1", b:" x"}); '+' is a
// space. A key given twice keeps its first value. Malformed escapes are kept as written.
std::map<std::string, std::string> parse_query(std::string_view query);
// Splits a query string into decoded (key, value) pairs in order, keeping repeated keys
// ("a=1&a=2" → {a:1},{a:2}), as Super Search needs for OR filters. Empty pieces are skipped.
std::vector<std::pair<std::string, std::string>> parse_query_pairs(std::string_view query);
// Percent-decoding ('+' as space when `plus_is_space`).
std::string percent_decode(std::string_view text, bool plus_is_space);

}  // namespace bw::http
