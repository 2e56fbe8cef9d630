#include "net/poller.hpp"

#include "net/connection.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

namespace trident::net {

namespace {
constexpr int kMaxEvents = 256;
// Set in the epoll data of a Connection (pointers are at least 8-aligned).
constexpr std::uint64_t kConnectionTag = 1;
static_assert(alignof(Connection) > kConnectionTag && alignof(Poller::Handler) > kConnectionTag);
// The epoll data of the watched descriptor: no handler is at address 0.
constexpr std::uint64_t kWatched = 0;
}  // namespace

Poller::Poller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)), events_(kMaxEvents) {
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Poller::~Poller() {
  ::close(epfd_);
}

bool Poller::add(int fd, Handler* handler) {
  return add(fd, reinterpret_cast<std::uintptr_t>(handler));
}

bool Poller::add(int fd, Connection* connection) {
  return add(fd, reinterpret_cast<std::uintptr_t>(connection) | kConnectionTag);
}

bool Poller::add(int fd, std::uint64_t data) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = data;
  return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Poller::remove(int fd) {
  epoll_event ev{};
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
}

void Poller::stop() {
  stopped_ = true;
}

void Poller::watch(int fd) {
  // Level-triggered: Asio takes at most 128 of its events per poll, and
  // whatever it leaves must keep the descriptor reported.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWatched;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(watch)");
  }
}

void Poller::wait(int timeout_ms) {
  ready_ = std::max(::epoll_wait(epfd_, events_.data(), kMaxEvents, timeout_ms), 0);
}

bool Poller::dispatch() {
  // Handlers are only destroyed from a later loop turn (Worker::remove), so
  // events for a connection closed earlier in this batch are still safe.
  const int n = std::exchange(ready_, 0);
  bool watched = false;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t data = events_[i].data.u64;
    if (data == kWatched) {
      watched = true;
    } else if (data & kConnectionTag) {
      reinterpret_cast<Connection*>(data & ~kConnectionTag)->on_events(events_[i].events);
    } else {
      reinterpret_cast<Handler*>(data)->on_events(events_[i].events);
    }
  }
  return watched;
}

}  // namespace trident::net
