// The event loop of one worker thread: an Asio io_context plus what every
// layer above needs from "the current worker" (timers for coroutines, the
// cached Date header). Each worker thread runs exactly one Loop.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <coroutine>
#include <memory>
#include <string_view>

namespace trident {

class Loop {
 public:
  // Readiness that Asio does not see directly (the connection poller, whose
  // epoll descriptor Asio watches). While it is busy, the loop takes its
  // events without blocking and runs Asio's ready handlers between turns,
  // instead of sleeping in Asio's reactor only to be woken by that descriptor
  // and re-arming it every turn: one epoll_wait per turn on each side, no
  // epoll_ctl.
  class BusySource {
   public:
    virtual ~BusySource() = default;
    virtual bool busy() const = 0;
    // Takes the ready events without blocking; when there were too few to
    // stay busy it goes back to waiting through Asio (busy() turns false).
    virtual void drain() = 0;
  };

  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  asio::io_context& io() { return io_; }
  void set_busy_source(BusySource* source) { source_ = source; }
  void run();  // runs until no work is left; sets Loop::current() for this thread

  // The loop running on the calling thread (nullptr outside worker threads).
  static Loop* current();

 private:
  asio::io_context io_{1};
  BusySource* source_ = nullptr;
};

// IMF-fixdate of the current second ("Sun, 06 Nov 1994 08:49:37 GMT"),
// formatted at most once per second per thread.
std::string_view http_date();

// co_await sleep_for(d): suspends the calling coroutine on the current loop.
// Safe to destroy the suspended coroutine: the timer is cancelled and the
// wake-up dropped.
class SleepAwaiter {
 public:
  explicit SleepAwaiter(std::chrono::steady_clock::duration d) : duration_(d) {}
  ~SleepAwaiter();
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;

  bool await_ready() const noexcept { return duration_.count() <= 0; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const noexcept {}

 private:
  struct State;
  std::chrono::steady_clock::duration duration_;
  std::shared_ptr<State> state_;
};

inline SleepAwaiter sleep_for(std::chrono::steady_clock::duration d) {
  return SleepAwaiter{d};
}

}  // namespace trident
