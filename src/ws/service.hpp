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
#include <utility>

#include "http/router.hpp"
#include "ws/settings.hpp"
#include "ws/socket.hpp"

namespace trident::ws {

// Open WebSockets per client address (Settings::max_per_ip).
class IpTable {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(IpTable* table, const std::string* ip) : table_(table), ip_(ip) {}
    Lease(Lease&& o) noexcept : table_(std::exchange(o.table_, nullptr)), ip_(o.ip_) {}
    Lease& operator=(Lease&& o) noexcept {
      std::swap(table_, o.table_);
      std::swap(ip_, o.ip_);
      return *this;
    }
    ~Lease() {
      if (table_) table_->release(*ip_);
    }
    explicit operator bool() const { return table_ != nullptr; }

   private:
    IpTable* table_ = nullptr;
    const std::string* ip_ = nullptr;  // the connection's PeerInfo::address, which outlives it
  };

  // A lease for one more socket from `ip` (which must outlive the lease),
  // or an empty one if `ip` already has `limit` open.
  Lease acquire(const std::string& ip, unsigned limit);

 private:
  void release(const std::string& ip);
  std::mutex mutex_;
  std::unordered_map<std::string, unsigned> open_;
};

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
  Task<void> run_over_h2(const Endpoint& endpoint, Verdict v, IpTable::Lease lease,
                         http::Request& req, http::Response& res);

  Settings settings_;
  std::deque<Endpoint> endpoints_;  // stable addresses
  IpTable per_ip_;
};

}  // namespace trident::ws
