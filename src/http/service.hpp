// What every protocol session needs to serve requests: the handler and the
// protocol limits. One instance is shared (read-only) by all sessions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/h1/parser.hpp"
#include "http/handler.hpp"

namespace trident::http {

struct H2Options {
  std::uint32_t max_concurrent_streams = 128;
  std::uint32_t initial_window_size = 1u << 20;  // per stream; 64 KiB is slow on fast links
  std::uint32_t connection_window_size = 8u << 20;
  std::uint32_t max_header_list_size = 64 * 1024;  // decoded size; larger → stream reset
  // Rapid Reset (CVE-2023-44487): more client resets than this within one
  // second → GOAWAY ENHANCE_YOUR_CALM.
  std::uint32_t max_resets_per_second = 200;
  std::uint32_t max_settings_per_second = 100;  // SETTINGS flood
  std::uint32_t max_pings_per_second = 100;     // PING flood
  std::uint32_t max_continuations = 8;          // CONTINUATION frames per header block
};

struct ServiceContext {
  Handler handler;
  h1::Limits h1;
  H2Options h2;
  std::string server_header = "trident";
  // Set once the server begins its graceful shutdown.
  std::atomic<bool> draining{false};
};

}  // namespace trident::http
