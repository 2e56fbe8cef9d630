#include "net/transport_io.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace trident::net {

IoResult transport_read(int fd, SSL* ssl, char* buf, std::size_t len) {
  if (ssl) {
    ERR_clear_error();
    int rc = SSL_read(ssl, buf, static_cast<int>(len));
    if (rc > 0) return {static_cast<std::size_t>(rc), IoStatus::ok};
    switch (SSL_get_error(ssl, rc)) {
      case SSL_ERROR_WANT_READ:
        return {0, IoStatus::would_block_read};
      case SSL_ERROR_WANT_WRITE:
        return {0, IoStatus::would_block_write};
      case SSL_ERROR_ZERO_RETURN:
        return {0, IoStatus::eof};
      default:
        return {0, IoStatus::error};
    }
  }
  ssize_t rc = ::recv(fd, buf, len, 0);
  if (rc > 0) return {static_cast<std::size_t>(rc), IoStatus::ok};
  if (rc == 0) return {0, IoStatus::eof};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return {0, IoStatus::would_block_read};
  }
  return {0, IoStatus::error};
}

IoResult transport_write(int fd, SSL* ssl, const char* buf, std::size_t len) {
  if (ssl) {
    ERR_clear_error();
    int rc = SSL_write(ssl, buf, static_cast<int>(std::min<std::size_t>(len, 1 << 30)));
    if (rc > 0) return {static_cast<std::size_t>(rc), IoStatus::ok};
    switch (SSL_get_error(ssl, rc)) {
      case SSL_ERROR_WANT_READ:
        return {0, IoStatus::would_block_read};
      case SSL_ERROR_WANT_WRITE:
        return {0, IoStatus::would_block_write};
      default:
        return {0, IoStatus::error};
    }
  }
  ssize_t rc = ::send(fd, buf, len, MSG_NOSIGNAL);
  if (rc >= 0) return {static_cast<std::size_t>(rc), IoStatus::ok};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return {0, IoStatus::would_block_write};
  }
  return {0, IoStatus::error};
}

IoResult transport_writev(int fd, SSL* ssl, const iovec* iov, std::size_t count) {
  if (ssl) {
    // TLS has no gather write: one SSL_write per buffer, as far as it goes.
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      IoResult r =
          transport_write(fd, ssl, static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
      if (r.status != IoStatus::ok) return total ? IoResult{total, IoStatus::ok} : r;
      total += r.n;
      if (r.n < iov[i].iov_len) break;
    }
    return {total, IoStatus::ok};
  }
  // One buffer (the common case: a WebSocket's pending frames): send() skips
  // the msghdr and iovec copies sendmsg() makes.
  if (count == 1)
    return transport_write(fd, nullptr, static_cast<const char*>(iov[0].iov_base), iov[0].iov_len);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  ssize_t rc = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (rc >= 0) return {static_cast<std::size_t>(rc), IoStatus::ok};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return {0, IoStatus::would_block_write};
  }
  return {0, IoStatus::error};
}

}  // namespace trident::net
