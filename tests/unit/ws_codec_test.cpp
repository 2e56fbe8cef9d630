// Unit tests for the WebSocket codec (src/ws/*): frame parser and writer,
// masking, UTF-8 validation and the handshake keys.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_parser.hpp"
#include "ws/frame_writer.hpp"
#include "ws/handshake.hpp"
#include "ws/mask.hpp"
#include "ws/utf8.hpp"

namespace trident::ws {
namespace {

using namespace std::string_literals;

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::continuation:
      return "cont";
    case Opcode::text:
      return "text";
    case Opcode::binary:
      return "binary";
    case Opcode::close:
      return "close";
    case Opcode::ping:
      return "ping";
    case Opcode::pong:
      return "pong";
  }
  return "?";
}

// Records every event as a string. Consecutive on_data pieces are merged so
// that the log does not depend on how the input was split.
class Recorder : public FrameListener {
 public:
  void set_buffer(const char* begin, std::size_t size) {
    begin_ = begin;
    end_ = begin + size;
  }

  void on_message_begin(Opcode op, bool compressed) override {
    events.push_back("begin "s + opcode_name(op) + (compressed ? " z" : ""));
  }
  void on_data(std::string_view d) override {
    EXPECT_FALSE(d.empty());
    EXPECT_TRUE(d.data() >= begin_ && d.data() + d.size() <= end_) << "view outside the buffer";
    if (events.empty() || events.back().rfind("data:", 0) != 0) events.push_back("data:");
    events.back() += d;
  }
  void on_message_end() override { events.push_back("end"); }
  void on_control(Opcode op, std::string_view payload) override {
    EXPECT_LE(payload.size(), 125u);
    events.push_back(opcode_name(op) + ":"s + std::string(payload));
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    events.push_back("onclose " + std::to_string(code) + ":" + std::string(reason));
  }

  std::vector<std::string> events;

 private:
  const char* begin_ = nullptr;
  const char* end_ = nullptr;
};

struct Result {
  std::vector<std::string> events;
  Error error = Error::none;
  std::string reason;
  std::size_t consumed = 0;
  bool closed = false;
  bool in_message = false;

  bool operator==(const Result&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
  os << "error=" << static_cast<int>(r.error) << " (" << r.reason << ") consumed=" << r.consumed
     << " closed=" << r.closed << " events:";
  for (const auto& e : r.events) os << " [" << e << "]";
  return os;
}

// Feeds `stream` cut at the given offsets (ascending). Every piece is a fresh
// copy: the parser unmasks in place and must not keep pointers across calls.
Result run(std::string_view stream, const std::vector<std::size_t>& cuts,
           const ParserOptions& options) {
  Recorder rec;
  FrameParser parser(options);
  Result r;
  std::size_t pos = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : stream.size();
    std::string piece(stream.substr(pos, end - pos));
    const std::string original = piece;
    rec.set_buffer(piece.data(), piece.size());
    const std::size_t n = parser.feed(piece, rec);
    EXPECT_LE(n, piece.size());
    r.consumed += n;
    if (parser.error() != Error::none || parser.closed()) {
      if (parser.error() == Error::none) {
        // Bytes after a close frame are left as they were.
        EXPECT_EQ(piece.substr(n), original.substr(n));
      }
      EXPECT_EQ(parser.feed(piece, rec), 0u);  // stays stopped
      break;
    }
    EXPECT_EQ(n, piece.size()) << "a parser that is not stopped consumes everything";
    pos = end;
  }
  r.events = rec.events;
  r.error = parser.error();
  r.reason = std::string(parser.error_reason());
  r.closed = parser.closed();
  r.in_message = parser.in_message();
  if (r.error == Error::none) {
    EXPECT_TRUE(r.reason.empty());
  } else {
    EXPECT_FALSE(r.reason.empty());
  }
  return r;
}

// Parses `stream` whole, cut once at every offset, cut twice at a spread of
// offset pairs, and byte by byte; every run must give the same result.
Result parse_everywhere(std::string_view stream, const ParserOptions& options = {}) {
  const Result whole = run(stream, {}, options);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    EXPECT_EQ(run(stream, {i}, options), whole) << "split at " << i;
  }
  const std::size_t step = stream.size() > 64 ? stream.size() / 16 : 1;
  for (std::size_t i = 0; i <= stream.size(); i += step) {
    for (std::size_t j = i; j <= stream.size(); j += step) {
      EXPECT_EQ(run(stream, {i, j}, options), whole) << "split at " << i << "," << j;
    }
  }
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < stream.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(run(stream, bytes, options), whole) << "byte by byte";
  return whole;
}

constexpr MaskKey kKey = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 §5.7's key

std::string client_frame(Opcode op, std::string_view payload, bool fin = true, bool rsv1 = false) {
  std::string out;
  append_frame(out, op, payload, fin, kKey, rsv1);
  return out;
}

std::string server_frame(Opcode op, std::string_view payload, bool fin = true) {
  std::string out;
  append_frame(out, op, payload, fin);
  return out;
}

ParserOptions client_role() {
  ParserOptions o;
  o.role = Role::client;
  return o;
}

// A raw client frame header (masked, key kKey) with arbitrary first byte and
// length field, followed by the payload masked with kKey.
std::string raw_client_frame(unsigned char b0, std::string_view payload) {
  FrameHeader h;
  h.payload_length = payload.size();
  h.mask = kKey;
  std::string out;
  append_frame_header(out, h);
  out[0] = static_cast<char>(b0);
  const std::size_t at = out.size();
  out += payload;
  mask(out.data() + at, payload.size(), kKey);
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xFF);
  p += reason;
  return p;
}

using Events = std::vector<std::string>;

// ---------------------------------------------------------------------------
// Valid streams, every split.

TEST(WsFrameParser, RfcMaskedHello) {
  const std::string s = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  const Result r = parse_everywhere(s);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"begin text", "data:Hello", "end"}));
  EXPECT_EQ(r.consumed, s.size());
  EXPECT_FALSE(r.in_message);
}

TEST(WsFrameParser, RfcUnmaskedHelloClientRole) {
  const std::string s = "\x81\x05Hello";
  const Result r = parse_everywhere(s, client_role());
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"begin text", "data:Hello", "end"}));
}

TEST(WsFrameParser, RfcFragmentedUnmasked) {
  const std::string s = "\x01\x03Hel\x80\x02lo"s;
  const Result r = parse_everywhere(s, client_role());
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"begin text", "data:Hello", "end"}));
}

TEST(WsFrameParser, RfcPingAndMaskedPong) {
  EXPECT_EQ(parse_everywhere("\x89\x05Hello", client_role()).events, (Events{"ping:Hello"}));
  const Result r = parse_everywhere("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"pong:Hello"}));
}

TEST(WsFrameParser, RfcExtendedLengths) {
  const std::string p256(256, 'x');
  const std::string s16 = "\x82\x7E\x01\x00"s + p256;
  EXPECT_EQ(parse_everywhere(s16, client_role()).events,
            (Events{"begin binary", "data:" + p256, "end"}));
  const std::string p64k(65536, 'y');
  const std::string s64 = "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00"s + p64k;
  EXPECT_EQ(run(s64, {}, client_role()).events, (Events{"begin binary", "data:" + p64k, "end"}));
  for (std::size_t cut : {1, 2, 5, 9, 10, 11, 30000, 65545}) {
    EXPECT_EQ(run(s64, {cut}, client_role()).events,
              (Events{"begin binary", "data:" + p64k, "end"}));
  }
}

TEST(WsFrameParser, NonMinimalLengthsAccepted) {
  // 5 in the 16-bit and in the 64-bit form.
  const std::string s = "\x82\x7E\x00\x05hello\x82\x7F\x00\x00\x00\x00\x00\x00\x00\x05world"s;
  const Result r = parse_everywhere(s, client_role());
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events,
            (Events{"begin binary", "data:hello", "end", "begin binary", "data:world", "end"}));
}

TEST(WsFrameParser, FragmentsWithInterleavedControlAndSplitCodePoint) {
  // "€" (E2 82 AC) split across fragments, a ping and a pong in between.
  const std::string s =
      client_frame(Opcode::text, "price: \xE2", false) + client_frame(Opcode::ping, "p1") +
      client_frame(Opcode::continuation, "\x82", false) + client_frame(Opcode::pong, "") +
      client_frame(Opcode::continuation, "\xAC 5", true);
  const Result r = parse_everywhere(s);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"begin text", "data:price: \xE2", "ping:p1", "data:\x82",
                              "pong:", "data:\xAC 5", "end"}));
}

TEST(WsFrameParser, EmptyFramesAndMessages) {
  const std::string s = client_frame(Opcode::text, "") + client_frame(Opcode::binary, "", false) +
                        client_frame(Opcode::continuation, "", false) +
                        client_frame(Opcode::continuation, "ab", false) +
                        client_frame(Opcode::continuation, "", true) +
                        client_frame(Opcode::ping, "");
  const Result r = parse_everywhere(s);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"begin text", "end", "begin binary", "data:ab", "end", "ping:"}));
}

TEST(WsFrameParser, BackToBackMessages) {
  std::string s;
  for (int i = 0; i < 5; ++i)
    s += client_frame(i % 2 ? Opcode::binary : Opcode::text, "m" + std::to_string(i));
  const Result r = parse_everywhere(s);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events.size(), 15u);
  EXPECT_EQ(r.events[12], "begin text");
  EXPECT_EQ(r.events[13], "data:m4");
}

TEST(WsFrameParser, CloseStopsTheStream) {
  const std::string close = client_frame(Opcode::close, close_payload(1000, "bye \xC3\xA9"));
  const std::string s = client_frame(Opcode::text, "hi") + close + client_frame(Opcode::text, "x");
  const Result r = parse_everywhere(s);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.consumed, s.size() - client_frame(Opcode::text, "x").size());
  EXPECT_EQ(r.events,
            (Events{"begin text", "data:hi", "end", "close:" + close_payload(1000, "bye \xC3\xA9"),
                    "onclose 1000:bye \xC3\xA9"}));
}

TEST(WsFrameParser, CloseWithoutPayloadAndBetweenFragments) {
  const std::string s = client_frame(Opcode::binary, "a", false) + client_frame(Opcode::close, "");
  const Result r = parse_everywhere(s);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.in_message);
  EXPECT_EQ(r.events, (Events{"begin binary", "data:a", "close:", "onclose 1005:"}));
}

TEST(WsFrameParser, ValidCloseCodes) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    const Result r =
        run(client_frame(Opcode::close, close_payload(static_cast<std::uint16_t>(code))), {}, {});
    EXPECT_EQ(r.error, Error::none) << code;
    EXPECT_TRUE(r.closed);
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.events[1], "onclose " + std::to_string(code) + ":");
  }
}

TEST(WsFrameParser, MaxMessageSizeBoundary) {
  ParserOptions o;
  o.max_message_size = 10;
  const std::string s = client_frame(Opcode::binary, "12345", false) +
                        client_frame(Opcode::ping, std::string(100, 'p')) +  // not counted
                        client_frame(Opcode::continuation, "67890");
  const Result r = parse_everywhere(s, o);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events.back(), "end");
  // The count restarts with every message.
  EXPECT_EQ(parse_everywhere(s + s, o).error, Error::none);
}

TEST(WsFrameParser, PermessageDeflateRsv1OnFirstFrame) {
  ParserOptions o;
  o.permessage_deflate = true;
  // Compressed text is not UTF-8 validated by the frame layer.
  const std::string s = client_frame(Opcode::text, "\xFF\x00"s, false, true) +
                        client_frame(Opcode::continuation, "\xC0") +
                        client_frame(Opcode::text, "plain");
  const Result r = parse_everywhere(s, o);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events, (Events{"begin text z", "data:\xFF\x00\xC0"s, "end", "begin text",
                              "data:plain", "end"}));
}

TEST(WsFrameParser, ProgressOnPartialFrames) {
  Recorder rec;
  FrameParser p;
  std::string s = client_frame(Opcode::binary, "abcdefgh");
  std::string a = s.substr(0, 1);
  EXPECT_EQ(p.feed(a, rec), 1u);  // header byte buffered
  EXPECT_FALSE(p.at_frame_boundary());
  std::string b = s.substr(1, 8);  // rest of the header + 3 payload bytes
  rec.set_buffer(b.data(), b.size());
  EXPECT_EQ(p.feed(b, rec), 8u);
  EXPECT_EQ(rec.events, (Events{"begin binary", "data:abc"}));
  std::string c = s.substr(9);
  rec.set_buffer(c.data(), c.size());
  EXPECT_EQ(p.feed(c, rec), c.size());
  EXPECT_EQ(rec.events, (Events{"begin binary", "data:abcdefgh", "end"}));
  EXPECT_TRUE(p.at_frame_boundary());
}

// ---------------------------------------------------------------------------
// Errors: one test per rule, each checked at every split.

Result expect_error(std::string_view s, Error e, const ParserOptions& o = {}) {
  const Result r = parse_everywhere(s, o);
  EXPECT_EQ(r.error, e) << r;
  return r;
}

TEST(WsFrameParserError, UnmaskedClientFrame) {
  const Result r = expect_error(server_frame(Opcode::text, "hi"), Error::protocol_error);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.consumed, 2u);
  EXPECT_EQ(static_cast<int>(r.error), 1002);
}

TEST(WsFrameParserError, MaskedServerFrame) {
  expect_error(client_frame(Opcode::text, "hi"), Error::protocol_error, client_role());
}

TEST(WsFrameParserError, ReservedBits) {
  expect_error(raw_client_frame(0x80 | 0x40 | 0x2, "x"), Error::protocol_error);  // RSV1
  expect_error(raw_client_frame(0x80 | 0x20 | 0x2, "x"), Error::protocol_error);  // RSV2
  expect_error(raw_client_frame(0x80 | 0x10 | 0x2, "x"), Error::protocol_error);  // RSV3
  ParserOptions deflate;
  deflate.permessage_deflate = true;
  // With permessage-deflate RSV2/3 are still reserved.
  expect_error(raw_client_frame(0x80 | 0x20 | 0x2, "x"), Error::protocol_error, deflate);
}

TEST(WsFrameParserError, Rsv1OnContinuationOrControl) {
  ParserOptions o;
  o.permessage_deflate = true;
  const std::string first = client_frame(Opcode::text, "a", false, true);
  const Result r =
      expect_error(first + raw_client_frame(0x80 | 0x40 | 0x0, "b"), Error::protocol_error, o);
  EXPECT_EQ(r.events, (Events{"begin text z", "data:a"}));
  expect_error(raw_client_frame(0x80 | 0x40 | 0x9, "p"), Error::protocol_error, o);
}

TEST(WsFrameParserError, ReservedOpcodes) {
  for (unsigned op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    const Result r = run(raw_client_frame(static_cast<unsigned char>(0x80 | op), "x"), {}, {});
    EXPECT_EQ(r.error, Error::protocol_error) << op;
    EXPECT_TRUE(r.events.empty());
  }
  expect_error(raw_client_frame(0x83, "x"), Error::protocol_error);
}

TEST(WsFrameParserError, ContinuationWithoutMessage) {
  expect_error(client_frame(Opcode::continuation, "x"), Error::protocol_error);
  // Also right after a complete message.
  const Result r =
      expect_error(client_frame(Opcode::text, "a") + client_frame(Opcode::continuation, "b"),
                   Error::protocol_error);
  EXPECT_EQ(r.events, (Events{"begin text", "data:a", "end"}));
}

TEST(WsFrameParserError, NewMessageWhileOneInProgress) {
  const Result r =
      expect_error(client_frame(Opcode::text, "a", false) + client_frame(Opcode::binary, "b"),
                   Error::protocol_error);
  EXPECT_EQ(r.events, (Events{"begin text", "data:a"}));
  EXPECT_EQ(r.reason, "new data message while another is in progress");
}

TEST(WsFrameParserError, FragmentedControlFrame) {
  expect_error(raw_client_frame(0x09, "ping"), Error::protocol_error);  // FIN clear
}

TEST(WsFrameParserError, ControlPayloadTooLong) {
  // 126 bytes: the 16-bit length form; rejected at the second header byte.
  const Result r =
      expect_error(client_frame(Opcode::ping, std::string(126, 'x')), Error::protocol_error);
  EXPECT_EQ(r.consumed, 2u);
  expect_error(client_frame(Opcode::close, close_payload(1000, std::string(124, 'r'))),
               Error::protocol_error);
  EXPECT_EQ(parse_everywhere(client_frame(Opcode::ping, std::string(125, 'x'))).error, Error::none);
}

TEST(WsFrameParserError, LengthTopBitSet) {
  const std::string s = "\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x01\x37\xfa\x21\x3d"s;
  const Result r = expect_error(s, Error::protocol_error);
  EXPECT_EQ(r.consumed, 10u);
}

TEST(WsFrameParserError, MessageTooBigSingleFrame) {
  ParserOptions o;
  o.max_message_size = 100;
  const Result r =
      expect_error(client_frame(Opcode::binary, std::string(300, 'x')), Error::message_too_big, o);
  EXPECT_EQ(static_cast<int>(r.error), 1009);
  EXPECT_TRUE(r.events.empty());  // nothing delivered or buffered
  EXPECT_EQ(r.consumed, 4u);      // just the header up to the 16-bit length
  EXPECT_EQ(run(client_frame(Opcode::binary, std::string(101, 'x')), {}, o).consumed, 2u);
}

TEST(WsFrameParserError, MessageTooBigAcrossFragments) {
  ParserOptions o;
  o.max_message_size = 10;
  const Result r = expect_error(
      client_frame(Opcode::text, "123456", false) + client_frame(Opcode::continuation, "12345"),
      Error::message_too_big, o);
  EXPECT_EQ(r.events, (Events{"begin text", "data:123456"}));
}

TEST(WsFrameParserError, MessageTooBigHugeLength) {
  // 2^63 - 1 announced: rejected without waiting for (or wrapping on) it.
  const std::string s = "\x82\xFF\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF"s;
  expect_error(s, Error::message_too_big);
}

TEST(WsFrameParserError, LimitAbove32BitsIsCappedBelow4GiB) {
  // The parser keeps sizes in 32 bits: a configured limit above that counts
  // as 4 GiB - 1, so a 4 GiB frame is 1009, not a wrapped length.
  ParserOptions o;
  o.max_message_size = 1ull << 40;
  const std::string four_gib = "\x82\xFF\x00\x00\x00\x01\x00\x00\x00\x00"s;
  const Result r = expect_error(four_gib, Error::message_too_big, o);
  EXPECT_EQ(r.consumed, 10u);
  // 4 GiB - 1 itself is within the limit: the parser waits for the payload.
  const std::string just_below = "\x82\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\x01\x02\x03\x04"s;
  EXPECT_EQ(run(just_below, {}, o).error, Error::none);
}

TEST(WsFrameParserError, CloseWithOneBytePayload) {
  expect_error(client_frame(Opcode::close, "\x03"), Error::protocol_error);
}

TEST(WsFrameParserError, InvalidCloseCodes) {
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    const Result r = run(
        client_frame(Opcode::close, close_payload(static_cast<std::uint16_t>(code), "x")), {}, {});
    EXPECT_EQ(r.error, Error::protocol_error) << code;
    EXPECT_TRUE(r.events.empty()) << code;
    EXPECT_FALSE(r.closed);
  }
  expect_error(client_frame(Opcode::close, close_payload(1005)), Error::protocol_error);
}

TEST(WsFrameParserError, CloseReasonInvalidUtf8) {
  const Result r = expect_error(client_frame(Opcode::close, close_payload(1000, "ok\xED\xA0\x80")),
                                Error::invalid_payload);
  EXPECT_EQ(static_cast<int>(r.error), 1007);
  expect_error(client_frame(Opcode::close, close_payload(1000, "cut \xE2\x82")),
               Error::invalid_payload);
}

TEST(WsFrameParserError, WholeTextFramesCheckUtf8PastTheAsciiScan) {
  // A whole masked text frame is unmasked and scanned for ASCII in one pass
  // (16 and 32 bytes per step); a non-ASCII byte anywhere sends it through
  // full validation. Valid UTF-8 after ASCII runs of vector length is
  // delivered as is, at every split; invalid UTF-8 fails at its byte.
  for (std::size_t prefix : {0u, 15u, 16u, 40u, 130u}) {
    const std::string ascii(prefix, 'a');
    const std::string good = ascii + "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80 end";
    const Result ok = parse_everywhere(client_frame(Opcode::text, good));
    EXPECT_EQ(ok.error, Error::none) << prefix;
    EXPECT_EQ(ok.events, (Events{"begin text", "data:" + good, "end"})) << prefix;

    const std::string bad = ascii + "xx\xC0\xAF tail of the message";
    const Result r = expect_error(client_frame(Opcode::text, bad), Error::invalid_payload);
    const std::size_t header = bad.size() < 126 ? 6 : 8;
    EXPECT_EQ(r.consumed, header + prefix + 3) << prefix;  // up to the invalid lead byte
  }
}

TEST(WsFrameParserError, TextInvalidUtf8FailsAtTheByte) {
  // The invalid byte (a surrogate's second byte) sits in the middle of the
  // first of two fragments; the error comes before the message ends.
  const std::string payload = "valid \xED\xA0\x80 rest";
  const std::string s =
      client_frame(Opcode::text, payload, false) + client_frame(Opcode::continuation, "more");
  const Result r = expect_error(s, Error::invalid_payload);
  EXPECT_EQ(r.events, (Events{"begin text", "data:valid \xED"}));
  EXPECT_EQ(r.consumed, 6u + 7u + 1u);  // header, valid prefix, the invalid byte

  // With only part of the first frame fed, the error is already there.
  Recorder rec;
  FrameParser p;
  std::string part = s.substr(0, 6 + 9);
  rec.set_buffer(part.data(), part.size());
  p.feed(part, rec);
  EXPECT_EQ(p.error(), Error::invalid_payload);
  EXPECT_FALSE(p.error_reason().empty());
}

TEST(WsFrameParserError, TextEndsInsideCodePoint) {
  expect_error(client_frame(Opcode::text, "abc\xE2\x82"), Error::invalid_payload);
  const Result r = expect_error(
      client_frame(Opcode::text, "\xF0\x9F", false) + client_frame(Opcode::continuation, "\x98"),
      Error::invalid_payload);
  EXPECT_EQ(r.reason, "text message ends inside a UTF-8 sequence");
  // Binary messages are not checked.
  EXPECT_EQ(parse_everywhere(client_frame(Opcode::binary, "\xE2\x82")).error, Error::none);
}

TEST(WsFrameParserError, StaysFailedUntilReset) {
  Recorder rec;
  FrameParser p;
  std::string bad = server_frame(Opcode::text, "x");
  p.feed(bad, rec);
  EXPECT_EQ(p.error(), Error::protocol_error);
  std::string good = client_frame(Opcode::text, "ok");
  EXPECT_EQ(p.feed(good, rec), 0u);
  p.reset();
  EXPECT_EQ(p.error(), Error::none);
  EXPECT_TRUE(p.error_reason().empty());
  rec.set_buffer(good.data(), good.size());
  EXPECT_EQ(p.feed(good, rec), good.size());
  EXPECT_EQ(rec.events, (Events{"begin text", "data:ok", "end"}));
}

// ---------------------------------------------------------------------------
// Masking.

TEST(WsMask, VectorAndWordPathsMatchScalar) {
  // Lengths cross every block size (8, 16, 32, 64, 128) with their tails,
  // at every alignment within a 32-byte vector and every key phase.
  std::mt19937 rng(1234);
  std::vector<char> storage(300 + 32);
  const std::size_t lengths[] = {0,  1,  7,  8,  9,   15,  16,  17,  31,  32,  33,  63,
                                 64, 65, 95, 96, 127, 128, 129, 160, 191, 255, 256, 300};
  for (int trial = 0; trial < 3; ++trial) {
    MaskKey key;
    for (auto& b : key) b = static_cast<std::uint8_t>(rng());
    for (std::size_t offset = 0; offset < 4; ++offset) {
      for (std::size_t len : lengths) {
        for (std::size_t align = 0; align < 32; ++align) {
          for (auto& c : storage) c = static_cast<char>(rng());
          std::vector<char> ref = storage;
          std::vector<char> portable = storage;
          const std::size_t a = mask(storage.data() + align, len, key, offset);
          const std::size_t b = mask_scalar(ref.data() + align, len, key, offset);
          const std::size_t c = mask_portable(portable.data() + align, len, key, offset);
          ASSERT_EQ(a, b);
          ASSERT_EQ(c, b);
          ASSERT_EQ(a, (offset + len) % 4);
          ASSERT_EQ(storage, ref) << "offset " << offset << " len " << len << " align " << align;
          ASSERT_EQ(portable, ref) << "offset " << offset << " len " << len << " align " << align;
        }
      }
    }
  }
}

TEST(WsMask, UnmaskAsciiUnmasksAndFindsAnyHighByte) {
  // Every length across the vector block sizes, payloads all ASCII or with
  // one byte >= 0x80 at each position: the bytes must match mask_scalar and
  // the answer must say whether such a byte is there.
  std::mt19937 rng(4321);
  MaskKey key;
  for (auto& b : key) b = static_cast<std::uint8_t>(rng());
  for (std::size_t len = 0; len <= 300; ++len) {
    for (std::size_t high_at = 0; high_at <= len; ++high_at) {
      if (len > 70 && high_at % 7 != 0 && high_at != len) continue;  // bounded
      std::string plain(len, '\0');
      for (auto& c : plain) c = static_cast<char>(rng() % 0x80);
      if (high_at < len) plain[high_at] = static_cast<char>(0x80 | rng());
      std::string masked = plain;
      mask_scalar(masked.data(), masked.size(), key, 0);
      std::string buf = " " + masked;  // an odd address too
      const bool ascii = unmask_ascii(buf.data() + 1, len, key);
      ASSERT_EQ(buf.substr(1), plain) << "len " << len;
      ASSERT_EQ(ascii, high_at == len) << "len " << len << " high byte at " << high_at;
    }
  }
}

TEST(WsMask, PiecewiseEqualsWholeAndIsAnInvolution) {
  std::mt19937 rng(99);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::string whole = data;
  mask(whole.data(), whole.size(), kKey);
  for (std::size_t cut = 0; cut <= 37; ++cut) {
    std::string pieces = data;
    const std::size_t off = mask(pieces.data(), cut, kKey, 0);
    mask(pieces.data() + cut, pieces.size() - cut, kKey, off);
    ASSERT_EQ(pieces, whole) << cut;
  }
  mask(whole.data(), whole.size(), kKey);
  EXPECT_EQ(whole, data);
}

TEST(WsMask, RfcExample) {
  std::string s = "Hello";
  mask(s.data(), s.size(), kKey);
  EXPECT_EQ(s, "\x7f\x9f\x4d\x51\x58");
}

// ---------------------------------------------------------------------------
// UTF-8.

struct Utf8Case {
  std::string bytes;
  // npos: valid and complete; size(): valid so far but incomplete; else the
  // index of the first invalid byte.
  std::size_t bad;
};

constexpr std::size_t kValid = std::string::npos;

std::vector<Utf8Case> utf8_cases() {
  const std::string ascii40(40, 'a');
  return {
      // Valid.
      {"", kValid},
      {"a", kValid},
      {ascii40, kValid},
      {"\x7F", kValid},
      {"\xC2\x80", kValid},          // U+0080, smallest 2-byte
      {"\xDF\xBF", kValid},          // U+07FF
      {"\xE0\xA0\x80", kValid},      // U+0800, smallest 3-byte
      {"\xED\x9F\xBF", kValid},      // U+D7FF, before the surrogates
      {"\xEE\x80\x80", kValid},      // U+E000, after them
      {"\xEF\xBF\xBE", kValid},      // U+FFFE (a noncharacter, but valid)
      {"\xEF\xBF\xBF", kValid},      // U+FFFF
      {"\xEF\xBB\xBF", kValid},      // BOM
      {"\xF0\x90\x80\x80", kValid},  // U+10000, smallest 4-byte
      {"\xF4\x8F\xBF\xBF", kValid},  // U+10FFFF, the last
      {"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", kValid},  // κόσμε
      {ascii40 + "\xF0\x9F\x98\x80" + ascii40, kValid},          // 😀 amid ASCII
      {"\0"s, kValid},
      // Stray continuation bytes and impossible bytes.
      {"\x80", 0},
      {"\xBF", 0},
      {"a\x80", 1},
      {"\xC2\x80\x80", 2},
      {"\xFE", 0},
      {"\xFF", 0},
      {"\xFE\xFE\xFF\xFF", 0},
      // Overlong forms.
      {"\xC0\x80", 0},  // U+0000 in two bytes
      {"\xC0\xAF", 0},  // '/'
      {"\xC1\xBF", 0},
      {"\xE0\x80\x80", 1},
      {"\xE0\x80\xAF", 1},
      {"\xE0\x9F\xBF", 1},  // largest overlong 3-byte
      {"\xF0\x80\x80\x80", 1},
      {"\xF0\x8F\xBF\xBF", 1},  // largest overlong 4-byte
      {"\xF8\x80\x80\x80\xAF", 0},
      {"\xFC\x80\x80\x80\x80\xAF", 0},
      // UTF-16 surrogates.
      {"\xED\xA0\x80", 1},              // U+D800
      {"\xED\xAD\xBF", 1},              // U+DB7F
      {"\xED\xAE\x80", 1},              // U+DB80
      {"\xED\xB0\x80", 1},              // U+DC00
      {"\xED\xBF\xBF", 1},              // U+DFFF
      {"\xED\xA0\x80\xED\xB0\x80", 1},  // a surrogate pair (CESU-8)
      // Beyond U+10FFFF.
      {"\xF4\x90\x80\x80", 1},  // U+110000
      {"\xF4\xBF\xBF\xBF", 1},
      {"\xF5\x80\x80\x80", 0},
      {"\xF7\xBF\xBF\xBF", 0},
      // Truncated sequences followed by something else.
      {"\xC2\x41", 1},
      {"\xE2\x82\x41", 2},
      {"\xF0\x9F\x98\x41", 3},
      {"\xC2\xC2\x80", 1},
      {"\xE2\xE2\x82\xAC", 1},
      {ascii40 + "\xC3\x28" + ascii40, 41},  // invalid after the ASCII fast path
      {ascii40 + "\x80", 40},
      // Valid so far, incomplete at the end.
      {"\xC2", 1},
      {"\xE2\x82", 2},
      {"\xF0\x9F\x98", 3},
      {"abc\xF4\x8F", 5},
      {ascii40 + "\xE0", 41},
  };
}

// Feeds the pieces; returns (global index of the first invalid byte or npos,
// complete at the end).
std::pair<std::size_t, bool> validate_pieces(const std::vector<std::string_view>& pieces) {
  Utf8Validator v;
  std::size_t pos = 0;
  for (std::string_view p : pieces) {
    const std::size_t n = v.feed(p);
    if (n < p.size()) {
      EXPECT_TRUE(v.failed());
      return {pos + n, false};
    }
    EXPECT_FALSE(v.failed());
    pos += p.size();
  }
  return {std::string::npos, v.complete()};
}

TEST(WsUtf8, Table) {
  for (const Utf8Case& c : utf8_cases()) {
    const std::string_view s = c.bytes;
    std::pair<std::size_t, bool> expected;
    if (c.bad == kValid) {
      expected = {std::string::npos, true};
    } else if (c.bad == s.size()) {
      expected = {std::string::npos, false};
    } else {
      expected = {c.bad, false};
    }
    ::testing::Message which;
    for (unsigned char b : s) which << std::hex << static_cast<int>(b) << ' ';
    EXPECT_EQ(validate_pieces({s}), expected) << which;
    EXPECT_EQ(valid_utf8(s), c.bad == kValid) << which;
    for (std::size_t i = 0; i <= s.size(); ++i) {
      EXPECT_EQ(validate_pieces({s.substr(0, i), s.substr(i)}), expected) << which << "at " << i;
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < s.size(); ++i) bytes.push_back(s.substr(i, 1));
    EXPECT_EQ(validate_pieces(bytes), expected) << which << "byte by byte";
  }
}

TEST(WsUtf8, AllCodePointsRoundTrip) {
  // Every scalar value, encoded by hand, is accepted; every surrogate rejected.
  auto encode = [](std::uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    ASSERT_EQ(valid_utf8(encode(cp)), !surrogate) << std::hex << cp;
  }
  // Too big for four bytes' worth of valid range.
  EXPECT_FALSE(valid_utf8(encode(0x110000)));
  EXPECT_FALSE(valid_utf8(encode(0x1FFFFF)));
}

TEST(WsUtf8, StaysFailed) {
  Utf8Validator v;
  EXPECT_EQ(v.feed("a\xFF"), 1u);
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.complete());
  EXPECT_EQ(v.feed("abc"), 0u);
  v.reset();
  EXPECT_EQ(v.feed("abc"), 3u);
  EXPECT_TRUE(v.complete());
}

// ---------------------------------------------------------------------------
// Writer.

TEST(WsFrameWriter, HeaderSizesAndBytes) {
  for (auto [len, size] : std::vector<std::pair<std::uint64_t, std::size_t>>{
           {0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {1ull << 40, 10}}) {
    FrameHeader h;
    h.payload_length = len;
    std::string out;
    append_frame_header(out, h);
    EXPECT_EQ(out.size(), size) << len;
    EXPECT_EQ(frame_header_size(h), size);
    h.mask = kKey;
    out.clear();
    append_frame_header(out, h);
    EXPECT_EQ(out.size(), size + 4) << len;
    EXPECT_EQ(out.substr(out.size() - 4), "\x37\xfa\x21\x3d");
  }
  std::string out;
  append_frame(out, Opcode::text, "Hello");
  EXPECT_EQ(out, "\x81\x05Hello");
  out.clear();
  append_frame(out, Opcode::text, "Hello", true, kKey);
  EXPECT_EQ(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
  out.clear();
  append_frame(out, Opcode::text, "Hel", false);
  append_frame(out, Opcode::continuation, "lo");
  EXPECT_EQ(out, "\x01\x03Hel\x80\x02lo"s);
  out.clear();
  FrameHeader h;
  h.payload_length = 65536;
  append_frame_header(out, h);
  EXPECT_EQ(out, "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00"s);
  out.clear();
  h.payload_length = 256;
  h.rsv1 = true;
  h.fin = false;
  h.opcode = Opcode::text;
  append_frame_header(out, h);
  EXPECT_EQ(out, "\x41\x7E\x01\x00"s);
}

TEST(WsFrameWriter, ControlHelpers) {
  std::string out;
  EXPECT_TRUE(append_ping(out, "Hello"));
  EXPECT_EQ(out, "\x89\x05Hello");
  out.clear();
  EXPECT_TRUE(append_pong(out, "Hello", kKey));
  EXPECT_EQ(out, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
  out.clear();
  EXPECT_TRUE(append_ping(out, std::string(125, 'x')));
  EXPECT_EQ(out.size(), 127u);
  EXPECT_FALSE(append_ping(out, std::string(126, 'x')));
  EXPECT_FALSE(append_pong(out, std::string(126, 'x')));
  EXPECT_EQ(out.size(), 127u);
  out.clear();
  append_close(out, close_code::normal, "bye");
  EXPECT_EQ(out,
            "\x88\x05\x03\xE8"
            "bye"s);
  out.clear();
  append_close(out, close_code::no_status, "dropped");
  EXPECT_EQ(out, "\x88\x00"s);
}

TEST(WsFrameWriter, CloseReasonCutAtCodePoint) {
  // 122 ASCII bytes then "€" (3 bytes): 125 > 123, so the "€" goes whole.
  const std::string reason = std::string(122, 'r') + "\xE2\x82\xAC";
  std::string out;
  append_close(out, 1001, reason);
  ASSERT_EQ(out.size(), 2u + 2u + 122u);
  const Result r = run(out, {}, client_role());
  EXPECT_EQ(r.error, Error::none);
  EXPECT_EQ(r.events.back(), "onclose 1001:" + std::string(122, 'r'));
  // Exactly 123 bytes fits.
  out.clear();
  append_close(out, 4000, std::string(120, 'r') + "\xE2\x82\xAC");
  EXPECT_EQ(out.size(), 2u + 125u);
  EXPECT_EQ(run(out, {}, client_role()).error, Error::none);
}

TEST(WsRoundTrip, SizesBothRoles) {
  std::mt19937 rng(7);
  for (std::size_t size : {0u, 125u, 126u, 65535u, 65536u, 1u << 20}) {
    std::string payload(size, '\0');
    for (auto& c : payload) c = static_cast<char>(rng());
    for (Role role : {Role::server, Role::client}) {
      std::string wire;
      const std::optional<MaskKey> key =
          role == Role::server ? std::optional<MaskKey>(MaskKey{1, 2, 3, 4}) : std::nullopt;
      append_frame(wire, Opcode::binary, payload, true, key);
      ParserOptions o;
      o.role = role;
      o.max_message_size = 1u << 20;
      const Events expected = size == 0 ? Events{"begin binary", "end"}
                                        : Events{"begin binary", "data:" + payload, "end"};
      EXPECT_EQ(run(wire, {}, o).events, expected) << size;
      // And cut inside the header and in the payload.
      for (std::size_t cut : {std::size_t{1}, std::size_t{3}, wire.size() / 2, wire.size() - 1}) {
        if (cut > wire.size()) continue;
        const Result r = run(wire, {cut}, o);
        EXPECT_EQ(r.error, Error::none);
        EXPECT_EQ(r.events, expected) << size << " cut " << cut;
      }
    }
  }
}

TEST(WsRoundTrip, FragmentedTextAndControl) {
  const std::string text = "Grüße, 世界! 😀 " + std::string(300, '.');
  std::string wire;
  const MaskKey key = {0xde, 0xad, 0xbe, 0xef};
  // Cut every 7 bytes, straight through the multibyte characters.
  for (std::size_t i = 0; i < text.size(); i += 7) {
    const bool last = i + 7 >= text.size();
    append_frame(wire, i == 0 ? Opcode::text : Opcode::continuation, text.substr(i, 7), last, key);
    if (i == 14) append_ping(wire, "mid", key);
  }
  append_close(wire, close_code::going_away, "shutting down", key);
  const Result r = parse_everywhere(wire);
  EXPECT_EQ(r.error, Error::none);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.events, (Events{"begin text", "data:" + text.substr(0, 21), "ping:mid",
                              "data:" + text.substr(21), "end",
                              "close:" + close_payload(1001, "shutting down"),
                              "onclose 1001:shutting down"}));
}

// ---------------------------------------------------------------------------
// Handshake.

TEST(WsHandshake, AcceptKeyRfcSample) {
  // RFC 6455 §1.3 and §4.2.2: this key's accept value.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ValidClientKey) {
  EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(valid_client_key("/////////////////////w=="));
  EXPECT_FALSE(valid_client_key(""));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));    // 23 chars
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));  // 25 chars
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));   // no padding
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZ==="));   // 15 bytes
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25j ZQ=="));  // space
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZ-=="));   // base64url
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));   // non-zero unused bits
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==\r\n"));
}

}  // namespace
}  // namespace trident::ws
