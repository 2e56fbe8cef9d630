// Edge-triggered readiness for connection sockets. Each socket is registered
// once (EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-triggered) for its whole life, so
// the request path makes no epoll_ctl calls; Asio's reactor would re-arm the
// descriptor on every non-speculative wait (one extra syscall per request).
// The poller's own epoll fd is watched by the worker's Asio loop, so timers,
// posts and acceptors stay on Asio. Under load (a wake-up that finds several
// sockets ready) the poller turns busy and the Loop drains it directly
// between Asio polls until a drain finds fewer than two (see Loop::BusySource).
#pragma once

#include <sys/epoll.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <vector>

#include "core/loop.hpp"

namespace trident::net {

class Connection;

class Poller final : public Loop::BusySource {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_events(std::uint32_t events) = 0;
  };

  explicit Poller(asio::io_context& io);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Registers `fd`; returns false (errno set) on failure.
  bool add(int fd, Handler* handler);
  // The same for a connection, the bulk of registrations: dispatched
  // directly (a tagged pointer), so a connection needs no vtable for it.
  bool add(int fd, Connection* connection);
  void remove(int fd);
  void stop();  // no more waiting: lets the loop finish

  bool busy() const override { return busy_; }
  void drain() override;

 private:
  bool add(int fd, std::uint64_t data);
  void arm();
  int harvest();  // handles the ready events, returns how many

  int epfd_;
  asio::posix::stream_descriptor watcher_;
  std::vector<epoll_event> events_;
  bool armed_ = false;
  bool stopped_ = false;
  bool busy_ = false;
};

}  // namespace trident::net
