#include "ws/hub.hpp"

#include <array>
#include <asio/post.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/loop.hpp"
#include "ws/socket.hpp"

namespace trident::ws {
namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The topic table of one worker thread.
struct LocalHub {
  std::unordered_map<std::string, std::vector<Socket*>, StringHash, std::equal_to<>> topics;
  asio::io_context* io = nullptr;
  int slot = -1;
  ~LocalHub();
};

// Workers that ever had a subscriber. Slots are written once (under the
// mutex) and cleared when their thread ends; readers need no lock.
constexpr std::size_t kMaxWorkers = 256;
struct Workers {
  std::mutex mutex;
  std::array<std::atomic<LocalHub*>, kMaxWorkers> hubs{};
  std::atomic<std::size_t> count{0};
};

Workers& workers() {
  static Workers w;
  return w;
}

LocalHub& local_hub() {
  thread_local LocalHub hub;
  if (hub.slot < 0 && Loop::current()) {
    Workers& w = workers();
    std::lock_guard lock(w.mutex);
    std::size_t n = w.count.load();
    if (n < kMaxWorkers) {
      hub.io = &Loop::current()->io();
      hub.slot = static_cast<int>(n);
      w.hubs[n].store(&hub);
      w.count.store(n + 1);
    }
  }
  return hub;
}

LocalHub::~LocalHub() {
  if (slot >= 0) {
    std::lock_guard lock(workers().mutex);
    workers().hubs[static_cast<std::size_t>(slot)].store(nullptr);
  }
}

std::size_t deliver_local(LocalHub& hub, const std::string& topic, const Prepared& message) {
  auto it = hub.topics.find(topic);
  if (it == hub.topics.end()) return 0;
  // Deliveries never run handler code or unsubscribe (closing is deferred
  // to the transport), so the list cannot change under the loop.
  for (Socket* s : it->second) s->deliver(message);
  count(Counter::deliveries, static_cast<std::int64_t>(it->second.size()));
  return it->second.size();
}

}  // namespace

Hub& Hub::instance() {
  static Hub hub;
  return hub;
}

void Hub::publish(std::string_view topic, std::string_view message, Opcode opcode) {
  count(Counter::publishes);
  if (Broker* b = broker_.load()) return b->publish(topic, message, opcode);
  deliver(topic, message, opcode);
}

std::size_t Hub::deliver(std::string_view topic, std::string_view message, Opcode opcode) {
  bool compress = deflate_sockets_.load(std::memory_order_relaxed) > 0 &&
                  message.size() >= compress_min_.load(std::memory_order_relaxed);
  auto prepared = std::make_shared<const Prepared>(prepare(message, opcode, compress));
  auto name = std::make_shared<const std::string>(topic);
  LocalHub& mine = local_hub();
  std::size_t reached = deliver_local(mine, *name, *prepared);
  Workers& w = workers();
  std::size_t n = w.count.load();
  for (std::size_t i = 0; i < n; ++i) {
    LocalHub* hub = w.hubs[i].load();
    if (hub && hub != &mine) {
      // Only `io` (set before the slot was published) is read here; the
      // topic table is looked up again on the worker's own thread.
      asio::post(*hub->io, [prepared, name] { deliver_local(local_hub(), *name, *prepared); });
    }
  }
  return reached;
}

void Hub::subscribe(Socket& socket, std::string_view topic) {
  auto& list = local_hub().topics[std::string(topic)];
  list.push_back(&socket);
}

void Hub::unsubscribe(Socket& socket, std::string_view topic) {
  LocalHub& hub = local_hub();
  auto it = hub.topics.find(topic);
  if (it == hub.topics.end()) return;
  auto& list = it->second;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i] == &socket) {
      list[i] = list.back();
      list.pop_back();
      break;
    }
  }
  if (list.empty()) hub.topics.erase(it);
}

std::size_t Hub::local_subscribers(std::string_view topic) const {
  LocalHub& hub = local_hub();
  auto it = hub.topics.find(topic);
  return it == hub.topics.end() ? 0 : it->second.size();
}

}  // namespace trident::ws
