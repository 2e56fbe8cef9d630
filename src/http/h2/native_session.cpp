#include "http/h2/native_session.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "core/ascii.hpp"
#include "core/log.hpp"
#include "core/loop.hpp"

namespace trident::http::h2 {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::size_t kFrameHeader = 9;
constexpr std::uint32_t kMaxFrameSize = 16384;  // we never announce more
constexpr std::int64_t kMaxWindow = 0x7FFFFFFF;
// Output bytes produced per take_output call; the rest waits for the flush.
constexpr std::size_t kMaxOutputBatch = 512 * 1024;
// Output (frames queued plus taken but not yet written) above which no more
// input is read.
constexpr std::size_t kMaxQueuedOutput = 1024 * 1024;
// Request bytes still taken (checked, dropped) after a complete response,
// before the client is asked to stop with RST_STREAM NO_ERROR.
constexpr std::uint64_t kDiscardAllowance = 64 * 1024;

namespace frame {
constexpr std::uint8_t data = 0x0, headers = 0x1, priority = 0x2, rst_stream = 0x3, settings = 0x4,
                       push_promise = 0x5, ping = 0x6, goaway = 0x7, window_update = 0x8,
                       continuation = 0x9;
}
namespace flag {
constexpr std::uint8_t end_stream = 0x1, ack = 0x1, end_headers = 0x4, padded = 0x8,
                       priority = 0x20;
}
namespace error {
constexpr std::uint32_t no_error = 0x0, protocol = 0x1, internal = 0x2, flow_control = 0x3,
                        stream_closed = 0x5, frame_size = 0x6, refused_stream = 0x7, cancel = 0x8,
                        compression = 0x9, enhance_your_calm = 0xb;
}
namespace setting {
constexpr std::uint16_t header_table_size = 0x1, enable_push = 0x2, max_concurrent_streams = 0x3,
                        initial_window_size = 0x4, max_frame_size = 0x5, max_header_list_size = 0x6,
                        enable_connect_protocol = 0x8;
}

std::uint32_t get32(const char* p) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[3]));
}

void put32(std::string& out, std::uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out.append(b, 4);
}

bool is_tchar_lower(unsigned char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= '0' && c <= '9') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 9113 §8.2.1: no NUL, CR or LF anywhere, no leading or trailing
// whitespace in a value.
bool valid_value(std::string_view v) {
  if (v.empty()) return true;
  if (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t') return false;
  return !ascii::has_cr_lf_nul(v.data(), v.size());
}

}  // namespace

// One request stream: its exchange, the response body waiting for window,
// and both directions' flow-control state.
struct NativeSession::Stream final : StreamSink {
  explicit Stream(NativeSession& owner) : owner(owner), exchange(*this, &owner.peer_) {}

  void reset(std::uint32_t new_id) {
    id = new_id;
    exchange.reset();
    exchange.request.version = Version::http2;
    remote_closed = local_closed = head_sent = eof = started = head_request = reset_by_us = false;
    send_window = owner.peer_initial_window_;
    recv_window = owner.service_.h2.initial_window_size;
    unacked = 0;
    done_at = 0;
    discarded = 0;
    body_bytes = 0;
    content_length = -1;
    pending.clear();
    pending_off = 0;
    trailers.reset();
  }

  NativeSession& owner;
  std::uint32_t id = 0;
  std::size_t index = 0;  // in NativeSession::streams_.active
  Exchange exchange;
  bool remote_closed = false;  // END_STREAM received
  bool local_closed = false;   // END_STREAM sent
  bool head_sent = false;
  bool eof = false;  // the response body is complete (pending may still hold some)
  bool started = false;
  bool head_request = false;
  bool reset_by_us = false;
  std::uint32_t done_at = 0;    // tick when the response completed with the request open
  std::uint64_t discarded = 0;  // request bytes received after that
  std::int64_t send_window = 65535;
  std::int64_t recv_window = 65535;
  std::uint32_t unacked = 0;
  std::uint64_t body_bytes = 0;
  std::int64_t content_length = -1;
  std::string pending;
  std::size_t pending_off = 0;
  std::optional<Headers> trailers;

  std::size_t buffered() const override { return pending.size() - pending_off; }

  bool has_output() const { return !local_closed && head_sent && (buffered() > 0 || eof); }

  void send_head(const Response& res, bool end_stream) override {
    if (local_closed) return;
    char status[8];
    auto [end, ec] = std::to_chars(status, status + sizeof status, res.status);
    (void)ec;
    std::string& block = owner.block_out_;
    block.clear();
    hpack::Encoder& enc = owner.encoder_;
    enc.begin_block(block);
    enc.add(block, ":status", std::string_view(status, static_cast<std::size_t>(end - status)));
    bool has_server = false, has_date = false;
    for (const auto& [name, value] : res.headers) {
      if (name == "server") has_server = true;
      if (name == "date") has_date = true;
    }
    if (!has_server) enc.add(block, "server", owner.service_.server_header);
    if (!has_date) enc.add(block, "date", http_date());
    for (const auto& [name, value] : res.headers) {
      if (is_connection_specific(name)) continue;
      enc.add(block, name, value,
              name == "set-cookie" ? hpack::Indexing::never : hpack::Indexing::automatic);
    }
    const bool no_body = end_stream || head_request || res.status == 204 || res.status == 304;
    head_sent = true;
    if (no_body) {
      eof = true;
      local_closed = true;
    }
    owner.write_headers(id, block, no_body);
    owner.io_.wake();
  }

  void send_data(std::string_view data, bool end_stream) override {
    if (local_closed) return;  // HEAD / 204 / 304: body suppressed; or reset
    pending.append(data);
    if (end_stream) eof = true;
    owner.io_.wake();
  }

  void send_trailers(const Headers& t) override {
    if (local_closed) return;
    trailers = t;
    eof = true;
    owner.io_.wake();
  }

  void abort_stream() override { owner.reset_stream(id, error::internal); }

  void on_handler_done() override { owner.io_.wake(); }
};

NativeSession::NativeSession(ServiceContext& service, net::SessionIo& io, const PeerInfo& peer)
    : service_(service), io_(io), peer_(peer), decoder_(4096), encoder_(4096) {
  const H2Options& o = service.h2;
  // Our SETTINGS, then the connection window raised past the initial 64 KiB.
  out_.reserve(64);
  const std::pair<std::uint16_t, std::uint32_t> settings[] = {
      {setting::max_concurrent_streams, o.max_concurrent_streams},
      {setting::initial_window_size, o.initial_window_size},
      {setting::max_header_list_size, o.max_header_list_size},
      {setting::enable_connect_protocol, 1},  // RFC 8441
  };
  write_frame_header(static_cast<std::uint32_t>(std::size(settings) * 6), frame::settings, 0, 0);
  for (const auto& [id, value] : settings) {
    out_.push_back(static_cast<char>(id >> 8));
    out_.push_back(static_cast<char>(id));
    put32(out_, value);
  }
  if (o.connection_window_size > 65535) {
    write_window_update(0, o.connection_window_size - 65535);
    conn_recv_window_ = o.connection_window_size;
  }
}

NativeSession::~NativeSession() {
  streams_.clear();
}

bool NativeSession::accept_upgrade(std::string_view http2_settings, Request&& req) {
  auto payload = base64url_decode(http2_settings);
  if (!payload || payload->size() % 6 != 0 || !apply_settings(*payload)) return false;
  Stream& s = open_stream(1);
  last_client_stream_ = 1;
  Request& r = s.exchange.request;
  r.method = std::move(req.method);
  r.target = std::move(req.target);
  r.authority = std::move(req.authority);
  r.scheme = "http";
  r.headers = std::move(req.headers);
  r.body().end();  // an upgrade request carries no body we accept
  s.remote_closed = true;
  start_stream(s);
  return true;
}

// ------------------------------------------------------------------ input

std::size_t NativeSession::on_input(std::string_view data) {
  if (failed_) return data.size();
  clock_.on_receive();
  std::size_t used = 0;
  if (!preface_done_) {
    const std::size_t n = std::min(data.size(), kPreface.size());
    if (data.substr(0, n) != kPreface.substr(0, n)) {
      fail(error::protocol, "invalid connection preface");
      return data.size();
    }
    if (n < kPreface.size()) return 0;  // wait for the rest
    preface_done_ = true;
    used = kPreface.size();
  }
  while (!failed_) {
    std::string_view rest = data.substr(used);
    if (rest.size() < kFrameHeader) break;
    FrameHeader h;
    h.length = (static_cast<std::uint32_t>(static_cast<unsigned char>(rest[0])) << 16) |
               (static_cast<std::uint32_t>(static_cast<unsigned char>(rest[1])) << 8) |
               static_cast<unsigned char>(rest[2]);
    h.type = static_cast<std::uint8_t>(rest[3]);
    h.flags = static_cast<std::uint8_t>(rest[4]);
    h.stream_id = get32(rest.data() + 5) & 0x7FFFFFFF;
    if (h.length > kMaxFrameSize) {
      fail(error::frame_size, "frame larger than SETTINGS_MAX_FRAME_SIZE");
      return data.size();
    }
    if (rest.size() < kFrameHeader + h.length) break;
    used += kFrameHeader + h.length;
    if (!on_frame(h, rest.substr(kFrameHeader, h.length))) return data.size();
  }
  pump();
  reap();
  return failed_ ? data.size() : used;
}

bool NativeSession::on_frame(const FrameHeader& h, std::string_view payload) {
  if (!settings_seen_) {
    if (h.type != frame::settings || (h.flags & flag::ack)) {
      return fail(error::protocol, "the client preface must start with SETTINGS");
    }
    settings_seen_ = true;
  }
  if (block_stream_ != 0 && h.type != frame::continuation) {
    return fail(error::protocol, "header block interrupted");
  }
  switch (h.type) {
    case frame::data:
      return on_data(h, payload);
    case frame::headers:
      return on_headers(h, payload);
    case frame::priority:
      return on_priority(h, payload);
    case frame::rst_stream:
      return on_rst_stream(h, payload);
    case frame::settings:
      return on_settings(h, payload);
    case frame::push_promise:
      return fail(error::protocol, "PUSH_PROMISE from a client");
    case frame::ping:
      return on_ping(h, payload);
    case frame::goaway:
      return on_goaway(h, payload);
    case frame::window_update:
      return on_window_update(h, payload);
    case frame::continuation:
      return on_continuation(h, payload);
    default:
      return true;  // unknown frame types are ignored (RFC 9113 §4.1)
  }
}

// Strips padding (and the priority fields of HEADERS); false if malformed.
static bool strip_padding(std::uint8_t flags, std::string_view& payload) {
  if (!(flags & flag::padded)) return true;
  if (payload.empty()) return false;
  const auto pad = static_cast<unsigned char>(payload[0]);
  if (pad >= payload.size()) return false;
  payload = payload.substr(1, payload.size() - 1 - pad);
  return true;
}

bool NativeSession::on_data(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id == 0) return fail(error::protocol, "DATA on stream 0");
  if (h.stream_id > last_client_stream_) return fail(error::protocol, "DATA on an idle stream");
  const std::uint32_t len = h.length;
  // Connection window first: it counts every DATA frame, padding included.
  conn_recv_window_ -= len;
  if (conn_recv_window_ < 0) return fail(error::flow_control, "connection window exceeded");
  std::string_view body = payload;
  if (!strip_padding(h.flags, body)) return fail(error::protocol, "invalid padding");
  Stream* s = find(h.stream_id);
  if (!s) {
    return_credit(nullptr, len);
    if (closed_how(h.stream_id) == Closed::reset_by_us) return true;  // was in flight
    return fail(error::stream_closed, "DATA on a closed stream");
  }
  if (s->remote_closed) {
    return_credit(nullptr, len);
    reset_stream(h.stream_id, error::stream_closed);
    return true;
  }
  s->recv_window -= len;
  if (s->recv_window < 0) {
    return_credit(nullptr, len);
    reset_stream(h.stream_id, error::flow_control);
    return true;
  }
  // Padding is never read by anyone: its credit goes back now.
  if (len > body.size()) return_credit(s, len - body.size());
  s->body_bytes += body.size();
  if (s->content_length >= 0 && s->body_bytes > static_cast<std::uint64_t>(s->content_length)) {
    return_credit(nullptr, body.size());
    reset_stream(h.stream_id, error::protocol);  // malformed: more than content-length
    return true;
  }
  if (s->local_closed) {
    // The response is complete: the rest of the request is only checked
    // (content-length) and dropped. Past a small allowance the client is
    // asked to stop (RFC 9113 §8.1).
    return_credit(s, body.size());
    s->discarded += body.size();
    if (s->discarded > kDiscardAllowance && !(h.flags & flag::end_stream)) {
      reset_stream(h.stream_id, error::no_error);
      return true;
    }
  } else if (s->exchange.handler_done() || !s->started) {
    return_credit(s, body.size());
  } else if (s->body_bytes > service_.h1.max_body) {
    return_credit(s, body.size());
    if (!s->exchange.response.started()) s->exchange.response.send_status(413);
    s->exchange.abort();
    reset_stream(h.stream_id, error::cancel);
    return true;
  } else if (!body.empty()) {
    s->exchange.request.body().push(body);
  }
  if (h.flags & flag::end_stream) {
    if (s->content_length >= 0 && s->body_bytes != static_cast<std::uint64_t>(s->content_length)) {
      reset_stream(h.stream_id, error::protocol);  // malformed: less than content-length
      return true;
    }
    s->remote_closed = true;
    s->exchange.request.body().end();
    maybe_close(*s);
  }
  return true;
}

bool NativeSession::on_headers(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id == 0) return fail(error::protocol, "HEADERS on stream 0");
  if ((h.stream_id & 1) == 0) return fail(error::protocol, "even stream id from a client");
  if (!strip_padding(h.flags, payload)) return fail(error::protocol, "invalid padding");
  block_self_dependent_ = false;
  if (h.flags & flag::priority) {
    if (payload.size() < 5) return fail(error::frame_size, "HEADERS priority fields truncated");
    // A stream cannot depend on itself (RFC 9113 §5.3.1): a stream error
    // once the block is decoded (HPACK must stay in step).
    block_self_dependent_ = (get32(payload.data()) & 0x7FFFFFFF) == h.stream_id;
    payload.remove_prefix(5);
  }
  block_.assign(payload);
  block_end_stream_ = (h.flags & flag::end_stream) != 0;
  continuations_ = 0;
  if (!(h.flags & flag::end_headers)) {
    block_stream_ = h.stream_id;
    return true;
  }
  return on_header_block(h.stream_id, block_end_stream_);
}

bool NativeSession::on_continuation(const FrameHeader& h, std::string_view payload) {
  if (block_stream_ == 0 || h.stream_id != block_stream_) {
    return fail(error::protocol, "CONTINUATION without a header block");
  }
  if (++continuations_ > service_.h2.max_continuations ||
      block_.size() + payload.size() > 2 * std::size_t{service_.h2.max_header_list_size}) {
    return fail(error::enhance_your_calm, "header block too long");
  }
  block_.append(payload);
  if (!(h.flags & flag::end_headers)) return true;
  const std::uint32_t id = block_stream_;
  block_stream_ = 0;
  return on_header_block(id, block_end_stream_);
}

bool NativeSession::on_header_block(std::uint32_t id, bool end_stream) {
  auto discard = [&] {
    return decoder_.decode(block_, SIZE_MAX, [](auto, auto) {}) !=
           hpack::DecodeResult::compression_error;
  };
  Stream* existing = find(id);
  const bool opening = id > last_client_stream_;
  if (block_self_dependent_) {
    if (!discard()) return fail(error::compression, "HPACK decoding failed");
    if (opening) last_client_stream_ = id;
    reset_stream(id, error::protocol);
    return true;
  }
  if (!opening && !existing) {
    if (!discard()) return fail(error::compression, "HPACK decoding failed");
    switch (closed_how(id)) {
      case Closed::reset_by_us:
        return true;  // in flight when we reset it: ignored (RFC 9113 §5.1)
      case Closed::normally:
        return fail(error::stream_closed, "HEADERS on a closed stream");
      case Closed::unknown:
        break;
    }
    return fail(error::protocol, "stream id lower than one already used");
  }
  if (!opening) {
    // Trailers: only with END_STREAM, no pseudo-header fields.
    bool malformed = !end_stream;
    hpack::DecodeResult r = decoder_.decode(block_, service_.h2.max_header_list_size,
                                            [&](std::string_view n, std::string_view v) {
                                              if (n.empty() || n[0] == ':' || !valid_value(v))
                                                malformed = true;
                                            });
    if (r == hpack::DecodeResult::compression_error)
      return fail(error::compression, "HPACK decoding failed");
    if (existing->remote_closed) {
      reset_stream(id, error::stream_closed);
      return true;
    }
    if (malformed) {
      reset_stream(id, error::protocol);
      return true;
    }
    if (existing->content_length >= 0 &&
        existing->body_bytes != static_cast<std::uint64_t>(existing->content_length)) {
      reset_stream(id, error::protocol);
      return true;
    }
    existing->remote_closed = true;
    existing->exchange.request.body().end();
    maybe_close(*existing);
    return true;
  }

  last_client_stream_ = id;
  const bool refuse =
      draining_ || peer_goaway_ || streams_.active.size() >= service_.h2.max_concurrent_streams;
  if (refuse) {
    if (!discard()) return fail(error::compression, "HPACK decoding failed");
    reset_stream(id, error::refused_stream);
    return true;
  }

  Stream& s = open_stream(id);
  Request& req = s.exchange.request;
  bool malformed = false;
  bool regular_seen = false;
  unsigned seen = 0;  // pseudo-header fields, one bit each
  enum : unsigned { kMethod = 1, kScheme = 2, kPath = 4, kAuthority = 8, kProtocol = 16 };
  hpack::DecodeResult r = decoder_.decode(
      block_, service_.h2.max_header_list_size, [&](std::string_view n, std::string_view v) {
        if (malformed) return;
        if (n.empty() || !valid_value(v)) {
          malformed = true;
          return;
        }
        if (n[0] == ':') {
          unsigned bit = 0;
          std::string* dst = nullptr;
          if (n == ":method") {
            bit = kMethod, dst = &req.method;
          } else if (n == ":scheme") {
            bit = kScheme, dst = &req.scheme;
          } else if (n == ":path") {
            bit = kPath, dst = &req.target;
          } else if (n == ":authority") {
            bit = kAuthority, dst = &req.authority;
          } else if (n == ":protocol") {
            bit = kProtocol, dst = &req.protocol;
          }
          if (!dst || regular_seen || (seen & bit)) {
            malformed = true;
            return;
          }
          seen |= bit;
          dst->assign(v);
          return;
        }
        regular_seen = true;
        for (unsigned char c : n) {
          if (!is_tchar_lower(c)) {
            malformed = true;
            return;
          }
        }
        if (is_connection_specific(n) || (n == "te" && v != "trailers")) {
          malformed = true;
          return;
        }
        if (n == "content-length") {
          std::uint64_t cl = 0;
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), cl);
          if (ec != std::errc() || p != v.data() + v.size() || v.empty() ||
              (s.content_length >= 0 && static_cast<std::uint64_t>(s.content_length) != cl)) {
            malformed = true;
            return;
          }
          s.content_length = static_cast<std::int64_t>(cl);
        }
        if (n == "host" && req.authority.empty()) req.authority.assign(v);
        req.headers.add(n, v);
      });
  if (r == hpack::DecodeResult::compression_error) {
    return fail(error::compression, "HPACK decoding failed");
  }
  if (!malformed) {
    const bool connect = req.method == "CONNECT";
    if (!(seen & kMethod)) {
      malformed = true;
    } else if (seen & kProtocol) {
      // Extended CONNECT (RFC 8441 §4): :scheme, :path and :authority as well.
      malformed =
          !connect || (seen & (kScheme | kPath | kAuthority)) != (kScheme | kPath | kAuthority);
    } else if (connect) {
      malformed = !(seen & kAuthority) || (seen & (kScheme | kPath));
    } else {
      malformed = (seen & (kScheme | kPath)) != (kScheme | kPath) || req.target.empty();
    }
  }
  if (malformed && r != hpack::DecodeResult::too_large) {
    reset_stream(id, error::protocol);
    return true;
  }
  if (end_stream) {
    s.remote_closed = true;
    if (s.content_length > 0) {
      reset_stream(id, error::protocol);
      return true;
    }
  }
  if (r == hpack::DecodeResult::too_large) {
    // The decoded list passed the limit: 431, then the stream is reset.
    s.started = true;
    s.exchange.response.send_status(431);
    s.exchange.abort();
    maybe_close(s);
    return true;
  }
  if (end_stream) req.body().end();
  start_stream(s);
  return true;
}

bool NativeSession::on_priority(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id == 0) return fail(error::protocol, "PRIORITY on stream 0");
  if (payload.size() != 5) {
    reset_stream(h.stream_id, error::frame_size);
    return true;
  }
  if ((get32(payload.data()) & 0x7FFFFFFF) == h.stream_id) {
    reset_stream(h.stream_id, error::protocol);  // depends on itself
  }
  return true;  // priorities are not used for scheduling
}

bool NativeSession::on_rst_stream(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id == 0) return fail(error::protocol, "RST_STREAM on stream 0");
  if (payload.size() != 4) return fail(error::frame_size, "RST_STREAM length is not 4");
  if (h.stream_id > last_client_stream_)
    return fail(error::protocol, "RST_STREAM on an idle stream");
  if (resets_.hit() > service_.h2.max_resets_per_second) {
    calm_down("rapid reset");
    return false;
  }
  if (Stream* s = find(h.stream_id)) {
    s->exchange.abort();
    s->local_closed = s->remote_closed = true;
    reap_pending_ = true;
  } else {
    // Closed already (we reset it): the client has now seen that, so what
    // it sends on the stream from here on is an error, not data in flight.
    for (auto& z : streams_.active) {
      if (z->id == h.stream_id) z->reset_by_us = false;
    }
    for (ClosedStream& c : recent_closed_) {
      if (c.id == h.stream_id) c.reset_by_us = false;
    }
  }
  return true;
}

bool NativeSession::apply_settings(std::string_view payload) {
  for (std::size_t i = 0; i + 6 <= payload.size(); i += 6) {
    const auto id = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[i]) << 8) |
                                               static_cast<unsigned char>(payload[i + 1]));
    const std::uint32_t v = get32(payload.data() + i + 2);
    switch (id) {
      case setting::header_table_size:
        encoder_.set_peer_table_size(v);
        break;
      case setting::enable_push:
        if (v > 1) return fail(error::protocol, "SETTINGS_ENABLE_PUSH not 0 or 1");
        break;
      case setting::initial_window_size: {
        if (v > kMaxWindow)
          return fail(error::flow_control, "SETTINGS_INITIAL_WINDOW_SIZE too large");
        const std::int64_t delta = static_cast<std::int64_t>(v) - peer_initial_window_;
        peer_initial_window_ = v;
        for (auto& s : streams_.active) {
          s->send_window += delta;
          if (s->send_window > kMaxWindow)
            return fail(error::flow_control, "stream window overflow");
        }
        break;
      }
      case setting::max_frame_size:
        if (v < 16384 || v > 16777215)
          return fail(error::protocol, "invalid SETTINGS_MAX_FRAME_SIZE");
        peer_max_frame_ = v;
        break;
      case setting::enable_connect_protocol:
        if (v > 1) return fail(error::protocol, "invalid SETTINGS_ENABLE_CONNECT_PROTOCOL");
        break;
      default:
        break;  // max_concurrent_streams, max_header_list_size, unknown: nothing to do
    }
  }
  return true;
}

bool NativeSession::on_settings(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id != 0) return fail(error::protocol, "SETTINGS on a stream");
  if (h.flags & flag::ack) {
    if (!payload.empty()) return fail(error::frame_size, "SETTINGS ACK with a payload");
    return true;
  }
  if (payload.size() % 6 != 0)
    return fail(error::frame_size, "SETTINGS length not a multiple of 6");
  if (settings_.hit() > service_.h2.max_settings_per_second) {
    calm_down("SETTINGS flood");
    return false;
  }
  if (!apply_settings(payload)) return false;
  write_frame_header(0, frame::settings, flag::ack, 0);
  io_.wake();
  return true;
}

bool NativeSession::on_ping(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id != 0) return fail(error::protocol, "PING on a stream");
  if (payload.size() != 8) return fail(error::frame_size, "PING length is not 8");
  if (h.flags & flag::ack) {
    clock_.on_ping_ack();
    return true;
  }
  const H2Options& o = service_.h2;
  if (clock_.ping_abuse(o)) {
    calm_down("too_many_pings");
    return false;
  }
  if (pings_.hit() > o.max_pings_per_second) {
    calm_down("PING flood");
    return false;
  }
  write_frame_header(8, frame::ping, flag::ack, 0);
  out_.append(payload);
  io_.wake();
  return true;
}

bool NativeSession::on_goaway(const FrameHeader& h, std::string_view payload) {
  if (h.stream_id != 0) return fail(error::protocol, "GOAWAY on a stream");
  if (payload.size() < 8) return fail(error::frame_size, "GOAWAY shorter than 8 bytes");
  peer_goaway_ = true;  // streams in flight finish; no new ones
  io_.wake();
  return true;
}

bool NativeSession::on_window_update(const FrameHeader& h, std::string_view payload) {
  if (payload.size() != 4) return fail(error::frame_size, "WINDOW_UPDATE length is not 4");
  const std::uint32_t inc = get32(payload.data()) & 0x7FFFFFFF;
  if (h.stream_id == 0) {
    if (inc == 0) return fail(error::protocol, "WINDOW_UPDATE of 0");
    conn_send_window_ += inc;
    if (conn_send_window_ > kMaxWindow)
      return fail(error::flow_control, "connection window overflow");
    io_.wake();
    return true;
  }
  if (h.stream_id > last_client_stream_)
    return fail(error::protocol, "WINDOW_UPDATE on an idle stream");
  if (inc == 0) {  // a stream error even on a closed stream
    reset_stream(h.stream_id, error::protocol);
    return true;
  }
  Stream* s = find(h.stream_id);
  if (!s) return true;  // closed: may still be in flight
  s->send_window += inc;
  if (s->send_window > kMaxWindow) {
    reset_stream(h.stream_id, error::flow_control);
    return true;
  }
  io_.wake();
  return true;
}

// ---------------------------------------------------------------- streams

NativeSession::Stream* NativeSession::find(std::uint32_t id) {
  for (auto& s : streams_.active) {
    if (s->id == id) return s->local_closed && s->remote_closed ? nullptr : s.get();
  }
  return nullptr;
}

NativeSession::Closed NativeSession::closed_how(std::uint32_t id) const {
  for (const auto& s : streams_.active) {  // closed, not reaped yet
    if (s->id == id) return s->reset_by_us ? Closed::reset_by_us : Closed::normally;
  }
  for (const ClosedStream& c : recent_closed_) {
    if (c.id == id) return c.reset_by_us ? Closed::reset_by_us : Closed::normally;
  }
  return Closed::unknown;
}

void NativeSession::reap() {
  if (!reap_pending_) return;
  reap_pending_ = false;
  for (std::size_t i = streams_.active.size(); i-- > 0;) {
    Stream& s = *streams_.active[i];
    if (s.local_closed && s.remote_closed) close_stream(s);
  }
}

NativeSession::Stream& NativeSession::open_stream(std::uint32_t id) {
  return streams_.open(*this, id);
}

void NativeSession::close_stream(Stream& s) {
  recent_closed_[recent_next_] = ClosedStream{s.id, s.reset_by_us};
  recent_next_ = (recent_next_ + 1) % recent_closed_.size();
  // Unread body bytes still hold connection window: release them.
  const std::size_t unread = s.exchange.request.body().buffered();
  if (unread) return_credit(nullptr, unread);
  streams_.close(s);
}

void NativeSession::start_stream(Stream& s) {
  s.started = true;
  clock_.on_request();
  s.head_request = s.exchange.request.method == "HEAD";
  const std::uint32_t id = s.id;
  s.exchange.request.body().on_consumed = [this, id](std::size_t n) {
    return_credit(find(id), n);
    io_.wake();
  };
  s.exchange.start(service_.handler);
}

void NativeSession::maybe_close(Stream& s) {
  if (!s.local_closed) return;
  if (!s.remote_closed) {
    // The response is complete, the request is not. Data already on its way
    // is still checked (a content-length mismatch is a stream error); the
    // next tick, or too much of it, ends the stream with RST_STREAM
    // NO_ERROR (RFC 9113 §8.1).
    if (s.done_at == 0) s.done_at = clock_.now() + 1;
    return;
  }
  reap_pending_ = true;
}

void NativeSession::reset_stream(std::uint32_t id, std::uint32_t code) {
  write_frame_header(4, frame::rst_stream, 0, id);
  put32(out_, code);
  for (auto& s : streams_.active) {
    if (s->id != id) continue;
    s->exchange.abort();
    s->reset_by_us = !(s->local_closed && s->remote_closed) || s->reset_by_us;
    s->local_closed = s->remote_closed = true;
    reap_pending_ = true;
  }
  io_.wake();
}

void NativeSession::return_credit(Stream* s, std::size_t n) {
  if (n == 0 || failed_) return;
  // WINDOW_UPDATEs go out once half a window is owed, not per read.
  conn_unacked_ += static_cast<std::uint32_t>(n);
  if (conn_unacked_ >= service_.h2.connection_window_size / 2) {
    write_window_update(0, conn_unacked_);
    conn_recv_window_ += conn_unacked_;
    conn_unacked_ = 0;
  }
  if (s && !s->remote_closed) {
    s->unacked += static_cast<std::uint32_t>(n);
    if (s->unacked >= service_.h2.initial_window_size / 2) {
      write_window_update(s->id, s->unacked);
      s->recv_window += s->unacked;
      s->unacked = 0;
    }
  }
}

void NativeSession::pump() {
  bool again = true;
  while (again) {
    again = false;
    for (std::size_t i = 0; i < streams_.active.size(); ++i)
      again |= streams_.active[i]->exchange.pump();
  }
}

// ----------------------------------------------------------------- output

void NativeSession::write_frame_header(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                                       std::uint32_t id) {
  char h[kFrameHeader] = {
      static_cast<char>(length >> 16), static_cast<char>(length >> 8), static_cast<char>(length),
      static_cast<char>(type),         static_cast<char>(flags),       static_cast<char>(id >> 24),
      static_cast<char>(id >> 16),     static_cast<char>(id >> 8),     static_cast<char>(id)};
  out_.append(h, kFrameHeader);
}

void NativeSession::write_headers(std::uint32_t id, std::string_view block, bool end_stream) {
  // HEADERS, then CONTINUATIONs if the block is larger than a frame.
  std::size_t first = std::min<std::size_t>(block.size(), peer_max_frame_);
  std::uint8_t flags = end_stream ? flag::end_stream : 0;
  if (first == block.size()) flags |= flag::end_headers;
  write_frame_header(static_cast<std::uint32_t>(first), frame::headers, flags, id);
  out_.append(block.substr(0, first));
  for (std::size_t off = first; off < block.size();) {
    const std::size_t n = std::min<std::size_t>(block.size() - off, peer_max_frame_);
    write_frame_header(static_cast<std::uint32_t>(n), frame::continuation,
                       off + n == block.size() ? flag::end_headers : 0, id);
    out_.append(block.substr(off, n));
    off += n;
  }
  if (end_stream) {
    for (auto& s : streams_.active) {
      if (s->id == id) maybe_close(*s);
    }
  }
}

void NativeSession::write_window_update(std::uint32_t id, std::uint32_t increment) {
  write_frame_header(4, frame::window_update, 0, id);
  put32(out_, increment);
}

void NativeSession::write_data(std::string& out) {
  // Round robin: each stream with output sends up to one frame per pass.
  bool progress = true;
  while (progress && out.size() < kMaxOutputBatch) {
    progress = false;
    for (std::size_t k = 0; k < streams_.active.size() && out.size() < kMaxOutputBatch; ++k) {
      const std::size_t i = (next_data_ + k) % streams_.active.size();
      Stream& s = *streams_.active[i];
      if (!s.has_output()) continue;
      const std::size_t avail = s.buffered();
      if (avail > 0) {
        const std::int64_t window = std::min(s.send_window, conn_send_window_);
        if (window <= 0) continue;
        const std::size_t n = std::min<std::size_t>(
            {avail, static_cast<std::size_t>(window), std::size_t{peer_max_frame_}});
        const bool last = s.eof && n == avail && !s.trailers;
        std::swap(out_, out);  // frames go straight to `out`
        write_frame_header(static_cast<std::uint32_t>(n), frame::data, last ? flag::end_stream : 0,
                           s.id);
        out_.append(s.pending, s.pending_off, n);
        std::swap(out_, out);
        s.pending_off += n;
        s.send_window -= static_cast<std::int64_t>(n);
        conn_send_window_ -= static_cast<std::int64_t>(n);
        if (s.pending_off == s.pending.size()) {
          s.pending.clear();
          s.pending_off = 0;
        }
        progress = true;
        if (last) {
          s.local_closed = true;
          next_data_ = i;
          maybe_close(s);  // may remove s from streams_.active
          break;
        }
        continue;
      }
      // All data sent and the body is complete: trailers, or an empty
      // END_STREAM DATA frame.
      std::swap(out_, out);
      if (s.trailers && !s.trailers->empty()) {
        block_out_.clear();
        encoder_.begin_block(block_out_);
        for (const auto& [name, value] : *s.trailers) {
          if (!is_connection_specific(name)) encoder_.add(block_out_, name, value);
        }
        s.local_closed = true;
        write_headers(s.id, block_out_, true);  // closes the stream
      } else {
        write_frame_header(0, frame::data, flag::end_stream, s.id);
        s.local_closed = true;
        maybe_close(s);
      }
      std::swap(out_, out);
      progress = true;
      next_data_ = i;
      break;
    }
  }
}

bool NativeSession::fail(std::uint32_t code, std::string_view why) {
  if (failed_) return false;
  log::debug("h2: " + std::string(why) + " from " + peer_.address());
  write_frame_header(static_cast<std::uint32_t>(8 + why.size()), frame::goaway, 0, 0);
  put32(out_, last_client_stream_);
  put32(out_, code);
  out_.append(why);
  failed_ = true;
  io_.wake();
  return false;
}

void NativeSession::calm_down(const char* why) {
  if (failed_) return;
  log::warn(std::string("h2: ") + why + " from " + peer_.address() + ": GOAWAY ENHANCE_YOUR_CALM");
  // The reason goes in the GOAWAY's debug data (gRPC clients look for "too_many_pings").
  fail(error::enhance_your_calm, why);
}

void NativeSession::take_output(std::string& out) {
  reap();
  if (!out_.empty()) {
    if (out.empty()) {
      out.swap(out_);
    } else {
      out.append(out_);
      out_.clear();
    }
  }
  if (!failed_) write_data(out);
  // Frames queued while writing DATA (RST_STREAM NO_ERROR, trailers) follow it.
  if (!out_.empty()) {
    out.append(out_);
    out_.clear();
  }
  reap();
  in_flight_ = out.size();
}

void NativeSession::on_output_flushed() {
  in_flight_ = 0;
  pump();
  reap();
}

void NativeSession::on_wake() {
  pump();
  reap();
}

bool NativeSession::wants_input() const {
  // A client that sends requests but does not read the answers is held back
  // by TCP once this much output waits, instead of growing our buffers.
  return !failed_ && out_.size() + in_flight_ < kMaxQueuedOutput;
}

bool NativeSession::should_close() const {
  if (failed_) return out_.empty();
  if ((draining_ || peer_goaway_) && streams_.active.empty()) return out_.empty();
  return false;
}

void NativeSession::on_peer_closed() {
  for (auto& s : streams_.active) s->exchange.abort();
  pump();
  failed_ = true;
}

void NativeSession::on_peer_eof() {
  // HTTP/2 has no request-level half-close: after EOF no stream can get the
  // END_STREAM, WINDOW_UPDATE or RST_STREAM it may be waiting for.
  on_peer_closed();
}

void NativeSession::start_drain() {
  if (draining_ || failed_) return;
  draining_ = true;
  constexpr std::string_view why = "shutting down";
  write_frame_header(static_cast<std::uint32_t>(8 + why.size()), frame::goaway, 0, 0);
  put32(out_, last_client_stream_);
  put32(out_, error::no_error);
  out_.append(why);
  io_.wake();
}

void NativeSession::on_timeout(net::Phase) {
  fail(error::no_error, "idle timeout");
}

net::Phase NativeSession::phase() const {
  if (failed_) return net::Phase::idle;
  return streams_.active.empty() ? net::Phase::idle : net::Phase::busy;
}

void NativeSession::release_idle_memory() {
  streams_.spare.clear();
  std::string().swap(block_);
  std::string().swap(block_out_);
}

void NativeSession::on_tick(std::uint32_t now) {
  const KeepaliveClock::Due due = clock_.tick(now, service_.h2, !failed_);
  if (failed_) return;
  for (std::size_t i = streams_.active.size(); i-- > 0;) {
    Stream& s = *streams_.active[i];
    if (s.local_closed && !s.remote_closed && s.done_at != 0 && now > s.done_at) {
      reset_stream(s.id, error::no_error);
    }
  }
  if (due.ping_timeout) {
    log::debug("h2: keepalive PING unanswered by " + peer_.address() + ": closing");
    fail(error::no_error, "keepalive timeout");
    return;
  }
  if (due.send_ping) {
    write_frame_header(8, frame::ping, 0, 0);
    out_.append(8, '\0');
    io_.wake();
  }
  if (due.drain) start_drain();  // graceful GOAWAY: streams in flight finish
  if (due.close) fail(error::no_error, "max connection age");
}

}  // namespace trident::http::h2
