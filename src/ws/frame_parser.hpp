// Incremental RFC 6455 frame parser: bytes in, events out.
//
// No I/O, no allocation: frame headers (2..14 bytes) and control payloads
// (at most 125 bytes) are collected in fixed buffers inside the parser, so a
// header may be split anywhere and the caller never re-presents bytes. Data
// payloads are unmasked in place in the caller's buffer and streamed through
// on_data as they arrive, without waiting for a whole frame or message.
//
// Every protocol violation fails the parser with the close code the endpoint
// must send (RFC 6455 §7.4.1) before closing the connection: 1002 for framing
// errors, 1007 for invalid UTF-8 in a text message or close reason, 1009 for
// a message larger than the configured limit. Text messages are validated as
// their bytes arrive, so the error comes at the first invalid byte.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "ws/mask.hpp"
#include "ws/utf8.hpp"

namespace trident::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

inline bool is_control(Opcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

// Close status codes (RFC 6455 §7.4.1 and the IANA registry).
namespace close_code {
constexpr std::uint16_t normal = 1000;
constexpr std::uint16_t going_away = 1001;
constexpr std::uint16_t protocol_error = 1002;
constexpr std::uint16_t unsupported_data = 1003;
constexpr std::uint16_t no_status = 1005;  // never sent: "the close frame had no code"
constexpr std::uint16_t abnormal = 1006;   // never sent: "closed without a close frame"
constexpr std::uint16_t invalid_payload = 1007;
constexpr std::uint16_t policy_violation = 1008;
constexpr std::uint16_t message_too_big = 1009;
constexpr std::uint16_t mandatory_extension = 1010;
constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

// True for the codes a peer may put in a close frame: 1000..1003, 1007..1014
// (registered), 3000..4999 (libraries, applications). 1004..1006 and 1015 are
// reserved or local-only, the rest of 0..2999 unassigned, 5000+ undefined.
constexpr bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

enum class Role : std::uint8_t {
  server,  // parses frames from a client: they must be masked
  client,  // parses frames from a server: they must not be masked
};

// The largest message limit a parser keeps; a larger ParserOptions::max_message_size
// counts as this (4 GiB − 1).
constexpr std::uint64_t kMaxMessageLimit = 0xFFFFFFFFu;

struct ParserOptions {
  Role role = Role::server;
  // Largest message (sum of its frames' payload lengths, as received, so
  // compressed size under permessage-deflate); larger → 1009. At most
  // kMaxMessageLimit.
  std::uint64_t max_message_size = 16ull << 20;
  // permessage-deflate was negotiated: RSV1 may mark the first frame of a
  // data message as compressed. Compressed text is not UTF-8 validated here
  // (the bytes are deflate output); the inflating layer must do it.
  bool permessage_deflate = false;
};

// The close code to send because of a parse error.
enum class Error : std::uint16_t {
  none = 0,
  protocol_error = close_code::protocol_error,    // 1002
  invalid_payload = close_code::invalid_payload,  // 1007: bad UTF-8
  message_too_big = close_code::message_too_big,  // 1009
};

class FrameListener {
 public:
  virtual ~FrameListener() = default;
  // A text or binary message starts (its first frame's header is complete).
  // `compressed`: RSV1 was set (only possible with permessage_deflate).
  virtual void on_message_begin(Opcode opcode, bool compressed) = 0;
  // A non-empty piece of the current message's payload, unmasked. It points
  // into the buffer passed to feed(); valid during the call only. Text
  // pieces are valid UTF-8 so far but may end inside a code point.
  virtual void on_data(std::string_view data) = 0;
  // The current message is complete (for text: its UTF-8 is complete too).
  virtual void on_message_end() = 0;
  // A whole uncompressed message that arrived as one frame in one buffer:
  // the common small message, delivered in one call instead of three.
  virtual void on_whole_message(Opcode opcode, std::string_view data) {
    on_message_begin(opcode, false);
    if (!data.empty()) on_data(data);
    on_message_end();
  }
  // A whole ping, pong or close frame (possibly between the frames of a data
  // message). The payload (≤125 bytes, unmasked) is valid during the call
  // only. For a close frame this comes after the payload
  // has been validated and right before on_close.
  virtual void on_control(Opcode opcode, std::string_view payload) = 0;
  // A valid close frame: the code (close_code::no_status if the frame had no
  // payload) and its UTF-8 reason. The parser reads nothing after it.
  virtual void on_close(std::uint16_t code, std::string_view reason) {
    (void)code;
    (void)reason;
  }
};

// The listener is an argument of feed(), not a member: a parser held by
// every idle WebSocket stays small, and a listener whose type is known at
// compile time (feed_static) gets direct calls instead of virtual ones.
class FrameParser {
 public:
  explicit FrameParser(ParserOptions options = {});

  // Parses `data`, unmasking payload bytes in place, reports to `listener`,
  // and returns how many bytes were consumed: all of them, unless a close
  // frame ended the stream (then up to its end) or an error occurred (then up
  // to and including the byte that revealed it; bytes after that may have
  // been unmasked). Apart from that error case, bytes not consumed are left
  // untouched. The parser keeps no pointer into `data` between calls.
  std::size_t feed(std::span<char> data, FrameListener& listener);
  // The same for a listener type with FrameListener's member functions (not
  // necessarily derived from it): defined in ws/frame_parser_impl.hpp, which
  // the listener's own .cpp includes.
  template <class Listener>
  std::size_t feed_static(std::span<char> data, Listener& listener);

  Error error() const { return error_; }
  // A short human-readable reason for the error, for logs and close frames.
  std::string_view error_reason() const;
  // True once a valid close frame was parsed; feed() then consumes nothing.
  bool closed() const { return state_ == State::closed; }
  // True between on_message_begin and on_message_end.
  bool in_message() const { return in_message_; }
  // True at a frame boundary with no header byte buffered.
  bool at_frame_boundary() const { return state_ == State::header && header_len_ == 0; }
  void reset();  // back to the start of a stream, clears the error
  Role role() const { return role_; }

 private:
  enum class State : std::uint8_t {
    header,           // collecting header bytes
    data_payload,     // streaming a text/binary/continuation frame's payload
    control_payload,  // collecting a control frame's payload
    closed,
    failed,
  };

  enum class HeaderStage : std::uint8_t {
    base,    // the first two bytes
    length,  // through the extended payload length
    key,     // through the masking key
  };

  void fail(Error e, std::uint8_t reason);  // an index into the reasons table
  // Copies header bytes; returns the number taken from `data`.
  template <class L>
  std::size_t feed_header(const char* data, std::size_t size, L& listener);
  bool check_first_two_bytes();
  bool check_length();
  template <class L>
  void start_payload(L& listener);
  template <class L>
  std::size_t feed_data(char* data, std::size_t size, L& listener);
  // A complete single-frame message in `data`: handled directly; returns the
  // bytes used, or 0 to leave it to the general path.
  template <class L>
  std::size_t try_whole_frame(char* data, std::size_t size, L& listener);
  template <class L>
  std::size_t feed_control(char* data, std::size_t size, L& listener);
  template <class L>
  void end_data_frame(L& listener);
  template <class L>
  void end_control_frame(std::string_view payload, L& listener);
  void next_frame();  // header state back to "expecting a frame"

  // Ordered widest first: every idle WebSocket holds one of these.
  std::unique_ptr<char[]> control_;  // only while a control payload is split across reads
  // Sizes fit 32 bits: the message limit is capped below 4 GiB (kMaxMessageLimit),
  // and a frame's length is checked against it before it is kept.
  std::uint32_t max_message_size_;
  std::uint32_t remaining_ = 0;     // payload bytes of the current frame still to come
  std::uint32_t message_size_ = 0;  // payload bytes of the current data message so far
  std::uint8_t reason_ = 0;         // why it failed: an index (see error_reason())

  // Current frame.
  std::array<unsigned char, 14> header_{};
  MaskKey key_{};
  Error error_ = Error::none;
  State state_ = State::header;
  Role role_;
  bool permessage_deflate_;
  std::uint8_t header_len_ = 0;   // bytes collected
  std::uint8_t header_need_ = 2;  // bytes to collect before the next check
  HeaderStage header_stage_ = HeaderStage::base;
  std::uint8_t length_bytes_ = 0;  // extended payload length: 0, 2 or 8 bytes
  bool fin_ = false;
  Opcode opcode_ = Opcode::continuation;
  bool masked_ = false;
  bool compressed_ = false;       // RSV1
  std::uint8_t key_offset_ = 0;   // position within the key of the next payload byte
  std::uint8_t control_len_ = 0;  // at most 125

  // Current data message.
  bool in_message_ = false;
  bool text_ = false;  // a text message whose UTF-8 is checked here
  Utf8Validator utf8_;
};

}  // namespace trident::ws
