// The WebSocket opening handshake's key exchange (RFC 6455 §4.2.1, §4.2.2).
#pragma once

#include <string>
#include <string_view>

namespace trident::ws {

// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key: base64 of
// the SHA-1 of the key (as sent) followed by the RFC's GUID.
std::string accept_key(std::string_view sec_websocket_key);

// True if `key` is a valid Sec-WebSocket-Key: the canonical base64 encoding
// of 16 bytes (24 characters, "==" padding, unused low bits zero).
bool valid_client_key(std::string_view key);

}  // namespace trident::ws
