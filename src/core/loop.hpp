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

class AsioWakeup;

class Loop {
 public:
  // What a worker loop blocks on: the connection poller's epoll set. The
  // loop adds Asio's reactor descriptor to it, so one epoll_wait per turn
  // covers connections, Asio's timers and sockets, and handlers posted from
  // any thread (see AsioWakeup).
  class Source {
   public:
    virtual ~Source() = default;
    // Adds `fd` to the set; its readiness is reported by dispatch(), not handled.
    virtual void watch(int fd) = 0;
    // Waits up to `timeout_ms` (-1: until something is ready) and keeps
    // what is ready for dispatch().
    virtual void wait(int timeout_ms) = 0;
    // Handles what the last wait() found; true when the watched descriptor
    // was among it.
    virtual bool dispatch() = 0;
    // No more events to wait for: the loop ends once Asio has no work left.
    virtual bool stopped() const = 0;
  };

  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  asio::io_context& io() { return io_; }
  // Before run(); without a source the loop is Asio's own run().
  void set_source(Source* source);
  // Runs until no work is left (with a source: until it is stopped and Asio
  // has no work); sets Loop::current() for this thread.
  void run();

  // The loop running on the calling thread (nullptr outside worker threads).
  static Loop* current();

 private:
  void run_with_source();

  asio::io_context io_{1};
  Source* source_ = nullptr;
  std::unique_ptr<AsioWakeup> wakeup_;
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
