// libFuzzer target for the WebSocket frame parser (and the masking and UTF-8
// code under it).
//
// Input layout: byte 0 and byte 1 pick two split points, byte 2 picks the
// options (role, permessage-deflate, message size limit), the rest is the byte
// stream. The stream is parsed whole, split in three pieces, and byte by byte
// when short; all runs must produce the same events and final state. Every
// piece is a fresh copy (the parser unmasks in place and must keep no pointer
// into it), every view handed to the listener must point into the piece
// being fed (or be a control payload of at most 125 bytes), and bytes the
// parser does not consume must come back untouched.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_parser.hpp"
#include "ws/mask.hpp"
#include "ws/utf8.hpp"

namespace {

using trident::ws::Error;
using trident::ws::FrameListener;
using trident::ws::FrameParser;
using trident::ws::MaskKey;
using trident::ws::Opcode;
using trident::ws::ParserOptions;
using trident::ws::Role;
using trident::ws::Utf8Validator;

void check(bool ok) {
  if (!ok) std::abort();
}

class Checker : public FrameListener {
 public:
  explicit Checker(const ParserOptions& options) : options_(options) {}

  void set_buffer(std::string_view b) { buf_ = b; }

  void on_message_begin(Opcode op, bool compressed) override {
    check(!closed_ && !pending_close_);
    check(!in_message_);
    check(op == Opcode::text || op == Opcode::binary);
    check(!compressed || options_.permessage_deflate);
    in_message_ = true;
    validate_ = op == Opcode::text && !compressed;
    utf8_.reset();
    size_ = 0;
    log_ += op == Opcode::text ? "T" : "B";
    log_ += compressed ? "z" : "-";
    last_data_ = false;
  }

  void on_data(std::string_view d) override {
    check(!closed_ && !pending_close_);
    check(in_message_);
    check(!d.empty());
    check(d.data() >= buf_.data() && d.data() + d.size() <= buf_.data() + buf_.size());
    size_ += d.size();
    check(size_ <= options_.max_message_size);
    if (validate_) check(utf8_.feed(d) == d.size());
    if (!last_data_) log_ += "D";
    log_ += d;  // merged across calls: the split must not show
    last_data_ = true;
  }

  void on_message_end() override {
    check(!closed_ && !pending_close_);
    check(in_message_);
    if (validate_) check(utf8_.complete());
    in_message_ = false;
    log_ += "E\n";
    last_data_ = false;
  }

  void on_control(Opcode op, std::string_view payload) override {
    check(!closed_ && !pending_close_);
    check(op == Opcode::ping || op == Opcode::pong || op == Opcode::close);
    check(payload.size() <= 125);
    if (op == Opcode::close) {
      check(payload.size() != 1);
      pending_close_ = true;
      close_payload_ = std::string(payload);
    }
    log_ += "\nC";
    log_ += std::to_string(static_cast<int>(op));
    log_ += ':';
    log_ += payload;
    log_ += '\n';
    last_data_ = false;
  }

  void on_close(std::uint16_t code, std::string_view reason) override {
    check(pending_close_ && !closed_);
    pending_close_ = false;
    closed_ = true;
    if (close_payload_.empty()) {
      check(code == trident::ws::close_code::no_status && reason.empty());
    } else {
      check(trident::ws::valid_close_code(code));
      check(code == (static_cast<unsigned char>(close_payload_[0]) << 8 |
                     static_cast<unsigned char>(close_payload_[1])));
      check(reason == std::string_view(close_payload_).substr(2));
    }
    check(trident::ws::valid_utf8(reason));
    log_ += "X";
    log_ += std::to_string(code);
    log_ += ':';
    log_ += reason;
    log_ += '\n';
  }

  const std::string& log() const { return log_; }
  bool closed() const { return closed_; }
  bool pending_close() const { return pending_close_; }
  bool in_message() const { return in_message_; }

 private:
  ParserOptions options_;
  std::string_view buf_;
  std::string log_;
  bool in_message_ = false;
  bool last_data_ = false;
  bool validate_ = false;
  bool pending_close_ = false;
  bool closed_ = false;
  std::uint64_t size_ = 0;
  std::string close_payload_;
  Utf8Validator utf8_;
};

struct Result {
  std::string log;
  Error error = Error::none;
  std::string_view reason;
  std::size_t consumed = 0;
  bool closed = false;
  bool in_message = false;
  bool at_frame_boundary = false;
};

Result run(const std::vector<std::string_view>& pieces, const ParserOptions& options) {
  Checker c(options);
  FrameParser p(options);
  std::size_t consumed = 0;
  for (std::string_view piece : pieces) {
    // A fresh copy each time: the parser must not keep pointers across calls.
    std::string data(piece);
    c.set_buffer(data);
    const std::size_t n = p.feed(data, c);
    check(n <= data.size());
    consumed += n;
    if (p.error() != Error::none) {
      check(!p.error_reason().empty());
      check(!p.closed() && !p.at_frame_boundary());
      check(!c.pending_close() && !c.closed());
      check(p.feed(data, c) == 0);  // stays failed
      break;
    }
    check(p.error_reason().empty());
    check(p.in_message() == c.in_message());
    check(!c.pending_close());
    check(p.closed() == c.closed());
    if (p.closed()) {
      // Nothing after the close frame is touched or consumed.
      check(std::string_view(data).substr(n) == piece.substr(n));
      check(p.feed(data, c) == 0);
      break;
    }
    check(n == data.size());
  }
  return {c.log(),    p.error(),      p.error_reason(),     consumed,
          p.closed(), p.in_message(), p.at_frame_boundary()};
}

bool same(const Result& a, const Result& b) {
  return a.log == b.log && a.error == b.error && a.reason == b.reason && a.consumed == b.consumed &&
         a.closed == b.closed && a.in_message == b.in_message &&
         a.at_frame_boundary == b.at_frame_boundary;
}

// mask() against the scalar reference, at every key offset and a few
// alignments of the fuzzer's bytes.
void check_mask(std::string_view in) {
  if (in.size() < 4) return;
  const MaskKey key = {static_cast<std::uint8_t>(in[0]), static_cast<std::uint8_t>(in[1]),
                       static_cast<std::uint8_t>(in[2]), static_cast<std::uint8_t>(in[3])};
  const std::string_view body = in.substr(4, 300);
  for (std::size_t offset = 0; offset < 4; ++offset) {
    for (std::size_t align = 0; align < 3 && align <= body.size(); ++align) {
      std::string a(body.substr(align));
      std::string b = a;
      check(trident::ws::mask(a.data(), a.size(), key, offset) ==
            trident::ws::mask_scalar(b.data(), b.size(), key, offset));
      check(a == b);
    }
  }
  // unmask_ascii(): the same bytes as the reference, and "all ASCII" exactly
  // when no unmasked byte has its high bit set.
  std::string c(body);
  std::string d(body);
  const bool ascii = trident::ws::unmask_ascii(c.data(), c.size(), key);
  trident::ws::mask_scalar(d.data(), d.size(), key, 0);
  check(c == d);
  check(ascii == std::all_of(d.begin(), d.end(),
                             [](char ch) { return (static_cast<unsigned char>(ch) & 0x80) == 0; }));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::size_t s1 = data[0] % (in.size() + 1);
  std::size_t s2 = data[1] % (in.size() + 1);
  if (s1 > s2) std::swap(s1, s2);

  ParserOptions options;
  options.role = (data[2] & 1) ? Role::client : Role::server;
  options.permessage_deflate = (data[2] & 2) != 0;
  switch ((data[2] >> 2) & 3) {
    case 0:
      break;  // default
    case 1:
      options.max_message_size = 0;
      break;
    case 2:
      options.max_message_size = 64;
      break;
    case 3:
      options.max_message_size = ~0ull;
      break;
  }

  const Result whole = run({in}, options);
  const Result split = run({in.substr(0, s1), in.substr(s1, s2 - s1), in.substr(s2)}, options);
  check(same(whole, split));
  if (in.size() <= 256) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
    check(same(whole, run(bytes, options)));
  }

  // The UTF-8 validator: whole vs split at s1.
  Utf8Validator v;
  const std::size_t n1 = v.feed(in.substr(0, s1));
  if (n1 == s1) {
    const std::size_t n2 = v.feed(in.substr(s1));
    check(trident::ws::valid_utf8(in) == (n2 == in.size() - s1 && v.complete()));
  } else {
    check(!trident::ws::valid_utf8(in));
  }
  check_mask(in);
  return 0;
}
