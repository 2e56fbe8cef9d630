// Unit tests for the gRPC wire pieces: message framing, grpc-timeout, metadata
// rules (percent-encoding, base64, keys) and compression (src/rpc/grpc/*).
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc/grpc/compression.hpp"
#include "rpc/grpc/framing.hpp"
#include "rpc/grpc/metadata.hpp"
#include "rpc/grpc/timeout.hpp"

namespace trident::rpc::grpc {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// ---------------------------------------------------------------------------
// Framing

struct Msg {
  std::string payload;
  bool compressed;
  bool operator==(const Msg&) const = default;
};

class Recorder : public MessageListener {
 public:
  void on_message(std::string_view payload, bool compressed) override {
    messages.push_back({std::string(payload), compressed});
    views.push_back(payload);
  }
  std::vector<Msg> messages;
  std::vector<std::string_view> views;
};

std::string frame(std::string_view payload, bool compressed = false) {
  std::string out;
  EXPECT_TRUE(encode_message(out, payload, compressed));
  return out;
}

std::string header(unsigned flag, std::uint32_t length) {
  return {static_cast<char>(flag), static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length)};
}

std::vector<Msg> sample_messages() {
  std::string big(300, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  return {{"", false}, {"hello", false}, {"z", true}, {big, true}, {"", true}, {"end", false}};
}

std::string sample_stream() {
  std::string s;
  for (const auto& m : sample_messages()) s += frame(m.payload, m.compressed);
  return s;
}

TEST(GrpcFraming, EncodeHeader) {
  EXPECT_EQ(frame("abc"), std::string("\0\0\0\0\3abc", 8));
  EXPECT_EQ(frame("", true), std::string("\1\0\0\0\0", 5));
  char h[kMessageHeaderSize];
  encode_message_header(h, 0x01020304, false);
  EXPECT_EQ(std::string(h, 5), std::string("\0\1\2\3\4", 5));
  std::string out = "x";
  EXPECT_TRUE(encode_message(out, "yz", false));
  EXPECT_EQ(out, std::string("x\0\0\0\0\2yz", 8));  // appends
}

TEST(GrpcFraming, WholeStreamIsDeliveredWithoutCopy) {
  Recorder r;
  MessageDecoder d(r);
  const std::string s = sample_stream();
  EXPECT_TRUE(d.feed(s));
  EXPECT_TRUE(d.idle());
  EXPECT_TRUE(d.finish());
  EXPECT_EQ(r.messages, sample_messages());
  for (const auto v : r.views) {
    if (v.empty()) continue;
    EXPECT_GE(v.data(), s.data());
    EXPECT_LE(v.data() + v.size(), s.data() + s.size());
  }
}

TEST(GrpcFraming, EverySplitOffset) {
  const std::string s = sample_stream();
  for (std::size_t i = 0; i <= s.size(); ++i) {
    Recorder r;
    MessageDecoder d(r);
    EXPECT_TRUE(d.feed(std::string_view(s).substr(0, i)));
    EXPECT_TRUE(d.feed(std::string_view(s).substr(i)));
    EXPECT_TRUE(d.finish()) << i;
    EXPECT_EQ(r.messages, sample_messages()) << "split at " << i;
  }
}

TEST(GrpcFraming, EveryPairOfSplitOffsets) {
  const std::vector<Msg> msgs = {{"ab", false}, {"", true}, {"cdefgh", true}, {"i", false}};
  std::string s;
  for (const auto& m : msgs) s += frame(m.payload, m.compressed);
  const std::string_view sv(s);
  for (std::size_t i = 0; i <= s.size(); ++i) {
    for (std::size_t j = i; j <= s.size(); ++j) {
      Recorder r;
      MessageDecoder d(r);
      EXPECT_TRUE(d.feed(sv.substr(0, i)));
      EXPECT_TRUE(d.feed(sv.substr(i, j - i)));
      EXPECT_TRUE(d.feed(sv.substr(j)));
      EXPECT_TRUE(d.finish());
      EXPECT_EQ(r.messages, msgs) << i << "," << j;
    }
  }
}

TEST(GrpcFraming, ByteByByte) {
  const std::string s = sample_stream();
  Recorder r;
  MessageDecoder d(r);
  for (const char c : s) {
    EXPECT_TRUE(d.feed(std::string_view(&c, 1)));
  }
  EXPECT_TRUE(d.finish());
  EXPECT_EQ(r.messages, sample_messages());
}

TEST(GrpcFraming, MaxSizeIsInclusive) {
  Recorder r;
  MessageDecoder d(r, 10);
  EXPECT_TRUE(d.feed(frame(std::string(10, 'a'))));
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, std::string(10, 'a'));
}

TEST(GrpcFraming, TooLargeIsRejectedFromTheHeaderAlone) {
  Recorder r;
  MessageDecoder d(r, 10);
  EXPECT_TRUE(d.feed(frame("ok")));
  EXPECT_FALSE(d.feed(header(0, 11)));  // no payload byte needed to decide
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.error().code, StatusCode::resource_exhausted);
  EXPECT_EQ(d.error().message, "received message larger than max (11 vs. 10)");
  EXPECT_FALSE(d.feed(frame("x")));  // stays failed
  EXPECT_FALSE(d.finish());
  EXPECT_EQ(r.messages.size(), 1u);
}

TEST(GrpcFraming, HugeDeclaredLengthDefaultLimit) {
  Recorder r;
  MessageDecoder d(r);
  EXPECT_FALSE(d.feed(header(1, 0xffffffffu)));
  EXPECT_EQ(d.error().code, StatusCode::resource_exhausted);
  EXPECT_EQ(d.error().message, "received message larger than max (4294967295 vs. 4194304)");
}

TEST(GrpcFraming, BadFlag) {
  for (unsigned flag : {2u, 3u, 0x80u, 0xffu}) {
    Recorder r;
    MessageDecoder d(r);
    EXPECT_TRUE(d.feed(frame("a")));
    std::string bad = header(flag, 1) + "b";
    EXPECT_TRUE(d.feed(bad.substr(0, 3)));  // incomplete header: not yet known
    EXPECT_FALSE(d.feed(bad.substr(3)));
    EXPECT_EQ(d.error().code, StatusCode::internal) << flag;
    EXPECT_EQ(r.messages.size(), 1u);
  }
}

TEST(GrpcFraming, Truncation) {
  const std::string s = frame("hello");
  for (std::size_t cut = 1; cut < s.size(); ++cut) {
    Recorder r;
    MessageDecoder d(r);
    EXPECT_TRUE(d.feed(s.substr(0, cut)));
    EXPECT_FALSE(d.idle());
    EXPECT_FALSE(d.finish()) << cut;
    EXPECT_EQ(d.error().code, StatusCode::internal);
    EXPECT_EQ(d.error().message, "truncated message");
    EXPECT_TRUE(r.messages.empty());
  }
  Recorder r;
  MessageDecoder d(r);
  EXPECT_TRUE(d.finish());  // an empty stream is fine
  EXPECT_TRUE(d.feed(""));
  EXPECT_TRUE(d.finish());
}

TEST(GrpcFraming, ListenerCanStopDecoding) {
  struct Unary : MessageListener {
    MessageDecoder* d = nullptr;
    int count = 0;
    void on_message(std::string_view, bool) override {
      if (++count > 1) d->fail({StatusCode::unimplemented, "second message on unary", {}});
    }
  } listener;
  MessageDecoder d(listener);
  listener.d = &d;
  const std::string s = frame("a") + frame("b") + frame("c");
  EXPECT_FALSE(d.feed(s));
  EXPECT_EQ(listener.count, 2);
  EXPECT_EQ(d.error().code, StatusCode::unimplemented);
  d.reset();
  EXPECT_FALSE(d.failed());
  EXPECT_TRUE(d.error().ok());
  listener.count = 0;
  EXPECT_TRUE(d.feed(frame("d")));
  EXPECT_EQ(listener.count, 1);
}

TEST(GrpcFraming, ResetDropsPartialMessage) {
  Recorder r;
  MessageDecoder d(r);
  EXPECT_TRUE(d.feed(frame("hello").substr(0, 7)));
  d.reset();
  EXPECT_TRUE(d.idle());
  EXPECT_TRUE(d.feed(frame("x")));
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "x");
}

// ---------------------------------------------------------------------------
// grpc-timeout

TEST(GrpcTimeout, ParseUnits) {
  EXPECT_EQ(parse_timeout("1H"), nanoseconds(1h));
  EXPECT_EQ(parse_timeout("2M"), nanoseconds(2min));
  EXPECT_EQ(parse_timeout("3S"), nanoseconds(3s));
  EXPECT_EQ(parse_timeout("100m"), nanoseconds(100ms));
  EXPECT_EQ(parse_timeout("10u"), nanoseconds(10us));
  EXPECT_EQ(parse_timeout("7n"), nanoseconds(7));
  EXPECT_EQ(parse_timeout("99999999n"), nanoseconds(99999999));
  EXPECT_EQ(parse_timeout("00000001S"), nanoseconds(1s));  // 8 digits with leading zeros
  EXPECT_EQ(parse_timeout("0S"), nanoseconds(0));
  EXPECT_EQ(parse_timeout("99999999M"), nanoseconds(std::chrono::minutes(99999999)));
  EXPECT_EQ(parse_timeout("99999999H"), nanoseconds::max());  // saturates
  EXPECT_EQ(parse_timeout("2562047H"), nanoseconds(std::chrono::hours(2562047)));
  EXPECT_EQ(parse_timeout("2562048H"), nanoseconds::max());
}

TEST(GrpcTimeout, ParseInvalid) {
  for (const std::string_view bad : {"", "1", "S", "123456789S", "10X", "-1S", "+1S", " 1S", "1S ",
                                     "1 S", "1s", "1.5S", "1SS", "0x1S", "１S", "1h"}) {
    EXPECT_EQ(parse_timeout(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(GrpcTimeout, FormatExactPicksLargestUnit) {
  EXPECT_EQ(format_timeout(1s), "1S");
  EXPECT_EQ(format_timeout(1500ms), "1500m");
  EXPECT_EQ(format_timeout(90min), "90M");
  EXPECT_EQ(format_timeout(2h), "2H");
  EXPECT_EQ(format_timeout(120min), "2H");
  EXPECT_EQ(format_timeout(nanoseconds(1)), "1n");
  EXPECT_EQ(format_timeout(250us), "250u");
  EXPECT_EQ(format_timeout(nanoseconds(99999999)), "99999999n");
  EXPECT_EQ(format_timeout(std::chrono::hours(2562047)), "2562047H");
}

TEST(GrpcTimeout, FormatRoundsUp) {
  EXPECT_EQ(format_timeout(nanoseconds(123456789)), "123457u");     // 9 digits in n
  EXPECT_EQ(format_timeout(1s + nanoseconds(1)), "1000001u");       // 1.000000001 s
  EXPECT_EQ(format_timeout(nanoseconds(100000000001)), "100001m");  // 100.000000001 s
  // The largest duration: hours, rounded up.
  EXPECT_EQ(format_timeout(nanoseconds::max()), "2562048H");
}

TEST(GrpcTimeout, FormatNeverZero) {
  EXPECT_EQ(format_timeout(nanoseconds(0)), "1n");
  EXPECT_EQ(format_timeout(-5s), "1n");
  EXPECT_EQ(format_timeout(nanoseconds::min()), "1n");
}

TEST(GrpcTimeout, RoundTrips) {
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> values = {
      1,         999,           1000,          1001,          99999999, 100000000,
      100000001, 3600000000000, 3600000000001, INT64_MAX - 1, INT64_MAX};
  for (int i = 0; i < 20000; ++i) {
    const int shift = static_cast<int>(rng() % 63);
    values.push_back(static_cast<std::int64_t>(rng() >> (1 + shift)) + 1);
  }
  for (const auto v : values) {
    const nanoseconds d(v);
    const std::string s = format_timeout(d);
    ASSERT_LE(s.size(), 9u) << v;
    const auto back = parse_timeout(s);
    ASSERT_TRUE(back.has_value()) << v << " -> " << s;
    EXPECT_GE(*back, d) << v << " -> " << s;  // never shortened
    // Exact when the value has at most 8 significant digits in some unit.
    if (v <= 99999999) {
      EXPECT_EQ(*back, d) << s;
    }
  }
  for (const std::string_view s : {"1H", "59M", "61M", "1S", "1500m", "7u", "12345678n"}) {
    const auto d = parse_timeout(s);
    ASSERT_TRUE(d);
    EXPECT_EQ(parse_timeout(format_timeout(*d)), d) << s;
  }
}

// ---------------------------------------------------------------------------
// Metadata

TEST(GrpcMetadata, Keys) {
  for (const std::string_view k : {"a", "x-user-id", "a.b_c-d0", "trace-bin", "0"}) {
    EXPECT_TRUE(is_valid_key(k)) << k;
  }
  for (const std::string_view k : {"", "X-User", "a b", "a:b", ":path", "caf\xc3\xa9", "a/b"}) {
    EXPECT_FALSE(is_valid_key(k)) << k;
  }
  EXPECT_TRUE(is_binary_key("trace-bin"));
  EXPECT_TRUE(is_binary_key("a-bin"));
  EXPECT_FALSE(is_binary_key("-bin"));
  EXPECT_FALSE(is_binary_key("bin"));
  EXPECT_FALSE(is_binary_key("x-bin-x"));
  EXPECT_FALSE(is_binary_key("xbin"));
}

TEST(GrpcMetadata, ReservedKeys) {
  for (const std::string_view k :
       {"grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-timeout", "grpc-encoding",
        "grpc-accept-encoding", "grpc-anything-new", "te", "content-type", "user-agent",
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
        "content-length", ":path", ":status"}) {
    EXPECT_TRUE(is_reserved_key(k)) << k;
  }
  for (const std::string_view k :
       {"authorization", "x-grpc-foo", "grpc", "grpcx-a", "tee", "x-user-id", "trace-bin"}) {
    EXPECT_FALSE(is_reserved_key(k)) << k;
  }
}

TEST(GrpcMetadata, AsciiValues) {
  EXPECT_TRUE(is_valid_ascii_value(""));
  EXPECT_TRUE(is_valid_ascii_value(" Bearer abc~"));
  EXPECT_FALSE(is_valid_ascii_value("a\tb"));
  EXPECT_FALSE(is_valid_ascii_value("a\x7f"));
  EXPECT_FALSE(is_valid_ascii_value("caf\xc3\xa9"));
}

TEST(GrpcMetadata, PercentEncode) {
  EXPECT_EQ(percent_encode(""), "");
  EXPECT_EQ(percent_encode("hello world ~!"), "hello world ~!");
  EXPECT_EQ(percent_encode("50%"), "50%25");
  EXPECT_EQ(percent_encode("caf\xc3\xa9 \xe2\x9c\x93"), "caf%C3%A9 %E2%9C%93");
  EXPECT_EQ(percent_encode("a\nb\tc\x7f"), "a%0Ab%09c%7F");
  EXPECT_EQ(percent_encode(std::string("\0", 1)), "%00");
}

TEST(GrpcMetadata, PercentDecode) {
  EXPECT_EQ(percent_decode("caf%C3%A9"), "caf\xc3\xa9");
  EXPECT_EQ(percent_decode("caf%c3%a9"), "caf\xc3\xa9");  // lower-case hex accepted
  EXPECT_EQ(percent_decode("50%25"), "50%");
  EXPECT_EQ(percent_decode("%00"), std::string("\0", 1));
  // Invalid sequences are kept literally.
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz"), "%zz");
  EXPECT_EQ(percent_decode("%GG%41"), "%GGA");
  EXPECT_EQ(percent_decode("%%41"), "%A");
  EXPECT_EQ(percent_decode("%4%41"), "%4A");
}

TEST(GrpcMetadata, PercentRoundTrip) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (const std::string_view s :
       {std::string_view(all), std::string_view("caf\xc3\xa9 \xf0\x9f\x98\x80 100% done"),
        std::string_view("%41"), std::string_view("")}) {
    const std::string enc = percent_encode(s);
    EXPECT_TRUE(is_valid_ascii_value(enc));
    EXPECT_EQ(percent_decode(enc), s);
  }
}

TEST(GrpcMetadata, Base64Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, padded] : vectors) {
    EXPECT_EQ(base64_encode(plain), padded);
    std::string unpadded(padded);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(base64_encode(plain, false), unpadded);
    EXPECT_EQ(base64_decode(padded), std::string(plain)) << padded;
    EXPECT_EQ(base64_decode(unpadded), std::string(plain)) << unpadded;
  }
}

TEST(GrpcMetadata, Base64Invalid) {
  for (const std::string_view bad :
       {"Z", "Zg=", "Zg===", "Zm9v=", "=", "==", "====", "=Zg=", "Z===", "Zh==", "Zm9=", "Zm-v",
        "Zm_v", "Zm9v Zg==", "Zm9v\n", "Zm9vY", "Zg==Zg==", "Z=g="}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(GrpcMetadata, Base64RoundTripAllBytes) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(255 - c);
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string_view s = std::string_view(all).substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(s)), std::string(s));
    EXPECT_EQ(base64_decode(base64_encode(s, false)), std::string(s));
  }
}

TEST(GrpcMetadata, BinaryValuesSplitOnComma) {
  EXPECT_EQ(decode_binary_values("Zm9v"), std::vector<std::string>{"foo"});
  EXPECT_EQ(decode_binary_values("Zm9v,YmFy"), (std::vector<std::string>{"foo", "bar"}));
  EXPECT_EQ(decode_binary_values("Zg==, Zm8"), (std::vector<std::string>{"f", "fo"}));
  EXPECT_EQ(decode_binary_values(""), std::vector<std::string>{""});
  EXPECT_EQ(decode_binary_values("Zm9v,Z"), std::nullopt);
}

// ---------------------------------------------------------------------------
// Compression

std::string pseudo_text(std::size_t n) {
  std::mt19937 rng(7);
  static constexpr std::string_view kWords[] = {"alpha ", "beta ", "gamma ", "delta ", "\x01\xff"};
  std::string s;
  while (s.size() < n) s += kWords[rng() % std::size(kWords)];
  s.resize(n);
  return s;
}

TEST(GrpcCompression, Names) {
  EXPECT_EQ(encoding_name(Encoding::identity), "identity");
  EXPECT_EQ(encoding_name(Encoding::gzip), "gzip");
  EXPECT_EQ(encoding_name(Encoding::deflate), "deflate");
  EXPECT_EQ(parse_encoding("gzip"), Encoding::gzip);
  EXPECT_EQ(parse_encoding("GZip"), Encoding::gzip);
  EXPECT_EQ(parse_encoding("deflate"), Encoding::deflate);
  EXPECT_EQ(parse_encoding("identity"), Encoding::identity);
  EXPECT_EQ(parse_encoding("snappy"), std::nullopt);
  EXPECT_EQ(parse_encoding("zstd"), std::nullopt);
  EXPECT_EQ(parse_encoding(""), std::nullopt);
}

TEST(GrpcCompression, AcceptEncoding) {
  const EncodingSet none = parse_accept_encoding("");
  EXPECT_TRUE(none.contains(Encoding::identity));
  EXPECT_FALSE(none.contains(Encoding::gzip));
  EXPECT_FALSE(none.contains(Encoding::deflate));
  const EncodingSet gz = parse_accept_encoding("snappy, GZIP ,,zstd");
  EXPECT_TRUE(gz.contains(Encoding::gzip));
  EXPECT_FALSE(gz.contains(Encoding::deflate));
  EXPECT_EQ(parse_accept_encoding("identity,deflate,gzip"), EncodingSet::all());
  EXPECT_EQ(format_accept_encoding(EncodingSet::all()), "identity,gzip,deflate");
  EXPECT_EQ(format_accept_encoding(gz), "identity,gzip");
  EXPECT_EQ(format_accept_encoding(EncodingSet{}), "identity");

  const std::array<Encoding, 2> prefer = {Encoding::deflate, Encoding::gzip};
  EXPECT_EQ(choose_encoding(EncodingSet::all(), prefer), Encoding::deflate);
  EXPECT_EQ(choose_encoding(gz, prefer), Encoding::gzip);
  EXPECT_EQ(choose_encoding(none, prefer), Encoding::identity);
  EXPECT_EQ(choose_encoding(EncodingSet::all(), {}), Encoding::identity);
}

TEST(GrpcCompression, RoundTrips) {
  for (const Encoding e : {Encoding::identity, Encoding::gzip, Encoding::deflate}) {
    for (const std::size_t n : {0u, 1u, 100u, 70000u, 1u << 20}) {
      const std::string in = pseudo_text(n);
      std::string packed;
      ASSERT_TRUE(compress(e, in, packed).ok());
      if (e != Encoding::identity && n >= 70000) {
        EXPECT_LT(packed.size(), in.size());
      }
      std::string out = "garbage";
      const Status st = decompress(e, packed, out, 4u << 20);
      ASSERT_TRUE(st.ok()) << encoding_name(e) << " " << n << ": " << st.message;
      EXPECT_EQ(out, in);
    }
  }
}

TEST(GrpcCompression, WireFormats) {
  const std::string in = pseudo_text(1000);
  std::string gz;
  ASSERT_TRUE(compress(Encoding::gzip, in, gz).ok());
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);

  std::string zl;
  ASSERT_TRUE(compress(Encoding::deflate, in, zl).ok());
  // zlib format: CM=8 and a header checksum; zlib's own uncompress() reads it.
  EXPECT_EQ(static_cast<unsigned char>(zl[0]) & 0x0f, 8);
  EXPECT_EQ((static_cast<unsigned char>(zl[0]) * 256 + static_cast<unsigned char>(zl[1])) % 31, 0);
  std::string plain(in.size(), '\0');
  uLongf plain_len = plain.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(plain.data()), &plain_len,
                       reinterpret_cast<const Bytef*>(zl.data()), zl.size()),
            Z_OK);
  EXPECT_EQ(plain, in);

  // The two formats are not interchangeable.
  std::string out;
  EXPECT_EQ(decompress(Encoding::deflate, gz, out, 1 << 20).code, StatusCode::internal);
  EXPECT_EQ(decompress(Encoding::gzip, zl, out, 1 << 20).code, StatusCode::internal);
}

TEST(GrpcCompression, LimitIsInclusive) {
  const std::string in(5000, 'q');
  for (const Encoding e : {Encoding::identity, Encoding::gzip, Encoding::deflate}) {
    std::string packed;
    ASSERT_TRUE(compress(e, in, packed).ok());
    std::string out;
    EXPECT_TRUE(decompress(e, packed, out, 5000).ok());
    EXPECT_EQ(out, in);
    const Status st = decompress(e, packed, out, 4999);
    EXPECT_EQ(st.code, StatusCode::resource_exhausted) << encoding_name(e);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(decompress(e, packed, out, 0).code, StatusCode::resource_exhausted);
  }
}

// 100 MB of zeros, compressed without ever holding them in memory.
std::string zip_bomb(Encoding e) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, e == Encoding::gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string zeros(1 << 16, '\0');
  std::string out;
  char buf[1 << 14];
  std::size_t remaining = 100u << 20;
  int flush = Z_NO_FLUSH;
  do {
    if (zs.avail_in == 0 && flush == Z_NO_FLUSH) {
      const std::size_t n = std::min(remaining, zeros.size());
      zs.next_in = reinterpret_cast<Bytef*>(zeros.data());
      zs.avail_in = static_cast<uInt>(n);
      remaining -= n;
      if (remaining == 0) flush = Z_FINISH;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int ret = deflate(&zs, flush);
    out.append(buf, sizeof buf - zs.avail_out);
    if (ret == Z_STREAM_END) break;
    EXPECT_TRUE(ret == Z_OK || ret == Z_BUF_ERROR);
  } while (true);
  EXPECT_EQ(zs.total_in, 100u << 20);
  deflateEnd(&zs);
  return out;
}

TEST(GrpcCompression, ZipBombIsRejectedWithinTheLimit) {
  constexpr std::size_t kLimit = 4u << 20;
  for (const Encoding e : {Encoding::gzip, Encoding::deflate}) {
    const std::string bomb = zip_bomb(e);
    EXPECT_LT(bomb.size(), 200u << 10);  // ~100 KB on the wire
    std::string out;
    const Status st = decompress(e, bomb, out, kLimit);
    EXPECT_EQ(st.code, StatusCode::resource_exhausted) << encoding_name(e);
    EXPECT_EQ(st.message, "decompressed message larger than max (4194304 bytes)");
    EXPECT_TRUE(out.empty());
    // The output buffer never grew past the limit (+1 byte, + allocator rounding).
    EXPECT_LE(out.capacity(), kLimit + 64) << encoding_name(e);
  }
}

TEST(GrpcCompression, CorruptTruncatedTrailing) {
  const std::string in = pseudo_text(10000);
  for (const Encoding e : {Encoding::gzip, Encoding::deflate}) {
    std::string packed;
    ASSERT_TRUE(compress(e, in, packed).ok());
    std::string out;
    for (std::size_t cut = 0; cut < packed.size(); cut += 7) {
      const Status st = decompress(e, std::string_view(packed).substr(0, cut), out, 1 << 20);
      EXPECT_EQ(st.code, StatusCode::internal) << encoding_name(e) << " cut " << cut;
    }
    EXPECT_EQ(decompress(e, packed + "x", out, 1 << 20).code, StatusCode::internal);
    std::string corrupt = packed;
    corrupt[corrupt.size() / 2] ^= 0x55;
    corrupt[corrupt.size() - 3] ^= 0x55;  // the checksum
    EXPECT_EQ(decompress(e, corrupt, out, 1 << 20).code, StatusCode::internal);
    EXPECT_EQ(decompress(e, "not compressed at all", out, 1 << 20).code, StatusCode::internal);
  }
}

}  // namespace
}  // namespace trident::rpc::grpc
