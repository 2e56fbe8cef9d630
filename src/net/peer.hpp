#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct sockaddr;
struct ssl_st;

namespace trident::net {

// Who is on the other end of a connection.
struct PeerInfo {
  // What a TLS handshake tells about the peer. Kept out of line: a plaintext
  // connection (most idle WebSockets) does not pay for three strings.
  struct Tls {
    std::string alpn;            // "h2", "http/1.1" or ""
    std::string server_name;     // SNI sent by the client
    std::string client_subject;  // verified client certificate subject (mTLS), or ""
    // An accepted connection's TLS state (SSL*), owned and freed by the
    // connection: kept here so that a plaintext connection has no field for it.
    ssl_st* ssl = nullptr;
  };

  // The address as text, "127.0.0.1" / "::1" ("" if unknown); formatted on
  // each call (the binary form is what every connection keeps).
  std::string address() const;
  // From an AF_INET / AF_INET6 socket address: the address and the port.
  void set_address(const sockaddr* sa);

  // The pointer first: the 28 bytes after it leave 4 bytes of tail padding
  // that a connection fills (every connection holds one PeerInfo).
  std::unique_ptr<Tls> tls_details;    // set for a TLS connection when its handshake starts
  std::array<unsigned char, 16> ip{};  // network byte order; IPv4 in the first 4
  std::uint8_t family = 0;             // 0 (unknown), 4 or 6
  bool tls = false;
  std::uint16_t port = 0;

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
