// The gRPC client over trident's own HTTP/2 client (h2::ClientSession on a
// net::OutboundConnection), per the gRPC "PROTOCOL-HTTP2" spec: every call is
// one HTTP/2 stream (POST, te: trailers, application/grpc, grpc-timeout,
// grpc-encoding / grpc-accept-encoding, metadata with -bin values base64),
// length-prefixed messages (compressed on request), and a final Status from
// the trailers, a trailers-only response, or synthesized (HTTP status
// without grpc-status, RST_STREAM, connection loss, local deadline, cancel).
//
// Threading: a Channel belongs to one event loop (the thread's
// Loop::current() when its first call starts, or the loop given), and its
// calls must be used from that thread. One read-side operation (read() or
// finish()) and one write-side operation (write() or writes_done()) may be
// in flight on a call at the same time, e.g. from two coroutines of a bidi
// stream.
//
// Connection management: the channel connects lazily on the first call and
// keeps one HTTP/2 connection, multiplexing every call on it. A connection
// that ends (GOAWAY, error, closed) is replaced on the next call; a failed
// attempt puts the channel in TRANSIENT_FAILURE for a backoff delay (gRPC's
// connection-backoff: 1 s, ×1.6, ±20 % jitter, at most 120 s, each attempt
// given max(20 s, backoff)), during which calls fail fast with UNAVAILABLE,
// unless wait_for_ready is set: then they wait (up to their deadline) and
// the channel retries by itself when the delay has passed.
//
// Lifetime: each call keeps the channel's state (and its connection) alive,
// so a call may outlive its Channel object; once the Channel and all its
// calls are gone, the connection is shut down (GOAWAY, then closed within a
// second) and nothing of the channel is left on the loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "rpc/channel.hpp"
#include "rpc/grpc/compression.hpp"
#include "rpc/grpc/framing.hpp"

namespace trident {
class Loop;
}

namespace trident::rpc::grpc {

struct BackoffOptions {
  std::chrono::milliseconds initial{1000};
  double multiplier = 1.6;
  double jitter = 0.2;
  std::chrono::milliseconds max{120000};
  std::chrono::milliseconds min_connect_timeout{20000};
};

struct ChannelOptions {
  bool tls = false;
  std::string ca_file;      // PEM bundle to verify the server; empty → the system store
  std::string server_name;  // TLS name (SNI, verification) and :authority; empty → target host
  std::string client_cert_file;  // mTLS: certificate chain, PEM
  std::string client_key_file;   // mTLS: its private key, PEM
  bool verify_server = true;     // false: accept any server certificate (tests only)

  std::size_t max_receive_message_size = kDefaultMaxReceiveMessageSize;  // → RESOURCE_EXHAUSTED
  std::size_t max_send_message_size = 0xffffffffu;                       // → RESOURCE_EXHAUSTED
  // Compress every request message with this coding; CallOptions::compress
  // asks for it per call (gzip when this is identity).
  Encoding default_compression = Encoding::identity;

  bool wait_for_ready = false;  // calls wait through connection failures (until their deadline)
  BackoffOptions backoff;
  // Keepalive: a PING after this long without one (0: off); no ACK within
  // keepalive_timeout closes the connection (its calls fail with UNAVAILABLE).
  std::chrono::milliseconds keepalive_time{0};
  std::chrono::milliseconds keepalive_timeout{20000};

  std::string user_agent = "trident-grpc/0.1";
  std::uint32_t stream_window = 1u << 20;       // HTTP/2 receive window per call
  std::uint32_t connection_window = 16u << 20;  // HTTP/2 receive window of the connection
};

// The gRPC call a Channel starts (rpc::ClientCall plus what only gRPC has).
class ClientCall : public rpc::ClientCall {
 public:
  // Whether the last message read() returned arrived compressed.
  virtual bool last_message_compressed() const = 0;
  // The HTTP status of the response (0 before the headers or without any).
  virtual int http_status() const = 0;
};

namespace detail {
class ChannelCore;
}

class Channel final : public rpc::Channel {
 public:
  enum class State { idle, connecting, ready, transient_failure, shutdown };

  // `target` is "host:port" or "[v6]:port". Throws std::invalid_argument on a
  // malformed target, net::TlsError when the TLS files cannot be loaded.
  explicit Channel(std::string_view target, ChannelOptions options = {}, Loop* loop = nullptr);
  ~Channel() override;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Starts a call now (it waits for the connection when there is none yet);
  // returns a grpc::ClientCall.
  std::unique_ptr<rpc::ClientCall> start(std::string_view path,
                                         const CallOptions& options) override;

  State state() const;
  // Connects now if idle (calls do it themselves).
  void connect();
  // The last connection error ("" if none).
  std::string last_error() const;
  const std::string& authority() const;

 private:
  std::shared_ptr<detail::ChannelCore> core_;
};

std::string_view state_name(Channel::State s);

}  // namespace trident::rpc::grpc
