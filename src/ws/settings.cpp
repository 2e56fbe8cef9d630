#include "ws/settings.hpp"

#include <array>
#include <memory>
#include <mutex>

namespace trident::ws {
namespace {

constexpr std::size_t kCounters = static_cast<std::size_t>(Counter::count_);
constexpr const char* kNames[kCounters] = {
    "connections",          "opened",           "messages_in",     "messages_out",
    "slow_consumer_closes", "heartbeat_closes", "rejected_origin", "rejected_token",
    "rejected_per_ip",      "publishes",        "deliveries"};

struct Slot {
  detail::CounterSlot values{};
};

struct Registry {
  std::mutex mutex;
  // Slots outlive their threads (a thread's counts stay in the totals).
  std::vector<std::unique_ptr<Slot>> slots;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

namespace detail {
thread_local CounterSlot* my_counters = nullptr;

CounterSlot* register_counters() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.slots.push_back(std::make_unique<Slot>());
  my_counters = &r.slots.back()->values;
  return my_counters;
}
}  // namespace detail

std::int64_t counter(Counter c) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::int64_t total = 0;
  for (const auto& s : r.slots) total += s->values[static_cast<std::size_t>(c)].load();
  return total;
}

std::string counters_json() {
  std::string out = "{";
  for (std::size_t i = 0; i < kCounters; ++i) {
    if (i) out += ',';
    out += '"';
    out += kNames[i];
    out += "\":";
    out += std::to_string(counter(static_cast<Counter>(i)));
  }
  out += '}';
  return out;
}

}  // namespace trident::ws
