// A worker thread: one event loop, its own SO_REUSEPORT acceptors, and the
// connections it accepted (a connection never changes worker). Nothing here
// is shared with other workers, so the request path takes no locks.
#pragma once

#include <openssl/ssl.h>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.hpp"
#include "net/connection.hpp"
#include "net/options.hpp"
#include "net/poller.hpp"

namespace trident::net {

class Worker {
 public:
  // `busy_workers` counts workers with requests in flight during a drain
  // (shared by all workers of a server).
  Worker(const ServerOptions& options, SessionFactory factory, std::size_t max_connections,
         std::atomic<unsigned>& busy_workers);
  ~Worker();

  // Binds one acceptor (SO_REUSEPORT); throws std::system_error on failure.
  void listen(const asio::ip::tcp::endpoint& endpoint, SSL_CTX* tls, bool h2_only = false);
  void run();  // thread body: until shutdown completes

  // Thread-safe: posted onto this worker's loop.
  void begin_shutdown();  // stop accepting, drain connections
  void force_close();     // drain deadline passed: close everything

  // The worker whose thread this is (while it runs, or is destroyed).
  static Worker& current() { return *current_; }

  // ---- for connections (worker thread only) ----
  std::uint32_t now() const { return now_; }
  const ServerOptions& options() const { return options_; }
  const SessionFactory& factory() const { return factory_; }
  std::string& scratch() { return scratch_; }
  Poller& poller() { return poller_; }
  Loop& loop() { return loop_; }
  void remove(Connection* c);
  // Runs c->on_wake_due() on a later turn. Wakes are batched: one posted
  // task runs every wake scheduled before it (a pub/sub publish wakes
  // thousands of connections at once). Handlers run in order and a closed
  // connection schedules nothing, so a due connection is still allocated.
  void schedule_wake(Connection* c);
  std::size_t connection_count() const { return connection_count_; }
  // A session switch (HTTP/1.1 Upgrade) waiting for its connection to apply
  // it: held here, not in every connection, since it lasts only a moment.
  void park_session(Connection* c, std::unique_ptr<Session> next);
  std::unique_ptr<Session> unpark_session(Connection* c);

 private:
  // A listening socket, bound by Asio, accepted from by the poller.
  struct Acceptor final : Poller::Handler {
    Acceptor(Worker& w, asio::io_context& io, SSL_CTX* tls, bool h2_only)
        : worker(w), acceptor(io), tls(tls), h2_only(h2_only) {}
    void on_events(std::uint32_t) override { worker.accept_all(*this); }
    Worker& worker;
    asio::ip::tcp::acceptor acceptor;
    SSL_CTX* tls;
    bool h2_only;
  };
  void accept_all(Acceptor& a);
  void tick();
  // The current connections. A visit may close one: it stays allocated
  // until a later loop turn, so every pointer stays valid during the visit.
  std::vector<Connection*> snapshot() const;
  void finish();  // shutdown complete: let the loop run out of work
  void
  drain_step();  // during a drain: report busy/quiet, close idle connections when all are quiet

  static constinit thread_local Worker* current_;

  const ServerOptions& options_;
  SessionFactory factory_;
  std::size_t max_connections_;
  Loop loop_;
  Poller poller_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  Connection* connections_ = nullptr;  // intrusive list (Connection::prev_/next_)
  std::vector<Connection*> wakes_;     // scheduled, not yet run
  std::vector<Connection*> waking_;    // being run (kept for its capacity)
  std::vector<std::pair<Connection*, std::unique_ptr<Session>>> parked_;
  bool wakes_posted_ = false;
  std::size_t connection_count_ = 0;
  asio::steady_timer ticker_;
  std::uint32_t now_ = 0;
  std::string scratch_;
  bool shutting_down_ = false;
  bool counted_busy_ = false;  // this worker is included in busy_workers_
  std::atomic<unsigned>& busy_workers_;
};

}  // namespace trident::net
