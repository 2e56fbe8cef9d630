#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace trident::net {

// Who is on the other end of a connection.
struct PeerInfo {
  // What a TLS handshake tells about the peer. Kept out of line: a plaintext
  // connection (most idle WebSockets) does not pay for three strings.
  struct Tls {
    std::string alpn;            // "h2", "http/1.1" or ""
    std::string server_name;     // SNI sent by the client
    std::string client_subject;  // verified client certificate subject (mTLS), or ""
  };

  std::string address;  // "127.0.0.1" / "::1"
  std::uint16_t port = 0;
  bool tls = false;
  std::unique_ptr<Tls> tls_details;  // set when a TLS handshake completes

  std::string_view alpn() const { return tls_details ? tls_details->alpn : std::string_view(); }
  std::string_view server_name() const {
    return tls_details ? tls_details->server_name : std::string_view();
  }
  std::string_view client_subject() const {
    return tls_details ? tls_details->client_subject : std::string_view();
  }
  Tls& tls_info() {
    if (!tls_details) tls_details = std::make_unique<Tls>();
    return *tls_details;
  }
};

// The application protocol chosen for a connection (ALPN or preface sniffing).
enum class Protocol { http1, http2 };

}  // namespace trident::net
