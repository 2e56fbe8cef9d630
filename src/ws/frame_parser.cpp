// Incremental RFC 6455 frame parser. See frame_parser.hpp for the contract.
#include "ws/frame_parser.hpp"

#include <algorithm>
#include <cstring>

#include "ws/frame_parser_impl.hpp"

namespace trident::ws {

using namespace frame_bits;

FrameParser::FrameParser(ParserOptions options)
    : max_message_size_(
          static_cast<std::uint32_t>(std::min(options.max_message_size, kMaxMessageLimit))),
      role_(options.role),
      permessage_deflate_(options.permessage_deflate) {}

void FrameParser::reset() {
  state_ = State::header;
  error_ = Error::none;
  reason_ = 0;
  next_frame();
  in_message_ = false;
  text_ = false;
  message_size_ = 0;
  utf8_.reset();
}

void FrameParser::next_frame() {
  state_ = State::header;
  header_len_ = 0;
  header_need_ = 2;
  header_stage_ = HeaderStage::base;
}

std::string_view FrameParser::error_reason() const {
  return kReasons[reason_];
}

void FrameParser::fail(Error e, std::uint8_t reason) {
  state_ = State::failed;
  error_ = e;
  reason_ = reason;
}

bool FrameParser::check_first_two_bytes() {
  const unsigned char b0 = header_[0];
  const unsigned char b1 = header_[1];
  fin_ = (b0 & kFin) != 0;
  compressed_ = (b0 & kRsv1) != 0;
  const unsigned op = b0 & kOpcodeBits;
  if ((b0 & kRsv23) != 0) {
    fail(Error::protocol_error, reason_id("reserved bit RSV2 or RSV3 set"));
    return false;
  }
  if (!known_opcode(op)) {
    fail(Error::protocol_error, reason_id("reserved opcode"));
    return false;
  }
  opcode_ = static_cast<Opcode>(op);
  const bool control = is_control(opcode_);
  if (compressed_) {
    if (!permessage_deflate_) {
      fail(Error::protocol_error, reason_id("reserved bit RSV1 set without permessage-deflate"));
      return false;
    }
    if (control || opcode_ == Opcode::continuation) {
      fail(Error::protocol_error, reason_id("RSV1 set on a control or continuation frame"));
      return false;
    }
  }
  if (control) {
    if (!fin_) {
      fail(Error::protocol_error, reason_id("fragmented control frame"));
      return false;
    }
  } else if (opcode_ == Opcode::continuation) {
    if (!in_message_) {
      fail(Error::protocol_error, reason_id("continuation frame without a message in progress"));
      return false;
    }
  } else if (in_message_) {
    fail(Error::protocol_error, reason_id("new data message while another is in progress"));
    return false;
  }
  masked_ = (b1 & kMaskBit) != 0;
  if (role_ == Role::server && !masked_) {
    fail(Error::protocol_error, reason_id("unmasked frame from a client"));
    return false;
  }
  if (role_ == Role::client && masked_) {
    fail(Error::protocol_error, reason_id("masked frame from a server"));
    return false;
  }
  const unsigned len7 = b1 & kLengthBits;
  if (control && len7 > kMaxControlPayload) {
    fail(Error::protocol_error, reason_id("control frame payload longer than 125 bytes"));
    return false;
  }
  length_bytes_ = len7 == 127 ? 8 : len7 == 126 ? 2 : 0;
  return true;
}

bool FrameParser::check_length() {
  // Non-minimal encodings (e.g. 5 in 16 bits) are accepted: RFC 6455 §5.2
  // asks senders for the minimal form but does not make it a receiver error.
  std::uint64_t len = header_[1] & kLengthBits;
  if (length_bytes_ != 0) {
    len = 0;
    for (std::size_t i = 0; i < length_bytes_; ++i) len = (len << 8) | header_[2 + i];
    if (length_bytes_ == 8 && (len >> 63) != 0) {
      fail(Error::protocol_error,
           reason_id("64-bit payload length with the most significant bit set"));
      return false;
    }
  }
  if (!is_control(opcode_)) {
    // message_size_ <= max_message_size always holds, so this cannot wrap.
    if (len > max_message_size_ - message_size_) {
      fail(Error::message_too_big, reason_id("message too big"));
      return false;
    }
    message_size_ += static_cast<std::uint32_t>(len);
  }
  // A data frame's length is within the 32-bit limit now, a control frame's ≤ 125.
  remaining_ = static_cast<std::uint32_t>(len);
  return true;
}

std::size_t FrameParser::feed(std::span<char> data, FrameListener& listener) {
  return feed_static(data, listener);
}

}  // namespace trident::ws
