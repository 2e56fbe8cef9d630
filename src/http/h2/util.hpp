// Pieces both HTTP/2 server engines (nghttp2 and native) share.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/service.hpp"

namespace trident::http::h2 {

// Counts events in a sliding one-second window.
class RateCounter {
 public:
  // Records one event; returns the count within the current second.
  std::uint32_t hit();

 private:
  std::chrono::steady_clock::time_point window_start_{};
  std::uint32_t count_ = 0;
};

// Keepalive PINGs, gRPC's ping-abuse policy and the maximum connection age,
// on the worker's tick clock (seconds). Both engines feed it events and act
// on what tick() says is due.
class KeepaliveClock {
 public:
  struct Due {
    bool send_ping = false;     // our keepalive PING
    bool ping_timeout = false;  // our PING went unanswered: close
    bool drain = false;         // maximum age reached: graceful GOAWAY
    bool close = false;         // the grace after that is over
  };
  void on_receive() { received_ = true; }
  void on_request() { request_since_ping_ = true; }
  void on_ping_ack() { ping_outstanding_ = false; }
  // A client PING: true when it is the third strike of gRPC's policy (pings
  // closer together than the minimum, with no request in between).
  bool ping_abuse(const H2Options& o);
  // Once per tick. `live`: the connection has not failed (a failed one only
  // keeps time).
  Due tick(std::uint32_t now, const H2Options& o, bool live);
  std::uint32_t now() const { return now_; }

 private:
  std::uint32_t now_ = 0;
  std::uint32_t born_ = 0;
  std::uint32_t last_recv_ = 0;
  std::uint32_t ping_sent_ = 0;
  std::uint32_t last_ping_ = 0;
  std::uint32_t aged_at_ = 0;
  std::uint8_t ping_strikes_ = 0;
  bool ticked_ = false;
  bool received_ = false;
  bool ping_outstanding_ = false;
  bool request_since_ping_ = true;
  bool aged_ = false;
};

// A session's streams: the open ones in no order (each knows its `index`),
// and closed ones kept for reuse, their buffers keeping their capacity.
// S: constructible from Owner&, with `index`, `reset(id)` and `exchange`.
template <typename S>
struct StreamPool {
  static constexpr std::size_t kMaxSpare = 32;
  std::vector<std::unique_ptr<S>> active;
  std::vector<std::unique_ptr<S>> spare;

  template <typename Owner, typename Id>
  S& open(Owner& owner, Id id) {
    std::unique_ptr<S> s;
    if (spare.empty()) {
      s = std::make_unique<S>(owner);
    } else {
      s = std::move(spare.back());
      spare.pop_back();
    }
    s->reset(id);
    s->index = active.size();
    S& ref = *s;
    active.push_back(std::move(s));
    return ref;
  }
  void close(S& s) {
    const std::size_t i = s.index;
    std::unique_ptr<S> owned = std::move(active[i]);
    if (i + 1 != active.size()) {
      active[i] = std::move(active.back());
      active[i]->index = i;
    }
    active.pop_back();
    // Destroys a handler that is still suspended (cancellation), then keeps
    // the object and its buffers for the next stream.
    owned->exchange.reset();
    if (spare.size() < kMaxSpare) spare.push_back(std::move(owned));
  }
  void clear() {
    active.clear();  // handlers first: they may still reference the session
    spare.clear();
  }
};

// Header fields HTTP/2 forbids (RFC 9113 §8.2.2); names are lower-case.
bool is_connection_specific(std::string_view name);

// Decodes the HTTP2-Settings header of an `Upgrade: h2c` request (base64url,
// RFC 7540 §3.2.1).
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace trident::http::h2
