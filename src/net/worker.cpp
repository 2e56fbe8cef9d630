#include "net/worker.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <asio/post.hpp>
#include <system_error>
#include <utility>

#include "core/log.hpp"

namespace trident::net {

Worker::Worker(const ServerOptions& options, SessionFactory factory, std::size_t max_connections,
               std::atomic<unsigned>& busy_workers)
    : options_(options),
      factory_(std::move(factory)),
      max_connections_(max_connections),
      ticker_(loop_.io()),
      scratch_(64 * 1024, '\0'),
      busy_workers_(busy_workers) {}

constinit thread_local Worker* Worker::current_ = nullptr;

Worker::~Worker() {
  // Connections find their worker through the thread (Worker::current), and
  // a worker may be destroyed on another thread than the one it ran on.
  Worker* const previous = std::exchange(current_, this);
  while (Connection* c = connections_) {
    connections_ = c->next_;
    delete c;
  }
  current_ = previous;
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
  current_ = this;
  for (auto& a : acceptors_) {
    a->acceptor.non_blocking(true);
    if (!poller_.add(a->acceptor.native_handle(), a.get())) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(listener)");
    }
  }
  tick();
  loop_.set_source(&poller_);
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
    if (connection_count_ >= max_connections_) {
      ::close(fd);  // over the limit: refuse rather than degrade everyone
      continue;
    }
    auto* conn = new Connection(fd, a.h2_only);
    conn->next_ = connections_;
    if (connections_) connections_->prev_ = conn;
    connections_ = conn;
    ++connection_count_;
    conn->start(a.tls);
  }
}

void Worker::park_session(Connection* c, std::unique_ptr<Session> next) {
  for (auto& [owner, session] : parked_) {
    if (owner == c) {
      session = std::move(next);
      return;
    }
  }
  parked_.emplace_back(c, std::move(next));
}

std::unique_ptr<Session> Worker::unpark_session(Connection* c) {
  for (auto it = parked_.begin(); it != parked_.end(); ++it) {
    if (it->first == c) {
      std::unique_ptr<Session> s = std::move(it->second);
      parked_.erase(it);
      return s;
    }
  }
  return nullptr;
}

void Worker::tick() {
  ticker_.expires_after(std::chrono::seconds(1));
  ticker_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    ++now_;
    for (auto& c : snapshot()) c->check_timeouts(now_);
    if (shutting_down_) drain_step();
    if (!(shutting_down_ && connection_count_ == 0)) tick();
  });
}

void Worker::schedule_wake(Connection* c) {
  wakes_.push_back(c);
  if (wakes_posted_) return;
  wakes_posted_ = true;
  asio::post(loop_.io(), [this] {
    wakes_posted_ = false;
    waking_.swap(wakes_);
    for (Connection* due : waking_) due->on_wake_due();
    waking_.clear();
  });
}

std::vector<Connection*> Worker::snapshot() const {
  std::vector<Connection*> out;
  out.reserve(connection_count_);
  for (Connection* c = connections_; c; c = c->next_) out.push_back(c);
  return out;
}

void Worker::remove(Connection* c) {
  if (!c->prev_ && connections_ != c) return;  // not (or no longer) listed
  if (c->prev_) c->prev_->next_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  if (connections_ == c) connections_ = c->next_;
  c->prev_ = c->next_ = nullptr;
  --connection_count_;
  // Deleted on a later turn, once the current handler has returned (or with
  // the loop, if that turn never comes).
  asio::post(loop_.io(), [owned = std::unique_ptr<Connection>(c)] {});
  if (shutting_down_ && connection_count_ == 0) {
    if (counted_busy_) {
      counted_busy_ = false;
      busy_workers_.fetch_sub(1);
    }
    finish();
  }
}

void Worker::begin_shutdown() {
  asio::post(loop_.io(), [this] {
    shutting_down_ = true;
    for (auto& a : acceptors_) {
      poller_.remove(a->acceptor.native_handle());
      asio::error_code ec;
      a->acceptor.close(ec);
    }
    // Counted busy until the first drain step says otherwise, so that no
    // worker closes idle connections before every worker has looked.
    counted_busy_ = true;
    for (auto& c : snapshot()) c->drain();
    drain_step();
  });
}

void Worker::drain_step() {
  bool busy = false;
  for (Connection* c = connections_; c; c = c->next_) {
    if (c->busy()) {
      busy = true;
      break;
    }
  }
  if (busy != counted_busy_) {
    counted_busy_ = busy;
    if (busy) {
      busy_workers_.fetch_add(1);
    } else {
      busy_workers_.fetch_sub(1);
    }
  }
  if (busy_workers_.load() == 0) {
    for (auto& c : snapshot()) c->close_if_idle();
  }
  if (connection_count_ == 0) finish();
}

void Worker::finish() {
  ticker_.cancel();
  poller_.stop();
}

void Worker::force_close() {
  asio::post(loop_.io(), [this] {
    for (auto& c : snapshot()) c->close();
    finish();
  });
}

}  // namespace trident::net
