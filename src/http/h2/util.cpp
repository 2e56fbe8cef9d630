#include "http/h2/util.hpp"

namespace trident::http::h2 {

std::uint32_t RateCounter::hit() {
  auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    count_ = 0;
  }
  return ++count_;
}

bool KeepaliveClock::ping_abuse(const H2Options& o) {
  if (o.min_ping_interval == 0 || !ticked_) return false;
  if (!request_since_ping_ && now_ - last_ping_ < o.min_ping_interval && ++ping_strikes_ > 2) {
    return true;
  }
  last_ping_ = now_;
  request_since_ping_ = false;
  return false;
}

KeepaliveClock::Due KeepaliveClock::tick(std::uint32_t now, const H2Options& o, bool live) {
  Due due;
  if (!ticked_) {
    ticked_ = true;
    born_ = last_recv_ = now;
  }
  now_ = now;
  if (received_) {
    received_ = false;
    last_recv_ = now;
  }
  if (!live) return due;
  if (o.keepalive_interval > 0) {
    if (ping_outstanding_ && now - ping_sent_ >= o.keepalive_timeout) {
      due.ping_timeout = true;
      return due;
    }
    if (!ping_outstanding_ && now - last_recv_ >= o.keepalive_interval) {
      ping_outstanding_ = true;
      ping_sent_ = now;
      due.send_ping = true;
    }
  }
  if (o.max_connection_age > 0) {
    if (!aged_ && now - born_ >= o.max_connection_age) {
      aged_ = true;
      aged_at_ = now;
      due.drain = true;
    } else if (aged_ && now - aged_at_ >= o.max_connection_age_grace) {
      due.close = true;
    }
  }
  return due;
}

bool is_connection_specific(std::string_view name) {
  return name == "connection" || name == "transfer-encoding" || name == "keep-alive" ||
         name == "upgrade" || name == "proxy-connection";
}

std::optional<std::string> base64url_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace trident::http::h2
