#include "rpc/grpc/framing.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace trident::rpc::grpc {
namespace {
constexpr std::size_t kRetainedBufferCapacity = 64 * 1024;
}  // namespace

MessageDecoder::MessageDecoder(MessageListener& listener, std::size_t max_message_size)
    : listener_(listener), max_(max_message_size) {}

void MessageDecoder::reset() {
  failed_ = false;
  error_ = Status{};
  header_have_ = 0;
  in_payload_ = false;
  compressed_ = false;
  length_ = 0;
  std::string().swap(buffer_);
}

void MessageDecoder::fail(Status status) {
  if (failed_) return;
  failed_ = true;
  error_ = std::move(status);
  // buffer_ is freed by feed() once the callback that may be running returns.
}

bool MessageDecoder::start_message() {
  const unsigned flag = header_[0];
  if (flag > 1) {
    fail({StatusCode::internal,
          "invalid compressed flag " + std::to_string(flag) + " in message header",
          {}});
    return false;
  }
  length_ = (std::uint32_t{header_[1]} << 24) | (std::uint32_t{header_[2]} << 16) |
            (std::uint32_t{header_[3]} << 8) | std::uint32_t{header_[4]};
  if (length_ > max_) {
    fail({StatusCode::resource_exhausted,
          "received message larger than max (" + std::to_string(length_) + " vs. " +
              std::to_string(max_) + ")",
          {}});
    return false;
  }
  compressed_ = flag == 1;
  header_have_ = 0;
  in_payload_ = true;
  return true;
}

void MessageDecoder::deliver(std::string_view payload) {
  in_payload_ = false;
  listener_.on_message(payload, compressed_);
}

bool MessageDecoder::feed(std::string_view data) {
  if (failed_) return false;
  while (!data.empty()) {
    if (!in_payload_) {
      const std::size_t take = std::min(kMessageHeaderSize - header_have_, data.size());
      std::copy_n(data.data(), take, header_ + header_have_);
      header_have_ += take;
      data.remove_prefix(take);
      if (header_have_ < kMessageHeaderSize) break;
      if (!start_message()) return false;
    }
    if (buffer_.empty() && data.size() >= length_) {
      // Fast path: the whole payload is in this feed (or it is empty).
      deliver(data.substr(0, length_));
      data.remove_prefix(length_);
    } else {
      const std::size_t take = std::min<std::size_t>(length_ - buffer_.size(), data.size());
      buffer_.append(data.data(), take);
      data.remove_prefix(take);
      if (buffer_.size() < length_) break;
      deliver(buffer_);
      // Keep a small buffer for the next message; give a large one back.
      if (buffer_.capacity() > kRetainedBufferCapacity) {
        std::string().swap(buffer_);
      } else {
        buffer_.clear();
      }
    }
    if (failed_) {  // the listener called fail()
      std::string().swap(buffer_);
      return false;
    }
  }
  return !failed_;
}

bool MessageDecoder::finish() {
  if (failed_) return false;
  if (!idle()) {
    fail({StatusCode::internal, "truncated message", {}});
    return false;
  }
  return true;
}

void encode_message_header(char out[kMessageHeaderSize], std::uint32_t length, bool compressed) {
  out[0] = compressed ? 1 : 0;
  out[1] = static_cast<char>((length >> 24) & 0xff);
  out[2] = static_cast<char>((length >> 16) & 0xff);
  out[3] = static_cast<char>((length >> 8) & 0xff);
  out[4] = static_cast<char>(length & 0xff);
}

bool encode_message(std::string& out, std::string_view payload, bool compressed) {
  if (payload.size() > std::numeric_limits<std::uint32_t>::max()) return false;
  char header[kMessageHeaderSize];
  encode_message_header(header, static_cast<std::uint32_t>(payload.size()), compressed);
  out.reserve(out.size() + kMessageHeaderSize + payload.size());
  out.append(header, kMessageHeaderSize);
  out.append(payload);
  return true;
}

}  // namespace trident::rpc::grpc
