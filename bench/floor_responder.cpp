// floor_responder: the kernel floor for bench/http_bench.py scenarios a, b and e.
//
// A bare single-threaded epoll HTTP/1.1 responder that parses nothing: it
// counts request heads by their terminating CRLFCRLF and answers all heads
// found in one read with one write of canned "Hello, World!" responses. No
// headers are looked at, no routing, no Date, no timers, no bodies. What it
// costs per request is what the kernel costs (accept, epoll, one read and one
// write per batch), so no real server can be cheaper than it on this machine.
// The issue text names this anchor ("a bare epoll responder that parses
// nothing"); the harness runs it next to trident, nginx and h2o.
//
// Usage: floor_responder PORT   (binds 127.0.0.1:PORT, runs until killed)
// Build: g++ -O2 -std=c++20 bench/floor_responder.cpp -o floor_responder
//        (or the floor_responder CMake target)
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "floor_common.hpp"

namespace {

using floor_common::kResponse;
using floor_common::kResponseLen;

// Progress through "\r\n\r\n" per fd (see floor_common::count_heads).
std::vector<unsigned char> g_match;

void close_fd(int fd) {
  g_match[fd] = 0;
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  g_match.assign(floor_common::raise_fd_limit(), 0);
  int listener = floor_common::listen_loopback(std::atoi(argv[1]), SOCK_STREAM | SOCK_NONBLOCK);
  if (listener < 0) {
    std::perror("floor_responder: bind/listen");
    return 1;
  }
  int one = 1;
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);

  static char in[64 * 1024];
  std::vector<char> out;
  epoll_event events[512];
  for (;;) {
    int n = epoll_wait(ep, events, 512, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c;
        while ((c = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          if (static_cast<size_t>(c) >= g_match.size()) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t got = read(fd, in, sizeof in);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        close_fd(fd);
        continue;
      }
      int heads = floor_common::count_heads(g_match[fd], in, static_cast<size_t>(got));
      if (heads == 0) continue;
      out.resize(static_cast<size_t>(heads) * kResponseLen);
      for (int h = 0; h < heads; ++h)
        std::memcpy(out.data() + static_cast<size_t>(h) * kResponseLen, kResponse, kResponseLen);
      // Responses are small enough for the socket buffer; a short write means
      // a peer that stopped reading, and the floor does not queue for it.
      if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) close_fd(fd);
    }
  }
}
