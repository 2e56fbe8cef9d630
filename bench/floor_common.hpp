// What the two floor responders (floor_responder.cpp on epoll, floor_uring.cpp
// on io_uring) share, so that they differ only in how they do I/O: the canned
// response, counting request heads across reads, and the loopback listener.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace floor_common {

inline constexpr char kResponse[] =
    "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Type: text/plain\r\n"
    "Content-Length: 13\r\n\r\nHello, World!";
inline constexpr std::size_t kResponseLen = sizeof(kResponse) - 1;

// Counts the request heads that end in p[0..n) (by their "\r\n\r\n").
// `match` is the progress (0..3) through the terminator, kept per connection
// so that a head split across reads counts.
inline int count_heads(unsigned char& match, const char* p, std::size_t n) {
  static constexpr char kTerminator[] = "\r\n\r\n";
  unsigned char m = match;
  int heads = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == kTerminator[m]) {
      if (++m == 4) {
        ++heads;
        m = 0;
      }
    } else {
      m = p[i] == '\r' ? 1 : 0;
    }
  }
  match = m;
  return heads;
}

// Raises the open-files soft limit to the hard one; returns how many
// descriptors to plan for (at most 2^20).
inline std::size_t raise_fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur > (1u << 20) ? (1u << 20) : static_cast<std::size_t>(rl.rlim_cur);
}

// A socket listening on 127.0.0.1:port; `type` is SOCK_STREAM plus flags.
// Returns -1 (errno set) on failure.
inline int listen_loopback(int port, int type) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace floor_common
