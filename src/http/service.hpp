// What every protocol session needs to serve requests: the handler and the
// protocol limits. One instance is shared (read-only) by all sessions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/direct_response.hpp"
#include "http/h1/parser.hpp"
#include "http/handler.hpp"

namespace trident::http {

struct H2Options {
  // Which HTTP/2 implementation serves connections: nghttp2, or trident's
  // own framing and HPACK (h2/native_session).
  enum class Engine { nghttp2, native };
  Engine engine = Engine::native;
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
  // Keepalive (gRPC's keepalive spec): after this many seconds without
  // anything from the client the server PINGs; no ACK within the timeout →
  // the connection is closed. 0 = off.
  std::uint32_t keepalive_interval = 0;
  std::uint32_t keepalive_timeout = 20;
  // Ping abuse: a client PING less than this many seconds after the previous
  // one, with no request in between, is a strike; the third strike gets
  // GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (gRPC's policy). 0 = off.
  std::uint32_t min_ping_interval = 10;
  // After this many seconds a connection gets a graceful GOAWAY, and is
  // closed `max_connection_age_grace` seconds later. 0 = never.
  std::uint32_t max_connection_age = 0;
  std::uint32_t max_connection_age_grace = 10;
};

struct ServiceContext {
  Handler handler;
  // Fixed answers that come before `handler`. The HTTP/1.1 session serves
  // them itself; for every other session `handler` must be
  // `direct.wrap(...)` so that they are answered there too.
  DirectResponses direct;
  h1::Limits h1;
  H2Options h2;
  std::string server_header = "trident";
  // Set once the server begins its graceful shutdown.
  std::atomic<bool> draining{false};
};

}  // namespace trident::http
