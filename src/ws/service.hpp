// WebSocket routes on an HTTP router: the opening handshake (RFC 6455 §4
// over HTTP/1.1, RFC 8441 extended CONNECT over HTTP/2), its security checks
// (Origin allowlist, bearer token, per-IP limit), subprotocol and
// permessage-deflate negotiation, then the hand-over to a Socket.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/router.hpp"
#include "ws/settings.hpp"
#include "ws/socket.hpp"

namespace trident::ws {

class Service {
 public:
  explicit Service(Settings settings);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Serves `endpoint` at `path`: GET with Upgrade (HTTP/1.1) and extended
  // CONNECT (HTTP/2). The Service must outlive the server.
  void add_route(http::Router& router, std::string_view path, Endpoint endpoint);

  const Settings& settings() const { return settings_; }

  // Exposed for tests: the checks of the handshake, in order.
  struct Verdict {
    int status = 0;  // 0: accepted; else the HTTP status to answer with
    std::string message;
    std::string subprotocol;
    std::optional<DeflateParams> deflate;
  };
  Verdict check(const http::Request& req, const Endpoint& endpoint) const;
  bool origin_allowed(std::string_view origin, std::string_view authority) const;

 private:
  Task<void> handshake(const Endpoint& endpoint, http::Request& req, http::Response& res);
  Task<void> run_over_h2(const Endpoint& endpoint, Verdict v, std::shared_ptr<void> slot,
                         http::Request& req, http::Response& res);
  // A per-IP connection slot, released when the returned handle dies; null if full.
  std::shared_ptr<void> reserve(const std::string& ip);

  Settings settings_;
  std::deque<Endpoint> endpoints_;  // stable addresses
  std::shared_ptr<std::mutex> ip_mutex_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::unordered_map<std::string, unsigned>> per_ip_ =
      std::make_shared<std::unordered_map<std::string, unsigned>>();
};

}  // namespace trident::ws
