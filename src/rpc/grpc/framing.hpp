// gRPC Length-Prefixed-Message codec (PROTOCOL-HTTP2 "Length-Prefixed-Message"):
// bytes in, whole messages out.
//
//   Compressed-Flag (1 byte: 0 or 1) | Message-Length (4 bytes, big endian) | Message
//
// DATA frame boundaries have no relation to message boundaries, so the decoder
// accepts the stream split anywhere. A message that arrives whole within one
// feed() is handed out as a view into the caller's buffer (no copy); otherwise
// its bytes are buffered, at most one message of at most max_message_size.
// No I/O and no compression here: the compressed flag is reported as is, and
// the caller decompresses (and rejects flag 1 when no grpc-encoding was sent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rpc/status.hpp"

namespace trident::rpc::grpc {

inline constexpr std::size_t kMessageHeaderSize = 5;
// gRPC's customary default limit for received messages (4 MiB).
inline constexpr std::size_t kDefaultMaxReceiveMessageSize = 4u << 20;

class MessageListener {
 public:
  virtual ~MessageListener() = default;
  // One whole message. The view is valid during the call only.
  virtual void on_message(std::string_view payload, bool compressed) = 0;
};

class MessageDecoder {
 public:
  explicit MessageDecoder(MessageListener& listener,
                          std::size_t max_message_size = kDefaultMaxReceiveMessageSize);

  // Consumes all of `data`, delivering every message it completes. Returns
  // false once the stream is in error (see error()); the decoder then ignores
  // further input until reset(). Errors:
  //   flag other than 0/1            → INTERNAL
  //   length above max_message_size  → RESOURCE_EXHAUSTED (detected from the
  //                                    header alone, before any payload is buffered)
  bool feed(std::string_view data);

  // End of stream. Returns false (INTERNAL "truncated message") if the stream
  // ends inside a message, or if the decoder had already failed.
  bool finish();

  // Lets the listener (or the owner) stop decoding with its own status, e.g. a
  // unary method receiving a second message. feed() returns false after the
  // current callback and delivers nothing more. The view passed to that
  // callback stays valid until it returns.
  void fail(Status status);

  bool failed() const { return failed_; }
  const Status& error() const { return error_; }
  // True at a message boundary (no partial header or payload held).
  bool idle() const { return header_have_ == 0 && !in_payload_; }
  std::size_t max_message_size() const { return max_; }
  void set_max_message_size(std::size_t max) { max_ = max; }
  void reset();  // back to idle, clears the error and frees the buffer

 private:
  bool start_message();  // header complete: validate it; false on error
  void deliver(std::string_view payload);

  MessageListener& listener_;
  std::size_t max_;
  bool failed_ = false;
  Status error_;
  unsigned char header_[kMessageHeaderSize] = {};
  std::size_t header_have_ = 0;  // header bytes held (0..4 between feeds)
  bool in_payload_ = false;      // header parsed, payload (partially) pending
  bool compressed_ = false;
  std::uint32_t length_ = 0;
  std::string buffer_;  // payload bytes of the current message received so far
};

// Writes the 5-byte prefix for a message of `length` bytes into `out`.
void encode_message_header(char out[kMessageHeaderSize], std::uint32_t length, bool compressed);

// Appends prefix and payload to `out`. Returns false, appending nothing, when
// the payload does not fit a 32-bit length.
bool encode_message(std::string& out, std::string_view payload, bool compressed);

}  // namespace trident::rpc::grpc
