// Edge-triggered readiness for connection sockets. Each socket is registered
// once (EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-triggered) for its whole life, so
// the request path makes no epoll_ctl calls; Asio's reactor would re-arm the
// descriptor on every non-speculative wait (one extra syscall per request).
// The poller is what its worker's Loop blocks on: the loop adds Asio's
// reactor descriptor to this set (Loop::Source), so timers, posts and Asio's
// sockets wake the same epoll_wait that reports the connections.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

#include "core/loop.hpp"

namespace trident::net {

class Connection;

class Poller final : public Loop::Source {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_events(std::uint32_t events) = 0;
  };

  Poller();
  ~Poller() override;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Registers `fd`; returns false (errno set) on failure.
  bool add(int fd, Handler* handler);
  // The same for a connection, the bulk of registrations: dispatched
  // directly (a tagged pointer), so a connection needs no vtable for it.
  bool add(int fd, Connection* connection);
  void remove(int fd);
  void stop();  // no more waiting: lets the loop finish once Asio has no work

  void watch(int fd) override;
  void wait(int timeout_ms) override;
  bool dispatch() override;
  bool stopped() const override { return stopped_; }

 private:
  bool add(int fd, std::uint64_t data);

  int epfd_;
  std::vector<epoll_event> events_;
  int ready_ = 0;  // events_ filled by the last wait()
  bool stopped_ = false;
};

}  // namespace trident::net
