#include "ws/socket.hpp"

#include <openssl/rand.h>
#include <asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstring>

#include "core/free_list.hpp"
#include "core/loop.hpp"
#include "ws/frame_parser_impl.hpp"
#include "ws/frame_writer.hpp"
#include "ws/hub.hpp"

namespace trident::ws {
namespace {
// Above this much unsent output a socket stops reading: the peer's own
// sends back up instead of our buffer growing (echo loops, big replies).
constexpr std::size_t kReadPauseBytes = 64 * 1024;
// How long a close handshake or a final flush may take before the
// transport gives up on the peer.
constexpr std::uint32_t kCloseTimeoutSeconds = 5;
// Received message buffers above this are not kept between messages.
constexpr std::size_t kKeepBufferBytes = 64 * 1024;

// The same value, with what the compiler knew of its range forgotten: a
// copy of that length becomes a library memcpy call (see queue_frame).
std::size_t unbounded(std::size_t n) {
  asm("" : "+r"(n));
  return n;
}

std::string& inflate_scratch() {
  thread_local std::string s;
  return s;
}
std::string& deflate_scratch() {
  thread_local std::string s;
  return s;
}
}  // namespace

namespace {
std::uint32_t clock_seconds() {
  using namespace std::chrono;
  static const auto start = steady_clock::now();
  return static_cast<std::uint32_t>(duration_cast<seconds>(steady_clock::now() - start).count());
}
// While a thread's tick timer runs, it refreshes this once a second: the
// message path reads the time without a clock call.
thread_local std::uint32_t cached_seconds = 0;
thread_local bool ticking = false;
}  // namespace

std::uint32_t tick_now() {
  return ticking ? cached_seconds : clock_seconds();
}

// The sockets of one worker thread and the timer that ticks them.
class SocketList {
 public:
  static SocketList& mine() {
    thread_local SocketList list;
    return list;
  }
  void add(SocketTicker* s) {
    s->next_ = head_;
    if (head_) head_->prev_ = s;
    head_ = s;
    if (!timer_ && Loop::current()) {
      timer_ = std::make_unique<asio::steady_timer>(Loop::current()->io());
      cached_seconds = clock_seconds();
      ticking = true;
      arm();
    }
  }
  void remove(SocketTicker* s) {
    if (s->prev_) s->prev_->next_ = s->next_;
    if (s->next_) s->next_->prev_ = s->prev_;
    if (head_ == s) head_ = s->next_;
    s->prev_ = s->next_ = nullptr;
    if (!head_) {
      timer_.reset();  // the loop may end; nothing to tick
      ticking = false;
    }
  }

 private:
  void arm() {
    timer_->expires_after(std::chrono::seconds(1));
    timer_->async_wait([this](const std::error_code& ec) {
      if (ec || !timer_) return;
      std::uint32_t now = cached_seconds = clock_seconds();
      // tick() never destroys a socket (closing goes through the transport).
      for (SocketTicker* s = head_; s; s = s->next_) s->socket_.tick(now);
      arm();
    });
  }
  SocketTicker* head_ = nullptr;
  std::unique_ptr<asio::steady_timer> timer_;
};

SocketTicker::SocketTicker(Socket& socket) : socket_(socket) {
  SocketList::mine().add(this);
}

SocketTicker::~SocketTicker() {
  SocketList::mine().remove(this);
}

Prepared prepare(std::string_view message, Opcode opcode, bool compress) {
  Prepared p;
  auto plain = std::make_shared<std::string>();
  plain->reserve(message.size() + kMaxFrameHeaderSize);
  append_frame(*plain, opcode, message);
  p.plain = std::move(plain);
  if (compress) {
    std::string body;
    deflate_message(message, kPublishWindowBits, body);
    auto framed = std::make_shared<std::string>();
    append_frame(*framed, opcode, body, true, std::nullopt, true);
    p.compressed = std::move(framed);
  }
  return p;
}

Socket::Socket(const Route& route, Transport& transport, std::string_view subprotocol,
               std::optional<DeflateParams> deflate, Role role)
    : route_(route),
      transport_(transport),
      parser_(ParserOptions{role, route.settings.max_message, deflate.has_value()}),
      deflate_bits_(!deflate               ? 0
                    : role == Role::server ? deflate->server_max_window_bits
                                           : deflate->client_max_window_bits) {
  const auto& subprotocols = route.endpoint.subprotocols;
  for (std::size_t i = 0; i < subprotocols.size() && i < kNoSubprotocol; ++i) {
    if (subprotocols[i] == subprotocol) subprotocol_ = static_cast<std::uint8_t>(i);
  }
  ping_or_close_at_ = last_message_ = tick_now();
  count(Counter::opened);
  count(Counter::connections);
  if (deflate_bits_) Hub::instance().deflate_socket_opened(1);
}

Socket::~Socket() {
  on_transport_closed();
  if (extra_) {
    for (const auto& t : extra_->topics) Hub::instance().unsubscribe(*this, t);
  }
  count(Counter::connections, -1);
  if (deflate_bits_) Hub::instance().deflate_socket_opened(-1);
}

void Socket::start() {
  if (endpoint().on_open) endpoint().on_open(*this);
}

// ---------------------------------------------------------------- input

std::size_t Socket::feed(std::span<char> data) {
  if (state_ == State::finished) return data.size();  // nothing more is read
  feeding_ = true;
  std::size_t n = parser_.feed_static(data, *this);
  feeding_ = false;
  if (parser_.error() != Error::none && state_ != State::finished) {
    fail(static_cast<std::uint16_t>(parser_.error()), parser_.error_reason());
  }
  // A single-piece message still pointing into `data` must survive the call.
  if (msg_pieces_ == 1 && msg_buf_empty() && parser_.in_message())
    extra().msg_buf.assign(msg_view());
  if (parser_.closed() || state_ == State::finished) return data.size();
  return n;
}

void Socket::on_message_begin(Opcode opcode, bool compressed) {
  msg_opcode_ = opcode;
  msg_compressed_ = compressed;
  msg_pieces_ = 0;
  if (extra_) extra_->msg_buf.clear();
}

void Socket::on_data(std::string_view data) {
  if (msg_pieces_ == 0 && data.size() <= UINT32_MAX) {
    msg_data_ = data.data();
    msg_len_ = static_cast<std::uint32_t>(data.size());
    msg_pieces_ = 1;
    return;
  }
  std::string& buf = extra().msg_buf;
  if (msg_pieces_ == 1 && buf.empty()) buf.assign(msg_view());
  buf.append(data);
  msg_pieces_ = 2;
}

void Socket::on_message_end() {
  std::string_view message;
  if (msg_pieces_ == 1 && msg_buf_empty()) {
    message = msg_view();
  } else if (msg_pieces_ >= 1) {
    message = extra().msg_buf;
  }
  msg_pieces_ = 0;
  if (msg_compressed_) {
    std::string& plain = inflate_scratch();
    plain.clear();
    switch (inflate_message(message, settings().max_message, plain)) {
      case InflateResult::too_big:
        return fail(close_code::message_too_big, "message too big");
      case InflateResult::corrupt:
        return fail(close_code::invalid_payload, "invalid compressed data");
      case InflateResult::ok:
        break;
    }
    if (msg_opcode_ == Opcode::text && !valid_utf8(plain)) {
      return fail(close_code::invalid_payload, "invalid UTF-8");
    }
    message = plain;
  }
  deliver_message(message, msg_opcode_);
  if (extra_ && extra_->msg_buf.capacity() > kKeepBufferBytes) std::string().swap(extra_->msg_buf);
}

void Socket::on_whole_message(Opcode opcode, std::string_view data) {
  deliver_message(data, opcode);
}

void Socket::deliver_message(std::string_view message, Opcode opcode) {
  if (state_ != State::open) return;  // after our close, data is dropped
  got_message_ = true;
  count(Counter::messages_in);
  if (endpoint().on_message) endpoint().on_message(*this, message, opcode);
}

void Socket::on_control(Opcode opcode, std::string_view payload) {
  if (opcode == Opcode::ping) {
    if (state_ == State::open) queue_frame(Opcode::pong, payload, false);
  } else if (opcode == Opcode::pong) {
    awaiting_pong_ = false;
  }
}

void Socket::on_close(std::uint16_t code, std::string_view reason) {
  if (state_ == State::open) {
    // Echo the peer's code (RFC 6455 §5.5.1), then we are done.
    queue_close(code, {});
  }
  finish(code, reason);
}

// ---------------------------------------------------------------- output

std::string& Socket::own_tail_slow() {
  if (queue_empty()) {
    // A recycled buffer, or one big enough for a burst of small frames:
    // growing a string frame by frame costs several reallocations.
    std::string& out = out_.get();
    if (out.capacity() < kMinOutputBuffer) out.reserve(kMinOutputBuffer);
    return out;
  }
  SegmentQueue& queue = extra_->queue;
  if (queue.back().shared) queue.push_back({});
  return queue.back().own;
}

void Socket::queue_close(std::uint16_t code, std::string_view reason) {
  flush_publishes();
  std::string& out = own_tail();
  std::size_t before = out.size();
  append_close(out, code, reason, mask_key());
  queued_ += out.size() - before;
}

std::optional<MaskKey> Socket::mask_key() const {
  if (parser_.role() == Role::server) return std::nullopt;
  // Client frames need unpredictable keys (RFC 6455 §5.3): from the CSPRNG,
  // fetched in blocks.
  thread_local std::array<unsigned char, 1024> pool;
  thread_local std::size_t used = pool.size();
  if (used + 4 > pool.size()) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) throw std::bad_alloc();
    used = 0;
  }
  MaskKey key;
  std::memcpy(key.data(), pool.data() + used, 4);
  used += 4;
  return key;
}

void Socket::queue_frame(Opcode opcode, std::string_view payload, bool rsv1) {
  flush_publishes();
  if (parser_.role() == Role::client) {
    std::string& out = own_tail();
    std::size_t before = out.size();
    append_frame(out, opcode, payload, true, mask_key(), rsv1);
    queued_ += out.size() - before;
    if (!feeding_) notify();
    return;
  }
  std::string& out = own_tail();
  // A server frame: unmasked, minimal length encoding.
  const auto b0 = static_cast<char>(0x80 | (rsv1 ? 0x40 : 0) | static_cast<unsigned>(opcode));
  const std::uint64_t len = payload.size();
  constexpr std::size_t kSmallFrame = 125;  // the 7-bit length form
  if (len <= kSmallFrame) {
    // Header and payload go straight into the buffer. Staging the frame on
    // the stack first cost more than the copy (perf: the wide reads of the
    // freshly stored header stall store forwarding), and so does the
    // `rep movsq` GCC expands a copy of known small bound into, so the
    // payload length is hidden from it: a plain memcpy call.
    const char head[2] = {b0, static_cast<char>(len)};
    out.append(head, 2);
    if (len > 0) out.append(payload.data(), unbounded(len));  // an empty view may be null
    queued_ += 2 + len;
    if (!feeding_) notify();
    return;
  }
  char header[10];
  header[0] = b0;
  std::size_t n = 4;
  if (len <= 0xFFFF) {
    header[1] = 126;
    header[2] = static_cast<char>(len >> 8);
    header[3] = static_cast<char>(len);
  } else {
    header[1] = 127;
    for (int i = 0; i < 8; ++i) header[2 + i] = static_cast<char>(len >> (56 - 8 * i));
    n = 10;
  }
  out.append(header, n);
  out.append(payload.data(), payload.size());
  queued_ += n + payload.size();
  if (!feeding_) notify();
}

bool Socket::over_backlog(std::size_t more) const {
  // A single message larger than the limit may still go out on its own.
  return buffered() > 0 && buffered() + more > settings().max_backlog;
}

bool Socket::send(std::string_view message, Opcode opcode, bool compress) {
  if (state_ != State::open) return false;
  flush_publishes();  // before the backlog check: they are queued first
  if (over_backlog(message.size())) {
    slow_consumer();
    return false;
  }
  count(Counter::messages_out);
  if (deflate_bits_ && compress && message.size() >= settings().compress_min) {
    std::string& body = deflate_scratch();
    body.clear();
    deflate_message(message, deflate_bits_, body);
    queue_frame(opcode, body, true);
  } else {
    queue_frame(opcode, message, false);
  }
  return true;
}

void Socket::deliver(const Prepared& frames, std::size_t messages) {
  // Prepared frames are server frames (unmasked): not for a client socket.
  if (state_ != State::open || parser_.role() == Role::client) return;
  // Shared frames are compressed with a 15-bit window: a peer that asked for
  // a smaller one (server_max_window_bits) gets them uncompressed.
  const auto& frame =
      deflate_bits_ == kPublishWindowBits && frames.compressed ? frames.compressed : frames.plain;
  if (over_backlog(frame->size())) return slow_consumer();
  count(Counter::messages_out, static_cast<std::int64_t>(messages));
  extra().queue.push_back({frame, {}});
  queued_ += frame->size();
  notify();
}

void Socket::slow_consumer() {
  count(Counter::slow_consumer_closes);
  // Drop what is queued so the close frame is next, except a buffer already
  // partly sent: the frame it ends in must be completed.
  SegmentQueue* queue = extra_ ? &extra_->queue : nullptr;
  if (out_.offset() > 0) {
    if (queue) queue->clear();
  } else if (out_.empty() && queue && queue->sent > 0) {
    queue->truncate(1);
  } else {
    out_.clear();
    if (queue) queue->clear();
  }
  queued_ = 0;
  if (!out_.empty()) queued_ = out_.size() - out_.offset();
  if (queue && !queue->empty()) {
    const Segment& s = queue->front();
    queued_ += (s.shared ? s.shared->size() : s.own.size()) - queue->sent;
  }
  fail(close_code::policy_violation, "slow consumer");
}

void Socket::take_output(std::string& out) {
  if (!out_.empty()) {
    std::size_t n = out_.size();
    if (out.empty()) {
      out.swap(out_.get());
    } else {
      out.append(out_);
      out_.clear();
    }
    // An idle socket keeps no buffer: the next burst takes one from the
    // worker's pool again.
    out_.give_back();
    queued_ -= n;
    extra().in_flight += n;
    return;
  }
  if (!queue_empty() && !extra_->queue.front().shared) {
    SegmentQueue& queue = extra_->queue;
    std::size_t n = queue.front().own.size();
    out.append(queue.front().own);
    queue.pop_front();
    queued_ -= n;
    extra_->in_flight += n;
  }
}

std::size_t Socket::peek_output(iovec* iov, std::size_t max) const {
  std::size_t k = 0;
  // The first buffer may be partly written already.
  std::size_t off = !out_.empty() ? out_.offset() : extra_ ? extra_->queue.sent : 0;
  auto add = [&](std::string_view b) {
    if (b.size() > off) iov[k++] = {const_cast<char*>(b.data()) + off, b.size() - off};
    off = 0;
  };
  if (!out_.empty()) add(out_);
  if (extra_) {
    const SegmentQueue& queue = extra_->queue;
    for (std::size_t i = 0; i < queue.size() && k < max; ++i) {
      add(queue[i].shared ? *queue[i].shared : queue[i].own);
    }
  }
  return k;
}

void Socket::consume_output(std::size_t n) {
  queued_ -= n;
  if (!out_.empty()) {
    std::size_t avail = out_.size() - out_.offset();
    if (n < avail) {
      out_.advance(n);
      return;
    }
    n -= avail;
    out_.clear();
    out_.give_back();
  }
  while (n > 0 && !queue_empty()) {
    SegmentQueue& queue = extra_->queue;
    const Segment& s = queue.front();
    std::size_t avail = (s.shared ? s.shared->size() : s.own.size()) - queue.sent;
    if (n < avail) {
      queue.sent += n;
      return;
    }
    n -= avail;
    queue.pop_front();
  }
}

std::shared_ptr<const std::string> Socket::take_shared() {
  if (!out_.empty() || queue_empty() || !extra_->queue.front().shared) return nullptr;
  SegmentQueue& queue = extra_->queue;
  auto s = std::move(queue.front().shared);
  queue.pop_front();
  queued_ -= s->size();
  extra_->in_flight += s->size();
  return s;
}

bool Socket::wants_input() const {
  return state_ != State::finished && buffered() < kReadPauseBytes;
}

bool Socket::idle() const {
  return state_ == State::open && buffered() == 0 && !parser_.in_message() &&
         parser_.at_frame_boundary();
}

void Socket::notify() {
  transport_.wake();
}

// ---------------------------------------------------------------- closing

void Socket::close(std::uint16_t code, std::string_view reason) {
  if (state_ != State::open) return;
  queue_close(code, reason);
  state_ = State::closing;
  ping_or_close_at_ = tick_now();
  close_code_ = code;
  extra().close_reason.assign(reason);
  if (!feeding_) notify();
}

void Socket::fail(std::uint16_t code, std::string_view reason) {
  if (state_ == State::finished) return;
  if (state_ == State::open) queue_close(code, reason);
  finish(code, reason);
  if (!feeding_) notify();
}

void Socket::finish(std::uint16_t code, std::string_view reason) {
  if (state_ != State::closing || close_code_ == close_code::abnormal) {
    close_code_ = code;
    extra().close_reason.assign(reason);
  }
  state_ = State::finished;
  ping_or_close_at_ = tick_now();
}

void Socket::on_transport_closed() {
  if (state_ != State::finished) {
    state_ = State::finished;
    if (close_code_ == 0) close_code_ = close_code::abnormal;
  }
  if (close_reported_) return;
  close_reported_ = true;
  if (endpoint().on_close) {
    endpoint().on_close(*this, close_code_,
                        extra_ ? std::string_view(extra_->close_reason) : std::string_view());
  }
}

void Socket::tick(std::uint32_t now) {
  if (state_ != State::open) {
    if (now - ping_or_close_at_ >= kCloseTimeoutSeconds && !abort_) {
      abort_ = true;
      notify();
    }
    return;
  }
  if (settings().draining && settings().draining->load(std::memory_order_relaxed)) {
    close(close_code::going_away, "server shutting down");
    return;
  }
  auto interval = static_cast<std::uint32_t>(settings().ping_interval.count());
  if (interval > 0) {
    if (awaiting_pong_ && now - ping_or_close_at_ >= interval) {
      count(Counter::heartbeat_closes);
      // The peer stopped answering: say why, but do not wait for its reply.
      fail(close_code::going_away, "ping timeout");
      return;
    }
    if (!awaiting_pong_ && now - ping_or_close_at_ >= interval) {
      awaiting_pong_ = true;
      ping_or_close_at_ = now;
      queue_frame(Opcode::ping, {}, false);
    }
  }
  auto idle = static_cast<std::uint32_t>(settings().idle_timeout.count());
  // The tick notes that messages came (no clock read per message): idle
  // time is measured in whole ticks, so it may run up to a second longer.
  if (got_message_) {
    got_message_ = false;
    last_message_ = now;
  }
  if (idle > 0 && now - last_message_ >= idle) close(close_code::going_away, "idle timeout");
}

void Socket::release_memory() {
  if (extra_ && !parser_.in_message()) {
    std::string().swap(extra_->msg_buf);
    // Nothing queued, subscribed or closing: the whole block goes.
    if (state_ == State::open && extra_->queue.empty() && extra_->topics.empty() &&
        extra_->in_flight == 0)
      extra_.reset();
  }
  out_.give_back();
}

const std::vector<std::string>& Socket::topics() const {
  static const std::vector<std::string> none;
  return extra_ ? extra_->topics : none;
}

void Socket::subscribe(std::string_view topic) {
  std::vector<std::string>& topics = extra().topics;
  for (const auto& t : topics) {
    if (t == topic) return;
  }
  topics.emplace_back(topic);
  Hub::instance().subscribe(*this, topic);
}

void Socket::unsubscribe(std::string_view topic) {
  if (!extra_) return;
  std::vector<std::string>& topics = extra_->topics;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (topics[i] == topic) {
      Hub::instance().unsubscribe(*this, topic);
      topics.erase(topics.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

}  // namespace trident::ws
