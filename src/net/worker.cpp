#include "net/worker.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <asio/post.hpp>
#include <system_error>

#include "core/log.hpp"

namespace trident::net {

Worker::Worker(unsigned index, const ServerOptions& options, SessionFactory factory,
               std::size_t max_connections)
    : index_(index),
      options_(options),
      factory_(std::move(factory)),
      max_connections_(max_connections),
      ticker_(loop_.io()),
      scratch_(64 * 1024, '\0') {}

Worker::~Worker() {
  connections_.clear();
}

void Worker::listen(const asio::ip::tcp::endpoint& endpoint, SSL_CTX* tls, bool h2_only) {
  auto a = std::make_unique<Acceptor>(*this, loop_.io(), tls, h2_only);
  auto& acc = a->acceptor;
  acc.open(endpoint.protocol());
  acc.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  acc.bind(endpoint);
  acc.listen(options_.backlog);
  acceptors_.push_back(std::move(a));
}

void Worker::run() {
  for (auto& a : acceptors_) {
    a->acceptor.non_blocking(true);
    if (!poller_.add(a->acceptor.native_handle(), a.get())) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(listener)");
    }
  }
  tick();
  loop_.run();
}

void Worker::accept_all(Acceptor& a) {
  if (shutting_down_) return;
  for (;;) {
    int fd = ::accept4(a.acceptor.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        log::warn(std::string("accept: ") + strerror(errno));
      return;  // EMFILE etc.: the next connection attempt raises a new edge
    }
    if (connections_.size() >= max_connections_) {
      ::close(fd);  // over the limit: refuse rather than degrade everyone
      continue;
    }
    auto conn = std::make_shared<Connection>(*this, fd, a.tls, a.h2_only);
    Connection* raw = conn.get();
    connections_.emplace(raw, std::move(conn));
    raw->start();
  }
}

void Worker::tick() {
  ticker_.expires_after(std::chrono::seconds(1));
  ticker_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    ++now_;
    std::vector<std::shared_ptr<Connection>> snapshot;
    snapshot.reserve(connections_.size());
    for (auto& [raw, conn] : connections_) snapshot.push_back(conn);
    for (auto& c : snapshot) c->check_timeouts(now_);
    if (!(shutting_down_ && connections_.empty())) tick();
  });
}

void Worker::remove(Connection* c) {
  auto it = connections_.find(c);
  if (it == connections_.end()) return;
  // Keep the object alive until the current handler returns.
  asio::post(loop_.io(), [conn = std::move(it->second)] {});
  connections_.erase(it);
  if (shutting_down_ && connections_.empty()) finish();
}

void Worker::begin_shutdown() {
  asio::post(loop_.io(), [this] {
    shutting_down_ = true;
    for (auto& a : acceptors_) {
      poller_.remove(a->acceptor.native_handle());
      asio::error_code ec;
      a->acceptor.close(ec);
    }
    std::vector<std::shared_ptr<Connection>> snapshot;
    for (auto& [raw, conn] : connections_) snapshot.push_back(conn);
    for (auto& c : snapshot) c->drain();
    if (connections_.empty()) finish();
  });
}

void Worker::finish() {
  ticker_.cancel();
  poller_.stop();
}

void Worker::force_close() {
  asio::post(loop_.io(), [this] {
    std::vector<std::shared_ptr<Connection>> snapshot;
    for (auto& [raw, conn] : connections_) snapshot.push_back(conn);
    for (auto& c : snapshot) c->close();
    finish();
  });
}

}  // namespace trident::net
