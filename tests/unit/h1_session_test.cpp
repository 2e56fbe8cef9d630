// The HTTP/1.1 session as a byte-in/byte-out object: no sockets, a fake
// connection, handlers from the test.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/waiter.hpp"
#include "http/h1/session.hpp"

namespace trident::http {
namespace {

struct FakeIo : net::SessionIo {
  int wakes = 0;
  PeerInfo peer_info;
  void wake() override { ++wakes; }
  void switch_session(std::unique_ptr<net::Session>) override {}
  const PeerInfo& peer() const override { return peer_info; }
};

struct Fixture {
  ServiceContext service;
  FakeIo io;
  PeerInfo& peer = io.peer_info;
  std::unique_ptr<h1::Session> session;

  explicit Fixture(Handler h) {
    service.handler = std::move(h);
    session = std::make_unique<h1::Session>(service, io, peer);
  }
  std::string output() {
    std::string out;
    session->take_output(out);
    session->on_output_flushed();
    return out;
  }
};

Task<void> hello(Request& req, Response& res) {
  res.send("hello " + std::string(req.path()), "text/plain");
  co_return;
}

TEST(H1Session, AnswersARequest) {
  Fixture f(hello);
  std::string req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(f.session->on_input(req), req.size());
  std::string out = f.output();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_NE(out.find("content-length: 8\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n\r\nhello /a")) << out;
}

TEST(H1Session, HeaderNamesAndValuesOfEveryShortLengthGoOutWhole) {
  // The head is assembled with size-dependent copies (0, 1-3, 4-7, 8-15,
  // 16-32, longer): each length must come out byte for byte.
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string value;
    for (std::size_t i = 0; i < n; ++i) value.push_back(static_cast<char>('a' + i % 26));
    std::string name = "x-" + std::string(n, 'n');
    Fixture f([&](Request&, Response& res) -> Task<void> {
      res.headers.add(name, value);
      res.send("ok");
      co_return;
    });
    std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    f.session->on_input(req);
    std::string out = f.output();
    EXPECT_NE(out.find("\r\n" + name + ": " + value + "\r\n"), std::string::npos)
        << n << ": " << out;
    EXPECT_TRUE(out.ends_with("\r\n\r\nok")) << out;
  }
}

TEST(H1Session, TakeOutputAppendsToPendingBytes) {
  Fixture f(hello);
  std::string req = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  f.session->on_input(req);
  std::string out = "already queued|";
  f.session->take_output(out);
  EXPECT_TRUE(out.starts_with("already queued|HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_TRUE(out.ends_with("hello /b")) << out;
}

TEST(H1Session, PipelinedRequestsWaitForASuspendedHandler) {
  Waiter gate;
  Fixture f([&gate](Request& req, Response& res) -> Task<void> {
    if (req.path() == "/slow") co_await gate.wait();
    res.send(std::string(req.path()), "text/plain");
  });
  std::string reqs =
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";
  std::size_t used = f.session->on_input(reqs);
  // The second request is not parsed while the first is unanswered.
  EXPECT_EQ(used, reqs.size() / 2);
  EXPECT_FALSE(f.session->wants_input());
  EXPECT_EQ(f.output(), "");
  gate.notify();  // the slow handler answers
  f.session->on_wake();
  EXPECT_TRUE(f.session->wants_input());
  EXPECT_EQ(f.session->on_input(reqs.substr(used)), reqs.size() - used);
  std::string out = f.output();
  auto slow = out.find("\r\n\r\n/slow");
  auto fast = out.find("\r\n\r\n/fast");
  ASSERT_NE(slow, std::string::npos) << out;
  ASSERT_NE(fast, std::string::npos) << out;
  EXPECT_LT(slow, fast);
}

TEST(H1Session, HandlerExceptionBecomes500) {
  Fixture f([](Request&, Response&) -> Task<void> {
    throw std::runtime_error("boom");
    co_return;
  });
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  f.session->on_input(req);
  EXPECT_TRUE(f.output().starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_FALSE(f.session->should_close());  // the connection stays usable
}

TEST(H1Session, ParseErrorAnswersAndCloses) {
  Fixture f(hello);
  std::string req =
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
  f.session->on_input(req);
  std::string out = f.output();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_NE(out.find("connection: close\r\n"), std::string::npos) << out;
  EXPECT_TRUE(f.session->should_close());
}

}  // namespace
}  // namespace trident::http
