// The request body as a stream of chunks the handler pulls with
// `co_await body.read()`. The protocol pushes chunks in; the handler's reads
// give flow-control credit back (h2 WINDOW_UPDATE, h1 resumes socket reads),
// so a handler that reads slowly holds back its peer instead of buffering.
#pragma once

#include <coroutine>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "core/waiter.hpp"

namespace trident::http {

// Thrown into a handler whose stream was reset or whose connection closed.
struct StreamAborted : std::runtime_error {
  StreamAborted() : std::runtime_error("stream aborted by peer") {}
};

// Thrown by read_all when the body exceeds the caller's limit.
struct BodyTooLarge : std::runtime_error {
  BodyTooLarge() : std::runtime_error("request body too large") {}
};

class Body {
 public:
  class ReadAwaiter {
   public:
    explicit ReadAwaiter(Body& b) : body_(b) {}
    bool await_ready() const noexcept { return body_.readable(); }
    void await_suspend(std::coroutine_handle<> h) { body_.waiter_.wait().await_suspend(h); }
    std::optional<std::string> await_resume() { return body_.take(); }

   private:
    Body& body_;
  };

  // Next chunk, or std::nullopt once the body is complete. Throws StreamAborted.
  ReadAwaiter read() { return ReadAwaiter{*this}; }
  // The whole body; throws BodyTooLarge past `limit` bytes.
  Task<std::string> read_all(std::size_t limit);

  bool complete() const { return ended_ && data_.empty(); }

  // ---- protocol side ----
  void push(std::string_view data);
  void end() { ended_ = true; }
  void abort() { aborted_ = true; }
  std::size_t buffered() const { return data_.size(); }
  bool ended() const { return ended_; }
  // Resumes a waiting reader if it can make progress. Call from the top of
  // the event loop, not from inside handler code.
  bool pump() { return readable() && waiter_.notify(); }
  void forget_waiter() { waiter_.forget(); }
  std::function<void(std::size_t)> on_consumed;  // credit for bytes taken by the handler
  void reset();  // ready for the next request on the same connection

 private:
  bool readable() const { return aborted_ || ended_ || !data_.empty(); }
  std::optional<std::string> take();

  std::string data_;  // received, not yet read: a read takes all of it
  bool ended_ = false;
  bool aborted_ = false;
  Waiter waiter_;
};

}  // namespace trident::http
