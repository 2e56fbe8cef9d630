#include "net/poller.hpp"

#include "net/connection.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <system_error>

namespace trident::net {

namespace {
constexpr int kMaxEvents = 256;
// A wake-up or drain that finds this many sockets ready keeps the poller
// busy. A lone socket (one request at a time) keeps the plain path: busy mode
// would spend a second, empty drain before blocking again.
constexpr int kBusyFrom = 2;
}  // namespace

Poller::Poller(asio::io_context& io)
    : epfd_(::epoll_create1(EPOLL_CLOEXEC)), watcher_(io), events_(kMaxEvents) {
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  watcher_.assign(epfd_);
}

Poller::~Poller() {
  asio::error_code ec;
  watcher_.close(ec);  // closes epfd_
}

namespace {
// Set in the epoll data of a Connection (pointers are at least 8-aligned).
constexpr std::uint64_t kConnectionTag = 1;
static_assert(alignof(Connection) > kConnectionTag && alignof(Poller::Handler) > kConnectionTag);
}  // namespace

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
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  arm();
  return true;
}

void Poller::remove(int fd) {
  epoll_event ev{};
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
}

void Poller::stop() {
  stopped_ = true;
  busy_ = false;
  asio::error_code ec;
  watcher_.cancel(ec);
}

void Poller::arm() {
  if (armed_ || stopped_ || busy_) return;
  armed_ = true;
  watcher_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this](const asio::error_code& ec) {
                        armed_ = false;
                        if (ec || stopped_) return;
                        if (harvest() >= kBusyFrom && !stopped_) {
                          busy_ = true;
                        } else {
                          arm();
                        }
                      });
}

void Poller::drain() {
  // A drain that finds only a socket or two goes back to blocking: polling
  // for such small batches costs more syscalls per event than a wait that
  // lets them gather (HTTP/1.1 keep-alive under wrk measured that way).
  if (harvest() < kBusyFrom || stopped_) {
    busy_ = false;
    arm();  // asks Asio's epoll again, which also catches what came since
  }
}

int Poller::harvest() {
  // Handlers are only destroyed from a later loop turn (Worker::remove), so
  // events for a connection closed earlier in this batch are still safe.
  int n = ::epoll_wait(epfd_, events_.data(), kMaxEvents, 0);
  for (int i = 0; i < n; ++i) {
    const std::uint64_t data = events_[i].data.u64;
    if (data & kConnectionTag) {
      reinterpret_cast<Connection*>(data & ~kConnectionTag)->on_events(events_[i].events);
    } else {
      reinterpret_cast<Handler*>(data)->on_events(events_[i].events);
    }
  }
  return n < 0 ? 0 : n;
}

}  // namespace trident::net
