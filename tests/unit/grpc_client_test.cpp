// trident's gRPC client (rpc::grpc::Channel over h2::ClientSession and
// net::OutboundConnection) against trident's own gRPC server, in process: a
// server Worker on its own thread (127.0.0.1, h2c or TLS), the client on a
// Loop on the test thread. The services speak raw bytes (no protobuf), so the
// tests need no generated code. Interop with Google's implementation is
// proven separately (tools/interop/interop_client.cpp against
// grpcpp_interop_server).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/loop.hpp"
#include "core/task.hpp"
#include "http/session_factory.hpp"
#include "net/outbound.hpp"
#include "net/tls.hpp"
#include "net/worker.hpp"
#include "rpc/grpc/channel.hpp"
#include "rpc/grpc/server.hpp"
#include "rpc/service.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using trident::Spawned;
using trident::Task;
using trident::rpc::CallOptions;
using trident::rpc::ClientCall;
using trident::rpc::Context;
using trident::rpc::Error;
using trident::rpc::MessageReader;
using trident::rpc::MessageWriter;
using trident::rpc::Metadata;
using trident::rpc::Method;
using trident::rpc::MethodKind;
using trident::rpc::Status;
using trident::rpc::StatusCode;
using trident::rpc::grpc::Channel;
using trident::rpc::grpc::ChannelOptions;

// ---- the server side ------------------------------------------------------

struct ServerState {
  std::atomic<int> cancellations{0};  // Sleep calls that saw their cancellation
};

Task<void> echo(Context&, MessageReader& in, MessageWriter& out) {
  while (auto m = co_await in.read()) co_await out.write(std::move(*m));
}

// Request "N:SIZE": N messages of SIZE bytes ('x').
Task<void> stream(Context&, MessageReader& in, MessageWriter& out) {
  auto req = co_await in.read();
  if (!req) throw Error(StatusCode::invalid_argument, "no request");
  auto colon = req->find(':');
  int n = std::atoi(req->substr(0, colon).c_str());
  std::size_t size = std::strtoul(req->substr(colon + 1).c_str(), nullptr, 10);
  for (int i = 0; i < n; ++i) co_await out.write(std::string(size, 'x'));
}

// Total bytes of every request message, as decimal.
Task<void> count(Context&, MessageReader& in, MessageWriter& out) {
  std::size_t total = 0;
  while (auto m = co_await in.read()) total += m->size();
  co_await out.write(std::to_string(total));
}

// Fails before reading the request (the client may still be sending it).
Task<void> fail_early(Context&, MessageReader&, MessageWriter&) {
  co_await trident::sleep_for(0ms);
  throw Error(StatusCode::failed_precondition, "early");
}

Task<void> fail(Context&, MessageReader& in, MessageWriter&) {
  for (;;) {
    auto m = co_await in.read();
    if (!m) break;
  }
  throw Error(
      Status{StatusCode::invalid_argument, "bad\tinput 100% \xc3\xa9\n", "details\x01\xff"});
}

// Request: milliseconds to sleep. A call that does not get to the end (the
// server destroys the handler of a reset stream, or it sees ctx.cancelled())
// counts as a cancellation.
Task<void> sleep(Context& ctx, MessageReader& in, MessageWriter& out, ServerState& state) {
  struct Watch {
    ServerState& state;
    bool finished = false;
    ~Watch() {
      if (!finished) ++state.cancellations;
    }
  } watch{state};
  auto req = co_await in.read();
  auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::atoi(req->c_str()));
  while (std::chrono::steady_clock::now() < until) {
    if (ctx.cancelled()) co_return;
    co_await trident::sleep_for(5ms);
  }
  watch.finished = true;
  co_await out.write("slept");
}

// x-a → initial metadata, x-b-bin → trailing metadata (both echoed).
Task<void> meta(Context& ctx, MessageReader& in, MessageWriter& out) {
  while (co_await in.read()) {
  }
  for (const auto& [k, v] : ctx.client_metadata()) {
    if (k == "x-a") ctx.add_initial_metadata("x-a", v);
    if (k == "x-b-bin") ctx.add_trailing_metadata("x-b-bin", v);
  }
  co_await out.write("meta");
}

Task<void> compressed_echo(Context& ctx, MessageReader& in, MessageWriter& out) {
  ctx.set_compress_responses(true);
  while (auto m = co_await in.read()) co_await out.write(std::move(*m));
}

class RawService final : public trident::rpc::Service {
 public:
  explicit RawService(ServerState& state) : state_(state) {}
  const google::protobuf::ServiceDescriptor* descriptor() const override { return nullptr; }
  std::vector<Method> methods() override {
    ServerState* state = &state_;
    std::vector<Method> m;
    m.push_back({"/test.Raw/Echo", MethodKind::bidi_streaming, nullptr, &echo});
    m.push_back({"/test.Raw/Stream", MethodKind::server_streaming, nullptr, &stream});
    m.push_back({"/test.Raw/Count", MethodKind::client_streaming, nullptr, &count});
    m.push_back({"/test.Raw/Fail", MethodKind::unary, nullptr, &fail});
    m.push_back({"/test.Raw/FailEarly", MethodKind::unary, nullptr, &fail_early});
    m.push_back({"/test.Raw/Sleep", MethodKind::unary, nullptr,
                 [state](Context& c, MessageReader& in, MessageWriter& out) {
                   return sleep(c, in, out, *state);
                 }});
    m.push_back({"/test.Raw/Meta", MethodKind::unary, nullptr, &meta});
    m.push_back({"/test.Raw/Compressed", MethodKind::bidi_streaming, nullptr, &compressed_echo});
    return m;
  }

 private:
  ServerState& state_;
};

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// trident's gRPC server on one worker thread.
class TestServer {
 public:
  struct Tls {
    std::string cert, key, client_ca;
  };

  // `grpc_enabled` false: every request gets a plain 404 (a non-gRPC server).
  explicit TestServer(std::uint16_t port = 0, std::optional<Tls> tls = std::nullopt,
                      bool grpc_enabled = true)
      : port_(port ? port : free_port()), service_(state_), grpc_(registry_) {
    registry_.add(service_);
    auto not_found = [](trident::http::Request&, trident::http::Response& res) -> Task<void> {
      res.send_status(404, "not here");
      co_return;
    };
    http_.handler = grpc_enabled ? grpc_.dispatch(not_found) : trident::http::Handler(not_found);
    if (tls) {
      options_.tls.certificates.push_back({tls->cert, tls->key});
      if (!tls->client_ca.empty()) {
        options_.tls.client_ca_pem = tls->client_ca;
        options_.tls.require_client_cert = true;
      }
      tls_ = std::make_unique<trident::net::TlsContext>(options_.tls);
    }
    worker_ = std::make_unique<trident::net::Worker>(
        options_, trident::http::make_session_factory(http_), 1000, busy_);
    worker_->listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                    tls_ ? tls_->native() : nullptr, !tls_);
    thread_ = std::thread([this] { worker_->run(); });
  }
  ~TestServer() { stop(); }

  // Closes every connection at once (no GOAWAY), then stops.
  void stop() {
    if (!thread_.joinable()) return;
    worker_->begin_shutdown();
    worker_->force_close();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  ServerState& state() { return state_; }

 private:
  std::uint16_t port_;
  ServerState state_;
  RawService service_;
  trident::rpc::ServiceRegistry registry_;
  trident::rpc::grpc::Server grpc_;
  trident::http::ServiceContext http_;
  trident::net::ServerOptions options_;
  std::unique_ptr<trident::net::TlsContext> tls_;
  std::atomic<unsigned> busy_{0};
  std::unique_ptr<trident::net::Worker> worker_;
  std::thread thread_;
};

// ---- the client side ------------------------------------------------------

// Runs `body` on a fresh Loop on this thread. Fails the test if it does not
// finish within `limit`, or if the loop still has work (a timer, a
// connection) 5 s after it finished: everything the client made must go away
// with its channels and calls, so that the loop runs out of work by itself.
void run_client(std::function<Task<void>()> body, std::chrono::seconds limit = 20s) {
  trident::Loop loop;
  std::atomic<bool> done{false};
  std::atomic<bool> returned{false};
  std::atomic<bool> stopped{false};
  std::exception_ptr error;
  Spawned task;
  asio::post(loop.io(), [&] {
    task = Spawned(body(), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
  });
  // io_context::stop() is thread-safe: the watchdog ends a stuck loop.
  std::thread watchdog([&] {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::chrono::steady_clock::time_point done_at{};
    while (!returned) {
      auto now = std::chrono::steady_clock::now();
      if (done && done_at == std::chrono::steady_clock::time_point{}) done_at = now;
      bool linger = done_at != std::chrono::steady_clock::time_point{} && now - done_at > 5s;
      if (now > deadline || linger) {
        stopped = true;
        loop.io().stop();
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  loop.run();
  returned = true;
  watchdog.join();
  ASSERT_TRUE(done) << "the client did not finish within " << limit.count() << " s";
  EXPECT_FALSE(stopped) << "work left on the loop after the client finished";
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      FAIL() << "rpc::Error " << trident::rpc::code_name(e.status().code) << ": "
             << e.status().message;
    } catch (const std::exception& e) {
      FAIL() << "exception: " << e.what();
    }
  }
}

CallOptions with_timeout(std::chrono::milliseconds t) {
  CallOptions o;
  o.timeout = t;
  return o;
}

// One request, every response, the status.
struct Outcome {
  std::vector<std::string> messages;
  Status status;
};

Task<Outcome> call(Channel& ch, std::string_view path, std::vector<std::string> requests,
                   CallOptions options = with_timeout(10s)) {
  auto c = ch.start(path, options);
  Outcome out;
  try {
    for (auto& r : requests) co_await c->write(std::move(r));
    co_await c->writes_done();
  } catch (const Error&) {
  }
  while (auto m = co_await c->read()) out.messages.push_back(std::move(*m));
  out.status = co_await c->finish();
  co_return out;
}

template <typename... A>
std::vector<std::string> msgs(A&&... a) {
  std::vector<std::string> v;
  (v.emplace_back(std::forward<A>(a)), ...);
  return v;
}

Task<void> echo_twice(Channel& ch, int i, int& ok) {
  std::string msg = "m" + std::to_string(i) + std::string(i * 100, 'z');
  Outcome o = co_await call(ch, "/test.Raw/Echo", msgs(msg, msg));
  if (o.status.ok() && o.messages.size() == 2 && o.messages[1] == msg) ++ok;
}

Task<void> call_into(Channel& ch, std::string path, std::string request, CallOptions options,
                     Outcome& out) {
  out = co_await call(ch, path, msgs(request), options);
}

std::string describe(const Status& s) {
  return std::string(trident::rpc::code_name(s.code)) + " \"" + s.message + "\"";
}

// ---- tests ------------------------------------------------------------------

TEST(HostPortTest, ParsesAndFormats) {
  using trident::net::parse_host_port;
  auto a = parse_host_port("example.com:443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->port, 443);
  auto b = parse_host_port("[::1]:50051");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(trident::net::format_host_port(*b), "[::1]:50051");
  EXPECT_FALSE(parse_host_port("example.com"));
  EXPECT_FALSE(parse_host_port("example.com:"));
  EXPECT_FALSE(parse_host_port("example.com:0"));
  EXPECT_FALSE(parse_host_port("example.com:65536"));
  EXPECT_FALSE(parse_host_port("::1:80"));
  EXPECT_FALSE(parse_host_port(":80"));
  EXPECT_THROW(Channel("nope"), std::invalid_argument);
}

TEST(GrpcClientTest, UnaryEchoAndManyConcurrentCalls) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    Outcome one = co_await call(ch, "/test.Raw/Echo", msgs("hello"));
    EXPECT_TRUE(one.status.ok()) << describe(one.status);
    EXPECT_EQ(one.messages, std::vector<std::string>{"hello"});
    EXPECT_EQ(ch.state(), Channel::State::ready);

    // 64 calls at once on the one connection.
    constexpr int kCalls = 64;
    int ok = 0, finished = 0;
    std::vector<Spawned> running;
    for (int i = 0; i < kCalls; ++i) {
      running.emplace_back(echo_twice(ch, i, ok), [&finished](std::exception_ptr) { ++finished; });
    }
    while (finished < kCalls) co_await trident::sleep_for(5ms);
    EXPECT_EQ(ok, kCalls);
  });
}

TEST(GrpcClientTest, ServerStreamingManyMessages) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    Outcome o = co_await call(ch, "/test.Raw/Stream", msgs("2000:1000"));
    EXPECT_TRUE(o.status.ok()) << describe(o.status);
    EXPECT_EQ(o.messages.size(), 2000u);
    if (!o.messages.empty()) {
      EXPECT_EQ(o.messages.back(), std::string(1000, 'x'));
    }
  });
}

TEST(GrpcClientTest, ClientStreamingUnderBackPressure) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    auto c = ch.start("/test.Raw/Count", with_timeout(20s));
    // 16 MiB, far beyond the stream window and the write watermark.
    for (int i = 0; i < 256; ++i) co_await c->write(std::string(64 * 1024, 'a'));
    co_await c->writes_done();
    auto total = co_await c->read();
    Status s = co_await c->finish();
    EXPECT_TRUE(s.ok()) << describe(s);
    EXPECT_EQ(total, std::to_string(256 * 64 * 1024));
  });
}

TEST(GrpcClientTest, BidiPingPong) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    auto c = ch.start("/test.Raw/Echo", with_timeout(10s));
    for (int i = 0; i < 100; ++i) {
      std::string msg = "ping " + std::to_string(i);
      co_await c->write(msg);
      auto back = co_await c->read();
      EXPECT_EQ(back, msg);
    }
    co_await c->writes_done();
    auto extra = co_await c->read();
    EXPECT_FALSE(extra);
    Status s = co_await c->finish();
    EXPECT_TRUE(s.ok()) << describe(s);
  });
}

TEST(GrpcClientTest, ErrorStatusMessageAndDetails) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    Outcome o = co_await call(ch, "/test.Raw/Fail", msgs("x"));
    EXPECT_EQ(o.status.code, StatusCode::invalid_argument);
    EXPECT_EQ(o.status.message, "bad\tinput 100% \xc3\xa9\n");
    EXPECT_EQ(o.status.details, "details\x01\xff");
    EXPECT_TRUE(o.messages.empty());

    // A large request the server does not wait for: trailers-only, then the
    // rest of the request is refused (RST_STREAM) without hurting the call.
    Outcome early = co_await call(ch, "/test.Raw/FailEarly", msgs(std::string(1 << 20, 'r')));
    EXPECT_EQ(early.status.code, StatusCode::failed_precondition) << describe(early.status);
    EXPECT_EQ(early.status.message, "early");

    Outcome missing = co_await call(ch, "/test.Raw/Nope", msgs("x"));
    EXPECT_EQ(missing.status.code, StatusCode::unimplemented) << describe(missing.status);
    Outcome service = co_await call(ch, "/test.Other/Nope", msgs("x"));
    EXPECT_EQ(service.status.code, StatusCode::unimplemented) << describe(service.status);
  });
}

TEST(GrpcClientTest, DeadlineExceededResetsTheServerCall) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    auto start = std::chrono::steady_clock::now();
    Outcome o = co_await call(ch, "/test.Raw/Sleep", msgs("5000"), with_timeout(200ms));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(o.status.code, StatusCode::deadline_exceeded) << describe(o.status);
    EXPECT_LT(took, 2s);
    // The channel still works.
    Outcome after = co_await call(ch, "/test.Raw/Echo", msgs("still here"));
    EXPECT_TRUE(after.status.ok()) << describe(after.status);
  });
  for (int i = 0; i < 200 && server.state().cancellations.load() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.state().cancellations.load(), 1);
}

TEST(GrpcClientTest, CancelInFlight) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    auto c = ch.start("/test.Raw/Sleep", with_timeout(10s));
    co_await c->write("5000");
    co_await c->writes_done();
    co_await trident::sleep_for(100ms);
    c->cancel();
    auto none = co_await c->read();
    EXPECT_FALSE(none);
    Status s = co_await c->finish();
    EXPECT_EQ(s.code, StatusCode::cancelled) << describe(s);
    c->cancel();  // harmless once over
    // Before the request is even sent.
    auto early = ch.start("/test.Raw/Echo", with_timeout(10s));
    early->cancel();
    Status e = co_await early->finish();
    EXPECT_EQ(e.code, StatusCode::cancelled);
  });
  for (int i = 0; i < 200 && server.state().cancellations.load() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.state().cancellations.load(), 1);
}

TEST(GrpcClientTest, MetadataBothWaysAndBadKeys) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    CallOptions o = with_timeout(10s);
    std::string binary("\x00\xff\x10 bytes", 9);
    o.metadata = {{"x-a", "plain value"}, {"X-B-Bin", binary}};
    auto c = ch.start("/test.Raw/Meta", o);
    co_await c->write("m");
    co_await c->writes_done();
    auto reply = co_await c->read();
    EXPECT_EQ(reply, "meta");
    Status s = co_await c->finish();
    EXPECT_TRUE(s.ok()) << describe(s);
    Metadata want_initial = {{"x-a", "plain value"}};
    Metadata want_trailing = {{"x-b-bin", binary}};
    Metadata initial;
    for (const auto& kv : c->initial_metadata()) {
      if (kv.first == "x-a") initial.push_back(kv);
    }
    EXPECT_EQ(initial, want_initial);
    EXPECT_EQ(c->trailing_metadata(), want_trailing);

    CallOptions bad = with_timeout(10s);
    bad.metadata = {{"grpc-status", "0"}};
    Outcome r = co_await call(ch, "/test.Raw/Echo", msgs("x"), bad);
    EXPECT_EQ(r.status.code, StatusCode::internal) << describe(r.status);
    bad.metadata = {{"x-ok", "line\nbreak"}};
    r = co_await call(ch, "/test.Raw/Echo", msgs("x"), bad);
    EXPECT_EQ(r.status.code, StatusCode::internal) << describe(r.status);
  });
}

TEST(GrpcClientTest, MaxReceiveMessageSize) {
  TestServer server;
  run_client([&]() -> Task<void> {
    ChannelOptions opts;
    opts.max_receive_message_size = 1 << 20;
    Channel ch(server.target(), opts);
    Outcome small = co_await call(ch, "/test.Raw/Stream", msgs("1:1000000"));
    EXPECT_TRUE(small.status.ok()) << describe(small.status);
    Outcome big = co_await call(ch, "/test.Raw/Stream", msgs("1:2000000"));
    EXPECT_EQ(big.status.code, StatusCode::resource_exhausted) << describe(big.status);
    EXPECT_TRUE(big.messages.empty());
  });
}

TEST(GrpcClientTest, CompressionBothWays) {
  TestServer server;
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    CallOptions o = with_timeout(10s);
    o.compress = true;
    std::string payload(100000, '\0');
    auto c = ch.start("/test.Raw/Compressed", o);
    co_await c->write(payload);
    co_await c->writes_done();
    auto back = co_await c->read();
    auto& g = dynamic_cast<trident::rpc::grpc::ClientCall&>(*c);
    EXPECT_TRUE(g.last_message_compressed());
    EXPECT_EQ(back, payload);
    Status s = co_await c->finish();
    EXPECT_TRUE(s.ok()) << describe(s);

    ChannelOptions deflate;
    deflate.default_compression = trident::rpc::grpc::Encoding::deflate;
    Channel ch2(server.target(), deflate);
    Outcome d = co_await call(ch2, "/test.Raw/Echo", msgs(payload));
    EXPECT_TRUE(d.status.ok()) << describe(d.status);
    EXPECT_EQ(d.messages, std::vector<std::string>{payload});
  });
}

TEST(GrpcClientTest, ConnectionRefusedFailsFastThenReconnects) {
  std::uint16_t port = free_port();
  std::unique_ptr<TestServer> server;
  run_client([&]() -> Task<void> {
    ChannelOptions opts;
    opts.backoff.initial = 100ms;
    opts.backoff.jitter = 0;
    Channel ch("127.0.0.1:" + std::to_string(port), opts);
    Outcome o = co_await call(ch, "/test.Raw/Echo", msgs("x"));
    EXPECT_EQ(o.status.code, StatusCode::unavailable) << describe(o.status);
    EXPECT_NE(o.status.message.find("refused"), std::string::npos) << o.status.message;
    EXPECT_EQ(ch.state(), Channel::State::transient_failure);
    // Within the backoff delay: fails at once, without a new attempt.
    Outcome fast = co_await call(ch, "/test.Raw/Echo", msgs("x"));
    EXPECT_EQ(fast.status.code, StatusCode::unavailable);
    server = std::make_unique<TestServer>(port);
    co_await trident::sleep_for(200ms);  // the backoff delay passes
    Outcome later = co_await call(ch, "/test.Raw/Echo", msgs("back"));
    EXPECT_TRUE(later.status.ok()) << describe(later.status);
    EXPECT_EQ(ch.state(), Channel::State::ready);
  });
}

TEST(GrpcClientTest, WaitForReadyWaitsForTheServer) {
  std::uint16_t port = free_port();
  std::unique_ptr<TestServer> server;
  run_client([&]() -> Task<void> {
    ChannelOptions opts;
    opts.wait_for_ready = true;
    opts.backoff.initial = 50ms;
    Channel ch("127.0.0.1:" + std::to_string(port), opts);
    int finished = 0;
    Outcome o;
    Spawned waiting(call_into(ch, "/test.Raw/Echo", "patient", with_timeout(10s), o),
                    [&finished](std::exception_ptr) { ++finished; });
    co_await trident::sleep_for(300ms);
    EXPECT_EQ(finished, 0);
    server = std::make_unique<TestServer>(port);
    for (int i = 0; i < 500 && !finished; ++i) co_await trident::sleep_for(10ms);
    EXPECT_EQ(finished, 1);
    EXPECT_TRUE(o.status.ok()) << describe(o.status);
    // And a deadline still bounds the wait when nobody listens.
    Channel nowhere("127.0.0.1:" + std::to_string(free_port()), opts);
    Outcome d = co_await call(nowhere, "/test.Raw/Echo", msgs("x"), with_timeout(300ms));
    EXPECT_EQ(d.status.code, StatusCode::deadline_exceeded) << describe(d.status);
  });
}

TEST(GrpcClientTest, ServerLossFailsCallsAndTheChannelReconnects) {
  auto server = std::make_unique<TestServer>();
  std::uint16_t port = server->port();
  run_client([&]() -> Task<void> {
    ChannelOptions opts;
    opts.backoff.initial = 50ms;
    Channel ch(server->target(), opts);
    auto c = ch.start("/test.Raw/Sleep", with_timeout(10s));
    co_await c->write("5000");
    co_await c->writes_done();
    co_await trident::sleep_for(100ms);
    server->stop();  // closes the connection under the call
    Status s = co_await c->finish();
    EXPECT_EQ(s.code, StatusCode::unavailable) << describe(s);
    server = std::make_unique<TestServer>(port);
    Outcome o = co_await call(ch, "/test.Raw/Echo", msgs("again"));
    EXPECT_TRUE(o.status.ok()) << describe(o.status);
  });
}

TEST(GrpcClientTest, CallOutlivesItsChannel) {
  TestServer server;
  run_client([&]() -> Task<void> {
    std::unique_ptr<ClientCall> c;
    {
      Channel ch(server.target());
      c = ch.start("/test.Raw/Echo", with_timeout(10s));
    }
    co_await c->write("orphan");
    co_await c->writes_done();
    auto reply = co_await c->read();
    EXPECT_EQ(reply, "orphan");
    Status s = co_await c->finish();
    EXPECT_TRUE(s.ok()) << describe(s);
  });
}

TEST(GrpcClientTest, NonGrpcServerMapsTheHttpStatus) {
  TestServer server(0, std::nullopt, /*grpc_enabled=*/false);
  run_client([&]() -> Task<void> {
    Channel ch(server.target());
    Outcome o = co_await call(ch, "/test.Raw/Echo", msgs("x"));
    EXPECT_EQ(o.status.code, StatusCode::unimplemented) << describe(o.status);  // 404
    EXPECT_NE(o.status.message.find("404"), std::string::npos) << o.status.message;
  });
}

class GrpcClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trident-grpc-client-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_cert_ = trident::net::issue_test_certificate(dir_, "server", {"localhost"}, false);
    client_cert_ = trident::net::issue_test_certificate(dir_, "client", {}, true);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ChannelOptions client(bool with_cert) const {
    ChannelOptions o;
    o.tls = true;
    o.ca_file = server_cert_.ca_cert_pem;
    o.server_name = "localhost";
    if (with_cert) {
      o.client_cert_file = client_cert_.cert_chain_pem;
      o.client_key_file = client_cert_.private_key_pem;
    }
    return o;
  }

  std::string dir_;
  trident::net::DevCertificates server_cert_, client_cert_;
};

TEST_F(GrpcClientTlsTest, TlsVerifiesTheServer) {
  TestServer server(0,
                    TestServer::Tls{server_cert_.cert_chain_pem, server_cert_.private_key_pem, ""});
  run_client([&]() -> Task<void> {
    Channel ch(server.target(), client(false));
    EXPECT_EQ(ch.authority(), "localhost");
    Outcome o = co_await call(ch, "/test.Raw/Stream", msgs("3:100000"));
    EXPECT_TRUE(o.status.ok()) << describe(o.status);
    EXPECT_EQ(o.messages.size(), 3u);

    ChannelOptions wrong = client(false);
    wrong.server_name = "other.test";
    Channel bad(server.target(), wrong);
    Outcome b = co_await call(bad, "/test.Raw/Echo", msgs("x"));
    EXPECT_EQ(b.status.code, StatusCode::unavailable);
    EXPECT_NE(b.status.message.find("hostname mismatch"), std::string::npos) << b.status.message;

    ChannelOptions no_ca = client(false);
    no_ca.ca_file.clear();  // the system store does not know the test CA
    Channel unknown(server.target(), no_ca);
    Outcome u = co_await call(unknown, "/test.Raw/Echo", msgs("x"));
    EXPECT_EQ(u.status.code, StatusCode::unavailable) << describe(u.status);
  });
}

TEST_F(GrpcClientTlsTest, MutualTls) {
  TestServer server(0, TestServer::Tls{server_cert_.cert_chain_pem, server_cert_.private_key_pem,
                                       server_cert_.ca_cert_pem});
  run_client([&]() -> Task<void> {
    Channel with(server.target(), client(true));
    Outcome o = co_await call(with, "/test.Raw/Echo", msgs("mtls"));
    EXPECT_TRUE(o.status.ok()) << describe(o.status);

    Channel without(server.target(), client(false));
    Outcome n = co_await call(without, "/test.Raw/Echo", msgs("x"));
    EXPECT_EQ(n.status.code, StatusCode::unavailable) << describe(n.status);
  });
  EXPECT_THROW(Channel("127.0.0.1:1",
                       [] {
                         ChannelOptions o;
                         o.tls = true;
                         o.ca_file = "/nonexistent/ca.pem";
                         return o;
                       }()),
               trident::net::TlsError);
}

}  // namespace
