// One non-blocking read or write on a socket, through TLS when there is an
// SSL object, with the outcome in one vocabulary for accepted and outbound
// connections alike.
#pragma once

#include <openssl/ssl.h>
#include <sys/uio.h>

#include <cstddef>

namespace trident::net {

enum class IoStatus { ok, would_block_read, would_block_write, eof, error };

struct IoResult {
  std::size_t n;
  IoStatus status;
};

IoResult transport_read(int fd, SSL* ssl, char* buf, std::size_t len);
IoResult transport_write(int fd, SSL* ssl, const char* buf, std::size_t len);
// A gather write (writev on plaintext; TLS has none: one SSL_write per buffer,
// as far as it goes).
IoResult transport_writev(int fd, SSL* ssl, const iovec* iov, std::size_t count);

}  // namespace trident::net
