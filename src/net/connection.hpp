// One accepted socket: reads (through TLS when configured), picks the
// protocol (ALPN, or the HTTP/2 preface on plaintext), feeds bytes to the
// Session, writes what it produces, and enforces read timeouts. Reads go
// through a per-thread scratch buffer, so an idle connection holds no
// receive buffer of its own; writes are tried synchronously first and only
// wait for EPOLLOUT when the socket is full.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/free_list.hpp"
#include "net/peer.hpp"
#include "net/poller.hpp"
#include "net/session.hpp"
#include "net/transport_io.hpp"

namespace trident::net {

class Worker;

using SessionFactory =
    std::function<std::unique_ptr<Session>(SessionIo&, const PeerInfo&, Protocol)>;

// Owned by its Worker (an intrusive list: no map node, no shared_ptr per
// connection). Deletion is deferred to a later loop turn (Worker::remove), so
// a handler running now, or a wake posted earlier, still finds it alive.
//
// Every idle connection is one of these, so it carries no field it can do
// without: its worker is the thread's (Worker::current), the poller
// dispatches to it without a vtable, its SSL lives in the TLS-only part of
// PeerInfo, and both buffers are one pooled block held only while in use.
class Connection final : public SessionIo {
 public:
  // Takes ownership of `fd`, a connected non-blocking socket; runs on (and
  // belongs to) the current thread's worker.
  Connection(int fd, bool h2_only);
  ~Connection() override;

  // Registers with the poller and starts reading; `tls` (or null for
  // plaintext) is the listener's context.
  void start(SSL_CTX* tls);
  void drain();  // graceful shutdown: the session finishes what is in flight
  // Nothing is in flight server-wide any more: close if between requests.
  void close_if_idle();
  // Something is in flight here (a request, a response, a lingering close).
  bool busy() const;
  void close();  // now
  // Called by the worker once per tick (seconds since the worker started).
  void check_timeouts(std::uint32_t now);
  // A wake() scheduled on the worker is due.
  void on_wake_due();

  // Readiness from the poller.
  void on_events(std::uint32_t events);

  // SessionIo
  void wake() override;
  void switch_session(std::unique_ptr<Session> next) override;
  const PeerInfo& peer() const override { return peer_; }

 private:
  using IoStatus = net::IoStatus;
  using IoResult = net::IoResult;
  IoResult transport_read(char* buf, std::size_t len);
  IoResult transport_write(const char* buf, std::size_t len);
  IoResult transport_writev(const iovec* iov, std::size_t count);
  // Handles a write's status; false → stop writing for now (or closed).
  bool handle_write(const IoResult& r);

  void run(bool woken);  // the one driver: handshake, read, session, flush
  void handshake();
  void on_handshake_done();
  bool read_some();          // one read into the session; false → stop reading
  bool choose_protocol();    // plaintext: sniff the preface; false → need more bytes
  void process(bool woken);  // run the session on buffered input, flush its output
  void feed_input();
  bool apply_switch();  // installs a pending next session; true if it did
  void flush();
  // Writes a gathering session's buffers (Session::peek_output); false if
  // the session has nothing to gather (then take_output is asked).
  bool gather_write();
  void after_run();
  // Notes a change of the session's phase (timeouts count from it); true if changed.
  bool track_phase(std::uint32_t now);
  void linger();  // half-close and discard input until EOF or timeout

  SSL* ssl() const { return peer_.tls_details ? peer_.tls_details->ssl : nullptr; }
  std::string_view input() const {
    const Buffers* b = buffers_.held();
    return b ? std::string_view(b->in) : std::string_view();
  }
  bool output_pending() const {
    const Buffers* b = buffers_.held();
    return b && b->out_off < b->out.size();
  }
  void release_buffers();  // back to the pool unless something is in them

  [[no_unique_address]] PeerInfo peer_;
  int fd_;  // in peer_'s tail padding
  std::unique_ptr<Session> session_;

  struct Buffers {
    std::string in;           // input not consumed yet
    std::string out;          // output being written
    std::size_t out_off = 0;  // bytes of `out` already written
    void clear_output() {
      out.clear();
      out_off = 0;
    }
    bool recycle() {
      in.clear();
      clear_output();
      return in.capacity() <= kMaxPooledCapacity && out.capacity() <= kMaxPooledCapacity;
    }
  };
  Pooled<Buffers> buffers_;

  std::uint32_t phase_since_ = 0;
  std::uint32_t last_read_ = 0;
  Phase phase_ = Phase::reading_head;

  // Bit-fields: every idle connection carries these (only its worker thread
  // touches them).
  bool h2_only_ : 1;
  bool registered_ : 1 = false;
  bool handshaking_ : 1 = false;
  bool read_ready_ : 1 = true;       // no EAGAIN seen since the last readable edge
  bool write_ready_ : 1 = true;      // no EAGAIN seen since the last writable edge
  bool output_stalled_ : 1 = false;  // a write stopped short: the next event resumes it
  bool wake_posted_ : 1 = false;
  bool processing_ : 1 = false;
  bool rerun_ : 1 = false;
  bool peer_eof_ : 1 = false;
  bool peer_shut_ : 1 = false;        // EPOLLRDHUP seen: an EOF follows the data
  bool memory_released_ : 1 = false;  // idle buffers dropped; reset by new activity
  bool lingering_ : 1 = false;
  bool closed_ : 1 = false;
  bool switch_pending_ : 1 = false;  // a next session is parked with the worker

  // The worker's list of connections.
  Connection* prev_ = nullptr;
  Connection* next_ = nullptr;
  friend class Worker;
};

}  // namespace trident::net
