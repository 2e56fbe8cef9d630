// RFC 6455 frame serialization: appends frames to a std::string.
//
// Frames a server sends are unmasked (pass no key); frames a client sends
// must be masked with a fresh, unpredictable 4-byte key per frame, which the
// caller supplies (this layer has no random source). Payload lengths use the
// minimal 7-, 16- or 64-bit encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ws/frame_parser.hpp"
#include "ws/mask.hpp"

namespace trident::ws {

struct FrameHeader {
  Opcode opcode = Opcode::binary;
  bool fin = true;
  bool rsv1 = false;  // permessage-deflate: compressed message (first frame only)
  std::uint64_t payload_length = 0;
  std::optional<MaskKey> mask;  // client frames only
};

// Largest header: 2 bytes, 8 of extended length, 4 of masking key.
constexpr std::size_t kMaxFrameHeaderSize = 14;

// Size of the header append_frame_header() writes for `h`.
std::size_t frame_header_size(const FrameHeader& h);

// Appends just the header; the caller appends payload_length payload bytes,
// masked (see mask()) with h.mask if set.
void append_frame_header(std::string& out, const FrameHeader& h);

// Appends a whole frame: header and payload, masked if `mask` is set.
void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true,
                  const std::optional<MaskKey>& mask = std::nullopt, bool rsv1 = false);

// Largest close reason that fits in a control frame (125 - 2 bytes of code).
constexpr std::size_t kMaxCloseReason = 123;

// Appends a close frame. code == close_code::no_status (1005) writes an empty
// payload (and drops the reason). Otherwise the code goes first, followed by
// the reason, cut to kMaxCloseReason bytes at a UTF-8 code point boundary.
void append_close(std::string& out, std::uint16_t code, std::string_view reason = {},
                  const std::optional<MaskKey>& mask = std::nullopt);

// Append a ping or pong frame. Return false and append nothing if the payload
// is longer than 125 bytes.
bool append_ping(std::string& out, std::string_view payload = {},
                 const std::optional<MaskKey>& mask = std::nullopt);
bool append_pong(std::string& out, std::string_view payload = {},
                 const std::optional<MaskKey>& mask = std::nullopt);

}  // namespace trident::ws
