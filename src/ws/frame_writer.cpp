// RFC 6455 frame serialization. See frame_writer.hpp.
#include "ws/frame_writer.hpp"

namespace trident::ws {
namespace {

constexpr std::size_t kMaxControlPayload = 125;

void append_payload(std::string& out, std::string_view payload,
                    const std::optional<MaskKey>& mask_key) {
  const std::size_t at = out.size();
  out.append(payload);
  if (mask_key) mask(out.data() + at, payload.size(), *mask_key);
}

bool append_control(std::string& out, Opcode opcode, std::string_view payload,
                    const std::optional<MaskKey>& mask_key) {
  if (payload.size() > kMaxControlPayload) return false;
  append_frame(out, opcode, payload, true, mask_key);
  return true;
}

// The longest prefix of `s` of at most `max` bytes that does not end inside a
// UTF-8 sequence (cuts before the lead byte of a sequence that would not fit).
std::string_view cut_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  // s[n] is the first byte dropped: back up while it is a continuation byte.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

std::size_t frame_header_size(const FrameHeader& h) {
  std::size_t size = 2;
  if (h.payload_length > 0xFFFF) {
    size += 8;
  } else if (h.payload_length > 125) {
    size += 2;
  }
  if (h.mask) size += 4;
  return size;
}

void append_frame_header(std::string& out, const FrameHeader& h) {
  char buf[kMaxFrameHeaderSize];
  std::size_t n = 0;
  buf[n++] = static_cast<char>((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) |
                               static_cast<std::uint8_t>(h.opcode));
  const char mask_bit = h.mask ? static_cast<char>(0x80) : 0;
  const std::uint64_t len = h.payload_length;
  if (len <= 125) {
    buf[n++] = static_cast<char>(mask_bit | static_cast<char>(len));
  } else if (len <= 0xFFFF) {
    buf[n++] = static_cast<char>(mask_bit | 126);
    buf[n++] = static_cast<char>(len >> 8);
    buf[n++] = static_cast<char>(len);
  } else {
    buf[n++] = static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) buf[n++] = static_cast<char>(len >> shift);
  }
  if (h.mask) {
    for (std::uint8_t b : *h.mask) buf[n++] = static_cast<char>(b);
  }
  out.append(buf, n);
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin,
                  const std::optional<MaskKey>& mask_key, bool rsv1) {
  FrameHeader h;
  h.opcode = opcode;
  h.fin = fin;
  h.rsv1 = rsv1;
  h.payload_length = payload.size();
  h.mask = mask_key;
  out.reserve(out.size() + frame_header_size(h) + payload.size());
  append_frame_header(out, h);
  append_payload(out, payload, mask_key);
}

void append_close(std::string& out, std::uint16_t code, std::string_view reason,
                  const std::optional<MaskKey>& mask_key) {
  if (code == close_code::no_status) {
    append_frame(out, Opcode::close, {}, true, mask_key);
    return;
  }
  char payload[kMaxControlPayload];
  payload[0] = static_cast<char>(code >> 8);
  payload[1] = static_cast<char>(code);
  const std::string_view r = cut_utf8(reason, kMaxCloseReason);
  r.copy(payload + 2, r.size());
  append_frame(out, Opcode::close, std::string_view(payload, 2 + r.size()), true, mask_key);
}

bool append_ping(std::string& out, std::string_view payload,
                 const std::optional<MaskKey>& mask_key) {
  return append_control(out, Opcode::ping, payload, mask_key);
}

bool append_pong(std::string& out, std::string_view payload,
                 const std::optional<MaskKey>& mask_key) {
  return append_control(out, Opcode::pong, payload, mask_key);
}

}  // namespace trident::ws
