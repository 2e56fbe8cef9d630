#include "core/task.hpp"

namespace trident {

// The top-level coroutine behind Spawned. Its frame stays suspended at the end
// until Spawned destroys it; on_done runs from the final awaiter, when the
// frame is already suspended, so on_done may destroy the Spawned that owns it.
struct Spawned::Driver {
  struct promise_type {
    std::function<void(std::exception_ptr)> on_done;
    std::exception_ptr exception;

    Driver get_return_object() noexcept {
      return Driver{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        auto done = std::move(h.promise().on_done);
        auto ep = h.promise().exception;
        if (done) done(ep);
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { exception = std::current_exception(); }
  };
  std::coroutine_handle<promise_type> handle;
};

namespace {
Spawned::Driver drive(Task<void> task) { co_await std::move(task); }
}  // namespace

Spawned::Spawned(Task<void> task, std::function<void(std::exception_ptr)> on_done) {
  auto driver = drive(std::move(task));
  driver.handle.promise().on_done = std::move(on_done);
  frame_ = driver.handle;
  driver.handle.resume();
}

Spawned::Spawned(Spawned&& o) noexcept : frame_(std::exchange(o.frame_, {})) {}

Spawned& Spawned::operator=(Spawned&& o) noexcept {
  if (this != &o) {
    if (frame_) frame_.destroy();
    frame_ = std::exchange(o.frame_, {});
  }
  return *this;
}

Spawned::~Spawned() {
  if (frame_) frame_.destroy();
}

}  // namespace trident
