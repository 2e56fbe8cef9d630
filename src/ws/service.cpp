#include "ws/service.hpp"

#include "http/headers.hpp"
#include "ws/h1_session.hpp"
#include "ws/handshake.hpp"
#include "ws/hub.hpp"

namespace trident::ws {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each element of a comma-separated list in every field
// named `name`; stops early when f returns true.
template <class F>
bool any_list_item(const http::Headers& headers, std::string_view name, F&& f) {
  for (const auto& [n, v] : headers) {
    if (n != name) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty() && f(item)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool has_token(const http::Headers& headers, std::string_view name, std::string_view token) {
  return any_list_item(headers, name,
                       [&](std::string_view item) { return http::iequals(item, token); });
}

std::string joined(const http::Headers& headers, std::string_view name) {
  std::string all;
  for (const auto& [n, v] : headers) {
    if (n != name) continue;
    if (!all.empty()) all += ", ";
    all.append(v);
  }
  return all;
}

// "host:port" without the scheme's default port, lower-case.
std::string normalize_authority(std::string_view authority, std::string_view scheme) {
  std::string a = http::to_lower(authority);
  std::string_view default_port = scheme == "https" || scheme == "wss" ? ":443" : ":80";
  if (a.ends_with(default_port)) a.resize(a.size() - default_port.size());
  return a;
}

// A bridge from a Socket to an HTTP/2 stream (RFC 8441): output becomes
// DATA frames on the response, the request body carries the input.
struct H2Transport final : Socket::Transport {
  http::Request& req;
  http::Response& res;
  Socket* socket = nullptr;
  bool ended = false;

  H2Transport(http::Request& q, http::Response& r) : req(q), res(r) {}

  void wake() override { flush(); }
  void switch_session(std::unique_ptr<net::Session>) override {}  // not on a stream
  const net::PeerInfo& peer() const override { return req.peer(); }

  void flush() {
    if (!socket || ended) return;
    std::string out;
    for (;;) {
      std::size_t before = out.size();
      socket->take_output(out);
      if (auto shared = socket->take_shared()) out.append(*shared);
      if (out.size() == before) break;
    }
    if (!out.empty() && !res.aborted()) res.write_now(out);
    // The stream's own buffer is the backlog now.
    socket->on_output_flushed();
    socket->set_in_flight(res.buffered());
    if (socket->finished() || socket->must_abort()) {
      ended = true;
      res.finish();
      req.body().abort();  // wakes the reading loop
    }
  }
};

}  // namespace

Service::Service(Settings settings) : settings_(std::move(settings)) {
  Hub::instance().set_compress_min(settings_.compress_min);
}

void Service::add_route(http::Router& router, std::string_view path, Endpoint endpoint) {
  routes_.push_back(Route{std::move(endpoint), settings_, &per_ip_});
  const Route* route = &routes_.back();
  http::Handler h = [this, route](http::Request& req, http::Response& res) {
    return handshake(*route, req, res);
  };
  router.add("GET", path, h);
  router.add("CONNECT", path, h);
}

bool Service::origin_allowed(std::string_view origin, std::string_view authority) const {
  for (const auto& o : settings_.allowed_origins) {
    if (o == "*" || http::iequals(o, origin)) return true;
  }
  std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return false;  // "null" and other opaque origins
  std::string_view scheme = origin.substr(0, sep);
  std::string_view host = origin.substr(sep + 3);
  if (host.empty() || host.find('/') != std::string_view::npos) return false;
  return !authority.empty() &&
         normalize_authority(host, scheme) == normalize_authority(authority, scheme);
}

Service::Verdict Service::check(const http::Request& req, const Endpoint& endpoint) const {
  Verdict v;
  auto refuse = [&](int status, std::string_view message) {
    v.status = status;
    v.message = message;
    return v;
  };
  bool h2 = req.version == http::Version::http2;
  if (h2) {
    if (req.method != "CONNECT")
      return refuse(405, "a WebSocket over HTTP/2 needs extended CONNECT");
    if (req.protocol != "websocket") return refuse(400, ":protocol must be websocket");
  } else {
    if (req.method != "GET") return refuse(405, "a WebSocket handshake is a GET");
    if (!has_token(req.headers, "upgrade", "websocket") ||
        !has_token(req.headers, "connection", "upgrade")) {
      return refuse(426, "this is a WebSocket endpoint: send Upgrade: websocket");
    }
  }
  if (req.headers.get("sec-websocket-version") != "13") {
    return refuse(426, "unsupported WebSocket version: 13 is required");
  }
  if (!h2 && !valid_client_key(req.headers.get("sec-websocket-key"))) {
    return refuse(400, "missing or invalid Sec-WebSocket-Key");
  }
  if (auto origin = req.headers.find("origin")) {
    if (!origin_allowed(*origin, req.authority)) {
      count(Counter::rejected_origin);
      return refuse(403, "origin not allowed");
    }
  }
  if (!settings_.token.empty()) {
    const std::string& token = settings_.token;
    std::string_view auth = req.headers.get("authorization");
    bool ok = auth.size() > 7 && http::iequals(auth.substr(0, 7), "bearer ") &&
              trim(auth.substr(7)) == token;
    ok = ok || any_list_item(req.headers, "sec-websocket-protocol", [&](std::string_view p) {
           return p.starts_with("bearer.") && p.substr(7) == token;
         });
    if (!ok) {
      count(Counter::rejected_token);
      return refuse(401, "a valid bearer token is required");
    }
  }
  any_list_item(req.headers, "sec-websocket-protocol", [&](std::string_view p) {
    if (p.starts_with("bearer.")) return false;
    for (const auto& s : endpoint.subprotocols) {
      if (s == p) {
        v.subprotocol = s;
        return true;
      }
    }
    return false;
  });
  if (settings_.deflate)
    v.deflate = negotiate_deflate(joined(req.headers, "sec-websocket-extensions"));
  return v;
}

std::string IpTable::key(const net::PeerInfo& peer) {
  const std::size_t n = peer.family == 4 ? 4 : peer.family == 6 ? 16 : 0;
  return std::string(reinterpret_cast<const char*>(peer.ip.data()), n);
}

IpTable::Lease IpTable::acquire(const net::PeerInfo& peer, unsigned limit) {
  std::lock_guard lock(mutex_);
  auto it = open_.try_emplace(key(peer), Count{this, 0}).first;
  if (it->second.open >= limit) {
    if (it->second.open == 0) open_.erase(it);
    return {};
  }
  ++it->second.open;
  return Lease(&*it);
}

void IpTable::release(Entry& entry) {
  std::lock_guard lock(mutex_);
  release_locked(entry);
}

void IpTable::release(const net::PeerInfo& peer) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(key(peer));
  if (it != open_.end()) release_locked(*it);
}

void IpTable::release_locked(Entry& entry) {
  if (--entry.second.open == 0) open_.erase(open_.find(entry.first));
}

Task<void> Service::handshake(const Route& route, http::Request& req, http::Response& res) {
  const Endpoint& endpoint = route.endpoint;
  Verdict v = check(req, endpoint);
  IpTable::Lease lease;
  if (v.status == 0) {
    lease = per_ip_.acquire(req.peer(), settings_.max_per_ip);
    if (!lease) {
      count(Counter::rejected_per_ip);
      v.status = 429;
      v.message = "too many WebSockets from this address";
    }
  }
  if (v.status != 0) {
    if (v.status == 405) {
      // What opens a WebSocket on this protocol: RFC 6455 GET, or RFC 8441 CONNECT.
      res.headers.set("allow", req.version == http::Version::http2 ? "CONNECT" : "GET");
    }
    if (v.status == 426) {
      res.headers.set("sec-websocket-version", "13");
      res.headers.set("upgrade", "websocket");
    }
    if (v.status == 401) res.headers.set("www-authenticate", "Bearer");
    res.send_status(v.status, v.message);
    co_return;
  }
  if (!v.subprotocol.empty()) res.headers.set("sec-websocket-protocol", v.subprotocol);
  if (v.deflate) res.headers.set("sec-websocket-extensions", deflate_response(*v.deflate));
  if (req.version == http::Version::http2) {
    co_await run_over_h2(route, std::move(v), std::move(lease), req, res);
    co_return;
  }
  res.status = 101;
  res.headers.set("upgrade", "websocket");
  res.headers.set("connection", "Upgrade");
  res.headers.set("sec-websocket-accept", accept_key(req.headers.get("sec-websocket-key")));
  std::any user;
  if (endpoint.init) user = endpoint.init(req.target);
  // std::function wants a copyable callable; the lease is move-only.
  auto boxed = std::make_shared<IpTable::Lease>(std::move(lease));
  res.takeover = [&route, v = std::move(v), boxed, user = std::move(user)](
                     net::SessionIo& io,
                     const net::PeerInfo&) mutable -> std::unique_ptr<net::Session> {
    auto session =
        std::make_unique<H1Session>(io, route, v.subprotocol, v.deflate, std::move(*boxed));
    session->socket().user = std::move(user);
    session->socket().start();
    return session;
  };
  res.finish();
}

Task<void> Service::run_over_h2(const Route& route, Verdict v, IpTable::Lease lease,
                                http::Request& req, http::Response& res) {
  H2Transport transport(req, res);
  Socket socket(route, transport, v.subprotocol, v.deflate);
  transport.socket = &socket;
  SocketTicker ticker(socket);  // a stream has no clock of its own
  if (route.endpoint.init) socket.user = route.endpoint.init(req.target);
  res.status = 200;
  res.write_now({});  // the response head: the tunnel is open
  socket.start();
  transport.flush();
  try {
    while (!transport.ended) {
      if (!socket.wants_input()) {
        co_await res.drained();
        transport.flush();
        continue;
      }
      auto chunk = co_await req.body().read();
      if (!chunk) break;  // the client ended its side of the stream
      socket.feed(std::span<char>(chunk->data(), chunk->size()));
      transport.flush();
    }
  } catch (const http::StreamAborted&) {
  }
  transport.socket = nullptr;
  socket.on_transport_closed();
  if (!res.finished()) res.finish();
  (void)lease;  // held for the life of the tunnel
}

}  // namespace trident::ws
