// Server-wide WebSocket settings and counters.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace trident::ws {

struct Settings {
  std::size_t max_message = 1 << 20;  // larger → close 1009 (also after inflating)
  // Unsent output per connection; a push beyond it closes the connection
  // with 1008 (slow consumer).
  std::size_t max_backlog = 1 << 20;
  std::chrono::seconds ping_interval{30};    // 0: no heartbeats
  std::chrono::seconds idle_timeout{0};      // 0: none; else close 1001 without data messages
  std::vector<std::string> allowed_origins;  // beyond same-origin; "*" allows all
  std::string token;                         // non-empty: bearer token required
  unsigned max_per_ip = 256;
  std::size_t compress_min = 64;  // smaller messages are sent uncompressed
  bool deflate = true;            // negotiate permessage-deflate
  // Set when the server starts its graceful shutdown: open sockets close
  // with 1001 (within a tick on HTTP/2, where no connection-level hook does it).
  const std::atomic<bool>* draining = nullptr;
};

// Process-wide counters. Each thread counts in its own slot (no shared cache
// line on the message path); a read sums the slots.
enum class Counter : std::uint8_t {
  connections,  // open now (opened - closed)
  opened,
  messages_in,
  messages_out,
  slow_consumer_closes,
  heartbeat_closes,
  rejected_origin,
  rejected_token,
  rejected_per_ip,
  publishes,
  deliveries,
  count_
};

namespace detail {
using CounterSlot = std::atomic<std::int64_t>[static_cast<std::size_t>(Counter::count_)];
// This thread's counters (null until first use: constant-initialized, so
// reading it costs no thread_local init check).
extern thread_local CounterSlot* my_counters;
CounterSlot* register_counters();
}  // namespace detail

inline void count(Counter c, std::int64_t delta = 1) {
  detail::CounterSlot* slot = detail::my_counters;
  if (!slot) slot = detail::register_counters();
  auto& v = (*slot)[static_cast<std::size_t>(c)];
  // Only this thread writes its slot: a plain read-modify-write is enough.
  v.store(v.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}
std::int64_t counter(Counter c);
// {"connections":..,...}: every counter, for /ws/stats.
std::string counters_json();

}  // namespace trident::ws
