#include "http/h2/session.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "core/log.hpp"
#include "core/loop.hpp"

namespace trident::http::h2 {
namespace {

// Output bytes produced per take_output call; the rest waits for the flush.
constexpr std::size_t kMaxOutputBatch = 512 * 1024;

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};  // nghttp2 copies at submit time
}

}  // namespace

// One request stream: its exchange, the response body queue nghttp2 pulls
// from, and the bookkeeping for header-size and body-size limits.
struct Session::Stream final : StreamSink {
  explicit Stream(Session& owner) : owner(owner), exchange(*this, &owner.peer_) {}

  // Ready to serve another stream id; keeps every buffer's capacity.
  void reset(std::int32_t new_id) {
    id = new_id;
    exchange.reset();
    exchange.request.version = Version::http2;
    header_bytes = 0;
    headers_too_large = false;
    body_bytes = 0;
    started = false;
    head_request = false;
    pending.clear();
    pending_offset = 0;
    eof = false;
    deferred = false;
    trailers.reset();
  }

  Session& owner;
  std::int32_t id = 0;
  std::size_t index = 0;  // position in Session::streams_.active
  Exchange exchange;
  std::size_t header_bytes = 0;
  bool headers_too_large = false;  // answered with 431; the rest of the block is dropped
  std::uint64_t body_bytes = 0;
  bool started = false;
  bool head_request = false;

  std::string pending;  // response body not yet taken by nghttp2
  std::size_t pending_offset = 0;
  bool eof = false;
  bool deferred = false;
  std::optional<Headers> trailers;
  std::vector<nghttp2_nv> nva;  // reused; nghttp2 copies names and values at submit

  std::size_t buffered() const override { return pending.size() - pending_offset; }

  void send_head(const Response& res, bool end_stream) override {
    char status[8];
    auto [end, ec] = std::to_chars(status, status + sizeof status, res.status);
    (void)ec;
    nva.clear();
    nva.push_back(make_nv(":status", std::string_view(status, end - status)));
    if (!res.headers.has("server")) nva.push_back(make_nv("server", owner.service_.server_header));
    if (!res.headers.has("date")) nva.push_back(make_nv("date", http_date()));
    for (const auto& [name, value] : res.headers) {
      if (!is_connection_specific(name)) nva.push_back(make_nv(name, value));
    }
    bool no_body = end_stream || head_request || res.status == 204 || res.status == 304;
    if (no_body) {
      eof = true;
      nghttp2_submit_response(owner.session_, id, nva.data(), nva.size(), nullptr);
    } else {
      nghttp2_data_provider provider{};
      provider.source.ptr = this;
      provider.read_callback = &Stream::read_body;
      nghttp2_submit_response(owner.session_, id, nva.data(), nva.size(), &provider);
    }
    owner.io_.wake();
  }

  void send_data(std::string_view data, bool end_stream) override {
    if (eof && pending.empty()) return;  // HEAD / 204 / 304: body suppressed
    pending.append(data);
    if (end_stream) eof = true;
    resume();
  }

  void send_trailers(const Headers& t) override {
    if (eof && pending.empty()) return;
    trailers = t;
    eof = true;
    resume();
  }

  void resume() {
    if (deferred) {
      deferred = false;
      nghttp2_session_resume_data(owner.session_, id);
    }
    owner.io_.wake();
  }

  void abort_stream() override {
    nghttp2_submit_rst_stream(owner.session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    owner.io_.wake();
  }

  void on_handler_done() override { owner.io_.wake(); }

  static ssize_t read_body(nghttp2_session* session, std::int32_t, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                           void*) {
    auto* s = static_cast<Stream*>(source->ptr);
    std::size_t avail = s->pending.size() - s->pending_offset;
    if (avail == 0 && !s->eof) {
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    std::size_t n = std::min(length, avail);
    std::memcpy(buf, s->pending.data() + s->pending_offset, n);
    s->pending_offset += n;
    if (s->pending_offset == s->pending.size()) {
      s->pending.clear();
      s->pending_offset = 0;
    }
    if (s->eof && s->pending.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (s->trailers && !s->trailers->empty()) {
        std::vector<nghttp2_nv> nva;
        for (const auto& [name, value] : *s->trailers) {
          if (!is_connection_specific(name)) nva.push_back(make_nv(name, value));
        }
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        // nghttp2 copies the trailer block here, before `trailers` can go away.
        nghttp2_submit_trailer(session, s->id, nva.data(), nva.size());
      }
    }
    return static_cast<ssize_t>(n);
  }
};

Session::Session(ServiceContext& service, net::SessionIo& io, const PeerInfo& peer)
    : service_(service), io_(io), peer_(peer) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, &Session::on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Session::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Session::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Session::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Session::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Session::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &Session::on_frame_send);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);  // credit is returned as handlers read
  nghttp2_option_set_max_settings(opt, 32);          // entries per SETTINGS frame
  nghttp2_option_set_max_continuations(opt, service.h2.max_continuations);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
  // The reset-rate limit is enforced below (RateCounter) so that the
  // threshold is ours and the GOAWAY says ENHANCE_YOUR_CALM.
  nghttp2_option_set_stream_reset_rate_limit(opt, UINT64_MAX, UINT64_MAX);

  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);

  const H2Options& o = service.h2;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_header_list_size},
      // RFC 8441: WebSocket (and other protocols) over extended CONNECT.
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (o.connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(o.connection_window_size));
  }
}

Session::~Session() {
  streams_.clear();
  nghttp2_session_del(session_);
}

bool Session::accept_upgrade(std::string_view http2_settings, Request&& req) {
  auto payload = base64url_decode(http2_settings);
  if (!payload) return false;
  bool head = req.method == "HEAD";
  int rv =
      nghttp2_session_upgrade2(session_, reinterpret_cast<const std::uint8_t*>(payload->data()),
                               payload->size(), head ? 1 : 0, nullptr);
  if (rv != 0) return false;
  Stream& s = open_stream(1);
  Request& r = s.exchange.request;
  r.method = std::move(req.method);
  r.target = std::move(req.target);
  r.authority = std::move(req.authority);
  r.scheme = "http";
  r.version = Version::http2;
  r.headers = std::move(req.headers);
  r.body().end();
  s.head_request = head;
  last_client_stream_ = 1;
  start_stream(s);
  return true;
}

Session::Stream* Session::find(std::int32_t id) {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

Session::Stream& Session::open_stream(std::int32_t id) {
  Stream& ref = streams_.open(*this, id);
  nghttp2_session_set_stream_user_data(session_, id, &ref);
  return ref;
}

void Session::close_stream(Stream& s) {
  streams_.close(s);
}

void Session::calm_down(const char* why) {
  if (failed_) return;
  log::warn(std::string("h2: ") + why + " from " + peer_.address() + ": GOAWAY ENHANCE_YOUR_CALM");
  // The reason goes in the GOAWAY's debug data (gRPC clients look for "too_many_pings").
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_client_stream_, NGHTTP2_ENHANCE_YOUR_CALM,
                        reinterpret_cast<const std::uint8_t*>(why), std::strlen(why));
  failed_ = true;
}

void Session::on_tick(std::uint32_t now) {
  const KeepaliveClock::Due due = clock_.tick(now, service_.h2, !failed_);
  if (due.ping_timeout) {
    log::debug("h2: keepalive PING unanswered by " + peer_.address() + ": closing");
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    failed_ = true;
    io_.wake();
    return;
  }
  if (due.send_ping) {
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    io_.wake();
  }
  if (due.drain) start_drain();  // graceful GOAWAY: streams in flight finish
  if (due.close) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    failed_ = true;
    io_.wake();
  }
}

int Session::on_begin_frame(nghttp2_session* session, const nghttp2_frame_hd* hd, void* user) {
  auto* self = static_cast<Session*>(user);
  // RFC 9113 §5.1.1: a HEADERS frame may only open a stream whose id exceeds
  // every id the client used before. nghttp2 silently ignores such a frame
  // (it takes the stream for one it already closed); it is a connection error.
  if (hd->type == NGHTTP2_HEADERS && (hd->stream_id & 1) &&
      hd->stream_id <= self->last_client_stream_ &&
      nghttp2_session_find_stream(session, hd->stream_id) == nullptr) {
    nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR);
    self->failed_ = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Session::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Session*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  std::int32_t id = frame->hd.stream_id;
  self->last_client_stream_ = std::max(self->last_client_stream_, id);
  self->open_stream(id);
  (void)session;
  return 0;
}

int Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user) {
  auto* self = static_cast<Session*>(user);
  Stream* s = self->find(frame->hd.stream_id);
  if (!s || self->failed_) return 0;
  // RFC 9113 §6.5.2 accounting: name + value + 32 per field, decoded.
  s->header_bytes += namelen + valuelen + 32;
  if (s->header_bytes > self->service_.h2.max_header_list_size) {
    // Keep decoding (the HPACK state must stay in sync) but store nothing:
    // memory stays bounded however often a table entry is referenced.
    s->headers_too_large = true;
    return 0;
  }
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // request trailers: validated by nghttp2, not surfaced yet
  }
  Request& req = s->exchange.request;
  if (!n.empty() && n.front() == ':') {
    if (n == ":method") {
      req.method.assign(v);
    } else if (n == ":path") {
      req.target.assign(v);
    } else if (n == ":authority") {
      req.authority.assign(v);
    } else if (n == ":scheme") {
      req.scheme.assign(v);
    } else if (n == ":protocol") {
      req.protocol.assign(v);
    }
    return 0;
  }
  if (n == "host" && req.authority.empty()) req.authority.assign(v);
  req.headers.add(n, v);
  return 0;
}

void Session::start_stream(Stream& s) {
  s.started = true;
  clock_.on_request();
  s.head_request = s.exchange.request.method == "HEAD";
  Body& body = s.exchange.request.body();
  std::int32_t id = s.id;
  body.on_consumed = [this, id](std::size_t n) {
    nghttp2_session_consume(session_, id, n);
    io_.wake();
  };
  s.exchange.start(service_.handler);
}

int Session::on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Session*>(user);
  const H2Options& o = self->service_.h2;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* s = self->find(frame->hd.stream_id);
      if (!s) return 0;
      if (s->headers_too_large && !s->started) {
        s->started = true;
        s->exchange.response.send_status(431);
        s->exchange.abort();
        return 0;  // on_frame_send resets the rest of the request once the 431 is out
      }
      if (!s->started && frame->headers.cat == NGHTTP2_HCAT_REQUEST) self->start_stream(*s);
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->exchange.request.body().end();
      return 0;
    }
    case NGHTTP2_DATA: {
      Stream* s = self->find(frame->hd.stream_id);
      if (s && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) s->exchange.request.body().end();
      return 0;
    }
    case NGHTTP2_RST_STREAM:
      if (self->resets_.hit() > o.max_resets_per_second) self->calm_down("rapid reset");
      return 0;
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
          self->settings_.hit() > o.max_settings_per_second) {
        self->calm_down("SETTINGS flood");
      }
      return 0;
    case NGHTTP2_PING:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        self->clock_.on_ping_ack();
        return 0;
      }
      if (self->clock_.ping_abuse(o)) {
        self->calm_down("too_many_pings");
        return 0;
      }
      if (self->pings_.hit() > o.max_pings_per_second) {
        self->calm_down("PING flood");
      }
      return 0;
    default:
      (void)session;
      return 0;
  }
}

int Session::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t len, void* user) {
  auto* self = static_cast<Session*>(user);
  Stream* s = self->find(stream_id);
  if (!s || s->exchange.handler_done()) {
    // Nobody will read it: give the flow-control credit back at once.
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  s->body_bytes += len;
  if (s->body_bytes > self->service_.h1.max_body) {
    nghttp2_session_consume(session, stream_id, len);
    if (!s->exchange.response.started()) s->exchange.response.send_status(413);
    s->exchange.abort();
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    return 0;
  }
  s->exchange.request.body().push({reinterpret_cast<const char*>(data), len});
  return 0;
}

int Session::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  // RFC 9113 §8.1: the response is complete but the request is not (an early
  // error, a handler that did not need the whole body): ask the client to
  // stop sending with RST_STREAM NO_ERROR.
  bool data_or_headers = frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS;
  if (data_or_headers && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int Session::on_stream_close(nghttp2_session* session, std::int32_t stream_id, std::uint32_t,
                             void* user) {
  auto* self = static_cast<Session*>(user);
  Stream* s = self->find(stream_id);
  if (!s) return 0;
  // Unread body bytes still hold connection-level window: release them.
  std::size_t unread = s->exchange.request.body().buffered();
  if (unread) nghttp2_session_consume_connection(session, unread);
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  self->close_stream(*s);
  return 0;
}

std::size_t Session::on_input(std::string_view data) {
  if (failed_) return data.size();
  clock_.on_receive();
  ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  if (rv < 0) {
    log::debug(std::string("h2: ") + nghttp2_strerror(static_cast<int>(rv)));
    // A connection error: say so with GOAWAY (nghttp2 may have queued one
    // already; a second submit is harmless), flush it, then close.
    if (rv != NGHTTP2_ERR_FLOODED) {
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    }
    failed_ = true;
    return data.size();
  }
  pump();
  return static_cast<std::size_t>(rv);
}

void Session::pump() {
  bool again = true;
  while (again) {
    again = false;
    for (std::size_t i = 0; i < streams_.active.size(); ++i)
      again |= streams_.active[i]->exchange.pump();
  }
}

void Session::take_output(std::string& out) {
  while (out.size() < kMaxOutputBatch) {
    const std::uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      failed_ = true;
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
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
  return !failed_ && nghttp2_session_want_read(session_);
}

bool Session::should_close() const {
  if (failed_) return !nghttp2_session_want_write(session_);
  return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
}

void Session::on_peer_closed() {
  for (auto& s : streams_.active) s->exchange.abort();
  pump();
  failed_ = true;
}

void Session::start_drain() {
  if (draining_) return;
  draining_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_client_stream_, NGHTTP2_NO_ERROR,
                        reinterpret_cast<const std::uint8_t*>("shutting down"), 13);
  io_.wake();
}

void Session::on_timeout(net::Phase) {
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  failed_ = true;
}

void Session::release_idle_memory() {
  streams_.spare.clear();
}

void Session::on_peer_eof() {
  // HTTP/2 has no request-level half-close: after EOF no stream can get the
  // END_STREAM, WINDOW_UPDATE or RST_STREAM it may be waiting for.
  on_peer_closed();
}

net::Phase Session::phase() const {
  if (failed_) return net::Phase::idle;
  return streams_.active.empty() ? net::Phase::idle : net::Phase::busy;
}

}  // namespace trident::http::h2
