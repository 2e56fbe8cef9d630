#pragma once

#include <cstdint>
#include <string>

namespace trident::net {

// Who is on the other end of a connection.
struct PeerInfo {
  std::string address;  // "127.0.0.1" / "::1"
  std::uint16_t port = 0;
  bool tls = false;
  std::string alpn;            // "h2", "http/1.1" or ""
  std::string server_name;     // SNI sent by the client
  std::string client_subject;  // verified client certificate subject (mTLS), or ""
};

// The application protocol chosen for a connection (ALPN or preface sniffing).
enum class Protocol { http1, http2 };

}  // namespace trident::net
