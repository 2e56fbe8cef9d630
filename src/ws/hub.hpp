// Pub/sub: topics, subscribe, publish, fan-out across worker threads.
//
// Subscriptions live on the subscriber's own worker (a per-thread topic
// table, no locks). A publish is framed once (and compressed once) into a
// Prepared message, then handed to every worker that has subscribers: the
// publisher's own worker inline, the others through their event loop. Each
// subscriber queues a reference to the same frame bytes.
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
  // Thread-safe; returns the number of subscribers reached on this thread
  // (the others are reached asynchronously).
  std::size_t deliver(std::string_view topic, std::string_view message, Opcode opcode);
  void set_broker(Broker* broker) { broker_.store(broker); }
  // Messages at least this long are compressed (once) for deflate subscribers.
  void set_compress_min(std::size_t n) { compress_min_.store(n); }

  // Called by sockets, on their own worker.
  void subscribe(Socket& socket, std::string_view topic);
  void unsubscribe(Socket& socket, std::string_view topic);
  // Subscribers of `topic` on the calling thread.
  std::size_t local_subscribers(std::string_view topic) const;
  void deflate_socket_opened(int delta) { deflate_sockets_.fetch_add(delta); }

 private:
  std::atomic<Broker*> broker_{nullptr};
  std::atomic<std::size_t> compress_min_{64};
  std::atomic<int> deflate_sockets_{0};  // any → publishes are also compressed
};

}  // namespace trident::ws
