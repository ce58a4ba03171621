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

#include "core/ascii.h"
#include "core/log.h"
#include "core/metrics.h"

namespace bw::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

Response Response::api_json(int status, std::string body, std::string_view cache_control) {
  Response r = json(status, std::move(body));
  r.headers = {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", std::string(cache_control)}};
  return r;
}

namespace {

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

namespace {
class Deferred final : public BodyHandler {
 public:
  explicit Deferred(std::function<Response()> work) : work_(std::move(work)) {}
  std::optional<Response> on_body(std::string_view) override { return std::nullopt; }
  Response on_complete() override { return work_(); }

 private:
  std::function<Response()> work_;
};

class Collected final : public BodyHandler {
 public:
  Collected(std::function<Response(std::string)> work, std::function<Response()> too_large)
      : work_(std::move(work)), too_large_(std::move(too_large)) {}
  std::optional<Response> on_body(std::string_view piece) override {
    body_.append(piece);
    return std::nullopt;
  }
  Response on_complete() override { return work_(std::move(body_)); }
  Response on_too_large() override { return too_large_ ? too_large_() : Response::text(413, ""); }

 private:
  std::function<Response(std::string)> work_;
  std::function<Response()> too_large_;
  std::string body_;
};
}  // namespace

Reply deferred(std::function<Response()> work) { return std::make_unique<Deferred>(std::move(work)); }

Reply collected(std::function<Response(std::string body)> work, std::function<Response()> too_large) {
  return std::make_unique<Collected>(std::move(work), std::move(too_large));
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_digit_value(text[i + 1]), lo = hex_digit_value(text[i + 2]);
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

std::vector<std::pair<std::string, std::string>> parse_query_pairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    out.emplace_back(percent_decode(pair.substr(0, eq), true),
                     eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true));
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  for (auto& [key, value] : parse_query_pairs(query)) out.emplace(std::move(key), std::move(value));  // first wins
  return out;
}

class Session;

struct Server::Impl {
  explicit Impl(ServerOptions o) : opts(std::move(o)) {}

  ServerOptions opts;
  std::vector<Route> routes;
  std::shared_ptr<spdlog::logger> log = bw::logger("http");

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

  metrics::Gauge& open_gauge =
      metrics::Registry::global().gauge("bw_http_open_connections", "HTTP connections currently open");
  metrics::Counter& shed_counter = metrics::Registry::global().counter(
      "bw_http_shed_connections_total", "connections closed to make room for a new one while full");
  metrics::Histogram& latency = metrics::Registry::global().histogram(
      "bw_http_request_duration_seconds", "time from request head to answer sent", metrics::default_latency_buckets());

  void do_accept();
  void reject(tcp::socket socket);
  std::shared_ptr<Session> pick_victim();  // under mu
  void count_timeout(const char* phase) {
    metrics::Registry::global()
        .counter("bw_http_timeouts_total", "requests answered 408, by what was late", {{"phase", phase}})
        .inc();
  }
  void count_request(int status) {
    metrics::Registry::global()
        .counter("bw_http_requests_total", "HTTP requests answered, by status code", {{"code", std::to_string(status)}})
        .inc();
  }
};

// Drops the trailer fields of a chunked body (no route reads them) instead of storing them: Beast
// stores every field in the message and throws std::length_error for one over 64 KiB, and
// nothing bounds a trailer but the read buffer. Trailer bytes count against the head limit.
class RequestParser : public bhttp::request_parser<bhttp::buffer_body> {
 public:
  explicit RequestParser(size_t trailer_limit) : trailer_limit_(trailer_limit) {}

 private:
  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code& ec) override {
    if (name_string.size() > kMaxFieldPart || value.size() > kMaxFieldPart) {
      ec = bhttp::error::header_limit;
      return;
    }
    if (is_header_done()) {
      trailer_bytes_ += name_string.size() + value.size() + 4;
      if (trailer_bytes_ > trailer_limit_) ec = bhttp::error::header_limit;
      return;
    }
    get().insert(name, name_string, value);
  }

  static constexpr size_t kMaxFieldPart = 0xffff;  // Beast's own limit per name and per value
  size_t trailer_limit_;
  size_t trailer_bytes_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // What a connection is doing, read by the acceptor to pick one to shed when full.
  enum class Phase : int { kIdle, kBody, kBusy };

  Session(tcp::socket socket, Server::Impl* server)
      : stream_(std::move(socket)),
        server_(server),
        timer_(stream_.get_executor()),
        buffer_(server->opts.max_header_size + 2 * kBodyPiece) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      // "[::1]:5000" for IPv6, as in a URL: without brackets the port cannot be told apart.
      auto address = ep.address();
      peer_ = address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(ep.port())
                              : address.to_string() + ":" + std::to_string(ep.port());
    }
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
    if (phase_ == Phase::kIdle) close();
  }
  void close() {
    beast::error_code ec;
    timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
  // From the acceptor, when the server is full and this connection is the one to give way: an
  // idle one closes, a slow upload is answered 408 (its read is cancelled and sees `expired_`).
  void shed() {
    if (phase_ == Phase::kBusy) return;  // became busy meanwhile: it will finish on its own
    server_->shed_counter.inc();
    if (phase_ == Phase::kIdle && buffer_.size() == 0) return close();
    expired_ = Expiry::kShed;
    beast::error_code ec;
    stream_.socket().cancel(ec);
  }
  auto executor() { return stream_.get_executor(); }

  // For the acceptor (any thread): how much this connection deserves to be shed, or nullopt when
  // it must not be. Higher is shed first: idle connections (by idle time), then the slowest
  // uploads below the minimum rate.
  std::optional<double> shed_score(Clock::time_point now) const {
    auto since = Clock::time_point(Clock::duration(phase_since_.load(std::memory_order_relaxed)));
    double seconds = std::chrono::duration<double>(now - since).count();
    if (seconds < 1.0) return std::nullopt;
    switch (phase_.load(std::memory_order_relaxed)) {
      case Phase::kIdle:
        return 1e9 + seconds;
      case Phase::kBody: {
        double rate = static_cast<double>(received_.load(std::memory_order_relaxed)) / seconds;
        double floor = static_cast<double>(std::max<uint64_t>(server_->opts.min_body_rate, 1));
        if (rate >= floor) return std::nullopt;
        return floor - rate;
      }
      case Phase::kBusy:
        return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  enum class Expiry { kNone, kTimeout, kShed };

  const ServerOptions& opts() const { return server_->opts; }

  void set_phase(Phase p) {
    phase_since_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    phase_.store(p, std::memory_order_relaxed);
  }

  // Reads are bounded by our own timer, not the stream's: the stream's timeout closes the socket,
  // after which no 408 can be sent. On expiry the read is cancelled and sees `expired_`.
  void arm_read_timer(Clock::duration wait) {
    stream_.expires_never();
    expired_ = Expiry::kNone;
    uint64_t generation = ++timer_generation_;
    timer_.expires_after(wait);
    timer_.async_wait([weak = weak_from_this(), generation](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->timer_generation_ != generation) return;
      self->expired_ = Expiry::kTimeout;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }
  void disarm_read_timer() {
    ++timer_generation_;
    timer_.cancel();
  }

  void read_head() {
    if (server_->stopping) return close();
    parser_.emplace(opts().max_header_size);
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(opts().max_header_size, UINT32_MAX)));
    // Routes have their own limits, counted in on_body. (Not boost::none: Boost 1.74 compares
    // Content-Length against an empty optional and refuses every body.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    handler_.reset();
    route_ = nullptr;
    received_ = 0;
    set_phase(Phase::kIdle);
    arm_read_timer(opts().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_head, shared_from_this()));
  }

  void on_head(beast::error_code ec, size_t) {
    disarm_read_timer();
    set_phase(Phase::kBusy);
    started_ = Clock::now();
    req_ = Request{};
    req_.peer = peer_;
    if (ec) {
      if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        return respond(Response::text(431, "request header too large\n"), true);
      }
      if (ec == asio::error::operation_aborted && expired_ != Expiry::kNone) {
        // A client that started a request and did not finish its head is told so; an idle
        // kept-alive connection is just closed, as every server does.
        if (buffer_.size() == 0) return close();
        server_->count_timeout("head");
        return respond(Response::text(408, "request head not received in time\n"), true);
      }
      // (No beast::error::timeout: reads run on our own timer, not the stream's.)
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::bad_descriptor) {
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

    if (msg.version() >= 11 && msg.find(bhttp::field::host) == msg.end()) {
      return respond(Response::text(400, "bad request: HTTP/1.1 needs a Host header\n"), req_.has_body() || !parser_->is_done());
    }
    if (auto problem = check_transfer_encoding()) return respond(std::move(*problem), true);

    const Route* path_match = nullptr;
    route_ = find_route(&path_match);
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
      log_fields(*server_->log, spdlog::level::err, "route failed", {{"path", logged_path()}, {"error", e.what()}});
      return respond(Response::text(500, ""), req_.has_body());
    } catch (...) {
      log_fields(*server_->log, spdlog::level::err, "route failed", {{"path", logged_path()}, {"error", "unknown exception"}});
      return respond(Response::text(500, ""), req_.has_body());
    }
    if (auto* res = std::get_if<Response>(&reply)) return respond(std::move(*res), req_.has_body());

    handler_ = std::move(std::get<std::unique_ptr<BodyHandler>>(reply));
    if (route_->request_timeout) deadline_ = started_ + *route_->request_timeout;
    if (req_.content_length && *req_.content_length > route_->body_limit) {
      return respond(handler_->on_too_large(), true);
    }
    body_started_ = Clock::now();
    const auto expect = msg[bhttp::field::expect];
    if (iequals(std::string_view(expect.data(), expect.size()), "100-continue") && !parser_->is_done()) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, msg.version());
      stream_.expires_after(opts().read_timeout);
      bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->close();
        self->body_started_ = Clock::now();  // the client starts sending once it has the 100
        self->read_body();
      });
      return;
    }
    read_body();
  }

  // RFC 9112 §6.1: a server that receives a transfer coding it does not understand answers 501;
  // chunked must be the last coding, once. Beast would read `gzip, chunked` as plain chunked.
  std::optional<Response> check_transfer_encoding() const {
    const std::string* te = req_.header("Transfer-Encoding");
    if (!te) return std::nullopt;
    std::vector<std::string> codings;
    std::string_view rest = *te;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (auto semi = item.find(';'); semi != std::string_view::npos) item = item.substr(0, semi);
      if (item.empty()) continue;
      codings.push_back(ascii_lowered(item));
    }
    for (size_t i = 0; i < codings.size(); ++i) {
      if (codings[i] == "chunked") {
        if (i + 1 != codings.size()) return Response::text(400, "bad request: chunked must be the last transfer coding\n");
        continue;
      }
      return Response::text(501, "transfer coding '" + codings[i] + "' is not supported; send the body chunked or with Content-Length\n");
    }
    if (codings.empty() || codings.back() != "chunked") {
      return Response::text(400, "bad request: a request's transfer coding must end with chunked\n");
    }
    return std::nullopt;
  }

  // The exact route for the path and method, else the longest matching prefix route. Sets
  // `path_match` to a route for the path with another method (for 405).
  // The request's path as logs show it: a route whose path carries a secret is logged up to its
  // own prefix.
  std::string logged_path() const {
    if (route_ && route_->secret_in_path) return route_->path + "(secret)";
    return req_.path;
  }

  const Route* find_route(const Route** path_match) const {
    auto method_ok = [&](const Route& r) {
      return r.method == req_.method || (r.method == "GET" && req_.method == "HEAD");
    };
    const Route* best = nullptr;
    for (const auto& r : server_->routes) {
      if (r.prefix || r.path != req_.path) continue;
      *path_match = &r;
      if (method_ok(r)) return &r;
    }
    // The path is a route of its own, for another method: 405, not a catch-all prefix's answer.
    if (*path_match) return nullptr;
    for (const auto& r : server_->routes) {
      if (!r.prefix || !req_.path.starts_with(r.path)) continue;
      if (!*path_match) *path_match = &r;
      if (method_ok(r) && (!best || r.path.size() > best->path.size())) best = &r;
    }
    return best;
  }

  void read_body() {
    if (parser_->is_done()) return complete();
    set_phase_body_once();
    auto now = Clock::now();
    if (now >= deadline_) {
      server_->count_timeout("request");
      return respond(Response::text(408, "request took too long\n"), true);
    }
    auto wait = std::min<Clock::duration>(opts().read_timeout, deadline_ - now);
    if (opts().min_body_rate > 0) {
      // The body may lag behind min_body_rate by at most the grace period.
      auto allowed = body_started_ + opts().body_rate_grace +
                     std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                         static_cast<double>(received_) / static_cast<double>(opts().min_body_rate)));
      if (now >= allowed) {
        server_->count_timeout("body_rate");
        return respond(Response::text(408, "request body arrives too slowly\n"), true);
      }
      wait = std::min<Clock::duration>(wait, allowed - now);
    }
    auto& body = parser_->get().body();
    body.data = body_buf_.data();
    body.size = body_buf_.size();
    body.more = true;
    arm_read_timer(wait);
    bhttp::async_read_some(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  // The acceptor rates an upload from when its body started, not from each read.
  void set_phase_body_once() {
    if (phase_ == Phase::kBody) return;
    phase_since_.store(body_started_.time_since_epoch().count(), std::memory_order_relaxed);
    phase_.store(Phase::kBody, std::memory_order_relaxed);
  }

  void on_body(beast::error_code ec, size_t) {
    disarm_read_timer();
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      if (ec == asio::error::operation_aborted && expired_ != Expiry::kNone) {
        server_->count_timeout(expired_ == Expiry::kShed ? "shed" : "body");
        return respond(Response::text(408, expired_ == Expiry::kShed ? "server busy: request body too slow\n"
                                                                      : "request body not received in time\n"),
                       true);
      }
      log_fields(*server_->log, spdlog::level::info, "request body not received",
                 {{"path", logged_path()}, {"peer", peer_}, {"received", std::to_string(received_)}, {"reason", ec.message()}});
      if (&ec.category() == &bhttp::make_error_code(bhttp::error::bad_chunk).category() &&
          ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream) {
        // A bad chunk or trailer: the client sent something that is not HTTP; say so, then close.
        int status = ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow ? 431 : 400;
        return respond(Response::text(status, "bad request body: " + ec.message() + "\n"), true);
      }
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
        log_fields(*server_->log, spdlog::level::err, "body handler failed", {{"path", logged_path()}, {"error", e.what()}});
        early = Response::text(500, "");
      } catch (...) {
        log_fields(*server_->log, spdlog::level::err, "body handler failed", {{"path", logged_path()}, {"error", "unknown exception"}});
        early = Response::text(500, "");
      }
      if (early) return respond(std::move(*early), !parser_->is_done());
    }
    read_body();
  }

  void complete() {
    set_phase(Phase::kBusy);
    asio::post(*server_->workers, [self = shared_from_this()] {
      Response res;
      try {
        res = self->handler_->on_complete();
      } catch (const std::exception& e) {
        log_fields(*self->server_->log, spdlog::level::err, "request failed", {{"path", self->logged_path()}, {"error", e.what()}});
        res = Response::text(500, "");
      } catch (...) {
        log_fields(*self->server_->log, spdlog::level::err, "request failed", {{"path", self->logged_path()}, {"error", "unknown exception"}});
        res = Response::text(500, "");
      }
      asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        self->respond(std::move(res), false);
      });
    });
  }

  // Sends `r`. `body_pending`: the request body was not (fully) read, so the connection closes.
  void respond(Response r, bool body_pending) {
    set_phase(Phase::kBusy);
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), 11);
    res->set(bhttp::field::server, "breakwater");
    res->set(bhttp::field::content_type, r.content_type);
    // A later header replaces an earlier one of its name (a handler overriding a default), except
    // Set-Cookie, which is one header per cookie (RFC 6265 §3).
    for (const auto& [k, v] : r.headers) {
      if (beast::iequals(k, "Set-Cookie")) {
        res->insert(k, v);
      } else {
        res->set(k, v);
      }
    }
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
                  {"path", req_.path.empty() ? "-" : logged_path()},
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
  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  Expiry expired_ = Expiry::kNone;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::array<char, kBodyPiece> body_buf_{};
  std::unique_ptr<BodyHandler> handler_;
  const Route* route_ = nullptr;
  Request req_;
  std::string peer_ = "-";
  std::atomic<uint64_t> received_{0};
  std::atomic<Phase> phase_{Phase::kIdle};
  std::atomic<Clock::rep> phase_since_{Clock::now().time_since_epoch().count()};
  Clock::time_point started_ = Clock::now(), deadline_, linger_until_, body_started_ = Clock::now();
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
    std::shared_ptr<Session> victim;
    bool full = false;
    {
      std::lock_guard lock(mu);
      full = sessions.size() >= opts.max_connections;
      if (full) victim = pick_victim();
    }
    if (full && !victim) {
      reject(std::move(socket));
    } else {
      if (victim) asio::post(victim->executor(), [victim] { victim->shed(); });
      std::make_shared<Session>(std::move(socket), this)->start();
    }
    do_accept();
  });
}

std::shared_ptr<Session> Server::Impl::pick_victim() {
  auto now = Clock::now();
  std::shared_ptr<Session> best;
  double best_score = 0;
  for (auto& [raw, weak] : sessions) {
    auto s = weak.lock();
    if (!s) continue;
    auto score = s->shed_score(now);
    if (score && (!best || *score > best_score)) {
      best = std::move(s);
      best_score = *score;
    }
  }
  return best;
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

void Server::route(Access access, Route r) {
  r.access = std::move(access);
  route(std::move(r));
}

std::vector<RouteInfo> Server::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : impl_->routes) out.push_back({r.method, r.path, r.prefix, r.access});
  return out;
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
      // A handler that throws must not end the thread (std::terminate): log it and go on. The
      // connection whose handler threw loses its last reference and closes.
      for (;;) {
        try {
          p->ioc.run();
          return;
        } catch (const std::exception& e) {
          log_fields(*p->log, spdlog::level::err, "connection handler threw", {{"error", e.what()}});
        } catch (...) {
          log_fields(*p->log, spdlog::level::err, "connection handler threw", {{"error", "unknown exception"}});
        }
      }
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
