// One WebSocket connection (server side, or client side with masked output):
// frames in, messages to the handler, frames out. It does no I/O; a transport (an HTTP/1.1
// connection after the 101, or an HTTP/2 stream after extended CONNECT) feeds it bytes and takes
// its output.
//
// Handlers are callbacks (Endpoint): on_open, on_message with a whole
// message, on_close. That keeps an idle connection down to a few hundred
// bytes (no coroutine frame per connection) and lets a pub/sub delivery reach
// thousands of sockets without resuming anything.
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/uio.h>

#include "core/free_list.hpp"
#include "net/peer.hpp"
#include "net/session.hpp"
#include "ws/deflate.hpp"
#include "ws/frame_parser.hpp"
#include "ws/settings.hpp"

namespace trident::ws {

class Socket;

// What a WebSocket route does. All callbacks run on the connection's worker.
struct Endpoint {
  std::vector<std::string> subprotocols;  // selectable, in no particular order
  // Runs during the handshake with the request target (path and query);
  // what it returns becomes Socket::user.
  std::function<std::any(std::string_view target)> init;
  std::function<void(Socket&)> on_open;
  // A whole message (text is valid UTF-8); the view is valid during the call.
  std::function<void(Socket&, std::string_view message, Opcode opcode)> on_message;
  // Once per socket: the peer's close code (1005 if none), ours when we
  // closed first, or 1006 when the connection dropped without a close frame.
  std::function<void(Socket&, std::uint16_t code, std::string_view reason)> on_close;
};

class IpTable;

// An endpoint as served: its handlers and the settings they run under. A
// socket refers to both through this one pointer; a Service keeps its routes
// for the life of the server.
struct Route {
  Endpoint endpoint;
  const Settings& settings;
  // The per-address count an HTTP/1.1 socket holds a place in (null: none).
  IpTable* per_ip = nullptr;
};

// A message framed once for many sockets (pub/sub): shared, never copied per
// subscriber.
struct Prepared {
  std::shared_ptr<const std::string> plain;       // a complete frame
  std::shared_ptr<const std::string> compressed;  // complete RSV1 frame, or null
};
Prepared prepare(std::string_view message, Opcode opcode, bool compress);
// The window `prepare` compresses with; sockets that negotiated a smaller
// server_max_window_bits are sent the plain frame.
inline constexpr int kPublishWindowBits = 15;

class Socket final {
 public:
  // The transport's side of the contract is a connection's: wake() when
  // output was queued (or the socket finished) outside of feed(), peer().
  // On HTTP/1.1 that is the connection itself, so the session in between
  // holds no pointer or interface of its own.
  using Transport = net::SessionIo;

  Socket(const Route& route, Transport& transport, std::string_view subprotocol,
         std::optional<DeflateParams> deflate, Role role = Role::server);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // ---- for handlers ----
  // Queues a message; compressed when permessage-deflate is on, `compress`
  // is set and it is at least Settings::compress_min bytes. Returns false if
  // the socket is closing, or if the unsent output would pass
  // Settings::max_backlog: then the socket closes with 1008 (slow consumer).
  bool send(std::string_view message, Opcode opcode = Opcode::text, bool compress = true);
  // Starts the close handshake (no-op if already closing).
  void close(std::uint16_t code = close_code::normal, std::string_view reason = {});
  void subscribe(std::string_view topic);
  void unsubscribe(std::string_view topic);
  const std::vector<std::string>& topics() const;

  std::size_t buffered() const { return queued_ + (extra_ ? extra_->in_flight : 0); }
  bool is_open() const { return state_ == State::open; }
  std::string_view subprotocol() const {
    return subprotocol_ == kNoSubprotocol ? std::string_view()
                                          : std::string_view(endpoint().subprotocols[subprotocol_]);
  }
  bool compression() const { return deflate_bits_ != 0; }
  const net::PeerInfo& peer() const { return transport_.peer(); }
  const Route& route() const { return route_; }
  std::any user;  // per-connection handler data

  // ---- for transports ----
  void start();  // runs on_open
  // Parses input, unmasking in place; returns the bytes consumed.
  std::size_t feed(std::span<char> data);
  bool has_output() const { return queued_ > 0; }
  // Moves the leading owned output bytes into `out` (appends).
  void take_output(std::string& out);
  // The leading output segment when it is a shared pub/sub frame (else null).
  std::shared_ptr<const std::string> take_shared();
  // Or, without copying or moving anything: the pending output as buffers
  // (owned bytes and shared frames, in order), and how much of it was sent.
  std::size_t peek_output(iovec* iov, std::size_t max) const;
  void consume_output(std::size_t n);
  void on_output_flushed() {
    if (extra_) extra_->in_flight = 0;
  }
  // Output the transport holds but has not sent yet (counts as backlog).
  void set_in_flight(std::size_t n) {
    if (n > 0 || extra_) extra().in_flight = n;
  }
  bool wants_input() const;
  // The close handshake is over or the connection failed: close the
  // transport once the output is flushed.
  bool finished() const { return state_ == State::finished; }
  // Flushing takes too long (a peer that stopped reading): close now.
  bool must_abort() const { return abort_; }
  bool idle() const;  // nothing in flight either way
  void on_transport_closed();
  // Queues a reference to pub/sub frames: `messages` of them, joined.
  void deliver(const Prepared& frames, std::size_t messages = 1);
  // Heartbeats and timeouts, once a second (tick_now() clock): driven by
  // the transport (an HTTP/1.1 connection's tick) or by a SocketTicker.
  void tick(std::uint32_t now);
  void release_memory();

 private:
  enum class State : std::uint8_t { open, closing, finished };

  // The parser's listener (FrameListener's functions, called directly: see
  // FrameParser::feed_static).
  friend class FrameParser;
  void on_message_begin(Opcode opcode, bool compressed);
  void on_data(std::string_view data);
  void on_message_end();
  void on_whole_message(Opcode opcode, std::string_view data);
  void deliver_message(std::string_view message, Opcode opcode);
  void on_control(Opcode opcode, std::string_view payload);
  void on_close(std::uint16_t code, std::string_view reason);

  // Where the next owned bytes go, in order: out_ unless a shared frame waits.
  std::string& own_tail() {
    if ((!extra_ || extra_->queue.empty()) && out_.capacity() >= kMinOutputBuffer)
      return out_.get();
    return own_tail_slow();
  }
  std::string& own_tail_slow();
  // Output buffers start at least this big.
  static constexpr std::size_t kMinOutputBuffer = 4096;
  void queue_frame(Opcode opcode, std::string_view payload, bool rsv1);
  void queue_close(std::uint16_t code, std::string_view reason);
  std::optional<MaskKey> mask_key() const;  // a fresh key for client frames, none for server
  bool over_backlog(std::size_t more) const;
  void slow_consumer();
  void fail(std::uint16_t code, std::string_view reason);
  void finish(std::uint16_t code, std::string_view reason);
  void notify();

  const Endpoint& endpoint() const { return route_.endpoint; }
  const Settings& settings() const { return route_.settings; }

  const Route& route_;
  Transport& transport_;
  // The small fields below share the parser's tail padding: every idle
  // WebSocket holds one Socket.
  [[no_unique_address]] FrameParser parser_;
  std::uint8_t deflate_bits_;  // our compressor's window bits; 0: no permessage-deflate
  State state_ = State::open;
  Opcode msg_opcode_ = Opcode::text;  // of the message being received
  bool feeding_ : 1 = false;
  bool abort_ : 1 = false;
  bool close_reported_ : 1 = false;
  bool awaiting_pong_ : 1 = false;
  bool got_message_ : 1 = false;  // a data message arrived since the last tick
  bool msg_compressed_ : 1 = false;
  // The only piece so far, still in the input buffer (length in msg_len_).
  const char* msg_data_ = nullptr;
  std::string_view msg_view() const { return {msg_data_, msg_len_}; }

  // Output, in order: `out_` while nothing shared waits; after a shared
  // segment, owned bytes queue behind it in Extra::queue.
  struct Segment {
    std::shared_ptr<const std::string> shared;
    std::string own;
  };
  // Segments in order. Taking from the front moves an index, not the rest
  // of the queue (a subscriber may have many shared frames queued).
  class SegmentQueue {
   public:
    std::size_t sent = 0;  // bytes of front() already written (peek/consume)

    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    Segment& front() { return items_[head_]; }
    const Segment& operator[](std::size_t i) const { return items_[head_ + i]; }
    Segment& back() { return items_.back(); }
    void push_back(Segment s) { items_.push_back(std::move(s)); }
    void pop_front() {
      sent = 0;
      Segment& done = items_[head_];
      done.shared.reset();  // drop the frame reference now
      if (!done.own.empty()) std::string().swap(done.own);
      if (++head_ == items_.size()) {
        clear();
      } else if (head_ >= 32 && 2 * head_ >= items_.size()) {
        // A queue that never runs dry: drop the dead prefix now and then
        // (amortized constant per segment).
        items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }
    void truncate(std::size_t n) { items_.resize(head_ + std::min(n, size())); }
    void clear() {
      items_.clear();
      head_ = 0;
      sent = 0;
    }

   private:
    std::vector<Segment> items_;
    std::size_t head_ = 0;
  };
  PooledString out_;  // its offset(): bytes already written (peek/consume)
  // What most sockets never need, or need only for a while: allocated on
  // first use and dropped again when idle (release_memory), so an idle
  // socket is not paying for it.
  struct Extra {
    SegmentQueue queue;  // output behind a shared (pub/sub) frame
    std::vector<std::string> topics;
    std::string msg_buf;  // message pieces copied together
    std::string close_reason;
    std::size_t in_flight = 0;  // taken by the transport, not yet flushed
  };
  std::unique_ptr<Extra> extra_;
  Extra& extra() {
    if (!extra_) extra_ = std::make_unique<Extra>();
    return *extra_;
  }
  bool queue_empty() const { return !extra_ || extra_->queue.empty(); }
  bool msg_buf_empty() const { return !extra_ || extra_->msg_buf.empty(); }
  std::size_t queued_ = 0;  // bytes in out_ and the queue, not yet written

  // Seconds (tick clock). One field serves two states: while open, when the
  // last ping went out; once closing, when the close began (no pings then).
  std::uint32_t ping_or_close_at_ = 0;
  std::uint32_t last_message_ = 0;  // a data message received
  std::uint32_t msg_len_ = 0;       // of msg_data_
  std::uint16_t close_code_ = 0;    // reported to on_close (reason in Extra)
  // Pieces of the message being received: 0, 1 (msg_data_), 2 (Extra::msg_buf).
  std::uint8_t msg_pieces_ = 0;
  static constexpr std::uint8_t kNoSubprotocol = 0xFF;
  std::uint8_t subprotocol_ = kNoSubprotocol;  // index into endpoint().subprotocols
};

// Ticks a socket once a second for a transport without a clock of its own
// (an HTTP/2 stream): registers on construction, leaves on destruction.
// HTTP/1.1 sockets are ticked by their connection, so an idle one carries no
// list links for this.
class SocketTicker {
 public:
  explicit SocketTicker(Socket& socket);
  ~SocketTicker();
  SocketTicker(const SocketTicker&) = delete;
  SocketTicker& operator=(const SocketTicker&) = delete;

 private:
  Socket& socket_;
  SocketTicker* prev_ = nullptr;
  SocketTicker* next_ = nullptr;
  friend class SocketList;
};

// Seconds on the tick clock (steady, shared by all sockets of a thread).
std::uint32_t tick_now();

}  // namespace trident::ws
