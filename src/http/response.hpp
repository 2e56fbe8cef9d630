// A protocol-neutral HTTP response. A handler either sends it whole with
// send(), or streams it: write() sends the head with the first chunk and
// suspends while the connection's output is above the high watermark (that
// is the back-pressure), finish() ends it, optionally with trailers.
#pragma once

#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/waiter.hpp"
#include "http/body.hpp"
#include "http/headers.hpp"
#include "net/peer.hpp"
#include "net/session.hpp"

namespace trident::http {

class Response;

// What a protocol (HTTP/1.1 exchange, HTTP/2 stream) implements to carry a response.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Status and headers; `end_stream` when there is no body at all.
  virtual void send_head(const Response& res, bool end_stream) = 0;
  virtual void send_data(std::string_view data, bool end_stream) = 0;
  virtual void send_trailers(const Headers& trailers) = 0;
  // Response bytes accepted but not yet handed to the socket / peer window.
  virtual std::size_t buffered() const = 0;
};

class Response {
 public:
  int status = 200;
  Headers headers;

  // The complete response in one go; sets content-length (and content-type if given).
  void send(std::string_view body, std::string_view content_type = {});
  // A short text/plain response with the reason phrase or `message` as body.
  void send_status(int code, std::string_view message = {});

  class WriteAwaiter {
   public:
    explicit WriteAwaiter(Response& r) : res_(r) {}
    bool await_ready() const noexcept { return !res_.over_watermark(); }
    void await_suspend(std::coroutine_handle<> h) { res_.writable_.wait().await_suspend(h); }
    void await_resume() const {
      if (res_.aborted_) throw StreamAborted{};
    }

   private:
    Response& res_;
  };
  // Streams a chunk (copied); suspends under back-pressure. Throws StreamAborted.
  WriteAwaiter write(std::string_view data);
  // Streams a chunk without waiting: for callers that bound their own output.
  void write_now(std::string_view data);

  class DrainAwaiter {
   public:
    explicit DrainAwaiter(Response& r) : res_(r) {}
    bool await_ready() const noexcept { return res_.aborted_ || res_.buffered() <= kLowWatermark; }
    void await_suspend(std::coroutine_handle<> h) { res_.writable_.wait().await_suspend(h); }
    void await_resume() const {
      if (res_.aborted_) throw StreamAborted{};
    }

   private:
    Response& res_;
  };
  // Suspends until the output buffered for this response is down to the low watermark.
  DrainAwaiter drained() { return DrainAwaiter{*this}; }
  std::size_t buffered() const { return sink_->buffered(); }

  // HTTP/1.1 protocol switch: with status 101 and this set, the connection
  // is handed to the session it makes once the response head is queued.
  using Takeover =
      std::function<std::unique_ptr<net::Session>(net::SessionIo&, const net::PeerInfo&)>;
  Takeover takeover;
  void finish();
  void finish(const Headers& trailers);

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  bool aborted() const { return aborted_; }

  // ---- protocol side ----
  void bind(ResponseSink* sink) { sink_ = sink; }
  void reset() {
    status = 200;
    headers.clear();
    started_ = finished_ = aborted_ = false;
    takeover = nullptr;
    writable_.forget();
  }
  void abort() { aborted_ = true; }
  // Resumes a writer waiting for room, once output drained below the low watermark.
  bool pump() {
    return writable_.waiting() && (aborted_ || sink_->buffered() <= kLowWatermark) &&
           writable_.notify();
  }
  void forget_waiter() { writable_.forget(); }

  static constexpr std::size_t kHighWatermark = 256 * 1024;
  static constexpr std::size_t kLowWatermark = 64 * 1024;

 private:
  bool over_watermark() const { return !aborted_ && sink_->buffered() > kHighWatermark; }
  void start(bool end_stream);

  ResponseSink* sink_ = nullptr;
  Waiter writable_;
  bool started_ = false;
  bool finished_ = false;
  bool aborted_ = false;
};

}  // namespace trident::http
