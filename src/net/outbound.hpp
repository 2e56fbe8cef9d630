// Outbound connections: resolve a host, connect TCP (non-blocking, on the
// calling thread's Asio loop), optionally run a TLS client handshake (ALPN,
// SNI, verification, client certificate), then drive a net::Session with
// bytes exactly as net::Connection does for accepted sockets: the session
// never sees the socket, only bytes in and bytes out.
//
// Threading: everything runs on the io_context given (normally
// Loop::current()); an OutboundConnection and its session must only be
// touched from that thread.
//
// Lifetime: an OutboundConnection is owned by shared_ptr. While it waits for
// socket readiness its pending handlers hold a reference, so a connection
// whose owner dropped it still finishes what its session has in flight and
// then closes (when the session says should_close()). close() is safe from
// anywhere, including from code the session itself is running: the session
// object lives until the connection is destroyed, never while one of its
// member functions is on the stack.
#pragma once

#include <openssl/ssl.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "net/peer.hpp"
#include "net/session.hpp"
#include "net/transport_io.hpp"

namespace trident::net {

class ClientTlsContext;

// A host and a port: "example.com:443", "127.0.0.1:50051", "[::1]:50051".
struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
// Nullopt when `target` is not host:port (the port is required, 1-65535).
std::optional<HostPort> parse_host_port(std::string_view target);
// "host:port", with brackets around an IPv6 address.
std::string format_host_port(const HostPort& hp);

struct ConnectOptions {
  // Resolution + TCP connect + TLS handshake, all together.
  std::chrono::milliseconds timeout{20000};
  // TLS when set (shared by every connection made with it).
  std::shared_ptr<const ClientTlsContext> tls;
  // The name to verify and send as SNI; empty → the host being connected to.
  std::string server_name;
  // With TLS: the ALPN protocol the server must select ("" → accept any, or none).
  std::string require_alpn = "h2";
};

struct ConnectError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class OutboundConnection;

// One connection attempt in flight. Dropping the last reference does not stop
// it (its handlers hold one); cancel() does, and then the callback is not called.
class Connector {
 public:
  virtual ~Connector() = default;
  virtual void cancel() = 0;
};

// Called exactly once (unless cancelled), from the io_context: the connection
// on success, else nullptr and the reason.
using ConnectCallback = std::function<void(std::shared_ptr<OutboundConnection>, std::string error)>;

std::shared_ptr<Connector> connect_async(asio::io_context& io, const HostPort& target,
                                         ConnectOptions options, ConnectCallback callback);

// The same as a coroutine on Loop::current(); throws ConnectError. Destroying
// the awaiting coroutine cancels the attempt.
Task<std::shared_ptr<OutboundConnection>> connect(HostPort target, ConnectOptions options);

class OutboundConnection final : public SessionIo,
                                 public std::enable_shared_from_this<OutboundConnection> {
 public:
  // Takes a connected socket and, for TLS, an SSL whose handshake is done (owned).
  OutboundConnection(asio::io_context& io, asio::ip::tcp::socket socket, SSL* ssl, PeerInfo peer);
  ~OutboundConnection() override;
  OutboundConnection(const OutboundConnection&) = delete;
  OutboundConnection& operator=(const OutboundConnection&) = delete;

  // Starts driving `session` (its initial output, e.g. the HTTP/2 preface, goes out now).
  void start(std::unique_ptr<Session> session);
  Session* session() const { return session_.get(); }
  const PeerInfo& peer() const override { return peer_; }
  asio::io_context& io() const { return io_; }

  // Closes now: the session hears on_peer_closed(); `on_close` runs on a later turn.
  void close(std::string reason = "closed");
  // Graceful: the session finishes (HTTP/2: GOAWAY, then close once what is in
  // flight is done and flushed), closed after `grace` at the latest.
  void shutdown(std::chrono::milliseconds grace);
  bool closed() const { return closed_; }
  // Why the connection closed ("" while open).
  const std::string& close_reason() const { return close_reason_; }
  // Called once, from the loop, after the connection closed (for any reason).
  void set_on_close(std::function<void()> f) { on_close_ = std::move(f); }

  // SessionIo
  void wake() override;
  void switch_session(std::unique_ptr<Session> next) override;

 private:
  using IoStatus = net::IoStatus;
  using IoResult = net::IoResult;
  IoResult transport_read(char* buf, std::size_t len);
  IoResult transport_write(const char* buf, std::size_t len);

  void run();
  bool read_some();  // false → stop reading for now
  void flush();
  void arm_read();
  void arm_write();

  asio::io_context& io_;
  asio::ip::tcp::socket socket_;
  SSL* ssl_;
  PeerInfo peer_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<Session> retired_;  // replaced by switch_session; freed with the connection
  std::string in_;
  std::string out_;
  std::size_t out_off_ = 0;
  std::string close_reason_;
  std::function<void()> on_close_;
  std::unique_ptr<asio::steady_timer> grace_timer_;
  bool read_blocked_ = false;
  bool write_blocked_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool wake_posted_ = false;
  bool processing_ = false;
  bool rerun_ = false;
  bool closed_ = false;
};

}  // namespace trident::net
