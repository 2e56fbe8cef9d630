#include "core/asio_wakeup.hpp"

#include <asio/detail/conditionally_enabled_mutex.hpp>
#include <asio/detail/epoll_reactor.hpp>
#include <asio/detail/op_queue.hpp>
#include <asio/detail/reactor.hpp>
#include <asio/detail/scheduler.hpp>
#include <asio/version.hpp>

#include <stdexcept>
#include <type_traits>

static_assert(
    ASIO_VERSION == 102201,
    "core/asio_wakeup.cpp uses private members of Asio 1.22.1's scheduler and epoll "
    "reactor (mutex_, op_queue_, task_operation_, task_interrupted_, stopped_, "
    "epoll_fd_, timer_fd_): check them against this Asio version, then update the version here");
static_assert(std::is_same_v<asio::detail::reactor, asio::detail::epoll_reactor>,
              "Asio's reactor is expected to be the epoll reactor");

namespace trident {
namespace {

// Names a private member through an explicit instantiation, where access
// checking does not apply ([temp.spec.general]/6): the friend function
// defined by the instantiation returns the member pointer.
template <typename Tag, auto Member>
struct Expose {
  friend constexpr auto member(Tag) { return Member; }
};

struct SchedulerMutex {
  friend constexpr auto member(SchedulerMutex);
};
struct SchedulerQueue {
  friend constexpr auto member(SchedulerQueue);
};
struct SchedulerTaskOperation {
  friend constexpr auto member(SchedulerTaskOperation);
};
struct SchedulerTaskInterrupted {
  friend constexpr auto member(SchedulerTaskInterrupted);
};
struct SchedulerStopped {
  friend constexpr auto member(SchedulerStopped);
};
struct ReactorEpollFd {
  friend constexpr auto member(ReactorEpollFd);
};
struct ReactorTimerFd {
  friend constexpr auto member(ReactorTimerFd);
};

template struct Expose<SchedulerMutex, &asio::detail::scheduler::mutex_>;
template struct Expose<SchedulerQueue, &asio::detail::scheduler::op_queue_>;
template struct Expose<SchedulerTaskOperation, &asio::detail::scheduler::task_operation_>;
template struct Expose<SchedulerTaskInterrupted, &asio::detail::scheduler::task_interrupted_>;
template struct Expose<SchedulerStopped, &asio::detail::scheduler::stopped_>;
template struct Expose<ReactorEpollFd, &asio::detail::epoll_reactor::epoll_fd_>;
template struct Expose<ReactorTimerFd, &asio::detail::epoll_reactor::timer_fd_>;

template <typename Tag, typename Object>
auto& field(Object& object) {
  return object.*member(Tag{});
}

// Creates Asio's reactor (its task is queued from then on) and returns its
// epoll descriptor.
int reactor_descriptor(asio::io_context& io) {
  auto& reactor = asio::use_service<asio::detail::epoll_reactor>(io);
  reactor.init_task();
  // Without a timerfd Asio computes its timeouts inside its own epoll_wait,
  // and a due timer would not make the descriptor readable.
  if (field<ReactorTimerFd>(reactor) < 0) {
    throw std::runtime_error("Asio runs without a timerfd: its timers cannot wake the loop");
  }
  return field<ReactorEpollFd>(reactor);
}

}  // namespace

AsioWakeup::AsioWakeup(asio::io_context& io)
    : scheduler_(asio::use_service<asio::detail::scheduler>(io)),
      epoll_fd_(reactor_descriptor(io)) {}

bool AsioWakeup::queued_locked() const {
  // The reactor's task is always queued while the loop is outside Asio;
  // anything else is a handler waiting to run.
  auto& queue = field<SchedulerQueue>(scheduler_);
  asio::detail::scheduler_operation* front = queue.front();
  if (!front) return false;
  asio::detail::scheduler_operation* task = &field<SchedulerTaskOperation>(scheduler_);
  return front != task || asio::detail::op_queue_access::next(front) != nullptr;
}

bool AsioWakeup::arm() {
  auto& mutex = field<SchedulerMutex>(scheduler_);
  asio::detail::conditionally_enabled_mutex::scoped_lock lock(mutex);
  // A stop() from another thread while the loop was not blocked woke
  // nothing: the loop must see it before it blocks.
  if (queued_locked() || field<SchedulerStopped>(scheduler_)) return false;
  // As when Asio's own thread blocks in the reactor: the next post interrupts it.
  field<SchedulerTaskInterrupted>(scheduler_) = false;
  return true;
}

void AsioWakeup::disarm() {
  auto& mutex = field<SchedulerMutex>(scheduler_);
  asio::detail::conditionally_enabled_mutex::scoped_lock lock(mutex);
  field<SchedulerTaskInterrupted>(scheduler_) = true;
}

bool AsioWakeup::handlers_queued() const {
  auto& mutex = field<SchedulerMutex>(scheduler_);
  asio::detail::conditionally_enabled_mutex::scoped_lock lock(mutex);
  return queued_locked();
}

}  // namespace trident
