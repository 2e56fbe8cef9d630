#include "net/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/free_list.hpp"
#include "core/log.hpp"
#include "net/tls.hpp"
#include "net/transport_io.hpp"
#include "net/worker.hpp"

namespace trident::net {
namespace {
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::uint32_t kLingerSeconds = 2;
// Reads per readable event before yielding to other connections.
constexpr int kMaxReadsPerEvent = 4;
// Unconsumed input up to this size is moved in front of the next read
// (see read_some); more stays in the connection's buffer.
constexpr std::size_t kMaxCarry = 16 * 1024;
}  // namespace

namespace {
Worker& worker() {
  return Worker::current();
}
}  // namespace

Connection::Connection(int fd, bool h2_only) : fd_(fd), h2_only_(h2_only) {}

Connection::~Connection() {
  closed_ = true;  // a session going now may still call wake(): nothing is scheduled
  session_.reset();
  // A session parked for a switch that never came refers to this connection:
  // it goes now, not with the worker.
  if (switch_pending_) worker().unpark_session(this);
  if (SSL* ssl = this->ssl()) SSL_free(ssl);
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start(SSL_CTX* tls) {
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    peer_.set_address(reinterpret_cast<sockaddr*>(&addr));
  }
  phase_since_ = last_read_ = worker().now();
  if (!worker().poller().add(fd_, this)) return close();
  registered_ = true;
  if (tls) {
    SSL* ssl = SSL_new(tls);
    if (!ssl) return close();
    peer_.tls_info().ssl = ssl;
    if (SSL_set_fd(ssl, fd_) != 1) return close();
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_accept_state(ssl);
    peer_.tls = true;
    handshaking_ = true;
  }
  // Edge-triggered: data that arrived before registration raised no edge.
  run(false);
}

void Connection::on_events(std::uint32_t events) {
  if (closed_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_ready_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) peer_shut_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) write_ready_ = true;
  run(false);
}

void Connection::run(bool woken) {
  if (closed_) return;
  if (lingering_) return linger();
  if (handshaking_) {
    handshake();
    if (handshaking_ || closed_) return;
  }
  // First what an earlier turn left: a wake, output the socket would not
  // take, input the session was not ready for. A plain readable edge has
  // none of these and goes straight to the read.
  if (woken || output_stalled_ || !input().empty()) {
    output_stalled_ = false;
    process(woken);
  }
  // Read while the socket has data and the session takes it; a bounded
  // number of reads per turn keeps one busy client from starving the rest.
  for (int i = 0; i < kMaxReadsPerEvent && !closed_ && read_ready_ && !peer_eof_; ++i) {
    if (session_ && !session_->wants_input()) break;
    if (!read_some()) break;
    bool again = rerun_;
    rerun_ = false;
    process(again);
  }
  if (!closed_) after_run();
}

void Connection::handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl());
  if (rc == 1) {
    handshaking_ = false;
    return on_handshake_done();
  }
  int err = SSL_get_error(ssl(), rc);
  if (err == SSL_ERROR_WANT_READ) {
    read_ready_ = false;
  } else if (err == SSL_ERROR_WANT_WRITE) {
    write_ready_ = false;
  } else {
    unsigned long e = ERR_peek_error();
    const char* why = e ? ERR_reason_error_string(e) : nullptr;
    log::debug("TLS handshake with " + peer_.address() + " failed: " + (why ? why : "closed"));
    close();
  }
}

void Connection::on_handshake_done() {
  PeerInfo::Tls& info = peer_.tls_info();
  info.alpn = negotiated_alpn(info.ssl);
  if (const char* sni = SSL_get_servername(info.ssl, TLSEXT_NAMETYPE_host_name)) {
    info.server_name = sni;
  }
  info.client_subject = peer_certificate_subject(info.ssl);
  Protocol p = info.alpn == "h2" ? Protocol::http2 : Protocol::http1;
  session_ = worker().factory()(*this, peer_, p);
  // The client may have sent application data along with its Finished.
  read_ready_ = true;
}

bool Connection::choose_protocol() {
  // "PRI * HTTP/2.0\r\n" is no HTTP/1.1 request: anything starting like the
  // preface goes to HTTP/2, which rejects a mangled rest with GOAWAY.
  constexpr std::size_t kDecisive = 16;
  std::string_view in = input();
  std::size_t n = std::min(in.size(), kDecisive);
  bool h2 = h2_only_ || in.substr(0, n) == kH2Preface.substr(0, n);
  if (h2 && !h2_only_ && in.size() < kDecisive) return false;
  session_ = worker().factory()(*this, peer_, h2 ? Protocol::http2 : Protocol::http1);
  return true;
}

Connection::IoResult Connection::transport_read(char* buf, std::size_t len) {
  return net::transport_read(fd_, ssl(), buf, len);
}

Connection::IoResult Connection::transport_writev(const iovec* iov, std::size_t count) {
  return net::transport_writev(fd_, ssl(), iov, count);
}

Connection::IoResult Connection::transport_write(const char* buf, std::size_t len) {
  return net::transport_write(fd_, ssl(), buf, len);
}

bool Connection::read_some() {
  std::string& scratch = worker().scratch();
  // A short remainder of the last read (a message cut at the read boundary)
  // goes in front of the new bytes in the scratch buffer: the session then
  // sees one contiguous view, and only the remainder is copied, not every
  // byte that follows it.
  const bool direct = session_ && !switch_pending_;
  const std::string_view in = input();
  const std::size_t carry = direct && in.size() <= kMaxCarry ? in.size() : 0;
  if (carry > 0) std::memcpy(scratch.data(), in.data(), carry);
  IoResult r = transport_read(scratch.data() + carry, scratch.size() - carry);
  switch (r.status) {
    case IoStatus::ok:
      last_read_ = worker().now();
      // A short plaintext read drained the socket: the next edge says when
      // there is more, so skip the read that would only return EAGAIN.
      // Unless the peer already shut down: then the EOF is there to be read
      // and no further edge will announce it.
      if (!peer_.tls && r.n < scratch.size() - carry && !peer_shut_) read_ready_ = false;
      if (direct && (carry > 0 || in.empty())) {
        // The session reads straight from the scratch buffer, and only what
        // it leaves is copied.
        std::string_view view(scratch.data(), carry + r.n);
        if (Buffers* b = buffers_.held()) b->in.clear();
        // A wake() from inside on_input (a handler that finished at once)
        // becomes a rerun of the process() that follows, not a posted task.
        processing_ = true;
        std::size_t used = session_->wants_input() ? session_->on_input(view) : 0;
        processing_ = false;
        apply_switch();
        if (used < view.size()) buffers_.get().in.append(view.substr(used));
        return true;
      }
      buffers_.get().in.append(scratch.data(), r.n);
      if (!session_) choose_protocol();
      return true;
    case IoStatus::would_block_read:
      read_ready_ = false;
      return false;
    case IoStatus::would_block_write:  // TLS needs to write before it can read
      write_ready_ = false;
      return false;
    case IoStatus::eof:
      peer_eof_ = true;
      if (session_) session_->on_peer_eof();
      // A request still arriving can never complete now; one being answered may.
      if (!session_ || session_->phase() != Phase::busy) close();
      return false;
    case IoStatus::error:
      if (session_) session_->on_peer_closed();
      close();
      return false;
  }
  return false;
}

void Connection::feed_input() {
  while (session_ && !input().empty() && session_->wants_input()) {
    std::size_t used = session_->on_input(input());
    buffers_.held()->in.erase(0, used);
    if (apply_switch()) continue;
    if (used == 0) break;
  }
}

bool Connection::apply_switch() {
  if (!switch_pending_) return false;
  switch_pending_ = false;
  std::unique_ptr<Session> next = worker().unpark_session(this);
  // Upgrade (h2c, WebSocket): the 101 goes out first, then the new session's bytes.
  std::string pending;
  session_->take_output(pending);
  buffers_.get().out.append(pending);
  session_ = std::move(next);
  return true;
}

void Connection::process(bool woken) {
  if (closed_) return;
  processing_ = true;
  do {
    rerun_ = false;
    if (session_ && woken) {
      session_->on_wake();
      apply_switch();  // a handler that finished later may have switched protocols
    }
    woken = true;
    feed_input();
    flush();
  } while (rerun_ && !closed_);
  processing_ = false;
}

void Connection::flush() {
  if (!session_ || closed_) return;
  for (;;) {
    if (!output_pending()) {
      Buffers* held = buffers_.held();
      bool had_output = held && !held->out.empty();
      if (held) held->clear_output();
      if (had_output) session_->on_output_flushed();
      if (gather_write()) return;
      std::string& out = buffers_.get().out;
      session_->take_output(out);
      if (out.empty()) return;
    }
    if (!write_ready_) {
      output_stalled_ = true;  // the next writable edge resumes here
      return;
    }
    Buffers& b = *buffers_.held();
    IoResult r = transport_write(b.out.data() + b.out_off, b.out.size() - b.out_off);
    if (!handle_write(r)) return;
    b.out_off += r.n;
  }
}

bool Connection::gather_write() {
  constexpr std::size_t kMaxIov = 64;
  iovec iov[kMaxIov];
  for (;;) {
    std::size_t k = session_->peek_output(iov, kMaxIov);
    if (k == 0) return false;  // nothing, or not a gathering session
    if (!write_ready_) {
      output_stalled_ = true;
      return true;
    }
    IoResult r = transport_writev(iov, k);
    if (!handle_write(r)) return true;
    session_->consume_output(r.n);
  }
}

bool Connection::handle_write(const IoResult& r) {
  switch (r.status) {
    case IoStatus::ok:
      return true;
    case IoStatus::would_block_write:
      write_ready_ = false;
      output_stalled_ = true;
      return false;
    case IoStatus::would_block_read:
      read_ready_ = false;
      output_stalled_ = true;
      return false;
    default:
      session_->on_peer_closed();
      close();
      return false;
  }
}

void Connection::after_run() {
  if (session_) track_phase(worker().now());
  if (session_ && session_->should_abort()) return close();
  const bool pending = output_pending();
  if (session_ && session_->should_close() && !pending) return linger();
  if (peer_eof_ && !pending && (!session_ || session_->phase() != Phase::busy)) {
    return close();
  }
  if (read_ready_ && !peer_eof_ && (!session_ || session_->wants_input())) {
    // Still readable after the per-turn read budget: continue on a later turn.
    wake();
  }
  release_buffers();
}

void Connection::release_buffers() {
  // Buffers go back to the worker's pool whenever they are empty, so a
  // connection between requests holds none.
  Buffers* b = buffers_.held();
  if (!b || output_pending()) return;
  if (b->in.empty()) return buffers_.give_back();
  b->clear_output();
}

bool Connection::track_phase(std::uint32_t now) {
  Phase p = session_->phase();
  if (p == phase_) return false;
  phase_ = p;
  phase_since_ = now;
  memory_released_ = false;
  return true;
}

void Connection::wake() {
  if (closed_) return;
  if (processing_) {
    rerun_ = true;
    return;
  }
  if (wake_posted_) return;
  wake_posted_ = true;
  worker().schedule_wake(this);
}

void Connection::on_wake_due() {
  wake_posted_ = false;
  run(true);
}

void Connection::switch_session(std::unique_ptr<Session> next) {
  worker().park_session(this, std::move(next));
  switch_pending_ = true;
}

void Connection::drain() {
  if (closed_) return;
  if (!session_) return close();
  session_->start_drain();
  wake();
}

void Connection::close_if_idle() {
  if (closed_ || busy()) return;
  close();
}

bool Connection::busy() const {
  if (closed_) return false;
  if (lingering_ || output_pending() || !input().empty()) return true;
  return session_ && session_->phase() != Phase::idle;
}

void Connection::linger() {
  // Half-close, then read until the client closes too: closing with unread
  // input would make the kernel send RST, which can destroy the response we
  // just wrote before the client reads it.
  if (!lingering_) {
    lingering_ = true;
    phase_since_ = worker().now();
    if (SSL* ssl = this->ssl()) {
      ERR_clear_error();
      SSL_shutdown(ssl);
    }
    if (::shutdown(fd_, SHUT_WR) != 0) return close();
  }
  char* buf = worker().scratch().data();
  for (;;) {
    ssize_t rc = ::recv(fd_, buf, worker().scratch().size(), 0);
    if (rc > 0) continue;
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // next edge continues
    return close();
  }
}

void Connection::check_timeouts(std::uint32_t now) {
  if (closed_) return;
  const ServerOptions& o = worker().options();
  auto elapsed = [&](std::uint32_t since) { return std::chrono::seconds(now - since); };
  if (lingering_) {
    if (elapsed(phase_since_).count() >= kLingerSeconds) close();
    return;
  }
  if (!session_) {
    // Nothing or only a partial preface / TLS handshake so far: the header
    // timeout bounds a slow start, the idle timeout a connection that says nothing.
    auto limit = input().empty() && !handshaking_ ? std::min(o.header_timeout, o.idle_timeout)
                                                  : o.header_timeout;
    if (elapsed(phase_since_) >= limit) close();
    return;
  }
  session_->on_tick(now);
  if (track_phase(now)) return;
  Phase p = phase_;
  if (p == Phase::idle && !memory_released_ && now - phase_since_ >= 1) {
    // Idle for a full tick: keep only what an idle keep-alive connection needs.
    memory_released_ = true;
    session_->release_idle_memory();
  }
  bool expired = false;
  switch (p) {
    case Phase::idle:
      expired = elapsed(phase_since_) >= o.idle_timeout;
      break;
    case Phase::reading_head:
      expired = elapsed(phase_since_) >= o.header_timeout;
      break;
    case Phase::reading_body:
      expired = elapsed(last_read_) >= o.body_timeout;
      break;
    case Phase::busy:
      break;
  }
  if (!expired) return;
  session_->on_timeout(p);
  wake();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  if (session_) session_->on_peer_closed();
  session_.reset();
  if (switch_pending_) {
    switch_pending_ = false;
    worker().unpark_session(this);
  }
  if (registered_) worker().poller().remove(fd_);
  ::close(fd_);
  fd_ = -1;
  worker().remove(this);
}

}  // namespace trident::net
