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

// A publish waiting for the end of the batch.
struct Waiting {
  std::shared_ptr<const std::string> topic;
  std::shared_ptr<const Prepared> message;
};

// The topic table of one worker thread.
struct LocalHub {
  std::unordered_map<std::string, std::vector<Socket*>, StringHash, std::equal_to<>> topics;
  asio::io_context* io = nullptr;
  int slot = -1;
  std::vector<Waiting> waiting;  // in publish order
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

// Joined frames are cut at this size: a buffer of small frames stays one
// iovec, and a big message is never copied (it goes on its own).
constexpr std::size_t kJoinLimit = 64 * 1024;

// Consecutive frames of messages [first, last) as one buffer, or the one
// frame itself when there is only one.
std::shared_ptr<const std::string> join(const Waiting* first, const Waiting* last,
                                        bool compressed) {
  auto frame = [compressed](const Waiting& w) -> const std::shared_ptr<const std::string>& {
    return compressed && w.message->compressed ? w.message->compressed : w.message->plain;
  };
  if (last - first == 1) return frame(*first);
  std::size_t size = 0;
  for (const Waiting* w = first; w != last; ++w) size += frame(*w).get()->size();
  auto joined = std::make_shared<std::string>();
  joined->reserve(size);
  for (const Waiting* w = first; w != last; ++w) joined->append(*frame(*w));
  return joined;
}

// Delivers publishes [first, last), all to one topic, visiting each
// subscriber once per joined buffer.
void deliver_run(LocalHub& hub, const Waiting* first, const Waiting* last) {
  auto it = hub.topics.find(*first->topic);
  if (it == hub.topics.end()) return;
  const std::vector<Socket*>& subscribers = it->second;
  while (first != last) {
    // As many messages as fit under the join limit (at least one).
    const Waiting* end = first;
    std::size_t size = 0;
    bool any_compressed = false;
    do {
      size += end->message->plain->size();
      any_compressed |= end->message->compressed != nullptr;
      ++end;
    } while (end != last && size + end->message->plain->size() <= kJoinLimit);
    Prepared joined;
    joined.plain = join(first, end, false);
    if (any_compressed) joined.compressed = join(first, end, true);
    const auto messages = static_cast<std::size_t>(end - first);
    // Deliveries never run handler code or unsubscribe (closing is deferred
    // to the transport), so the list cannot change under the loop.
    for (Socket* s : subscribers) s->deliver(joined, messages);
    count(Counter::deliveries, static_cast<std::int64_t>(subscribers.size() * messages));
    first = end;
  }
}

void post_flush() {
  // After the events being handled now (and the posts queued before it),
  // so that a read full of publishes is delivered as one batch.
  asio::post(Loop::current()->io(), [] { Hub::flush_local(); });
}

// Queues a publish on this thread; the first one of a batch schedules the
// flush. Without an event loop (a thread that is not a worker) it is
// delivered at once.
std::size_t enqueue(LocalHub& hub, std::shared_ptr<const std::string> topic,
                    std::shared_ptr<const Prepared> message) {
  auto it = hub.topics.find(*topic);
  if (it == hub.topics.end()) return 0;
  std::size_t subscribers = it->second.size();
  hub.waiting.push_back({std::move(topic), std::move(message)});
  if (!Loop::current()) {
    Hub::flush_local();
  } else if (!detail::publishes_waiting) {
    detail::publishes_waiting = true;
    post_flush();
  }
  return subscribers;
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
  std::size_t reached = enqueue(mine, name, prepared);
  Workers& w = workers();
  std::size_t n = w.count.load();
  for (std::size_t i = 0; i < n; ++i) {
    LocalHub* hub = w.hubs[i].load();
    if (hub && hub != &mine) {
      // Only `io` (set before the slot was published) is read here; the
      // topic table is looked up again on the worker's own thread.
      asio::post(*hub->io, [prepared, name] { enqueue(local_hub(), name, prepared); });
    }
  }
  return reached;
}

void Hub::flush_local() {
  detail::publishes_waiting = false;
  LocalHub& hub = local_hub();
  // Taken out first: a delivery that closes a slow consumer queues a close
  // frame, which must not flush this batch again.
  std::vector<Waiting> batch;
  batch.swap(hub.waiting);
  const Waiting* end = batch.data() + batch.size();
  for (const Waiting* first = batch.data(); first != end;) {
    const Waiting* last = first + 1;
    while (last != end && (last->topic == first->topic || *last->topic == *first->topic)) ++last;
    deliver_run(hub, first, last);
    first = last;
  }
  batch.clear();
  if (hub.waiting.empty()) hub.waiting.swap(batch);  // keeps the capacity
}

void Hub::subscribe(Socket& socket, std::string_view topic) {
  flush_publishes();  // what was published before does not reach a new subscriber
  auto& list = local_hub().topics[std::string(topic)];
  list.push_back(&socket);
}

void Hub::unsubscribe(Socket& socket, std::string_view topic) {
  flush_publishes();  // what was published before still does
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
