#include "net/client_tls.hpp"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace trident::net {
namespace {

std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

[[noreturn]] void fail(const std::string& what) {
  throw TlsError("tls: " + what + ": " + openssl_errors());
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

ClientTlsContext::ClientTlsContext(const ClientTlsOptions& options)
    : verify_peer_(options.verify_peer) {
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) fail("SSL_CTX_new");
  try {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // RFC 9113 §9.2.2: no renegotiation under HTTP/2.
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION);
    if (options.verify_peer) {
      if (!options.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr) != 1) {
          fail("cannot load CA file '" + options.ca_file + "'");
        }
      } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
        fail("cannot load the system certificate store");
      }
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    }
    if (!options.cert_chain_pem.empty() || !options.private_key_pem.empty()) {
      if (options.cert_chain_pem.empty() || options.private_key_pem.empty()) {
        throw TlsError("tls: a client certificate needs both a certificate chain and a key");
      }
      if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert_chain_pem.c_str()) != 1) {
        fail("cannot load client certificate '" + options.cert_chain_pem + "'");
      }
      if (SSL_CTX_use_PrivateKey_file(ctx_, options.private_key_pem.c_str(), SSL_FILETYPE_PEM) !=
          1) {
        fail("cannot load client key '" + options.private_key_pem + "'");
      }
      if (SSL_CTX_check_private_key(ctx_) != 1) {
        fail("client key does not match certificate '" + options.cert_chain_pem + "'");
      }
    }
    if (!options.alpn.empty()) {
      std::string wire;
      for (const auto& p : options.alpn) {
        if (p.empty() || p.size() > 255) throw TlsError("tls: invalid ALPN protocol '" + p + "'");
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
      }
      // Returns 0 on success (unlike most of OpenSSL).
      if (SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                                  static_cast<unsigned>(wire.size())) != 0) {
        fail("SSL_CTX_set_alpn_protos");
      }
    }
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
}

ClientTlsContext::~ClientTlsContext() {
  SSL_CTX_free(ctx_);
}

SSL* ClientTlsContext::new_ssl(const std::string& server_name) const {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) fail("SSL_new");
  bool ip = is_ip_address(server_name);
  if (!server_name.empty() && !ip) {
    if (SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
      SSL_free(ssl);
      fail("cannot set SNI '" + server_name + "'");
    }
  }
  if (verify_peer_ && !server_name.empty()) {
    int ok = 0;
    if (ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set1_host(ssl, server_name.c_str());
    }
    if (ok != 1) {
      SSL_free(ssl);
      fail("cannot verify against name '" + server_name + "'");
    }
  }
  SSL_set_connect_state(ssl);
  return ssl;
}

std::string tls_failure_reason(SSL* ssl) {
  if (ssl) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
      ERR_clear_error();
      return std::string("certificate verification failed: ") + X509_verify_cert_error_string(v);
    }
  }
  if (ERR_peek_error() == 0) return "connection closed during the TLS handshake";
  return openssl_errors();
}

}  // namespace trident::net
