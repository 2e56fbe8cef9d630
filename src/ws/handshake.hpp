// The WebSocket opening handshake: the key exchange (RFC 6455 §4.2.1,
// §4.2.2) and the client's side of it (§4.1). Pure functions, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ws/deflate.hpp"

namespace trident::ws {

// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key: base64 of
// the SHA-1 of the key (as sent) followed by the RFC's GUID.
std::string accept_key(std::string_view sec_websocket_key);

// True if `key` is a valid Sec-WebSocket-Key: the canonical base64 encoding
// of 16 bytes (24 characters, "==" padding, unused low bits zero).
bool valid_client_key(std::string_view key);

// ---- client side (RFC 6455 §4.1) ----

// A Sec-WebSocket-Key: base64 of 16 random bytes the caller supplies.
std::string client_key(const std::array<std::uint8_t, 16>& nonce);

struct ClientOffer {
  std::string host;        // the Host header: host[:port]
  std::string path = "/";  // the request target
  std::vector<std::string> protocols;
  // Offer permessage-deflate. The offer asks for server_no_context_takeover
  // (each received message inflates on its own) and announces
  // client_no_context_takeover and client_max_window_bits.
  bool deflate = false;
  std::string origin;                                        // sent when not empty
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields (authorization, ...)
};

// The opening GET request.
std::string client_request(const ClientOffer& offer, std::string_view key);

struct ServerAnswer {
  std::size_t head_size = 0;  // 0: the head is not complete yet
  int status = 0;
  std::string error;  // empty: upgraded
  std::string subprotocol;
  std::optional<DeflateParams> deflate;  // as agreed (client_max_window_bits is ours)
};

// Parses the server's response head at the start of `data` and checks it
// against what was offered: 101, Upgrade: websocket, Connection: upgrade,
// the Sec-WebSocket-Accept for `key`, a subprotocol only from the offer,
// extensions only as offered.
ServerAnswer check_server_response(std::string_view data, const ClientOffer& offer,
                                   std::string_view key);

}  // namespace trident::ws
