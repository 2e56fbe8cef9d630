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
  struct Count {
    IpTable* table;
    unsigned open;
  };
  using Entry = std::pair<const std::string, Count>;

 public:
  // A place in the count, given back when the lease goes, unless keep()
  // hands it to an owner that gives it back with release(peer) later.
  class Lease {
   public:
    Lease() = default;
    explicit Lease(Entry* entry) : entry_(entry) {}
    Lease(Lease&& o) noexcept : entry_(std::exchange(o.entry_, nullptr)) {}
    Lease& operator=(Lease&& o) noexcept {
      std::swap(entry_, o.entry_);
      return *this;
    }
    ~Lease() {
      if (entry_) entry_->second.table->release(*entry_);
    }
    explicit operator bool() const { return entry_ != nullptr; }
    void keep() { entry_ = nullptr; }

   private:
    Entry* entry_ = nullptr;
  };

  // A lease for one more socket from `peer`'s address, or an empty one if
  // that address already has `limit` open.
  Lease acquire(const net::PeerInfo& peer, unsigned limit);
  // Gives back a place kept from a lease of `peer`'s.
  void release(const net::PeerInfo& peer);

 private:
  static std::string key(const net::PeerInfo& peer);  // the binary address
  void release(Entry& entry);
  void release_locked(Entry& entry);
  std::mutex mutex_;
  std::unordered_map<std::string, Count> open_;
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
  Task<void> handshake(const Route& route, http::Request& req, http::Response& res);
  Task<void> run_over_h2(const Route& route, Verdict v, IpTable::Lease lease, http::Request& req,
                         http::Response& res);

  Settings settings_;
  std::deque<Route> routes_;  // stable addresses
  IpTable per_ip_;
};

}  // namespace trident::ws
