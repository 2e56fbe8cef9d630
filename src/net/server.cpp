#include "net/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/log.hpp"
#include "net/worker.hpp"

namespace trident::net {

asio::ip::tcp::endpoint parse_endpoint(const std::string& text) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("bad address '" + text + "' (want [v6addr]:port)");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("bad address '" + text + "' (want host:port)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  asio::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("bad address '" + text + "': " + ec.message());
  unsigned long p = 0;
  try {
    p = std::stoul(port);
  } catch (...) {
    p = 70000;
  }
  if (p > 65535) throw std::invalid_argument("bad port in '" + text + "'");
  return {addr, static_cast<unsigned short>(p)};
}

// Binds (and listens on) a probe for every listener, all held at once, and
// throws if one cannot: a port another process holds, or two listeners of
// ours on the same address. SO_REUSEPORT would let either share the port
// silently, splitting connections between them.
void ensure_ports_free(const std::vector<ListenerOptions>& listeners) {
  asio::io_context io;
  std::vector<asio::ip::tcp::acceptor> probes;
  probes.reserve(listeners.size());
  for (const auto& l : listeners) {
    const asio::ip::tcp::endpoint endpoint = parse_endpoint(l.address);
    if (endpoint.port() == 0) continue;
    auto& probe = probes.emplace_back(io);
    asio::error_code ec;
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (!ec) probe.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::system_error(ec, "cannot listen on " + endpoint.address().to_string() + ":" +
                                      std::to_string(endpoint.port()));
    }
  }
}

Server::Server(ServerOptions options, SessionFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

Server::~Server() = default;

void Server::run() {
  bool any_tls = false;
  for (const auto& l : options_.listeners) any_tls |= l.tls;
  if (any_tls) tls_ = std::make_unique<TlsContext>(options_.tls);

  ensure_ports_free(options_.listeners);

  unsigned n =
      options_.workers ? options_.workers : std::max(1u, std::thread::hardware_concurrency());
  std::size_t per_worker = (options_.max_connections + n - 1) / n;
  std::vector<std::unique_ptr<Worker>> workers;
  // Each worker counts itself busy at the start of a drain (begin_shutdown).
  std::atomic<unsigned> busy_workers{n};
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<Worker>(options_, factory_, per_worker, busy_workers));
    for (const auto& l : options_.listeners) {
      workers.back()->listen(parse_endpoint(l.address), l.tls ? tls_->native() : nullptr,
                             l.h2_only);
    }
  }

  // Signals are taken by this thread only (sigwait); workers never see them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  if (on_ready) on_ready();

  int sig = 0;
  sigwait(&set, &sig);
  log::info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
            ": draining (deadline " + std::to_string(options_.drain_timeout.count()) + "s)");
  if (on_drain) on_drain();
  for (auto& w : workers) w->begin_shutdown();

  // Wait for the workers to finish, a deadline, or a second signal.
  std::atomic<bool> drained{false};
  std::thread deadline([&] {
    timespec ts{static_cast<time_t>(options_.drain_timeout.count()), 0};
    siginfo_t info;
    int r = sigtimedwait(&set, &info, &ts);
    if (drained.load()) return;
    if (r > 0) {
      log::warn("second signal: closing all connections now");
    } else {
      log::warn("drain deadline reached: closing remaining connections");
    }
    for (auto& w : workers) w->force_close();
  });
  for (auto& t : threads) t.join();
  drained.store(true);
  // Wake the deadline thread if the drain finished first.
  pthread_kill(deadline.native_handle(), SIGTERM);
  deadline.join();
  log::info("shutdown complete");
}

}  // namespace trident::net
