// One request/response pair and the handler coroutine serving it. HTTP/1.1
// and HTTP/2 both run handlers through this, so a handler cannot tell them
// apart and error handling (500 on exceptions, auto-finish) is the same.
#pragma once

#include <exception>

#include "core/task.hpp"
#include "http/handler.hpp"

namespace trident::http {

// Extra sink duties an Exchange needs from its protocol.
class StreamSink : public ResponseSink {
 public:
  // The handler failed after the response head went out: reset the stream
  // (h2 RST_STREAM INTERNAL_ERROR) or close the connection (h1).
  virtual void abort_stream() = 0;
  // The handler finished (the exchange may be reaped at the next wake-up).
  virtual void on_handler_done() = 0;
};

class Exchange {
 public:
  Exchange(StreamSink& sink, const PeerInfo* peer) { bind(sink, peer); }
  // Attach to a (new) protocol stream, e.g. when taken from a free list.
  void bind(StreamSink& sink, const PeerInfo* peer) {
    sink_ = &sink;
    response.bind(&sink);
    request.set_peer(peer);
  }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange() {
    // Destroy a still-suspended handler before the request/response it refers to.
    task_ = Spawned{};
  }

  Request request;
  Response response;

  void start(const Handler& handler);
  // Ready for the next request on the same connection (keeps buffers).
  void reset() {
    task_ = Spawned{};
    done_ = false;
    request.reset();
    response.reset();
  }
  bool handler_done() const { return done_; }
  // Resumes waiters (body reader, writer) that can make progress; call from
  // the top of the event loop. Returns whether anything was resumed.
  bool pump() {
    bool any = request.body().pump();
    any |= response.pump();
    return any;
  }
  // The peer went away: readers and writers see StreamAborted.
  void abort() {
    request.body().abort();
    response.abort();
  }

 private:
  void on_finished(std::exception_ptr ep);

  StreamSink* sink_ = nullptr;
  bool done_ = false;
  Spawned task_;
};

}  // namespace trident::http
