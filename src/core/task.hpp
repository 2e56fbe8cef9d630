// Task<T>: a lazy, single-owner coroutine for handlers.
//
// A Task starts when awaited (or when spawned with spawn()), resumes its
// awaiter by symmetric transfer when done, and rethrows exceptions at the
// co_await. It is deliberately not tied to Asio: handlers suspend on
// trident's own awaitables (body reads, write back-pressure, timers), and a
// handler that never suspends runs to completion inline, with no posting.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "core/frame_pool.hpp"

namespace trident {

template <typename T = void>
class Task;

namespace detail {

struct PromiseBase {
  static void* operator new(std::size_t size) { return frame_pool::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    frame_pool::deallocate(p, size);
  }

  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr exception;
  // Set on a top-level task (Spawned) instead of a continuation.
  std::function<void(std::exception_ptr)> on_done;

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      if (!p.on_done) return p.continuation;
      // The frame is suspended now, so on_done may destroy it; nothing of
      // the frame (this awaiter included) is touched afterwards.
      auto done = std::move(p.on_done);
      done(p.exception);
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <typename T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T result() {
    if (exception) std::rethrow_exception(exception);
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void result() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Task() {
    if (h_) h_.destroy();
  }

  bool valid() const { return static_cast<bool>(h_); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle h;
      bool await_ready() noexcept { return !h || h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().continuation = awaiting;
        return h;
      }
      T await_resume() { return h.promise().result(); }
    };
    return Awaiter{h_};
  }

  Handle release() { return std::exchange(h_, {}); }

 private:
  Handle h_;
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

// A running, owned top-level task. Destroying it destroys the coroutine frame
// (and with it every frame it awaits), which is how a connection cancels a
// handler whose peer went away: the awaitables it is suspended on must
// therefore unregister themselves in their destructors.
class Spawned {
 public:
  Spawned() = default;
  // Starts `task` now; `on_done(exception)` runs when it finishes (not if destroyed first).
  Spawned(Task<void> task, std::function<void(std::exception_ptr)> on_done);
  Spawned(Spawned&&) noexcept;
  Spawned& operator=(Spawned&&) noexcept;
  ~Spawned();

  bool running() const { return frame_ && !frame_.done(); }

 private:
  std::coroutine_handle<> frame_;
};

}  // namespace trident
