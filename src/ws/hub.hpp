// Pub/sub: topics, subscribe, publish, fan-out across worker threads.
//
// Subscriptions live on the subscriber's own worker (a per-thread topic
// table, no locks). A publish is framed once (and compressed once) into a
// Prepared message, then handed to every worker that has subscribers: the
// publisher's own worker directly, the others through their event loop.
//
// On a worker, publishes wait for the end of the current batch of events
// and are then delivered together: consecutive publishes to one topic are
// joined into one buffer (once per worker, not per subscriber), and every
// subscriber is visited once and queues one reference to it. Sixteen
// publishes that arrive in one read thus cost each of 10,000 subscribers one
// queue entry and one iovec, not sixteen. Order is kept: anything a socket
// of this worker queues itself (send, close, pong), and any subscribe or
// unsubscribe, first delivers what was published before it.
//
// A Broker carries publishes between nodes: the in-process default delivers
// straight to this process's workers; an external one (Redis) would publish
// to the other nodes too and call Hub::deliver for what it receives.
#pragma once

#include <atomic>
#include <cstddef>
#include <string_view>

#include "ws/frame_parser.hpp"

namespace trident::ws {

class Socket;

class Broker {
 public:
  virtual ~Broker() = default;
  // Carries a publish to every node, this one included (→ Hub::deliver).
  virtual void publish(std::string_view topic, std::string_view message, Opcode opcode) = 0;
};

class Hub {
 public:
  static Hub& instance();  // one per process

  // Publishes through the broker, if one is set, else delivers here.
  void publish(std::string_view topic, std::string_view message, Opcode opcode);
  // Delivers to the subscribers of `topic` on every worker of this process.
  // Thread-safe; returns the number of subscribers it reaches on this
  // thread (at the end of the batch; other workers' asynchronously).
  std::size_t deliver(std::string_view topic, std::string_view message, Opcode opcode);
  void set_broker(Broker* broker) { broker_.store(broker); }
  // Messages at least this long are compressed (once) for deflate subscribers.
  void set_compress_min(std::size_t n) { compress_min_.store(n); }

  // Called by sockets, on their own worker.
  void subscribe(Socket& socket, std::string_view topic);
  void unsubscribe(Socket& socket, std::string_view topic);
  // Subscribers of `topic` on the calling thread.
  std::size_t local_subscribers(std::string_view topic) const;
  // Delivers the calling thread's waiting publishes now. Runs by itself at
  // the end of the batch; sockets call it (through flush_publishes) before
  // queuing output of their own.
  static void flush_local();
  void deflate_socket_opened(int delta) { deflate_sockets_.fetch_add(delta); }

 private:
  std::atomic<Broker*> broker_{nullptr};
  std::atomic<std::size_t> compress_min_{64};
  std::atomic<int> deflate_sockets_{0};  // any → publishes are also compressed
};

namespace detail {
// Whether this thread has publishes waiting (a plain flag: checked on every
// send, so it must cost one load).
inline constinit thread_local bool publishes_waiting = false;
}  // namespace detail

// Keeps a socket's own output behind what was published before it.
inline void flush_publishes() {
  if (detail::publishes_waiting) Hub::flush_local();
}

}  // namespace trident::ws
