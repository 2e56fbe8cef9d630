// Starts the workers, binds every listener on each of them, and runs until
// SIGINT/SIGTERM; then stops accepting, drains in-flight work up to the drain
// deadline, and returns (a second signal closes everything at once).
#pragma once

#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "net/connection.hpp"
#include "net/options.hpp"
#include "net/tls.hpp"

namespace trident::net {

// "127.0.0.1:8443", "[::1]:8080", "localhost:8080", ":8080" (all IPv4 interfaces).
asio::ip::tcp::endpoint parse_endpoint(const std::string& text);
// Throws std::system_error if nothing may bind `endpoint` (e.g. another
// process listens there), before any SO_REUSEPORT socket is created.
void ensure_port_free(const asio::ip::tcp::endpoint& endpoint);

class Server {
 public:
  Server(ServerOptions options, SessionFactory factory);
  ~Server();

  // Called when the drain begins (e.g. flip /healthz to 503).
  std::function<void()> on_drain;
  // Called once every listener is bound, before serving.
  std::function<void()> on_ready;

  // Blocks until shutdown completes. Throws on bind/TLS errors.
  void run();

 private:
  ServerOptions options_;
  SessionFactory factory_;
  std::unique_ptr<TlsContext> tls_;
};

}  // namespace trident::net
