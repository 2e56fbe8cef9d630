// TLS client configuration on OpenSSL 3, for outbound connections (the gRPC
// client, later the gateway): TLS 1.2+, ALPN (h2 by default), server
// verification against a CA file or the system store, the name to verify
// (and to send as SNI) chosen per connection, and an optional client
// certificate for mTLS.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "net/tls.hpp"  // TlsError

namespace trident::net {

struct ClientTlsOptions {
  std::string ca_file;          // PEM bundle to verify the server with; empty → system store
  bool verify_peer = true;      // false: accept any certificate (tests only)
  std::string cert_chain_pem;   // client certificate chain (mTLS), PEM path; with private_key_pem
  std::string private_key_pem;  // its private key, PEM path
  std::vector<std::string> alpn = {"h2"};  // offered in this order
};

// Owns one SSL_CTX; create one per set of options and share it between
// connections (a context is not tied to a server name).
class ClientTlsContext {
 public:
  explicit ClientTlsContext(const ClientTlsOptions& options);  // throws TlsError
  ~ClientTlsContext();
  ClientTlsContext(const ClientTlsContext&) = delete;
  ClientTlsContext& operator=(const ClientTlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }

  // A client-mode SSL for a connection to `server_name`: the name is sent as
  // SNI (unless it is an IP address, which SNI cannot carry) and the server
  // certificate must match it (DNS subjectAltName, or IP subjectAltName for an
  // address). Throws TlsError.
  SSL* new_ssl(const std::string& server_name) const;

 private:
  SSL_CTX* ctx_ = nullptr;
  bool verify_peer_ = true;
};

// Why a handshake failed, for error messages: the verification result when
// the certificate was rejected, else the OpenSSL error queue (drained).
std::string tls_failure_reason(SSL* ssl);

}  // namespace trident::net
