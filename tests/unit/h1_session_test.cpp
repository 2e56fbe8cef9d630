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

// /p is a direct response; everything else goes to a handler that counts its calls.
struct DirectFixture : Fixture {
  int handler_calls = 0;
  DirectFixture() : Fixture(hello) {
    service.direct.add("GET", "/p", {200, "text/plain", "Hello, World!", {}});
    service.handler = service.direct.wrap([this](Request& req, Response& res) {
      ++handler_calls;
      return hello(req, res);
    });
  }
};

std::size_t count(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(H1Session, DirectResponseIsWrittenWithoutAHandler) {
  DirectFixture f;
  std::string req = "GET /p HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(f.session->on_input(req), req.size());
  std::string out = f.output();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\nserver: trident\r\ndate: ")) << out;
  EXPECT_TRUE(
      out.ends_with(" GMT\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\n"
                    "Hello, World!"))
      << out;
  EXPECT_EQ(f.handler_calls, 0);
  EXPECT_FALSE(f.session->should_close());
  EXPECT_EQ(f.session->phase(), net::Phase::idle);
}

TEST(H1Session, PipelinedDirectAndHandlerResponsesKeepTheirOrder) {
  DirectFixture f;
  std::string reqs =
      "GET /p HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /p HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /p/ HTTP/1.1\r\nHost: x\r\n\r\n";
  std::size_t used = 0;
  while (used < reqs.size()) {
    std::size_t n = f.session->on_input(reqs.substr(used));
    ASSERT_GT(n, 0u);
    used += n;
  }
  std::string out = f.output();
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK\r\n"), 5u) << out;
  EXPECT_EQ(count(out, "Hello, World!"), 2u) << out;  // the HEAD answer has no body
  EXPECT_EQ(count(out, "content-length: 13\r\n"), 3u) << out;
  auto first = out.find("\r\n\r\nHello, World!HTTP/1.1 200 OK");
  auto handler = out.find("\r\n\r\nhello /aHTTP/1.1 200 OK");
  auto head = out.find("content-length: 13\r\n\r\nHTTP/1.1 200 OK");
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(handler, std::string::npos) << out;
  ASSERT_NE(head, std::string::npos) << out;
  EXPECT_LT(first, handler);
  EXPECT_LT(handler, head);
  EXPECT_TRUE(out.ends_with("hello /p/")) << out;  // not the same path: the handler's
  EXPECT_EQ(f.handler_calls, 2);
}

TEST(H1Session, DirectPathWithABodyIsAnsweredAndTheBodySkipped) {
  DirectFixture f;
  std::string reqs =
      "GET /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
      "POST /p HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  std::size_t used = 0;
  for (int i = 0; i < 10 && used < reqs.size(); ++i) {
    used += f.session->on_input(reqs.substr(used));
    f.session->on_wake();
  }
  EXPECT_EQ(used, reqs.size());
  std::string out = f.output();
  EXPECT_NE(out.find("\r\n\r\nHello, World!HTTP/1.1 405 Method Not Allowed\r\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("allow: GET, HEAD\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("hello /a")) << out;
  EXPECT_EQ(f.handler_calls, 1);
}

TEST(H1Session, DirectResponseHonoursConnectionClose) {
  DirectFixture f;
  std::string reqs =
      "GET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /p HTTP/1.1\r\nHost: x\r\n\r\n";
  f.session->on_input(reqs);
  std::string out = f.output();
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 1u) << out;  // nothing after the close
  EXPECT_NE(out.find("connection: close\r\n\r\nHello, World!"), std::string::npos) << out;
  EXPECT_TRUE(f.session->should_close());
}

TEST(H1Session, DirectResponseToHttp10) {
  DirectFixture keep;
  keep.session->on_input("GET /p HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  std::string out = keep.output();
  EXPECT_NE(out.find("connection: keep-alive\r\n\r\nHello, World!"), std::string::npos) << out;
  EXPECT_FALSE(keep.session->should_close());

  DirectFixture once;
  once.session->on_input("GET /p HTTP/1.0\r\n\r\n");
  out = once.output();
  EXPECT_NE(out.find("connection: close\r\n\r\nHello, World!"), std::string::npos) << out;
  EXPECT_TRUE(once.session->should_close());
}

TEST(H1Session, DirectResponseWhileDrainingClosesTheConnection) {
  DirectFixture f;
  f.service.draining.store(true);
  f.session->on_input("GET /p HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = f.output();
  EXPECT_NE(out.find("connection: close\r\n\r\nHello, World!"), std::string::npos) << out;
  EXPECT_TRUE(f.session->should_close());
}

TEST(H1Session, AbsoluteFormTargetGetsTheSameDirectAnswer) {
  DirectFixture f;
  f.session->on_input("GET http://example.com/p HTTP/1.1\r\nHost: example.com\r\n\r\n");
  f.session->on_wake();
  std::string out = f.output();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_TRUE(out.ends_with("content-length: 13\r\n\r\nHello, World!")) << out;
  EXPECT_EQ(f.handler_calls, 0);
}

}  // namespace
}  // namespace trident::http
