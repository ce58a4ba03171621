// The HTTP layer over real loopback sockets, with raw requests so every edge can be sent.
#include "http/server.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "http/client.h"
#include "http/health.h"

namespace bw::http {
namespace {

using namespace std::chrono_literals;

// Collects the body and answers with what it saw: "<pieces> <bytes> <body prefix>".
class EchoHandler : public BodyHandler {
 public:
  explicit EchoHandler(std::string stop_at = "") : stop_at_(std::move(stop_at)) {}
  std::optional<Response> on_body(std::string_view piece) override {
    ++pieces_;
    body_.append(piece);
    if (!stop_at_.empty() && body_.find(stop_at_) != std::string::npos) return Response::text(400, "stopped");
    return std::nullopt;
  }
  Response on_complete() override { return Response::text(200, "body=" + body_); }
  Response on_too_large() override { return Response::text(413, "too big"); }

 private:
  std::string stop_at_;
  std::string body_;
  int pieces_ = 0;
};

ServerOptions test_options() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.io_threads = 2;
  o.worker_threads = 4;
  o.access_log = false;
  return o;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions o = test_options()) {
    server_ = std::make_unique<Server>(o);
    server_->route({"GET", "/hello", 0, [](const Request& r) -> Reply {
                      return Response::text(200, "hello " + parse_query(r.query)["name"]);
                    }});
    server_->route({"POST", "/echo", 1000, [](const Request&) -> Reply { return std::make_unique<EchoHandler>(); }});
    server_->route({"POST", "/stop", 1 << 20,
                    [](const Request&) -> Reply { return std::make_unique<EchoHandler>("STOP"); }});
    for (auto& r : extra_routes_) server_->route(std::move(r));
    add_health_routes(*server_, {R"({"version":"test"})", {}});
    server_->start();
  }
  Connection connect() { return Connection("127.0.0.1", server_->port()); }

  std::vector<Route> extra_routes_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, RoutesAnswerAndUnknownPathsAre404) {
  start();
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("GET", "/hello?name=a%20b", {}, "")));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello a b");
  ASSERT_TRUE(c.send(make_request("GET", "/nope", {}, "")));
  EXPECT_EQ(c.read_response().status, 404);
  ASSERT_TRUE(c.send(make_request("DELETE", "/hello", {}, "")));
  r = c.read_response();
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
  ASSERT_TRUE(c.send(make_request("HEAD", "/hello", {}, "")));
  r = c.read_response(10s, true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "6");
  // Still the same kept-alive connection after four requests.
  ASSERT_TRUE(c.send(make_request("GET", "/__lbheartbeat__", {}, "")));
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(ServerTest, HealthAndMetricsEndpoints) {
  start();
  auto c = connect();
  c.send(make_request("GET", "/__version__", {}, ""));
  EXPECT_EQ(c.read_response().body, R"({"version":"test"})");
  c.send(make_request("GET", "/__heartbeat__", {}, ""));
  EXPECT_EQ(c.read_response().status, 200);
  c.send(make_request("GET", "/metrics", {}, ""));
  auto r = c.read_response();
  EXPECT_NE(r.body.find("bw_http_requests_total"), std::string::npos) << r.body;
}

TEST_F(ServerTest, FailingHeartbeatIs503WithReasons) {
  server_ = std::make_unique<Server>(test_options());
  add_health_routes(*server_, {"{}", {[] { return std::vector<std::string>{"disk full"}; }}});
  server_->start();
  auto c = connect();
  c.send(make_request("GET", "/__heartbeat__", {}, ""));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("disk full"), std::string::npos);
}

TEST_F(ServerTest, ChunkedBodyIsDechunkedAndStreamed) {
  start();
  auto c = connect();
  std::string body = "0123456789abcdefghij";
  ASSERT_TRUE(c.send(make_request("POST", "/echo", {{"Transfer-Encoding", "chunked"}}, chunk_encode(body, 3))));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "body=" + body);
  // Keep-alive after a chunked request.
  ASSERT_TRUE(c.send(make_request("POST", "/echo", {}, "again")));
  EXPECT_EQ(c.read_response().body, "body=again");
}

TEST_F(ServerTest, ExpectContinueGets100ThenTheAnswer) {
  start();
  auto c = connect();
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  // The interim answer comes before any body byte is sent.
  std::string interim = c.read_until("\r\n\r\n", 10s);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100", 0), 0u) << interim;
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "body=hello");
}

TEST_F(ServerTest, ExpectContinueOverLimitIs413WithoutContinue) {
  start();
  auto c = connect();
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "too big");
  EXPECT_EQ(r.header("Connection"), "close");
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  start();
  auto c = connect();
  std::string big(5000, 'x');
  c.send(make_request("POST", "/echo", {{"Transfer-Encoding", "chunked"}}, chunk_encode(big, 100)));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(c.wait_closed(10s));
}

TEST_F(ServerTest, EarlyAnswerFromHandlerClosesTheConnection) {
  start();
  auto c = connect();
  std::string body = std::string(1000, 'a') + "STOP" + std::string(100000, 'b');
  c.send(make_request("POST", "/stop", {}, body));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "stopped");
  EXPECT_TRUE(c.wait_closed(10s));
}

TEST_F(ServerTest, OversizedHeadIs431) {
  auto o = test_options();
  o.max_header_size = 1024;
  start(o);
  auto c = connect();
  c.send(make_request("GET", "/hello", {{"X-Big", std::string(4000, 'h')}}, ""));
  EXPECT_EQ(c.read_response().status, 431);
}

TEST_F(ServerTest, GarbageIs400) {
  start();
  auto c = connect();
  c.send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 400);
}

TEST_F(ServerTest, SlowHeadAndSilentBodyAreTimedOutOthersUnaffected) {
  auto o = test_options();
  o.header_timeout = 500ms;
  o.read_timeout = 500ms;
  start(o);
  auto slow_head = connect();
  slow_head.send("POST /echo HTTP/1.1\r\nHost: x\r\n");  // never finishes the head
  auto silent_body = connect();
  silent_body.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  // Meanwhile other clients are served at once.
  for (int i = 0; i < 5; ++i) {
    auto c = connect();
    c.send(make_request("POST", "/echo", {}, "ok"));
    EXPECT_EQ(c.read_response().body, "body=ok");
  }
  // Generous bound: the timeouts are 0.5 s; a loaded machine may be slow to notice.
  EXPECT_TRUE(slow_head.wait_closed(20s));
  EXPECT_TRUE(silent_body.wait_closed(20s));
}

TEST_F(ServerTest, ConnectionLimitAnswers503) {
  auto o = test_options();
  o.max_connections = 2;
  start(o);
  auto a = connect();
  auto b = connect();
  // Make sure both are accepted before the third arrives.
  a.send(make_request("GET", "/hello", {}, ""));
  b.send(make_request("GET", "/hello", {}, ""));
  a.read_response();
  b.read_response();
  auto c = connect();
  auto r = c.read_response();
  EXPECT_EQ(r.status, 503);
}

TEST_F(ServerTest, GracefulStopFinishesInFlightRequests) {
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  class Blocking : public BodyHandler {
   public:
    Blocking(std::promise<void>* e, std::shared_future<void> r) : entered_(e), release_(std::move(r)) {}
    std::optional<Response> on_body(std::string_view) override { return std::nullopt; }
    Response on_complete() override {
      entered_->set_value();
      release_.wait();
      return Response::text(200, "finished");
    }

   private:
    std::promise<void>* entered_;
    std::shared_future<void> release_;
  };
  extra_routes_.push_back({"POST", "/block", 100, [&](const Request&) -> Reply {
                             return std::make_unique<Blocking>(&entered, released);
                           }});
  start();
  auto busy = connect();
  auto idle = connect();
  idle.send(make_request("GET", "/hello", {}, ""));
  EXPECT_EQ(idle.read_response().status, 200);
  busy.send(make_request("POST", "/block", {}, "x"));
  entered.get_future().wait();
  auto stopper = std::async(std::launch::async, [&] { server_->stop(); });
  // The idle connection is closed; the busy one is still being answered.
  EXPECT_TRUE(idle.wait_closed(20s));
  EXPECT_EQ(stopper.wait_for(0s), std::future_status::timeout);
  release.set_value();
  auto r = busy.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  EXPECT_EQ(r.header("Connection"), "close");
  stopper.get();
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_THROW(connect(), std::runtime_error);
}

TEST(QueryTest, ParsesAndDecodes) {
  auto q = parse_query("product=Fire+fox&version=1.0%2B&guid=&flag&product=second&bad=%zz");
  EXPECT_EQ(q["product"], "Fire fox");
  EXPECT_EQ(q["version"], "1.0+");
  EXPECT_EQ(q["guid"], "");
  EXPECT_TRUE(q.count("flag"));
  EXPECT_EQ(q["bad"], "%zz");
  EXPECT_EQ(percent_decode("%4", false), "%4");
}

}  // namespace
}  // namespace bw::http
