// TLS server configuration on OpenSSL 3: TLS 1.2+, ALPN (h2, http/1.1),
// SNI across several certificates, optional mTLS against a client CA.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::net {

struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CertificateFiles {
  std::string cert_chain_pem;   // path to the leaf + intermediates, PEM
  std::string private_key_pem;  // path to the private key, PEM
};

struct TlsOptions {
  // The first is the default; others are chosen by SNI against the names
  // (subjectAltName DNS entries, wildcards allowed) in their certificates.
  std::vector<CertificateFiles> certificates;
  std::string client_ca_pem;         // non-empty → verify client certificates against it
  bool require_client_cert = false;  // with client_ca_pem: reject handshakes without one
  std::vector<std::string> alpn = {"h2", "http/1.1"};  // server preference order
};

// Owns the SSL_CTX objects (one per certificate; SNI switches between them).
class TlsContext {
 public:
  explicit TlsContext(const TlsOptions& options);  // throws TlsError with a clear message
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const;  // the default context; hand this to new connections

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The protocol ALPN selected on an established connection ("" if none).
std::string negotiated_alpn(SSL* ssl);
// Subject of the verified client certificate ("" if none was presented).
std::string peer_certificate_subject(SSL* ssl);

// A local development CA and a localhost certificate signed by it, created
// under `state_dir` on first use and reused afterwards (regenerated if the
// leaf is missing, unreadable or expires within a day).
struct DevCertificates {
  std::string ca_cert_pem;     // path: hand to curl --cacert
  std::string cert_chain_pem;  // path: leaf for localhost, 127.0.0.1, ::1
  std::string private_key_pem;
};
DevCertificates ensure_dev_certificates(const std::string& state_dir);

// Issues a fresh certificate signed by the development CA in `dir` (creating
// the directory and the CA if needed) and writes it to `<dir>/<name>.pem`
// (leaf followed by the CA) and `<dir>/<name>-key.pem` (mode 0600), replacing
// any previous files of that name. The subject CN is the first DNS name, or
// `name` when `dns_names` is empty; the DNS names go into subjectAltName.
// `client_auth` selects extendedKeyUsage clientAuth (a certificate for mTLS
// clients) instead of serverAuth. Meant for tests (SNI, mTLS).
DevCertificates issue_test_certificate(const std::string& dir, const std::string& name,
                                       const std::vector<std::string>& dns_names, bool client_auth);

}  // namespace trident::net
