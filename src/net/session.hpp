// The boundary between a connection (sockets, TLS, timers: net/) and the
// protocol spoken on it (h1, h2: http/). A Session never does I/O: it
// consumes bytes, produces bytes, and tells the connection what it wants.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/peer.hpp"

namespace trident::net {

class Session;

// What a session may ask of its connection.
class SessionIo {
 public:
  virtual ~SessionIo() = default;
  // Something changed outside of on_input (a handler resumed, produced
  // output or finished): run the session again soon (coalesced, deferred).
  virtual void wake() = 0;
  // Replace the session (HTTP/1.1 `Upgrade: h2c`); takes effect after the
  // current call returns. Bytes not consumed yet go to the new session.
  virtual void switch_session(std::unique_ptr<Session> next) = 0;
  // Who is on the other end (valid as long as the connection).
  virtual const PeerInfo& peer() const = 0;
};

// Where a session is, for the connection's timeouts.
enum class Phase : std::uint8_t {
  idle,          // nothing in flight: idle timeout
  reading_head,  // part of a request head received: header (slowloris) timeout
  reading_body,  // a request body is still arriving: request timeout
  busy,          // a handler is producing a response: no read timeout
};

class Session {
 public:
  virtual ~Session() = default;
  // Consumes a prefix of `data`, returns its length; the rest is presented
  // again with more bytes appended.
  virtual std::size_t on_input(std::string_view data) = 0;
  // Appends pending output to `out`.
  virtual void take_output(std::string& out) = 0;
  // Zero-copy output, for sessions whose output is a queue of buffers (some
  // shared with other connections, like a pub/sub frame): fills up to `max`
  // iovecs with what is pending, in order, and returns how many; 0 means
  // "use take_output". The connection writes them with one writev and
  // reports how many bytes went out with consume_output.
  virtual std::size_t peek_output(iovec* iov, std::size_t max) {
    (void)iov;
    (void)max;
    return 0;
  }
  virtual void consume_output(std::size_t n) { (void)n; }
  // Everything taken so far has been written to the socket.
  virtual void on_output_flushed() {}
  // Called after wake(): reap finished work, resume waiters.
  virtual void on_wake() {}
  // False → stop reading (back-pressure or waiting for a handler).
  virtual bool wants_input() const = 0;
  // True → close once output is flushed.
  virtual bool should_close() const = 0;
  // Give up on flushing (the peer stopped reading): close now.
  virtual bool should_abort() const { return false; }
  // The peer shut down its sending side (EOF). HTTP/1.1 may still answer a
  // request it has (phase busy); a protocol that cannot finish anything
  // without more input aborts here.
  virtual void on_peer_eof() {}
  // Peer closed or reset: abort in-flight work.
  virtual void on_peer_closed() = 0;
  // Graceful shutdown: stop taking new requests (GOAWAY / Connection: close).
  virtual void start_drain() = 0;
  // A read timeout expired in the current phase; the session may write a
  // last response (408) and must then report should_close().
  virtual void on_timeout(Phase phase) = 0;
  virtual Phase phase() const = 0;
  // Once a second (seconds on the worker's clock), for protocol timers.
  virtual void on_tick(std::uint32_t now) { (void)now; }
  // The connection has been idle for a while: drop buffers kept for reuse.
  virtual void release_idle_memory() {}
};

}  // namespace trident::net
