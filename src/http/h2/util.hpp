// Pieces both HTTP/2 server engines (nghttp2 and native) share.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// Header fields HTTP/2 forbids (RFC 9113 §8.2.2); names are lower-case.
bool is_connection_specific(std::string_view name);

// Decodes the HTTP2-Settings header of an `Upgrade: h2c` request (base64url,
// RFC 7540 §3.2.1).
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace trident::http::h2
