#include "net/outbound.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "core/loop.hpp"
#include "net/client_tls.hpp"

namespace trident::net {
namespace {

// Reads per run before yielding to the rest of the loop.
constexpr int kMaxReadsPerRun = 8;
// Writes per flush before yielding.
constexpr int kMaxWritesPerFlush = 64;

std::string& scratch() {
  thread_local std::string buf(64 * 1024, '\0');
  return buf;
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view target) {
  HostPort hp;
  std::string_view port;
  if (target.starts_with('[')) {
    auto close = target.find(']');
    if (close == std::string_view::npos || close + 1 >= target.size() || target[close + 1] != ':') {
      return std::nullopt;
    }
    hp.host.assign(target.substr(1, close - 1));
    port = target.substr(close + 2);
  } else {
    auto colon = target.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    hp.host.assign(target.substr(0, colon));
    port = target.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
  }
  if (hp.host.empty() || port.empty()) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

std::string format_host_port(const HostPort& hp) {
  std::string host = hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host;
  return host + ":" + std::to_string(hp.port);
}

// ---------------------------------------------------------------------------
// Connecting.

namespace {

class ConnectorImpl final : public Connector, public std::enable_shared_from_this<ConnectorImpl> {
 public:
  ConnectorImpl(asio::io_context& io, HostPort target, ConnectOptions options,
                ConnectCallback callback)
      : io_(io),
        target_(std::move(target)),
        options_(std::move(options)),
        callback_(std::move(callback)),
        resolver_(io),
        socket_(io),
        timer_(io) {}

  ~ConnectorImpl() override {
    if (ssl_) SSL_free(ssl_);
  }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(options_.timeout);
    timer_.async_wait([self](const asio::error_code& ec) {
      if (ec || self->finished_) return;
      self->fail("timed out after " + std::to_string(self->options_.timeout.count()) + " ms");
    });
    asio::error_code ec;
    asio::ip::address address = asio::ip::make_address(target_.host, ec);
    if (!ec) {
      endpoints_.emplace_back(address, target_.port);
      // Through the loop, so that the callback never runs inside connect_async().
      asio::post(io_, [self] {
        if (!self->finished_) self->connect_tcp();
      });
      return;
    }
    resolver_.async_resolve(
        target_.host, std::to_string(target_.port),
        [self](const asio::error_code& ec, asio::ip::tcp::resolver::results_type results) {
          if (self->finished_) return;
          if (ec) return self->fail("cannot resolve '" + self->target_.host + "': " + ec.message());
          for (const auto& entry : results) self->endpoints_.push_back(entry.endpoint());
          if (self->endpoints_.empty()) {
            return self->fail("'" + self->target_.host + "' has no address");
          }
          self->connect_tcp();
        });
  }

  void cancel() override {
    if (finished_) return;
    finished_ = true;
    callback_ = nullptr;
    cleanup();
  }

 private:
  void connect_tcp() {
    auto self = shared_from_this();
    asio::async_connect(socket_, endpoints_,
                        [self](const asio::error_code& ec, const asio::ip::tcp::endpoint& ep) {
                          if (self->finished_) return;
                          if (ec) return self->fail(ec.message());
                          self->on_tcp_connected(ep);
                        });
  }

  void on_tcp_connected(const asio::ip::tcp::endpoint& ep) {
    asio::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) return fail("cannot make the socket non-blocking: " + ec.message());
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    peer_.set_address(ep.data());
    if (!options_.tls) return succeed();
    std::string name = options_.server_name.empty() ? target_.host : options_.server_name;
    try {
      ssl_ = options_.tls->new_ssl(name);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    if (SSL_set_fd(ssl_, socket_.native_handle()) != 1) return fail("SSL_set_fd failed");
    peer_.tls = true;
    peer_.tls_info().server_name = name;
    handshake();
  }

  void handshake() {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
      const std::string& alpn = peer_.tls_info().alpn = negotiated_alpn(ssl_);
      if (!options_.require_alpn.empty() && alpn != options_.require_alpn) {
        return fail("the server did not select ALPN protocol '" + options_.require_alpn + "'" +
                    (alpn.empty() ? std::string(" (no ALPN)") : " (got '" + alpn + "')"));
      }
      return succeed();
    }
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      auto self = shared_from_this();
      auto type = err == SSL_ERROR_WANT_READ ? asio::ip::tcp::socket::wait_read
                                             : asio::ip::tcp::socket::wait_write;
      socket_.async_wait(type, [self](const asio::error_code& ec) {
        if (self->finished_) return;
        if (ec) return self->fail("TLS handshake: " + ec.message());
        self->handshake();
      });
      return;
    }
    fail("TLS handshake: " + tls_failure_reason(ssl_));
  }

  void succeed() {
    finished_ = true;
    timer_.cancel();
    auto conn = std::make_shared<OutboundConnection>(
        io_, std::move(socket_), std::exchange(ssl_, nullptr), std::move(peer_));
    auto cb = std::move(callback_);
    if (cb) cb(std::move(conn), {});
  }

  void fail(std::string why) {
    if (finished_) return;
    finished_ = true;
    cleanup();
    auto cb = std::move(callback_);
    if (cb) cb(nullptr, "connect to " + format_host_port(target_) + ": " + why);
  }

  void cleanup() {
    asio::error_code ec;
    timer_.cancel();
    resolver_.cancel();
    socket_.close(ec);
    if (ssl_) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
  }

  asio::io_context& io_;
  HostPort target_;
  ConnectOptions options_;
  ConnectCallback callback_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::vector<asio::ip::tcp::endpoint> endpoints_;
  SSL* ssl_ = nullptr;
  PeerInfo peer_;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<Connector> connect_async(asio::io_context& io, const HostPort& target,
                                         ConnectOptions options, ConnectCallback callback) {
  auto c = std::make_shared<ConnectorImpl>(io, target, std::move(options), std::move(callback));
  c->start();
  return c;
}

namespace {

struct ConnectAwaiter {
  struct State {
    std::coroutine_handle<> waiting;
    std::shared_ptr<OutboundConnection> conn;
    std::string error;
  };

  asio::io_context& io;
  HostPort target;
  ConnectOptions options;
  std::shared_ptr<State> state = std::make_shared<State>();
  std::shared_ptr<Connector> connector;

  ConnectAwaiter(asio::io_context& io, HostPort t, ConnectOptions o)
      : io(io), target(std::move(t)), options(std::move(o)) {}
  ConnectAwaiter(const ConnectAwaiter&) = delete;
  ConnectAwaiter& operator=(const ConnectAwaiter&) = delete;
  ~ConnectAwaiter() {
    // The awaiting coroutine is destroyed while suspended: stop the attempt.
    if (state->waiting) {
      state->waiting = {};
      if (connector) connector->cancel();
    }
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    state->waiting = h;
    connector = connect_async(io, target, std::move(options),
                              [s = state](std::shared_ptr<OutboundConnection> c, std::string e) {
                                s->conn = std::move(c);
                                s->error = std::move(e);
                                if (auto w = std::exchange(s->waiting, {})) w.resume();
                              });
  }
  std::shared_ptr<OutboundConnection> await_resume() {
    if (!state->conn) throw ConnectError(state->error);
    return std::move(state->conn);
  }
};

}  // namespace

Task<std::shared_ptr<OutboundConnection>> connect(HostPort target, ConnectOptions options) {
  Loop* loop = Loop::current();
  if (!loop) throw ConnectError("connect() outside a worker loop");
  co_return co_await ConnectAwaiter(loop->io(), std::move(target), std::move(options));
}

// ---------------------------------------------------------------------------
// The connection.

OutboundConnection::OutboundConnection(asio::io_context& io, asio::ip::tcp::socket socket, SSL* ssl,
                                       PeerInfo peer)
    : io_(io), socket_(std::move(socket)), ssl_(ssl), peer_(std::move(peer)) {}

OutboundConnection::~OutboundConnection() {
  session_.reset();
  retired_.reset();
  if (ssl_) SSL_free(ssl_);
}

void OutboundConnection::start(std::unique_ptr<Session> session) {
  session_ = std::move(session);
  run();
}

void OutboundConnection::switch_session(std::unique_ptr<Session> next) {
  // No protocol switch on the client side yet; keep the old session alive
  // until the connection goes (it may be on the stack).
  retired_ = std::exchange(session_, std::move(next));
  wake();
}

void OutboundConnection::wake() {
  if (processing_) {
    rerun_ = true;
    return;
  }
  if (wake_posted_) return;
  wake_posted_ = true;
  asio::post(io_, [self = shared_from_this()] {
    self->wake_posted_ = false;
    if (self->closed_) {
      // A closed session may still have news for its users (failed streams).
      if (self->session_) self->session_->on_wake();
      return;
    }
    self->run();
  });
}

void OutboundConnection::run() {
  if (closed_ || !session_) return;
  if (processing_) {
    rerun_ = true;
    return;
  }
  auto self = shared_from_this();
  processing_ = true;
  int reads = 0;
  do {
    rerun_ = false;
    session_->on_wake();
    while (!closed_ && !read_blocked_ && session_->wants_input() && reads < kMaxReadsPerRun) {
      ++reads;
      if (!read_some()) break;
    }
    if (closed_) break;
    flush();
    if (closed_) break;
    if (session_->should_abort()) {
      close("aborted by the session");
      break;
    }
    if (session_->should_close() && out_off_ == out_.size()) {
      close("closed by the session");
      break;
    }
  } while (rerun_ && !closed_);
  processing_ = false;
  if (closed_) return;
  if (session_->wants_input()) {
    if (read_blocked_) {
      arm_read();
    } else if (reads >= kMaxReadsPerRun) {
      wake();  // more input may be waiting: continue on a later turn
    }
  }
}

OutboundConnection::IoResult OutboundConnection::transport_read(char* buf, std::size_t len) {
  return net::transport_read(socket_.native_handle(), ssl_, buf, len);
}

OutboundConnection::IoResult OutboundConnection::transport_write(const char* buf, std::size_t len) {
  return net::transport_write(socket_.native_handle(), ssl_, buf, len);
}

bool OutboundConnection::read_some() {
  std::string& buf = scratch();
  IoResult r = transport_read(buf.data(), buf.size());
  switch (r.status) {
    case IoStatus::ok: {
      if (in_.empty()) {
        std::string_view view(buf.data(), r.n);
        std::size_t used = session_->on_input(view);
        if (used < view.size() && !closed_) in_.append(view.substr(used));
      } else {
        in_.append(buf.data(), r.n);
        std::size_t used = session_->on_input(in_);
        in_.erase(0, used);
      }
      return !closed_;
    }
    case IoStatus::would_block_read:
      read_blocked_ = true;
      return false;
    case IoStatus::would_block_write:  // TLS must write before it can read
      read_blocked_ = true;
      arm_write();
      return false;
    case IoStatus::eof:
      session_->on_peer_eof();
      close("connection closed by the peer");
      return false;
    case IoStatus::error:
      close(std::string("read failed: ") +
            (ssl_ ? tls_failure_reason(nullptr) : std::string(std::strerror(errno))));
      return false;
  }
  return false;
}

void OutboundConnection::flush() {
  for (int i = 0; i < kMaxWritesPerFlush; ++i) {
    if (out_off_ == out_.size()) {
      bool had_output = !out_.empty();
      out_.clear();
      out_off_ = 0;
      if (had_output) session_->on_output_flushed();
      session_->take_output(out_);
      if (out_.empty()) return;
    }
    if (write_blocked_) return arm_write();
    IoResult r = transport_write(out_.data() + out_off_, out_.size() - out_off_);
    switch (r.status) {
      case IoStatus::ok:
        out_off_ += r.n;
        break;
      case IoStatus::would_block_write:
        write_blocked_ = true;
        return arm_write();
      case IoStatus::would_block_read:
        write_blocked_ = true;
        return arm_read();
      default:
        return close(std::string("write failed: ") +
                     (ssl_ ? tls_failure_reason(nullptr) : std::string(std::strerror(errno))));
    }
  }
  wake();  // output left after the per-turn budget
}

void OutboundConnection::arm_read() {
  if (read_armed_ || closed_) return;
  read_armed_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       self->read_armed_ = false;
                       if (ec || self->closed_) return;
                       // Either direction may have been waiting for this (TLS).
                       self->read_blocked_ = false;
                       self->write_blocked_ = false;
                       self->run();
                     });
}

void OutboundConnection::arm_write() {
  if (write_armed_ || closed_) return;
  write_armed_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_write,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       self->write_armed_ = false;
                       if (ec || self->closed_) return;
                       self->write_blocked_ = false;
                       self->read_blocked_ = false;
                       self->run();
                     });
}

void OutboundConnection::shutdown(std::chrono::milliseconds grace) {
  if (closed_) return;
  if (session_) session_->start_drain();
  if (!grace_timer_) {
    grace_timer_ = std::make_unique<asio::steady_timer>(io_);
    grace_timer_->expires_after(grace);
    grace_timer_->async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close("not finished within the shutdown grace period");
    });
  }
  wake();
}

void OutboundConnection::close(std::string reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
  auto self = shared_from_this();
  if (grace_timer_) grace_timer_->cancel();
  if (ssl_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // best effort close_notify; the socket is non-blocking
  }
  asio::error_code ec;
  socket_.close(ec);  // cancels the pending waits: their references go
  if (session_) session_->on_peer_closed();
  // The session tells its users (and this tells the owner) from a later turn,
  // never from inside whatever called close().
  asio::post(io_, [self] {
    if (self->session_) self->session_->on_wake();
    if (auto f = std::move(self->on_close_)) {
      self->on_close_ = nullptr;
      f();
    }
  });
}

}  // namespace trident::net
