// A single-waiter suspension point: a coroutine parks itself with
// `co_await waiter.wait()` and whoever owns the waiter resumes it with
// notify(). Owners call notify() only from the top of their event handling,
// never from inside a callback the waiting coroutine is itself running, so a
// resumed coroutine never re-enters code that is still on the stack.
#pragma once

#include <coroutine>
#include <utility>

namespace trident {

class Waiter {
 public:
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  auto wait() {
    struct Awaiter {
      Waiter& w;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) noexcept { w.waiting_ = h; }
      void await_resume() const noexcept {}
    };
    return Awaiter{*this};
  }

  bool waiting() const { return static_cast<bool>(waiting_); }

  // Resumes the waiting coroutine, if any. Returns whether one was resumed.
  bool notify() {
    if (!waiting_) return false;
    std::exchange(waiting_, {}).resume();
    return true;
  }

  // Forget the waiter without resuming it (its frame is being destroyed).
  void forget() { waiting_ = {}; }

 private:
  std::coroutine_handle<> waiting_;
};

}  // namespace trident
