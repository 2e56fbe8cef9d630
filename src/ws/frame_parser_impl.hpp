// The template half of the frame parser: feed_static() and the steps that
// call the listener. Included by frame_parser.cpp (for FrameListener, with
// virtual calls) and by a listener's own .cpp (ws/socket.cpp: direct calls).
#pragma once

#include <algorithm>
#include <cstring>

#include "ws/frame_parser.hpp"

namespace trident::ws {
namespace frame_bits {

inline constexpr unsigned char kFin = 0x80;
inline constexpr unsigned char kRsv1 = 0x40;
inline constexpr unsigned char kRsv23 = 0x30;
inline constexpr unsigned char kOpcodeBits = 0x0F;
inline constexpr unsigned char kMaskBit = 0x80;
inline constexpr unsigned char kLengthBits = 0x7F;
inline constexpr std::size_t kMaxControlPayload = 125;

inline bool known_opcode(unsigned op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Why a stream failed, for logs and close frames. The parser keeps an index
// into this table (one byte per socket, not a pointer).
inline constexpr std::string_view kReasons[] = {
    "",
    "reserved bit RSV2 or RSV3 set",
    "reserved opcode",
    "reserved bit RSV1 set without permessage-deflate",
    "RSV1 set on a control or continuation frame",
    "fragmented control frame",
    "continuation frame without a message in progress",
    "new data message while another is in progress",
    "unmasked frame from a client",
    "masked frame from a server",
    "control frame payload longer than 125 bytes",
    "64-bit payload length with the most significant bit set",
    "message too big",
    "invalid UTF-8 in a text message",
    "text message ends inside a UTF-8 sequence",
    "close frame with a 1-byte payload",
    "invalid close code",
    "invalid UTF-8 in a close reason",
};

// A reason's index; a string missing from the table does not compile.
consteval std::uint8_t reason_id(std::string_view reason) {
  for (std::size_t i = 0; i < std::size(kReasons); ++i) {
    if (kReasons[i] == reason) return static_cast<std::uint8_t>(i);
  }
  throw "reason missing from kReasons";
}

}  // namespace frame_bits

template <class Listener>
std::size_t FrameParser::feed_static(std::span<char> data, Listener& listener) {
  char* const p = data.data();
  const std::size_t n = data.size();
  std::size_t i = 0;
  while (i < n) {
    switch (state_) {
      case State::header:
        if (header_len_ == 0 && !in_message_ && role_ == Role::server) {
          if (std::size_t used = try_whole_frame(p + i, n - i, listener)) {
            i += used;
            break;
          }
        }
        i += feed_header(p + i, n - i, listener);
        break;
      case State::data_payload:
        i += feed_data(p + i, n - i, listener);
        break;
      case State::control_payload:
        i += feed_control(p + i, n - i, listener);
        break;
      case State::closed:
      case State::failed:
        return i;
    }
  }
  return i;
}

template <class L>
std::size_t FrameParser::try_whole_frame(char* data, std::size_t size, L& listener) {
  if (size < 6) return 0;
  const auto b0 = static_cast<unsigned char>(data[0]);
  const auto b1 = static_cast<unsigned char>(data[1]);
  const unsigned op = b0 & frame_bits::kOpcodeBits;
  // FIN, no reserved bits, text or binary, masked, 7- or 16-bit length.
  if ((b0 & 0xF0) != frame_bits::kFin || (op != 0x1 && op != 0x2) ||
      (b1 & frame_bits::kMaskBit) == 0)
    return 0;
  std::size_t len = b1 & frame_bits::kLengthBits;
  std::size_t header = 6;
  if (len == 127) return 0;
  if (len == 126) {
    if (size < 8) return 0;
    len = static_cast<std::size_t>(static_cast<unsigned char>(data[2])) << 8 |
          static_cast<unsigned char>(data[3]);
    header = 8;
  }
  if (size - header < len || len > max_message_size_) return 0;
  MaskKey key;
  std::memcpy(key.data(), data + header - 4, 4);
  char* payload = data + header;
  if (op == 0x2) {
    mask(payload, len, key, 0);
  } else if (!unmask_ascii(payload, len, key) && !valid_utf8(std::string_view(payload, len))) {
    // Put the bytes back as they came: the general path finds the exact
    // byte and fails there.
    mask(payload, len, key, 0);
    return 0;
  }
  listener.on_whole_message(static_cast<Opcode>(op), std::string_view(payload, len));
  return header + len;
}

template <class L>
std::size_t FrameParser::feed_header(const char* data, std::size_t size, L& listener) {
  if (header_len_ == 0 && size >= 2) {
    // Fast path: the whole header is in this buffer (the common case), so
    // take it in one copy instead of stage by stage.
    const auto b1 = static_cast<unsigned char>(data[1]);
    const unsigned len7 = b1 & frame_bits::kLengthBits;
    const std::size_t need = 2 +
                             (len7 == 127   ? 8
                              : len7 == 126 ? 2
                                            : 0) +
                             ((b1 & frame_bits::kMaskBit) ? 4 : 0);
    if (size >= need) {
      std::memcpy(header_.data(), data, need);
      header_len_ = need;
      if (!check_first_two_bytes()) return 2;
      if (!check_length()) return 2 + length_bytes_;
      start_payload(listener);
      return need;
    }
  }
  std::size_t taken = 0;
  for (;;) {
    const std::size_t take =
        std::min<std::size_t>(std::size_t{header_need_} - header_len_, size - taken);
    std::memcpy(header_.data() + header_len_, data + taken, take);
    header_len_ += take;
    taken += take;
    if (header_len_ < header_need_) return taken;
    switch (header_stage_) {
      case HeaderStage::base:
        if (!check_first_two_bytes()) return taken;
        header_need_ = 2 + length_bytes_;
        header_stage_ = HeaderStage::length;
        break;
      case HeaderStage::length:
        if (!check_length()) return taken;
        header_need_ += masked_ ? 4 : 0;
        header_stage_ = HeaderStage::key;
        break;
      case HeaderStage::key:
        start_payload(listener);
        return taken;
    }
  }
}

template <class L>
void FrameParser::start_payload(L& listener) {
  if (masked_) std::memcpy(key_.data(), header_.data() + header_len_ - 4, 4);
  key_offset_ = 0;
  if (is_control(opcode_)) {
    control_len_ = 0;
    state_ = State::control_payload;
    if (remaining_ == 0) end_control_frame({}, listener);
    return;
  }
  state_ = State::data_payload;
  if (opcode_ != Opcode::continuation) {
    in_message_ = true;
    text_ = opcode_ == Opcode::text && !compressed_;
    utf8_.reset();
    listener.on_message_begin(opcode_, compressed_);
  }
  if (remaining_ == 0) end_data_frame(listener);
}

template <class L>
std::size_t FrameParser::feed_data(char* data, std::size_t size, L& listener) {
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size));
  if (masked_) key_offset_ = mask(data, take, key_, key_offset_);
  std::size_t valid = take;
  if (text_) valid = utf8_.feed(std::string_view(data, take));
  if (valid > 0) listener.on_data(std::string_view(data, valid));
  if (valid < take) {
    fail(Error::invalid_payload, frame_bits::reason_id("invalid UTF-8 in a text message"));
    return valid + 1;
  }
  remaining_ -= take;
  if (remaining_ == 0) end_data_frame(listener);
  return take;
}

template <class L>
void FrameParser::end_data_frame(L& listener) {
  next_frame();
  if (!fin_) return;
  if (text_ && !utf8_.complete()) {
    fail(Error::invalid_payload,
         frame_bits::reason_id("text message ends inside a UTF-8 sequence"));
    return;
  }
  in_message_ = false;
  text_ = false;
  message_size_ = 0;
  listener.on_message_end();
}

template <class L>
std::size_t FrameParser::feed_control(char* data, std::size_t size, L& listener) {
  // remaining_ <= 125 - control_len_ here.
  if (control_len_ == 0 && size >= remaining_) {
    // The whole payload is here (the usual case): unmask it in place.
    const auto len = static_cast<std::size_t>(remaining_);
    if (masked_) mask(data, len, key_, 0);
    remaining_ = 0;
    end_control_frame(std::string_view(data, len), listener);
    return len;
  }
  // Split across reads: collect it (the buffer exists only while needed).
  if (!control_) control_ = std::make_unique<char[]>(frame_bits::kMaxControlPayload);
  const std::size_t take = std::min(static_cast<std::size_t>(remaining_), size);
  char* const dst = control_.get() + control_len_;
  std::memcpy(dst, data, take);
  if (masked_) key_offset_ = mask(dst, take, key_, key_offset_);
  control_len_ += take;
  remaining_ -= take;
  if (remaining_ == 0) {
    end_control_frame(std::string_view(control_.get(), control_len_), listener);
    control_.reset();
  }
  return take;
}

template <class L>
void FrameParser::end_control_frame(std::string_view payload, L& listener) {
  next_frame();
  if (opcode_ != Opcode::close) {
    listener.on_control(opcode_, payload);
    return;
  }
  std::uint16_t code = close_code::no_status;
  std::string_view reason;
  if (payload.size() == 1) {
    fail(Error::protocol_error, frame_bits::reason_id("close frame with a 1-byte payload"));
    return;
  }
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                      static_cast<unsigned char>(payload[1]));
    if (!valid_close_code(code)) {
      fail(Error::protocol_error, frame_bits::reason_id("invalid close code"));
      return;
    }
    reason = payload.substr(2);
    if (!valid_utf8(reason)) {
      fail(Error::invalid_payload, frame_bits::reason_id("invalid UTF-8 in a close reason"));
      return;
    }
  }
  state_ = State::closed;
  listener.on_control(Opcode::close, payload);
  listener.on_close(code, reason);
}

}  // namespace trident::ws
