// The only translation unit that includes Beast (compile time on small machines).
#include "http/server.h"

#include <algorithm>
#include <array>
#include <limits>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"
#include "core/metrics.h"

namespace bw::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lingering close: after answering early, read and discard what the client still sends for a
// short while, so its unread bytes do not turn our close into a reset that loses the answer.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kBodyPiece = 64 * 1024;

}  // namespace

const std::string* Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

class Session;

struct Server::Impl {
  explicit Impl(ServerOptions o) : opts(std::move(o)) {}

  ServerOptions opts;
  std::vector<Route> routes;

  // Declared before the io_context: sessions destroyed with it still unregister here.
  std::mutex mu;
  std::condition_variable all_closed;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_retry{accept_strand};
  std::unique_ptr<asio::thread_pool> workers;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool running = false;
  tcp::endpoint bound;

  std::shared_ptr<spdlog::logger> log = bw::logger("http");
  metrics::Gauge& open_gauge =
      metrics::Registry::global().gauge("bw_http_open_connections", "HTTP connections currently open");
  metrics::Histogram& latency = metrics::Registry::global().histogram(
      "bw_http_request_duration_seconds", "time from request head to answer sent", metrics::default_latency_buckets());

  void do_accept();
  void reject(tcp::socket socket);
  void count_request(int status) {
    metrics::Registry::global()
        .counter("bw_http_requests_total", "HTTP requests answered, by status code", {{"code", std::to_string(status)}})
        .inc();
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl* server)
      : stream_(std::move(socket)), server_(server), buffer_(server->opts.max_header_size + 2 * kBodyPiece) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    // Beast reads at most the buffer's free capacity (never less than 512 bytes): without room
    // reserved up front, a body arrives in header-sized reads of ~2 KiB, each a full trip
    // through the reactor, the timer and the body handler.
    buffer_.reserve(kBodyPiece);
  }

  ~Session() {
    {
      std::lock_guard lock(server_->mu);
      server_->sessions.erase(this);
      server_->open_gauge.set(static_cast<double>(server_->sessions.size()));
    }
    server_->all_closed.notify_all();
  }

  void start() {
    {
      std::lock_guard lock(server_->mu);
      server_->sessions.emplace(this, weak_from_this());
      server_->open_gauge.set(static_cast<double>(server_->sessions.size()));
    }
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read_head, shared_from_this()));
  }

  // From stop(): close now if waiting for a request; in-flight requests finish first.
  void close_if_idle() {
    if (idle_) close();
  }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
  auto executor() { return stream_.get_executor(); }

 private:
  const ServerOptions& opts() const { return server_->opts; }

  void read_head() {
    if (server_->stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(opts().max_header_size, UINT32_MAX)));
    // Routes have their own limits, counted in on_body. (Not boost::none: Boost 1.74 compares
    // Content-Length against an empty optional and refuses every body.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    handler_.reset();
    route_ = nullptr;
    received_ = 0;
    idle_ = true;
    stream_.expires_after(opts().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_head, shared_from_this()));
  }

  void on_head(beast::error_code ec, size_t) {
    idle_ = false;
    started_ = Clock::now();
    req_ = Request{};
    req_.peer = peer_;
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        return respond(Response::text(431, "request header too large\n"), true);
      }
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset || ec == asio::error::bad_descriptor) {
        return close();
      }
      // Any other parse error: the head is not HTTP we understand.
      return respond(Response::text(400, "bad request: " + ec.message() + "\n"), true);
    }
    auto& msg = parser_->get();
    req_.method = std::string(msg.method_string());
    req_.target = std::string(msg.target());
    auto q = req_.target.find('?');
    req_.path = req_.target.substr(0, q);
    if (q != std::string::npos) req_.query = req_.target.substr(q + 1);
    for (const auto& field : msg) req_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    req_.chunked = msg.chunked();
    if (auto len = parser_->content_length()) req_.content_length = *len;
    deadline_ = started_ + opts().request_timeout;

    const Route* path_match = nullptr;
    for (const auto& r : server_->routes) {
      if (r.path != req_.path) continue;
      path_match = &r;
      if (r.method == req_.method || (r.method == "GET" && req_.method == "HEAD")) {
        route_ = &r;
        break;
      }
    }
    if (!route_) {
      if (path_match) {
        Response res = Response::text(405, "method not allowed\n");
        res.headers.emplace_back("Allow", path_match->method);
        return respond(std::move(res), req_.has_body());
      }
      return respond(Response::text(404, "not found\n"), req_.has_body());
    }

    Reply reply;
    try {
      reply = route_->handle(req_);
    } catch (const std::exception& e) {
      log_fields(*server_->log, spdlog::level::err, "route failed", {{"path", req_.path}, {"error", e.what()}});
      return respond(Response::text(500, ""), req_.has_body());
    }
    if (auto* res = std::get_if<Response>(&reply)) return respond(std::move(*res), req_.has_body());

    handler_ = std::move(std::get<std::unique_ptr<BodyHandler>>(reply));
    if (req_.content_length && *req_.content_length > route_->body_limit) {
      return respond(handler_->on_too_large(), true);
    }
    const auto expect = msg[bhttp::field::expect];
    if (iequals(std::string_view(expect.data(), expect.size()), "100-continue") && !parser_->is_done()) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, msg.version());
      stream_.expires_after(opts().read_timeout);
      bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return complete();
    auto now = Clock::now();
    if (now >= deadline_) return respond(Response::text(408, "request took too long\n"), true);
    auto& body = parser_->get().body();
    body.data = body_buf_.data();
    body.size = body_buf_.size();
    body.more = true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
    stream_.expires_after(std::min(opts().read_timeout, left));
    bhttp::async_read_some(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      log_fields(*server_->log, spdlog::level::info, "request body not received",
                 {{"path", req_.path}, {"peer", peer_}, {"received", std::to_string(received_)}, {"reason", ec.message()}});
      // On a timeout Beast has already closed the socket: no answer can be sent.
      return close();
    }
    size_t got = body_buf_.size() - parser_->get().body().size;
    if (got > 0) {
      received_ += got;
      if (received_ > route_->body_limit) return respond(handler_->on_too_large(), true);
      std::optional<Response> early;
      try {
        early = handler_->on_body(std::string_view(body_buf_.data(), got));
      } catch (const std::exception& e) {
        log_fields(*server_->log, spdlog::level::err, "body handler failed", {{"path", req_.path}, {"error", e.what()}});
        early = Response::text(500, "");
      }
      if (early) return respond(std::move(*early), !parser_->is_done());
    }
    read_body();
  }

  void complete() {
    asio::post(*server_->workers, [self = shared_from_this()] {
      Response res;
      try {
        res = self->handler_->on_complete();
      } catch (const std::exception& e) {
        log_fields(*self->server_->log, spdlog::level::err, "request failed", {{"path", self->req_.path}, {"error", e.what()}});
        res = Response::text(500, "");
      }
      asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        self->respond(std::move(res), false);
      });
    });
  }

  // Sends `r`. `body_pending`: the request body was not (fully) read, so the connection closes.
  void respond(Response r, bool body_pending) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), 11);
    res->set(bhttp::field::server, "breakwater");
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    bool keep = !body_pending && !server_->stopping && parser_ && parser_->is_header_done() && parser_->get().keep_alive();
    res->keep_alive(keep);
    res->prepare_payload();
    if (req_.method == "HEAD") res->body().clear();
    int status = r.status;
    stream_.expires_after(opts().read_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res, keep, body_pending, status](beast::error_code ec, size_t sent) {
      self->on_written(ec, sent, keep, body_pending, status);
    });
  }

  void on_written(beast::error_code ec, size_t sent, bool keep, bool body_pending, int status) {
    double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    server_->latency.observe(seconds);
    server_->count_request(status);
    if (opts().access_log) {
      log_fields(*server_->log, spdlog::level::info, "request",
                 {{"method", req_.method.empty() ? "-" : req_.method},
                  {"path", req_.path.empty() ? "-" : req_.path},
                  {"status", std::to_string(status)},
                  {"in", std::to_string(received_)},
                  {"out", std::to_string(sent)},
                  {"ms", std::to_string(static_cast<int64_t>(seconds * 1000))},
                  {"peer", peer_}});
    }
    handler_.reset();
    if (ec) return close();
    if (keep) return read_head();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!body_pending) return close();
    linger_until_ = Clock::now() + kLingerTime;
    drain();
  }

  void drain() {
    auto now = Clock::now();
    if (now >= linger_until_) return close();
    stream_.expires_after(linger_until_ - now);
    stream_.async_read_some(asio::buffer(body_buf_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  Server::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
  std::array<char, kBodyPiece> body_buf_{};
  std::unique_ptr<BodyHandler> handler_;
  const Route* route_ = nullptr;
  Request req_;
  std::string peer_ = "-";
  uint64_t received_ = 0;
  bool idle_ = false;
  Clock::time_point started_ = Clock::now(), deadline_, linger_until_;
};

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      log_fields(*log, spdlog::level::warn, "accept failed", {{"error", ec.message()}});
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](beast::error_code tec) {
        if (!tec && acceptor.is_open()) do_accept();
      });
      return;
    }
    if (stopping) return;
    size_t open;
    {
      std::lock_guard lock(mu);
      open = sessions.size();
    }
    if (open >= opts.max_connections) {
      reject(std::move(socket));
    } else {
      std::make_shared<Session>(std::move(socket), this)->start();
    }
    do_accept();
  });
}

void Server::Impl::reject(tcp::socket socket) {
  count_request(503);
  static const std::string kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  beast::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(kBusy), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

Server::Server(ServerOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Server::~Server() { stop(); }

void Server::route(Route r) {
  if (impl_->running) throw std::logic_error("http::Server::route after start");
  impl_->routes.push_back(std::move(r));
}

void Server::start() {
  auto& im = *impl_;
  if (im.running) return;
  std::string host = im.opts.listen, port = "0";
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) throw std::runtime_error("bad listen address '" + im.opts.listen + "'");
    if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) host = "0.0.0.0";
  beast::error_code ec;
  tcp::resolver resolver(im.ioc);
  auto results = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve listen address '" + im.opts.listen + "': " + ec.message());
  }
  tcp::endpoint ep = results.begin()->endpoint();
  im.acceptor.open(ep.protocol(), ec);
  if (!ec) im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor.bind(ep, ec);
  if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + im.opts.listen + ": " + ec.message());
  im.bound = im.acceptor.local_endpoint();
  im.workers = std::make_unique<asio::thread_pool>(std::max(1u, im.opts.worker_threads));
  im.running = true;
  asio::post(im.accept_strand, [p = &im] { p->do_accept(); });
  unsigned n = im.opts.io_threads ? im.opts.io_threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    im.threads.emplace_back([p = &im] {
      // The work guard keeps threads alive while every connection waits on the worker pool.
      auto guard = asio::make_work_guard(p->ioc);
      p->ioc.run();
    });
  }
  log_fields(*im.log, spdlog::level::info, "listening", {{"address", address()}});
}

std::string Server::address() const {
  const auto& ep = impl_->bound;
  if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

uint16_t Server::port() const { return impl_->bound.port(); }

size_t Server::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

void Server::stop() {
  auto& im = *impl_;
  if (!im.running) return;
  im.stopping = true;
  asio::post(im.accept_strand, [p = &im] {
    beast::error_code ec;
    p->acceptor.close(ec);
    p->accept_retry.cancel();
  });
  auto each_session = [&](auto fn) {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(im.mu);
      for (auto& [raw, weak] : im.sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) asio::post(s->executor(), [s, fn] { fn(*s); });
  };
  each_session([](Session& s) { s.close_if_idle(); });
  {
    std::unique_lock lock(im.mu);
    bool done = im.all_closed.wait_for(lock, im.opts.shutdown_timeout, [&] { return im.sessions.empty(); });
    if (!done) {
      log_fields(*im.log, spdlog::level::warn, "shutdown timeout: closing connections still busy",
                 {{"connections", std::to_string(im.sessions.size())}});
    }
  }
  each_session([](Session& s) { s.close(); });
  {
    std::unique_lock lock(im.mu);
    im.all_closed.wait_for(lock, std::chrono::seconds(5), [&] { return im.sessions.empty(); });
  }
  im.workers->join();
  im.ioc.stop();
  for (auto& t : im.threads) t.join();
  im.threads.clear();
  im.running = false;
  log_fields(*im.log, spdlog::level::info, "stopped", {{"address", address()}});
}

}  // namespace bw::http
