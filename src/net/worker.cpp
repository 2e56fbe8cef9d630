#include "net/worker.hpp"

#include <sys/socket.h>

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

Worker::~Worker() { connections_.clear(); }

void Worker::listen(const asio::ip::tcp::endpoint& endpoint, SSL_CTX* tls, bool h2_only) {
  auto a = std::make_unique<Acceptor>(Acceptor{asio::ip::tcp::acceptor(loop_.io()), tls, h2_only});
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
  for (auto& a : acceptors_) accept(*a);
  tick();
  loop_.run();
}

void Worker::accept(Acceptor& a) {
  a.acceptor.async_accept([this, &a](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (shutting_down_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (connections_.size() >= max_connections_) {
        asio::error_code ignored;
        socket.close(ignored);  // over the limit: refuse rather than degrade everyone
      } else {
        auto conn = std::make_shared<Connection>(*this, std::move(socket), a.tls, a.h2_only);
        Connection* raw = conn.get();
        connections_.emplace(raw, std::move(conn));
        raw->start();
      }
    } else {
      log::warn("accept: " + ec.message());
    }
    accept(a);
  });
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
