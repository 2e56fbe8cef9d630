#include "rpc/grpc/channel.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <charconv>
#include <coroutine>
#include <deque>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/loop.hpp"
#include "http/h2/client_session.hpp"
#include "net/client_tls.hpp"
#include "net/outbound.hpp"
#include "rpc/grpc/metadata.hpp"
#include "rpc/grpc/timeout.hpp"

namespace trident::rpc::grpc {

std::string_view state_name(Channel::State s) {
  switch (s) {
    case Channel::State::idle:
      return "IDLE";
    case Channel::State::connecting:
      return "CONNECTING";
    case Channel::State::ready:
      return "READY";
    case Channel::State::transient_failure:
      return "TRANSIENT_FAILURE";
    case Channel::State::shutdown:
      return "SHUTDOWN";
  }
  return "?";
}

namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

// Request body bytes a call may have queued before write() suspends, and the
// level it must drain to before the writer resumes (as http::Response).
constexpr std::size_t kHighWatermark = 256 * 1024;
constexpr std::size_t kLowWatermark = 64 * 1024;

constexpr std::string_view kAcceptEncoding = "identity,deflate,gzip";
// How long a connection of a destroyed channel may take to say GOAWAY and close.
constexpr std::chrono::milliseconds kShutdownGrace{1000};

// One suspended coroutine; forgotten if its frame is destroyed while waiting.
class Slot {
 public:
  auto wait() {
    struct Awaiter {
      Slot& slot;
      std::coroutine_handle<> handle{};
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) noexcept {
        handle = h;
        slot.waiting_ = h;
      }
      void await_resume() noexcept { handle = {}; }
      ~Awaiter() {
        if (handle && slot.waiting_ == handle) slot.waiting_ = {};
      }
    };
    return Awaiter{*this};
  }
  std::coroutine_handle<> take() { return std::exchange(waiting_, {}); }

 private:
  std::coroutine_handle<> waiting_;
};

// Headers that carry the protocol, never application metadata.
bool is_protocol_header(std::string_view name) {
  return name.starts_with(':') || name.starts_with("grpc-") || name == "content-type" ||
         name == "te" || name == "content-length" || name == "connection" ||
         name == "transfer-encoding" || name == "accept-encoding" || name == "content-encoding";
}

void collect_metadata(const http::Headers& headers, Metadata& out) {
  for (const auto& [name, value] : headers) {
    if (is_protocol_header(name)) continue;
    if (is_binary_key(name)) {
      auto values = decode_binary_values(value);
      if (!values) continue;  // undecodable: dropped rather than handed over garbled
      for (auto& v : *values) out.emplace_back(std::string(name), std::move(v));
    } else {
      out.emplace_back(std::string(name), std::string(value));
    }
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

class Call;

class ChannelCore : public std::enable_shared_from_this<ChannelCore> {
 public:
  ChannelCore(net::HostPort target, std::string authority, ChannelOptions options,
              std::shared_ptr<const net::ClientTlsContext> tls, Loop* loop)
      : target_(std::move(target)),
        authority_(std::move(authority)),
        options_(std::move(options)),
        tls_(std::move(tls)),
        loop_(loop),
        backoff_(options_.backoff.initial),
        rng_(std::random_device{}()) {}

  ~ChannelCore() {
    // No call is left (each holds the core): say goodbye with GOAWAY.
    if (connector_) connector_->cancel();
    if (conn_) conn_->shutdown(kShutdownGrace);
    for (auto& weak : retired_) {
      if (auto c = weak.lock()) c->shutdown(kShutdownGrace);
    }
  }

  asio::io_context& io() {
    if (!io_) {
      Loop* loop = loop_ ? loop_ : Loop::current();
      if (!loop) throw std::logic_error("grpc::Channel used outside an event loop");
      io_ = &loop->io();
    }
    return *io_;
  }

  const ChannelOptions& options() const { return options_; }
  const std::string& authority() const { return authority_; }
  std::string_view scheme() const { return tls_ ? "https" : "http"; }
  Channel::State state() const { return state_; }
  const std::string& last_error() const { return last_error_; }

  void enqueue(Call* call);
  void forget(Call* call) {
    auto it = std::find(pending_.begin(), pending_.end(), call);
    if (it != pending_.end()) pending_.erase(it);
  }

  void connect() {
    io();
    if (state_ == Channel::State::idle) start_attempt();
  }

 private:
  void start_attempt();
  void on_connect_result(std::shared_ptr<net::OutboundConnection> conn, std::string error);
  void drop_transport(net::OutboundConnection* conn);
  void attach_pending();
  void fail_pending(const Status& status);
  std::chrono::milliseconds next_backoff();
  void arm_keepalive();
  void on_keepalive();

  net::HostPort target_;
  std::string authority_;
  ChannelOptions options_;
  std::shared_ptr<const net::ClientTlsContext> tls_;
  Loop* loop_;
  asio::io_context* io_ = nullptr;
  Channel::State state_ = Channel::State::idle;
  std::shared_ptr<net::OutboundConnection> conn_;
  http::h2::ClientSession* session_ = nullptr;                   // conn_'s session
  std::vector<std::weak_ptr<net::OutboundConnection>> retired_;  // still finishing calls
  std::shared_ptr<net::Connector> connector_;
  std::unique_ptr<asio::steady_timer> backoff_timer_;
  std::unique_ptr<asio::steady_timer> keepalive_timer_;
  Clock::time_point ping_sent_{};
  std::chrono::milliseconds backoff_;
  std::deque<Call*> pending_;
  std::string last_error_;
  std::mt19937 rng_;
};

class Call final : public grpc::ClientCall,
                   private http::h2::ClientStreamListener,
                   private MessageListener {
 public:
  Call(std::shared_ptr<ChannelCore> core, std::string_view path, const CallOptions& options)
      : core_(std::move(core)),
        path_(path),
        decoder_(*this, core_->options().max_receive_message_size) {
    const ChannelOptions& o = core_->options();
    if (o.default_compression != Encoding::identity) {
      send_encoding_ = o.default_compression;
    } else if (options.compress) {
      send_encoding_ = Encoding::gzip;
    }
    // Beyond a year a deadline means nothing, and now() + it could overflow.
    if (options.timeout && *options.timeout < std::chrono::hours(24 * 366)) {
      deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(*options.timeout);
    }
    for (const auto& [key, value] : options.metadata) {
      std::string k = lower(key);
      if (!is_valid_key(k) || is_reserved_key(k)) {
        status_ = Status{StatusCode::internal, "invalid metadata key \"" + key + "\"", {}};
        return;
      }
      if (is_binary_key(k)) {
        metadata_.emplace_back(std::move(k), base64_encode(value, false));
      } else if (is_valid_ascii_value(value)) {
        metadata_.emplace_back(std::move(k), value);
      } else {
        status_ =
            Status{StatusCode::internal, "invalid value for metadata key \"" + key + "\"", {}};
        return;
      }
    }
  }

  ~Call() override {
    *alive_ = false;
    if (queued_) core_->forget(this);
    if (timer_) timer_->cancel();
    if (stream_) stream_->abandon();  // RST_STREAM(CANCEL) if still open
  }

  void begin() {
    if (status_) return;  // invalid metadata: never sent
    asio::io_context& io = core_->io();
    if (deadline_) {
      timer_ = std::make_unique<asio::steady_timer>(io);
      timer_->expires_at(*deadline_);
      timer_->async_wait([alive = alive_, this](const asio::error_code& ec) {
        if (ec || !*alive) return;
        on_deadline();
      });
    }
    core_->enqueue(this);
  }

  // ---- rpc::ClientCall ----

  Task<void> write(std::string message) override {
    while (!stream_ && !status_) co_await writer_.wait();
    if (status_) {
      if (!status_->ok()) throw Error(*status_);
      co_return;  // the call is over: nothing more is sent (as gRPC's Write returning false)
    }
    if (writes_done_) throw Error(StatusCode::internal, "write() after writes_done()");
    if (message.size() > core_->options().max_send_message_size) {
      fail_locally({StatusCode::resource_exhausted,
                    "request message of " + std::to_string(message.size()) +
                        " bytes is larger than the limit of " +
                        std::to_string(core_->options().max_send_message_size),
                    {}});
      throw Error(*status_);
    }
    std::string framed;
    if (send_encoding_ != Encoding::identity) {
      std::string packed;
      Status s = compress(send_encoding_, message, packed);
      if (!s.ok()) {
        fail_locally(s);
        throw Error(std::move(s));
      }
      encode_message(framed, packed, true);
    } else if (!encode_message(framed, message, false)) {
      fail_locally({StatusCode::resource_exhausted, "request message too large", {}});
      throw Error(*status_);
    }
    stream_->write(framed);
    while (!status_ && !stream_->closed() && stream_->unsent() > kHighWatermark) {
      co_await writer_.wait();
    }
    if (status_ && !status_->ok() && local_end_) throw Error(*status_);
  }

  Task<void> writes_done() override {
    while (!stream_ && !status_) co_await writer_.wait();
    if (status_ || writes_done_) co_return;
    writes_done_ = true;
    stream_->end();
  }

  Task<std::optional<std::string>> read() override {
    for (;;) {
      settle();
      if (!ready_.empty() && !local_end_) {
        auto [bytes, compressed] = std::move(ready_.front());
        ready_.pop_front();
        last_compressed_ = compressed;
        if (!compressed) co_return std::move(bytes);
        if (!recv_encoding_) {
          fail_locally({StatusCode::internal,
                        recv_encoding_name_.empty()
                            ? std::string("compressed message without grpc-encoding")
                            : "unsupported grpc-encoding \"" + recv_encoding_name_ + "\"",
                        {}});
          co_return std::nullopt;
        }
        std::string plain;
        Status s =
            decompress(*recv_encoding_, bytes, plain, core_->options().max_receive_message_size);
        if (!s.ok()) {
          fail_locally(std::move(s));
          co_return std::nullopt;
        }
        co_return std::move(plain);
      }
      if (status_) co_return std::nullopt;
      co_await reader_.wait();
    }
  }

  Task<Status> finish() override {
    draining_ = true;  // messages not read by now are discarded
    ready_.clear();
    for (;;) {
      settle();
      if (status_) co_return *status_;
      co_await reader_.wait();
    }
  }

  void cancel() override {
    settle();
    if (status_) return;
    fail_locally({StatusCode::cancelled, "cancelled by the client", {}});
  }

  const Metadata& initial_metadata() const override { return initial_md_; }
  const Metadata& trailing_metadata() const override { return trailing_md_; }
  bool last_message_compressed() const override { return last_compressed_; }
  int http_status() const override { return http_status_; }

  // ---- from the channel ----

  void attach(http::h2::ClientSession& session) {
    if (status_) return;
    std::string timeout;
    if (deadline_) {
      auto left = *deadline_ - Clock::now();
      if (left <= Clock::duration::zero()) {
        fail_locally({StatusCode::deadline_exceeded, "deadline exceeded", {}});
        return;
      }
      timeout = format_timeout(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    }
    using Field = http::h2::ClientSession::Field;
    std::vector<Field> fields;
    fields.reserve(12 + metadata_.size());
    fields.emplace_back(":method", "POST");
    fields.emplace_back(":scheme", core_->scheme());
    fields.emplace_back(":path", path_);
    fields.emplace_back(":authority", core_->authority());
    fields.emplace_back("content-type", "application/grpc");
    fields.emplace_back("te", "trailers");
    fields.emplace_back("user-agent", core_->options().user_agent);
    if (!timeout.empty()) fields.emplace_back("grpc-timeout", timeout);
    if (send_encoding_ != Encoding::identity) {
      fields.emplace_back("grpc-encoding", encoding_name(send_encoding_));
    }
    fields.emplace_back("grpc-accept-encoding", kAcceptEncoding);
    for (const auto& [k, v] : metadata_) fields.emplace_back(k, v);
    stream_ = session.submit(fields);
    if (!stream_) {
      std::string why =
          session.error().empty() ? "the connection takes no new calls" : session.error();
      fail_locally({StatusCode::unavailable, why, {}});
      return;
    }
    stream_->set_listener(this);
    wake();
  }

  // Failed before it was attached (connection failure, channel shut down).
  void fail(Status s) {
    queued_ = false;
    if (status_) return;
    fail_locally(std::move(s));
  }

  bool queued_ = false;

 private:
  void on_stream_response() override {
    // A writer waits on the stream too (a reset stream must release it).
    wake();
  }
  void on_stream_writable() override {
    if (auto w = writer_.take()) w.resume();
  }

  void on_message(std::string_view payload, bool compressed) override {
    if (draining_) return;
    ready_.emplace_back(std::string(payload), compressed);
  }

  // Resumes the waiting coroutines; `this` may be gone after the first resume.
  void wake() {
    auto r = reader_.take();
    auto w = writer_.take();
    if (r) r.resume();
    if (w) w.resume();
  }
  // The same from a later loop turn: for calls made by user code (cancel).
  void post_wake() {
    asio::post(core_->io(), [alive = alive_, this] {
      if (*alive) wake();
    });
  }

  void on_deadline() {
    settle();
    if (status_) return;
    fail_locally({StatusCode::deadline_exceeded, "deadline exceeded", {}});
  }

  // Ends the call here with `s`: no more messages, the stream reset.
  void fail_locally(Status s) {
    if (status_) return;
    status_ = std::move(s);
    local_end_ = true;
    ready_.clear();
    if (queued_) {
      queued_ = false;
      core_->forget(this);
    }
    if (timer_) timer_->cancel();
    // RST_STREAM(CANCEL) if still open; DATA still arriving is dropped and
    // its flow-control credit returned at once.
    if (stream_) stream_->abandon();
    post_wake();
  }

  // Moves what the stream has into the call: headers, messages, the status.
  void settle() {
    if (status_ || !stream_) return;
    http::h2::ClientStream& s = *stream_;
    if (!headers_done_) {
      if (!s.has_response()) {
        if (s.closed()) end_with(status_from_close(s));
        return;
      }
      headers_done_ = true;
      on_headers(s);
      if (status_) return;
    }
    if ((ready_.empty() || draining_) && s.available() > 0) {
      std::string data = s.take_data();
      if (!decoder_.feed(data)) {
        fail_locally(decoder_.error());
        return;
      }
    }
    if (s.available() > 0) return;  // decoded after the messages before it are read
    if (s.remote_ended()) {
      Status st;
      bool found = false;
      if (s.has_trailers()) st = status_from(s.trailers(), found);
      if (!found) st = missing_status();
      if (st.ok() && !decoder_.finish()) st = decoder_.error();  // ended inside a message
      status_ = std::move(st);
      if (timer_) timer_->cancel();
      return;
    }
    if (s.closed()) end_with(status_from_close(s));
  }

  void end_with(Status s) {
    status_ = std::move(s);
    local_end_ = true;  // abnormal end: what was not read is lost
    ready_.clear();
    if (timer_) timer_->cancel();
    if (stream_) stream_->abandon();
  }

  void on_headers(http::h2::ClientStream& s) {
    http_status_ = s.status();
    const http::Headers& h = s.headers();
    if (h.has("grpc-status")) {
      // Trailers-only: the status (and the trailing metadata) in the only HEADERS.
      bool found = false;
      status_ = status_from(h, found);
      if (timer_) timer_->cancel();
      return;
    }
    if (http_status_ != 200) {
      std::string ct(h.get("content-type"));
      fail_locally({code_from_http_status(http_status_),
                    "HTTP status " + std::to_string(http_status_) +
                        (ct.empty() ? std::string() : " (" + ct + ")") + " without grpc-status",
                    {}});
      return;
    }
    std::string_view ct = h.get("content-type");
    if (!ct.starts_with("application/grpc")) {
      fail_locally(
          {StatusCode::unknown, "unexpected content-type \"" + std::string(ct) + "\"", {}});
      return;
    }
    if (auto e = h.find("grpc-encoding")) {
      recv_encoding_ = parse_encoding(*e);
      if (!recv_encoding_) recv_encoding_name_.assign(*e);
    } else {
      recv_encoding_ = Encoding::identity;
    }
    collect_metadata(h, initial_md_);
  }

  // The status carried by `h` (trailers, or a trailers-only response); its
  // metadata becomes the trailing metadata.
  Status status_from(const http::Headers& h, bool& found) {
    Status st;
    auto gs = h.find("grpc-status");
    found = gs.has_value();
    if (gs) {
      int value = -1;
      auto [end, ec] = std::from_chars(gs->data(), gs->data() + gs->size(), value);
      auto code = ec == std::errc() && end == gs->data() + gs->size() ? code_from_number(value)
                                                                      : std::nullopt;
      st.code = code.value_or(StatusCode::unknown);
    }
    if (auto m = h.find("grpc-message")) st.message = percent_decode(*m);
    if (auto d = h.find("grpc-status-details-bin")) {
      if (auto bytes = base64_decode(*d)) st.details = std::move(*bytes);
    }
    collect_metadata(h, trailing_md_);
    return st;
  }

  Status missing_status() const {
    if (http_status_ != 200) {
      return {code_from_http_status(http_status_),
              "HTTP status " + std::to_string(http_status_) + " without grpc-status",
              {}};
    }
    return {StatusCode::unknown, "the server ended the call without grpc-status", {}};
  }

  // A stream that closed without a status: reset, or the connection failed
  // (PROTOCOL-HTTP2 "Errors": RST_STREAM codes to status codes).
  Status status_from_close(const http::h2::ClientStream& s) const {
    if (s.connection_failed()) return {StatusCode::unavailable, s.failure(), {}};
    std::uint32_t code = s.error_code();
    StatusCode status = StatusCode::internal;
    switch (code) {
      case NGHTTP2_REFUSED_STREAM:
        status = StatusCode::unavailable;
        break;
      case NGHTTP2_CANCEL:
        status = deadline_ && Clock::now() >= *deadline_ ? StatusCode::deadline_exceeded
                                                         : StatusCode::cancelled;
        break;
      case NGHTTP2_ENHANCE_YOUR_CALM:
        status = StatusCode::resource_exhausted;
        break;
      case NGHTTP2_INADEQUATE_SECURITY:
        status = StatusCode::permission_denied;
        break;
      default:
        break;
    }
    std::string message = s.reset_by_peer() ? "stream reset by the server: " : "stream closed: ";
    message += nghttp2_http2_strerror(code);
    if (!s.failure().empty()) message += " (" + s.failure() + ")";
    return {status, std::move(message), {}};
  }

  std::shared_ptr<ChannelCore> core_;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> metadata_;  // wire form
  std::optional<Clock::time_point> deadline_;
  Encoding send_encoding_ = Encoding::identity;
  std::shared_ptr<http::h2::ClientStream> stream_;

  std::optional<Status> status_;
  bool local_end_ = false;  // ended by us or abnormally: unread messages are dropped
  bool headers_done_ = false;
  bool writes_done_ = false;
  bool draining_ = false;
  bool last_compressed_ = false;
  int http_status_ = 0;
  Metadata initial_md_;
  Metadata trailing_md_;
  std::optional<Encoding> recv_encoding_ = Encoding::identity;
  std::string recv_encoding_name_;  // an unsupported grpc-encoding
  MessageDecoder decoder_;
  std::deque<std::pair<std::string, bool>> ready_;

  Slot reader_;
  Slot writer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<asio::steady_timer> timer_;
};

// ---------------------------------------------------------------------------
// ChannelCore

void ChannelCore::enqueue(Call* call) {
  if (state_ == Channel::State::ready && session_) {
    if (session_->accepting() && pending_.empty()) return call->attach(*session_);
    if (!session_->accepting()) drop_transport(conn_.get());
  }
  if (state_ == Channel::State::shutdown) {
    return call->fail({StatusCode::unavailable, "the channel is shut down", {}});
  }
  if (state_ == Channel::State::transient_failure && !options_.wait_for_ready) {
    return call->fail({StatusCode::unavailable, last_error_, {}});
  }
  pending_.push_back(call);
  call->queued_ = true;
  if (state_ == Channel::State::idle) start_attempt();
}

void ChannelCore::start_attempt() {
  state_ = Channel::State::connecting;
  net::ConnectOptions o;
  o.timeout = std::max(options_.backoff.min_connect_timeout, backoff_);
  o.tls = tls_;
  o.server_name = options_.server_name;
  o.require_alpn = tls_ ? "h2" : "";
  std::weak_ptr<ChannelCore> weak = weak_from_this();
  connector_ =
      net::connect_async(io(), target_, std::move(o),
                         [weak](std::shared_ptr<net::OutboundConnection> conn, std::string error) {
                           if (auto core = weak.lock()) {
                             core->on_connect_result(std::move(conn), std::move(error));
                           } else if (conn) {
                             conn->close("the channel was destroyed");
                           }
                         });
}

std::chrono::milliseconds ChannelCore::next_backoff() {
  const BackoffOptions& b = options_.backoff;
  std::uniform_real_distribution<double> spread(1.0 - b.jitter, 1.0 + b.jitter);
  auto delay =
      std::chrono::milliseconds(static_cast<std::int64_t>(backoff_.count() * spread(rng_)));
  auto grown =
      std::chrono::milliseconds(static_cast<std::int64_t>(backoff_.count() * b.multiplier));
  backoff_ = std::min(grown, b.max);
  return delay;
}

void ChannelCore::on_connect_result(std::shared_ptr<net::OutboundConnection> conn,
                                    std::string error) {
  connector_.reset();
  auto self = shared_from_this();
  if (state_ == Channel::State::shutdown) {
    if (conn) conn->close("the channel is shut down");
    return;
  }
  if (!conn) {
    state_ = Channel::State::transient_failure;
    last_error_ = std::move(error);
    if (!backoff_timer_) backoff_timer_ = std::make_unique<asio::steady_timer>(io());
    backoff_timer_->expires_after(next_backoff());
    std::weak_ptr<ChannelCore> weak = self;
    backoff_timer_->async_wait([weak](const asio::error_code& ec) {
      auto core = weak.lock();
      if (ec || !core || core->state_ != Channel::State::transient_failure) return;
      core->state_ = Channel::State::idle;
      if (!core->pending_.empty()) core->start_attempt();  // wait_for_ready calls
    });
    if (!options_.wait_for_ready) fail_pending({StatusCode::unavailable, last_error_, {}});
    return;
  }
  http::h2::ClientOptions h2o;
  h2o.stream_window = options_.stream_window;
  h2o.connection_window = options_.connection_window;
  h2o.write_low_watermark = kLowWatermark;
  auto session = std::make_unique<http::h2::ClientSession>(*conn, h2o);
  std::weak_ptr<ChannelCore> weak = self;
  net::OutboundConnection* raw = conn.get();
  session->on_unusable = [weak, raw] {
    if (auto core = weak.lock()) core->drop_transport(raw);
  };
  conn->set_on_close([weak, raw] {
    if (auto core = weak.lock()) core->drop_transport(raw);
  });
  session_ = session.get();
  conn_ = conn;
  state_ = Channel::State::ready;
  backoff_ = options_.backoff.initial;
  conn->start(std::move(session));  // the preface goes out now
  arm_keepalive();
  attach_pending();
}

void ChannelCore::attach_pending() {
  auto self = shared_from_this();
  while (!pending_.empty()) {
    if (state_ != Channel::State::ready || !session_) return;
    if (!session_->accepting()) return drop_transport(conn_.get());  // reconnects for them
    Call* call = pending_.front();
    pending_.pop_front();
    call->queued_ = false;
    call->attach(*session_);  // may resume its coroutines, which may start or drop calls
  }
}

void ChannelCore::fail_pending(const Status& status) {
  auto self = shared_from_this();
  while (!pending_.empty()) {
    Call* call = pending_.front();
    pending_.pop_front();
    call->fail(status);
  }
}

void ChannelCore::drop_transport(net::OutboundConnection* conn) {
  if (!conn_ || conn_.get() != conn) return;
  // Calls still running on it finish there; new ones go to a new connection.
  std::erase_if(retired_, [](const auto& w) { return w.expired(); });
  retired_.push_back(conn_);
  if (conn_->closed()) last_error_ = conn_->close_reason();
  conn_.reset();
  session_ = nullptr;
  if (keepalive_timer_) keepalive_timer_->cancel();
  if (state_ == Channel::State::ready) state_ = Channel::State::idle;
  if (!pending_.empty() && state_ == Channel::State::idle) start_attempt();
}

void ChannelCore::arm_keepalive() {
  if (options_.keepalive_time.count() <= 0) return;
  if (!keepalive_timer_) keepalive_timer_ = std::make_unique<asio::steady_timer>(io());
  keepalive_timer_->expires_after(options_.keepalive_time);
  std::weak_ptr<ChannelCore> weak = weak_from_this();
  keepalive_timer_->async_wait([weak](const asio::error_code& ec) {
    if (ec) return;
    if (auto core = weak.lock()) core->on_keepalive();
  });
}

void ChannelCore::on_keepalive() {
  if (!conn_ || !session_) return;
  if (session_->ping_outstanding()) {
    if (Clock::now() - ping_sent_ >= options_.keepalive_timeout) {
      conn_->close("keepalive PING not acknowledged");
      return;
    }
  } else {
    session_->ping();
    ping_sent_ = Clock::now();
  }
  arm_keepalive();
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Channel

Channel::Channel(std::string_view target, ChannelOptions options, Loop* loop) {
  auto hp = net::parse_host_port(target);
  if (!hp) throw std::invalid_argument("grpc: invalid target \"" + std::string(target) + "\"");
  std::shared_ptr<const net::ClientTlsContext> tls;
  if (options.tls) {
    net::ClientTlsOptions t;
    t.ca_file = options.ca_file;
    t.verify_peer = options.verify_server;
    t.cert_chain_pem = options.client_cert_file;
    t.private_key_pem = options.client_key_file;
    t.alpn = {"h2"};
    tls = std::make_shared<net::ClientTlsContext>(t);
  }
  std::string authority =
      options.server_name.empty() ? net::format_host_port(*hp) : options.server_name;
  core_ = std::make_shared<detail::ChannelCore>(std::move(*hp), std::move(authority),
                                                std::move(options), std::move(tls), loop);
}

Channel::~Channel() = default;

std::unique_ptr<rpc::ClientCall> Channel::start(std::string_view path, const CallOptions& options) {
  auto call = std::make_unique<detail::Call>(core_, path, options);
  call->begin();
  return call;
}

Channel::State Channel::state() const {
  return core_->state();
}

void Channel::connect() {
  core_->connect();
}

std::string Channel::last_error() const {
  return core_->last_error();
}

const std::string& Channel::authority() const {
  return core_->authority();
}

}  // namespace trident::rpc::grpc
