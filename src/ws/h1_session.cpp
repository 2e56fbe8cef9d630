#include "ws/h1_session.hpp"

namespace trident::ws {

H1Session::H1Session(net::SessionIo& io, const Route& route, std::string_view subprotocol,
                     std::optional<DeflateParams> deflate, IpTable::Lease lease)
    : socket_(route, io, subprotocol, deflate) {
  lease.keep();
}

H1Session::~H1Session() {
  socket_.on_transport_closed();
  if (IpTable* table = socket_.route().per_ip) table->release(socket_.peer());
}

std::size_t H1Session::on_input(std::string_view data) {
  // The connection owns this buffer and drops what we consume: unmasking
  // in place saves a copy of every payload.
  return socket_.feed(std::span<char>(const_cast<char*>(data.data()), data.size()));
}

void H1Session::start_drain() {
  socket_.close(close_code::going_away, "server shutting down");
}

net::Phase H1Session::phase() const {
  // Idle only when nothing is in flight: a draining server then closes it
  // right away; otherwise it waits for the close handshake. Never "busy":
  // that would keep the connection open after the peer's EOF, and nothing
  // can arrive after an EOF to finish a WebSocket exchange.
  return socket_.idle() ? net::Phase::idle : net::Phase::reading_body;
}

}  // namespace trident::ws
