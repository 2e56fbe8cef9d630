// A WebSocket on an HTTP/1.1 connection, after the 101: the connection's
// bytes go straight to the Socket, its output straight to the socket.
#pragma once

#include <memory>

#include "net/session.hpp"
#include "ws/service.hpp"
#include "ws/socket.hpp"

namespace trident::ws {

class H1Session final : public net::Session {
 public:
  // `lease` is the socket's place in route.per_ip's count for its peer: the
  // session holds it until the end (given back by address, so it keeps no
  // pointer for it).
  H1Session(net::SessionIo& io, const Route& route, std::string_view subprotocol,
            std::optional<DeflateParams> deflate, IpTable::Lease lease);
  ~H1Session() override;

  Socket& socket() { return socket_; }

  std::size_t on_input(std::string_view data) override;
  void take_output(std::string& out) override { socket_.take_output(out); }
  std::size_t peek_output(iovec* iov, std::size_t max) override {
    return socket_.peek_output(iov, max);
  }
  void consume_output(std::size_t n) override { socket_.consume_output(n); }
  void on_output_flushed() override { socket_.on_output_flushed(); }
  bool wants_input() const override { return socket_.wants_input(); }
  bool should_close() const override { return socket_.finished() && !socket_.has_output(); }
  bool should_abort() const override { return socket_.must_abort(); }
  void on_peer_closed() override { socket_.on_transport_closed(); }
  void start_drain() override;
  // Liveness is the heartbeat's job (Settings::ping_interval), not the
  // connection's read timeouts.
  void on_timeout(net::Phase) override {}
  net::Phase phase() const override;
  void on_tick(std::uint32_t) override { socket_.tick(tick_now()); }
  void release_idle_memory() override { socket_.release_memory(); }

 private:
  Socket socket_;  // its transport is the connection
};

}  // namespace trident::ws
