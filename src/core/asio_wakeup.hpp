// Lets a worker loop block in an epoll set of its own, with Asio's reactor
// descriptor inside it, instead of blocking inside Asio's reactor with the
// connection poller nested there. Nested the other way round, every segment
// that arrives on a connection socket also ran the wake-up callback of Asio's
// epoll (charged to whoever sent it), and a loop turn cost Asio's epoll_wait,
// the poller's, and an epoll_ctl to re-arm the poller's descriptor.
//
// Asio wakes a thread blocked in its reactor when a handler is posted by
// interrupting the reactor, which makes its epoll descriptor readable, but
// only while it believes that thread is blocked there (and not at all for a
// thread polling it). arm() gives it that belief for the time the loop blocks
// elsewhere, so posts from any thread, Asio's own completions (a resolver's
// thread, a cancelled timer) and timers all make descriptor() readable.
//
// This reads private members of Asio's scheduler and epoll reactor, so it is
// tied to the Asio version it was checked against (a static_assert in the
// .cpp names it).
#pragma once

#include <asio/io_context.hpp>

namespace asio::detail {
class scheduler;
}

namespace trident {

class AsioWakeup {
 public:
  explicit AsioWakeup(asio::io_context& io);
  AsioWakeup(const AsioWakeup&) = delete;
  AsioWakeup& operator=(const AsioWakeup&) = delete;

  // Asio's epoll descriptor: readable when one of its timers is due, one of
  // its sockets is ready, or (while armed) a handler was posted.
  int descriptor() const { return epoll_fd_; }

  // Before blocking: false when handlers are queued already or Asio was
  // stopped (poll instead of blocking). Otherwise the next post or stop(),
  // from any thread, makes descriptor() readable.
  bool arm();
  // After the wait: posts made from now on cost nothing until the next arm().
  void disarm();
  // Whether handlers are queued (Asio's reactor task aside).
  bool handlers_queued() const;

 private:
  bool queued_locked() const;  // with the scheduler's lock held

  asio::detail::scheduler& scheduler_;
  int epoll_fd_;
};

}  // namespace trident
