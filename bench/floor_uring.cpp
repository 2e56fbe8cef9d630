// floor_uring: floor_responder.cpp on io_uring, for bench/http_bench.py.
//
// The same bare HTTP/1.1 responder (counts request heads by their CRLFCRLF,
// answers every head found in one receive with one send of canned
// "Hello, World!" responses, parses nothing else), but its I/O goes through
// one io_uring: a multishot accept, and per connection one receive in flight;
// every receive completion queues a send and the next receive. A loop turn
// is one io_uring_enter for all connections, where the epoll floor makes one
// epoll_wait plus a read and a write per connection. The harness runs it
// beside the epoll floor to answer one question: does batching the system
// calls lower the kernel's cost per request on this machine?
//
// Usage: floor_uring PORT   (binds 127.0.0.1:PORT, runs until killed)
// Build: g++ -O2 -std=c++20 bench/floor_uring.cpp -luring -o floor_uring
//        (Debian: liburing-dev; or the floor_uring CMake target)
#include <liburing.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "floor_common.hpp"

namespace {

using floor_common::kResponse;
using floor_common::kResponseLen;
// Responses per send; a receive with more heads gets several sends.
constexpr int kMaxBatch = 64;
char g_responses[kResponseLen * kMaxBatch];

struct Conn {
  char in[16 * 1024];
  unsigned char match = 0;  // progress through "\r\n\r\n", across receives
};
std::vector<std::unique_ptr<Conn>> g_conns;  // by fd

// user_data: fd << 2 | kind.
enum Kind : uint64_t { kAccept = 1, kRecv = 2, kSend = 3 };
uint64_t tag(int fd, Kind k) {
  return (static_cast<uint64_t>(fd) << 2) | k;
}

io_uring g_ring;

io_uring_sqe* next_sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&g_ring);
  if (!s) {  // submission queue full: hand it to the kernel, then go on
    io_uring_submit(&g_ring);
    s = io_uring_get_sqe(&g_ring);
  }
  return s;
}

void queue_accept(int listener) {
  io_uring_sqe* s = next_sqe();
  io_uring_prep_multishot_accept(s, listener, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(s, tag(listener, kAccept));
}

void queue_recv(int fd) {
  io_uring_sqe* s = next_sqe();
  io_uring_prep_recv(s, fd, g_conns[fd]->in, sizeof g_conns[fd]->in, 0);
  io_uring_sqe_set_data64(s, tag(fd, kRecv));
}

void queue_responses(int fd, int heads) {
  while (heads > 0) {
    const int n = heads > kMaxBatch ? kMaxBatch : heads;
    heads -= n;
    io_uring_sqe* s = next_sqe();
    // MSG_WAITALL: io_uring finishes a short send itself.
    io_uring_prep_send(s, fd, g_responses, n * kResponseLen, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(s, tag(fd, kSend));
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;  // only failures come back
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  g_conns.resize(floor_common::raise_fd_limit());
  for (int i = 0; i < kMaxBatch; ++i) {
    std::memcpy(g_responses + i * kResponseLen, kResponse, kResponseLen);
  }
  const int listener = floor_common::listen_loopback(std::atoi(argv[1]), SOCK_STREAM);
  if (listener < 0) {
    std::perror("floor_uring: bind/listen");
    return 1;
  }
  const int one = 1;
  // One thread submits, and completions' deferred work runs only when it
  // enters the kernel to wait: no interrupts of the loop in between.
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(4096, &g_ring, &params);
  if (rc < 0) {
    std::fprintf(stderr, "floor_uring: io_uring_queue_init: %s\n", std::strerror(-rc));
    return 1;
  }
  queue_accept(listener);
  for (;;) {
    rc = io_uring_submit_and_wait(&g_ring, 1);
    if (rc < 0 && rc != -EINTR) {
      std::fprintf(stderr, "floor_uring: io_uring_submit_and_wait: %s\n", std::strerror(-rc));
      return 1;
    }
    io_uring_cqe* cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&g_ring, head, cqe) {
      ++seen;
      const int fd = static_cast<int>(cqe->user_data >> 2);
      const int res = cqe->res;
      switch (static_cast<Kind>(cqe->user_data & 3)) {
        case kAccept:
          if (res >= 0 && static_cast<size_t>(res) < g_conns.size()) {
            setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (!g_conns[res]) g_conns[res] = std::make_unique<Conn>();
            g_conns[res]->match = 0;
            queue_recv(res);
          } else if (res >= 0) {
            close(res);
          }
          if (!(cqe->flags & IORING_CQE_F_MORE)) queue_accept(listener);
          break;
        case kRecv:
          if (res <= 0) {
            close(fd);  // end of stream or an error: the peer is gone
            break;
          }
          queue_responses(fd, floor_common::count_heads(g_conns[fd]->match, g_conns[fd]->in,
                                                        static_cast<size_t>(res)));
          queue_recv(fd);
          break;
        case kSend:
          // A failed send: the next receive sees the end of the connection.
          break;
      }
    }
    io_uring_cq_advance(&g_ring, seen);
  }
}
