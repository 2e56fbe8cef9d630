#include "http/h1/session.hpp"

#include <array>
#include <charconv>
#include <cstring>

#include "core/ascii.hpp"
#include "core/free_list.hpp"
#include "core/loop.hpp"
#include "http/h2/native_session.hpp"
#include "http/h2/session.hpp"

namespace trident::http::h1 {
namespace {
// Request body bytes buffered for a handler that has not read them yet;
// past this the connection stops reading (TCP back-pressure to the client).
constexpr std::size_t kMaxBufferedBody = 1 << 20;

void append_number(std::string& out, std::uint64_t v, int base = 10) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, base);
  (void)ec;
  out.append(buf, end);
}

// The request's strings are reused per connection: clear() and append()
// copy into the capacity they have, where assign() takes the general
// replace path (aliasing checks, memmove), about twice the instructions.
// `v` must not point into `s` (here it points into the input).
void assign_view(std::string& s, std::string_view v) {
  s.clear();
  s.append(v);
}

bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {  // names are lower-case (Headers)
    case 7:
      return name == "upgrade";
    case 10:
      return name == "connection" || name == "keep-alive";
    case 16:
      return name == "proxy-connection";
    case 17:
      return name == "transfer-encoding";
    default:
      return false;
  }
}

// Collects a response head in a stack buffer and appends it to the output in
// one piece. Literal pieces are copied with a size known at compile time
// (a store or two, no call); a string append per piece costs far more.
class HeadWriter {
 public:
  explicit HeadWriter(std::string& out) : out_(out) {}
  ~HeadWriter() { out_.append(buf_, n_); }
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  void put(std::string_view s) {
    if (s.size() > sizeof buf_ - n_) return put_slow(s);
    copy(buf_ + n_, s.data(), s.size());
    n_ += s.size();
  }
  template <std::size_t N>
  void put(const char (&lit)[N]) {
    constexpr std::size_t len = N - 1;
    static_assert(len <= sizeof buf_);
    if (len > sizeof buf_ - n_) flush();
    std::memcpy(buf_ + n_, lit, len);
    n_ += len;
  }

 private:
  void flush() {
    out_.append(buf_, n_);
    n_ = 0;
  }
  // Header names and values are mostly short: up to 32 bytes are copied
  // with two overlapping fixed-size moves each, inline, not a memcpy call.
  static void copy(char* d, const char* s, std::size_t n) {
    if (n >= 16) {
      if (n > 32) return static_cast<void>(std::memcpy(d, s, n));
      copy_fixed<16>(d, s, n);
    } else if (n >= 8) {
      copy_fixed<8>(d, s, n);
    } else if (n >= 4) {
      copy_fixed<4>(d, s, n);
    } else if (n > 0) {
      d[0] = s[0];
      d[n / 2] = s[n / 2];
      d[n - 1] = s[n - 1];
    }
  }
  // n in [W, 2W]: the first W bytes and the last W bytes.
  template <std::size_t W>
  static void copy_fixed(char* d, const char* s, std::size_t n) {
    char head[W], tail[W];
    std::memcpy(head, s, W);
    std::memcpy(tail, s + n - W, W);
    std::memcpy(d, head, W);
    std::memcpy(d + n - W, tail, W);
  }
  [[gnu::noinline]] void put_slow(std::string_view s) {
    flush();
    if (s.size() > sizeof buf_) {
      out_.append(s);
    } else {
      std::memcpy(buf_, s.data(), s.size());
      n_ = s.size();
    }
  }

  std::string& out_;
  std::size_t n_ = 0;
  char buf_[1024];
};

std::string make_status_line(int status) {
  std::string line = "HTTP/1.1 ";
  append_number(line, static_cast<std::uint64_t>(status));
  line.push_back(' ');
  line.append(reason_phrase(status));
  line.append("\r\n");
  return line;
}

// "HTTP/1.1 <status> <reason>\r\n": built once for the standard range. A
// status outside 100..999 is a handler bug and goes out as 500.
std::string_view status_line(int status) {
  constexpr int kFirst = 100, kLast = 599;
  static const auto table = [] {
    std::array<std::string, kLast - kFirst + 1> t;
    for (int code = kFirst; code <= kLast; ++code) {
      t[static_cast<std::size_t>(code - kFirst)] = make_status_line(code);
    }
    return t;
  }();
  if (status >= kFirst && status <= kLast) return table[static_cast<std::size_t>(status - kFirst)];
  if (status < 100 || status > 999) status = 500;
  thread_local std::string other;
  other = make_status_line(status);
  return other;
}

// The fields every response head carries unless the handler set its own.
void put_server_and_date(HeadWriter& w, std::string_view server, bool has_server, bool has_date) {
  if (!has_server) {
    w.put("server: ");
    w.put(server);
    w.put("\r\n");
  }
  if (!has_date) {
    w.put("date: ");
    w.put(http_date());
    w.put("\r\n");
  }
}

// HTTP/1.1 keeps the connection by default; 1.0 only when told.
void put_connection(HeadWriter& w, bool keep_alive, bool http10, bool upgrade) {
  if (!keep_alive) {
    w.put("connection: close\r\n");
  } else if (upgrade) {
    w.put("connection: upgrade\r\n");
  } else if (http10) {
    w.put("connection: keep-alive\r\n");
  }
}

// No CR, LF or NUL: a handler's header must not be able to split the response.
bool safe_field(std::string_view s) {
  return !ascii::has_cr_lf_nul(s.data(), s.size());
}
}  // namespace

Session::Session(ServiceContext& service, net::SessionIo& io, const PeerInfo& peer)
    : service_(service), io_(io), peer_(peer), parser_(*this, service.h1) {}

Session::~Session() = default;

std::size_t Session::on_input(std::string_view data) {
  std::size_t total = 0;
  while (!close_after_flush_ && total < data.size()) {
    reap();
    if (!wants_input()) break;
    std::size_t n = parser_.feed(data.substr(total));
    total += n;
    if (parser_.error() != Error::none) {
      send_error(static_cast<int>(parser_.error()), parser_.error_reason());
      break;
    }
    if (n == 0) break;
  }
  // Bytes left over between requests are the start of the next head.
  saw_bytes_ = parser_.idle() && !exchange_ && total < data.size();
  pump();
  return total;
}

void Session::on_head(const RequestHead& head) {
  saw_bytes_ = false;
  BufferFreeList::take(out_);
  if (!service_.direct.empty() && answer_directly(head)) return;
  // Exchanges (and the buffers they keep) are recycled per worker thread:
  // no allocation per request, and nothing held by idle connections.
  exchange_ = FreeList<Exchange>::take();
  if (exchange_) {
    exchange_->bind(*this, &peer_);
  } else {
    exchange_ = std::make_unique<Exchange>(static_cast<StreamSink&>(*this), &peer_);
  }
  Request& req = exchange_->request;
  assign_view(req.method, head.method);
  req.version = head.version_minor == 0 ? Version::http10 : Version::http11;
  assign_view(req.scheme, peer_.tls ? "https" : "http");
  assign_view(req.authority, head.host);
  std::string_view target = head.target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    // absolute-form: the authority in the target wins over Host (RFC 9112 §3.2.2)
    std::string_view rest = target.substr(target.find("//") + 2);
    auto slash = rest.find('/');
    assign_view(req.authority, rest.substr(0, slash));
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  }
  assign_view(req.target, target);
  for (const HeaderField& f : head.headers) req.headers.add(f.name, f.value);

  keep_alive_ = head.keep_alive && !draining_;
  head_request_ = req.method == "HEAD";
  http10_ = head.version_minor == 0;
  request_complete_ = false;
  discard_body_ = false;
  chunked_out_ = false;
  body_allowed_ = true;

  bool has_body = head.chunked || head.content_length > 0;
  if (!(target.starts_with('/') || (target == "*" && req.method == "OPTIONS"))) {
    exchange_.reset();
    send_error(400, "invalid request-target");
    return;
  }
  if (head.upgrade && !peer_.tls && !has_body && iequals(head.upgrade_protocol, "h2c") &&
      req.headers.has("http2-settings")) {
    start_h2c_upgrade();
    return;
  }
  if (head.expect_continue && has_body && !http10_) out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  // Credit for a body the handler reads: reading resumes once it has taken
  // what was buffered. A request without a body never needs it.
  if (has_body) {
    exchange_->request.body().on_consumed = [this](std::size_t) {
      if (exchange_ && exchange_->request.body().buffered() == 0) io_.wake();
    };
  }
  exchange_->start(service_.handler);
}

bool Session::answer_directly(const RequestHead& head) {
  // A request with a body, or an upgrade, takes the general path, where the
  // same table answers through the handler (DirectResponses::wrap).
  if (head.chunked || head.content_length > 0 || head.upgrade) return false;
  const std::string_view target = head.target;
  const auto* e = service_.direct.find(head.method, target.substr(0, target.find('?')));
  if (!e) return false;
  http10_ = head.version_minor == 0;
  keep_alive_ = head.keep_alive && !draining_ && !service_.draining.load(std::memory_order_relaxed);
  {
    HeadWriter w(out_);
    w.put(status_line(e->response.status));
    put_server_and_date(w, service_.server_header, e->has_server, e->has_date);
    w.put(e->h1_fields);
    put_connection(w, keep_alive_, http10_, false);
    w.put("\r\n");
  }
  if (head.method != "HEAD") out_.append(e->response.body);
  if (!keep_alive_) close_after_flush_ = true;
  return true;
}

void Session::on_body(std::string_view data) {
  if (exchange_ && !discard_body_) exchange_->request.body().push(data);
}

void Session::on_trailers(const std::vector<HeaderField>&) {
  // Request trailers are validated by the parser; no handler consumes them yet.
}

void Session::on_message_complete() {
  request_complete_ = true;
  if (exchange_) exchange_->request.body().end();
}

void Session::start_h2c_upgrade() {
  Request& req = exchange_->request;
  const std::string settings(req.headers.get("http2-settings"));
  std::unique_ptr<net::Session> next;
  bool ok = false;
  if (service_.h2.engine == H2Options::Engine::native) {
    auto s = std::make_unique<h2::NativeSession>(service_, io_, peer_);
    ok = s->accept_upgrade(settings, std::move(req));
    next = std::move(s);
  } else {
    auto s = std::make_unique<h2::Session>(service_, io_, peer_);
    ok = s->accept_upgrade(settings, std::move(req));
    next = std::move(s);
  }
  if (!ok) {
    // RFC 9113 §3.2.1 makes HTTP2-Settings mandatory and well-formed.
    exchange_.reset();
    send_error(400, "invalid HTTP2-Settings");
    return;
  }
  out_.append("HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n");
  exchange_.reset();
  close_after_flush_ = false;
  switched_ = true;
  io_.switch_session(std::move(next));
}

void Session::send_head(const Response& res, bool end_stream) {
  int status = res.status;
  if (status == 101 && res.takeover) return switch_protocols(res);

  // One pass over the handler's fields for the ones that change what we add.
  bool has_length = false, has_server = false, has_date = false, has_upgrade = false;
  for (const auto& [name, value] : res.headers) {
    switch (name.size()) {  // names are lower-case (Headers)
      case 4:
        has_date = has_date || name == "date";
        break;
      case 6:
        has_server = has_server || name == "server";
        break;
      case 7:
        has_upgrade = has_upgrade || name == "upgrade";
        break;
      case 14:
        has_length = has_length || name == "content-length";
        break;
      default:
        break;
    }
  }
  body_allowed_ = !(head_request_ || status == 204 || status == 304 || status < 200);
  bool status_has_body = !(status == 204 || status == 304 || status < 200);
  if (!has_length && !end_stream && status_has_body) {
    if (http10_) {
      keep_alive_ = false;  // close-delimited body
    } else {
      chunked_out_ = true;
    }
  }
  if (draining_ || service_.draining.load(std::memory_order_relaxed)) keep_alive_ = false;

  HeadWriter w(out_);
  w.put(status_line(status));
  put_server_and_date(w, service_.server_header, has_server, has_date);
  // 426 Upgrade Required must say what to upgrade to (RFC 9110 §15.5.22).
  bool upgrade_required = status == 426 && has_upgrade;
  for (const auto& [name, value] : res.headers) {
    if (!safe_field(value) || !safe_field(name)) continue;
    if (is_hop_by_hop(name) && !(upgrade_required && name == "upgrade")) continue;
    w.put(name);
    w.put(": ");
    w.put(value);
    w.put("\r\n");
  }
  if (end_stream && !has_length && status_has_body && !head_request_) {
    w.put("content-length: 0\r\n");
  }
  if (chunked_out_) w.put("transfer-encoding: chunked\r\n");
  put_connection(w, keep_alive_, http10_, upgrade_required);
  w.put("\r\n");
}

void Session::switch_protocols(const Response& res) {
  out_.append("HTTP/1.1 101 Switching Protocols\r\n");
  // Upgrade and Connection are hop-by-hop, and exactly what a 101 must carry.
  for (const auto& [name, value] : res.headers) {
    if (!safe_field(value) || !safe_field(name)) continue;
    out_.append(name).append(": ").append(value).append("\r\n");
  }
  out_.append("\r\n");
  body_allowed_ = false;
  switched_ = true;
  io_.switch_session(res.takeover(io_, peer_));
}

void Session::send_data(std::string_view data, bool end_stream) {
  if (!body_allowed_) return;
  if (chunked_out_) {
    if (!data.empty()) {
      append_number(out_, data.size(), 16);
      out_.append("\r\n").append(data).append("\r\n");
    }
    if (end_stream) out_.append("0\r\n\r\n");
  } else {
    out_.append(data);
  }
}

void Session::send_trailers(const Headers& trailers) {
  if (!body_allowed_ || !chunked_out_) return;  // no way to carry trailers without chunking
  out_.append("0\r\n");
  for (const auto& [name, value] : trailers) {
    if (is_hop_by_hop(name) || !safe_field(value) || !safe_field(name)) continue;
    out_.append(name).append(": ").append(value).append("\r\n");
  }
  out_.append("\r\n");
}

void Session::abort_stream() {
  // HTTP/1.1 has no stream reset: a truncated response is signalled by closing.
  keep_alive_ = false;
  close_after_flush_ = true;
}

void Session::on_handler_done() {
  if (exchange_ && !request_complete_) {
    // The handler answered without reading the whole body: skip the rest of
    // it so the next pipelined request is still found.
    discard_body_ = true;
  }
  io_.wake();
}

void Session::reap() {
  if (!exchange_ || !request_complete_ || !exchange_->handler_done()) return;
  exchange_->reset();
  FreeList<Exchange>::give(std::move(exchange_));
  if (!keep_alive_ || draining_) close_after_flush_ = true;
}

void Session::pump() {
  while (exchange_ && exchange_->pump()) {
  }
  reap();
}

void Session::take_output(std::string& out) {
  if (out_.empty()) return;
  if (out.empty()) {
    out.swap(out_);
    BufferFreeList::give(out_);  // the (empty) buffer swapped in, if any
  } else {
    out.append(out_);
    out_.clear();
  }
  in_flight_ = out.size();
}

void Session::on_output_flushed() {
  in_flight_ = 0;
  pump();
}

void Session::on_wake() {
  pump();
}

bool Session::wants_input() const {
  if (close_after_flush_ || switched_) return false;
  if (!exchange_) return true;
  if (request_complete_) return false;  // pipelined requests wait for this response
  return discard_body_ || exchange_->request.body().buffered() < kMaxBufferedBody;
}

void Session::on_peer_closed() {
  if (exchange_) {
    exchange_->abort();
    pump();
  }
  close_after_flush_ = true;
}

void Session::start_drain() {
  // An idle connection stays open while other requests are still being
  // served (its next request is answered with `connection: close`, so a
  // health check sees 503); the worker closes it once the server is quiet.
  draining_ = true;
}

void Session::on_timeout(net::Phase phase) {
  if (phase == net::Phase::idle) {
    close_after_flush_ = true;
    return;
  }
  send_error(408, "request timeout");
}

void Session::release_idle_memory() {
  if (exchange_) return;
  parser_.release_memory();
}

net::Phase Session::phase() const {
  if (exchange_) return request_complete_ ? net::Phase::busy : net::Phase::reading_body;
  if (saw_bytes_ || !parser_.idle()) return net::Phase::reading_head;
  return net::Phase::idle;
}

void Session::send_error(int status, std::string_view reason) {
  bool response_started = false;
  if (exchange_) {
    response_started = exchange_->response.started();
    exchange_->abort();
  }
  keep_alive_ = false;
  close_after_flush_ = true;
  if (response_started) return;  // cannot answer twice: closing says it
  std::string body(reason_phrase(status));
  if (!reason.empty()) body.append(": ").append(reason);
  body.push_back('\n');
  out_.append("HTTP/1.1 ");
  append_number(out_, static_cast<std::uint64_t>(status));
  out_.push_back(' ');
  out_.append(reason_phrase(status));
  out_.append("\r\nserver: ").append(service_.server_header);
  out_.append("\r\ndate: ").append(http_date());
  out_.append("\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ");
  append_number(out_, body.size());
  out_.append("\r\nconnection: close\r\n\r\n").append(body);
  pump();
}

}  // namespace trident::http::h1
