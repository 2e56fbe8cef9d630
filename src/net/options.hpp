// Connection-level configuration: listeners, TLS, limits and timeouts.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "net/tls.hpp"

namespace trident::net {

struct ListenerOptions {
  std::string address;  // "127.0.0.1:8443", "[::1]:8080", "0.0.0.0:80"
  bool tls = true;
  bool h2_only = false;  // plaintext HTTP/2 with prior knowledge only (no HTTP/1.1 sniffing)
};

struct ServerOptions {
  std::vector<ListenerOptions> listeners;
  TlsOptions tls;        // used by every TLS listener
  unsigned workers = 0;  // 0 → number of cores
  std::size_t max_connections = 10000;
  int backlog = 4096;
  std::chrono::seconds idle_timeout{60};    // keep-alive / no streams
  std::chrono::seconds header_timeout{10};  // TLS handshake + request head (slowloris)
  std::chrono::seconds body_timeout{30};    // no request body bytes for this long
  std::chrono::seconds drain_timeout{10};   // graceful shutdown deadline
};

}  // namespace trident::net
