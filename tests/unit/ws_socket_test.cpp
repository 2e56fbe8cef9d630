// The WebSocket Socket engine and permessage-deflate, bytes in and bytes
// out: client frames are built with the frame writer (masked), the server's
// output is parsed back with a client-role FrameParser.
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/loop.hpp"
#include "ws/deflate.hpp"
#include "ws/frame_writer.hpp"
#include "ws/handshake.hpp"
#include "ws/hub.hpp"
#include "ws/socket.hpp"

namespace trident::ws {
namespace {

const MaskKey kKey{0x12, 0x34, 0x56, 0x78};

struct Frame {
  Opcode opcode;
  std::string payload;
  bool compressed = false;
  std::uint16_t close_code = 0;
};

// Parses what the server wrote, as a client would.
struct ServerOutput : FrameListener {
  std::vector<Frame> frames;
  Opcode op{};
  bool compressed = false;
  std::string data;
  void on_message_begin(Opcode o, bool c) override {
    op = o;
    compressed = c;
    data.clear();
  }
  void on_data(std::string_view d) override { data.append(d); }
  void on_message_end() override { frames.push_back({op, data, compressed}); }
  void on_control(Opcode o, std::string_view p) override {
    if (o != Opcode::close) frames.push_back({o, std::string(p)});
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    frames.push_back({Opcode::close, std::string(reason), false, code});
  }
};

struct Harness : Socket::Transport {
  Settings settings;
  Route route{{}, settings};
  Endpoint& endpoint = route.endpoint;
  std::vector<std::pair<std::string, Opcode>> received;
  std::vector<std::uint16_t> closes;
  int wakes = 0;
  std::unique_ptr<Socket> socket;
  net::PeerInfo peer_info;

  explicit Harness(std::optional<DeflateParams> deflate = std::nullopt,
                   std::function<void(Settings&)> tune = {}) {
    if (tune) tune(settings);
    endpoint.on_message = [this](Socket& s, std::string_view m, Opcode op) {
      received.emplace_back(std::string(m), op);
      s.send(m, op);
    };
    endpoint.on_close = [this](Socket&, std::uint16_t code, std::string_view) {
      closes.push_back(code);
    };
    socket = std::make_unique<Socket>(route, *this, "", deflate);
    socket->start();
  }
  void wake() override { ++wakes; }
  void switch_session(std::unique_ptr<net::Session>) override {}
  const net::PeerInfo& peer() const override { return peer_info; }

  void feed(std::string bytes) { socket->feed(std::span<char>(bytes.data(), bytes.size())); }
  std::vector<Frame> output() {
    std::string out;
    for (;;) {
      std::size_t before = out.size();
      socket->take_output(out);
      if (auto s = socket->take_shared()) out.append(*s);
      if (out.size() == before) break;
    }
    socket->on_output_flushed();
    ServerOutput parsed;
    FrameParser parser(ParserOptions{Role::client, 1ull << 30, true});
    parser.feed(std::span<char>(out.data(), out.size()), parsed);
    EXPECT_EQ(parser.error(), Error::none) << parser.error_reason();
    return parsed.frames;
  }
};

std::string client_frame(Opcode op, std::string_view payload, bool fin = true, bool rsv1 = false) {
  std::string out;
  append_frame(out, op, payload, fin, kKey, rsv1);
  return out;
}

TEST(WsSocket, EchoesTextAndBinary) {
  Harness h;
  h.feed(client_frame(Opcode::text, "hello") + client_frame(Opcode::binary, std::string(300, 'b')));
  auto out = h.output();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].opcode, Opcode::text);
  EXPECT_EQ(out[0].payload, "hello");
  EXPECT_EQ(out[1].opcode, Opcode::binary);
  EXPECT_EQ(out[1].payload, std::string(300, 'b'));
}

TEST(WsSocket, EmptyAndBoundarySizedFramesComeBackWhole) {
  // Server frames up to 125 bytes are built in one piece, longer ones take
  // the 16-bit length form: both sides of that edge, and empty payloads (an
  // empty ping's payload view may be null), come back byte for byte.
  Harness h;
  const std::string p125(125, 'x');
  const std::string p126(126, 'y');
  h.feed(client_frame(Opcode::ping, "") + client_frame(Opcode::text, "") +
         client_frame(Opcode::binary, "") + client_frame(Opcode::ping, p125) +
         client_frame(Opcode::binary, p125) + client_frame(Opcode::text, p126));
  auto out = h.output();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].opcode, Opcode::pong);
  EXPECT_EQ(out[0].payload, "");
  EXPECT_EQ(out[1].opcode, Opcode::text);
  EXPECT_EQ(out[1].payload, "");
  EXPECT_EQ(out[2].opcode, Opcode::binary);
  EXPECT_EQ(out[2].payload, "");
  EXPECT_EQ(out[3].opcode, Opcode::pong);
  EXPECT_EQ(out[3].payload, p125);
  EXPECT_EQ(out[4].opcode, Opcode::binary);
  EXPECT_EQ(out[4].payload, p125);
  EXPECT_EQ(out[5].opcode, Opcode::text);
  EXPECT_EQ(out[5].payload, p126);
}

TEST(WsSocket, FragmentedMessageSplitAtEveryOffset) {
  std::string wire = client_frame(Opcode::text, "hel", false) + client_frame(Opcode::ping, "p") +
                     client_frame(Opcode::continuation, "lo wo", false) +
                     client_frame(Opcode::continuation, "rld", true);
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    Harness h;
    h.feed(wire.substr(0, cut));
    h.feed(wire.substr(cut));
    ASSERT_EQ(h.received.size(), 1u) << cut;
    EXPECT_EQ(h.received[0].first, "hello world") << cut;
    auto out = h.output();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].opcode, Opcode::pong);  // the ping came before the message ended
    EXPECT_EQ(out[0].payload, "p");
    EXPECT_EQ(out[1].payload, "hello world");
  }
}

TEST(WsSocket, CloseIsEchoedAndReported) {
  Harness h;
  std::string payload(
      "\x03\xe8"
      "bye",
      5);  // 1000
  h.feed(client_frame(Opcode::close, payload));
  EXPECT_TRUE(h.socket->finished());
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, Opcode::close);
  EXPECT_EQ(out[0].close_code, 1000);
  h.socket->on_transport_closed();
  ASSERT_EQ(h.closes.size(), 1u);
  EXPECT_EQ(h.closes[0], 1000);
  // Data after the close is not delivered.
  h.feed(client_frame(Opcode::text, "late"));
  EXPECT_TRUE(h.received.empty());
}

TEST(WsSocket, ProtocolErrorClosesWith1002) {
  Harness h;
  std::string unmasked;
  append_frame(unmasked, Opcode::text, "x");
  h.feed(unmasked);
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].close_code, 1002);
  EXPECT_TRUE(h.socket->finished());
}

TEST(WsSocket, OversizedMessageClosesWith1009) {
  Harness h(std::nullopt, [](Settings& s) { s.max_message = 100; });
  h.feed(client_frame(Opcode::binary, std::string(101, 'x')));
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].close_code, 1009);
  EXPECT_TRUE(h.received.empty());
}

TEST(WsSocket, DeflateRoundTrip) {
  Harness h(DeflateParams{});
  std::string text(2000, 'a');
  text += "the end";
  std::string compressed;
  deflate_message(text, 15, compressed);
  ASSERT_LT(compressed.size(), text.size());
  h.feed(client_frame(Opcode::text, compressed, true, true));
  ASSERT_EQ(h.received.size(), 1u);
  EXPECT_EQ(h.received[0].first, text);
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].compressed);  // echoed compressed: long enough
  std::string back;
  ASSERT_EQ(inflate_message(out[0].payload, 1 << 20, back), InflateResult::ok);
  EXPECT_EQ(back, text);
}

TEST(WsSocket, ShortMessagesAreNotCompressed) {
  Harness h(DeflateParams{});
  h.feed(client_frame(Opcode::text, "tiny"));
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].compressed);
}

TEST(WsSocket, DeflateBombClosesWith1009) {
  Harness h(DeflateParams{}, [](Settings& s) { s.max_message = 64 * 1024; });
  std::string bomb;
  deflate_message(std::string(10 << 20, '\0'), 15, bomb);  // 10 MiB → ~10 KiB
  ASSERT_LT(bomb.size(), 64u * 1024);
  h.feed(client_frame(Opcode::binary, bomb, true, true));
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].close_code, 1009);
  EXPECT_TRUE(h.received.empty());
}

TEST(WsSocket, CompressedInvalidUtf8ClosesWith1007) {
  Harness h(DeflateParams{});
  std::string bad;
  deflate_message("ok \xff\xfe", 15, bad);
  h.feed(client_frame(Opcode::text, bad, true, true));
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].close_code, 1007);
}

TEST(WsSocket, CorruptDeflateDataClosesWith1007) {
  Harness h(DeflateParams{});
  h.feed(client_frame(Opcode::binary, std::string("\xff\xff\xff\xff", 4), true, true));
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].close_code, 1007);
}

TEST(WsSocket, SlowConsumerIsClosedWith1008AndBounded) {
  Harness h(std::nullopt, [](Settings& s) { s.max_backlog = 10'000; });
  int sent = 0;
  while (h.socket->send(std::string(1000, 'x'), Opcode::binary)) ++sent;
  EXPECT_GE(sent, 9);
  EXPECT_LE(sent, 10);
  EXPECT_TRUE(h.socket->finished());
  EXPECT_LE(h.socket->buffered(), 200u);  // the backlog was dropped for the close frame
  auto out = h.output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].close_code, 1008);
}

TEST(WsSocket, InputPausesWhileOutputIsBacklogged) {
  Harness h;
  EXPECT_TRUE(h.socket->wants_input());
  for (int i = 0; i < 200 && h.socket->wants_input(); ++i) h.socket->send(std::string(1024, 'x'));
  EXPECT_FALSE(h.socket->wants_input());
  h.output();  // flushed
  EXPECT_TRUE(h.socket->wants_input());
}

TEST(WsSocket, PublishedFramesAreSharedNotCopied) {
  Harness a, b;
  a.socket->subscribe("t");
  b.socket->subscribe("t");
  EXPECT_EQ(Hub::instance().local_subscribers("t"), 2u);
  Hub::instance().publish("t", "news", Opcode::text);
  auto fa = a.socket->take_shared();
  auto fb = b.socket->take_shared();
  ASSERT_TRUE(fa && fb);
  EXPECT_EQ(fa.get(), fb.get());  // one frame, two subscribers
  a.socket->on_output_flushed();
  b.socket->on_output_flushed();
  b.socket.reset();  // destroying a socket unsubscribes it
  EXPECT_EQ(Hub::instance().local_subscribers("t"), 1u);
  a.socket->unsubscribe("t");
  EXPECT_EQ(Hub::instance().local_subscribers("t"), 0u);
}

TEST(WsSocket, OwnOutputStaysInOrderAroundSharedFrames) {
  Harness h;
  h.socket->subscribe("order");
  h.socket->send("one");
  Hub::instance().publish("order", "two", Opcode::text);
  h.socket->send("three");
  auto out = h.output();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, "one");
  EXPECT_EQ(out[1].payload, "two");
  EXPECT_EQ(out[2].payload, "three");
}

// Runs `body` as one turn of a worker's event loop, where publishes wait for
// the end of the batch (outside a loop they are delivered at once).
void in_one_turn(const std::function<void()>& body) {
  Loop loop;
  asio::post(loop.io(), body);
  loop.run();
}

TEST(WsHub, PublishesOfOneBatchReachEachSubscriberAsOneSharedBuffer) {
  Harness a, b;
  in_one_turn([&] {
    a.socket->subscribe("batch");
    b.socket->subscribe("batch");
    for (const char* m : {"one", "two", "three"}) Hub::instance().publish("batch", m, Opcode::text);
    EXPECT_FALSE(a.socket->has_output());  // not yet: at the end of the batch
  });
  // One queue entry per subscriber, the same bytes for both.
  auto fa = a.socket->take_shared();
  auto fb = b.socket->take_shared();
  ASSERT_TRUE(fa && fb);
  EXPECT_EQ(fa.get(), fb.get());
  EXPECT_FALSE(a.socket->has_output());
  a.socket->on_output_flushed();
  ServerOutput parsed;
  FrameParser parser(ParserOptions{Role::client, 1 << 20, false});
  std::string bytes = *fa;
  parser.feed(std::span<char>(bytes.data(), bytes.size()), parsed);
  ASSERT_EQ(parsed.frames.size(), 3u);
  EXPECT_EQ(parsed.frames[0].payload, "one");
  EXPECT_EQ(parsed.frames[1].payload, "two");
  EXPECT_EQ(parsed.frames[2].payload, "three");
  in_one_turn([&] {
    a.socket->unsubscribe("batch");
    b.socket->unsubscribe("batch");
  });
}

TEST(WsHub, BatchedPublishesKeepTheirOrderAcrossTopicsAndOwnSends) {
  Harness h;
  in_one_turn([&] {
    h.socket->subscribe("x");
    h.socket->subscribe("y");
    Hub::instance().publish("x", "x1", Opcode::text);
    Hub::instance().publish("x", "x2", Opcode::text);
    Hub::instance().publish("y", "y1", Opcode::text);
    h.socket->send("own");  // after what was published before it
    Hub::instance().publish("x", "x3", Opcode::text);
    h.socket->close(close_code::normal, "bye");  // after x3
  });
  auto out = h.output();
  ASSERT_EQ(out.size(), 6u);
  const char* want[] = {"x1", "x2", "y1", "own", "x3"};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i].payload, want[i]) << i;
  EXPECT_EQ(out[5].close_code, close_code::normal);
}

TEST(WsHub, SubscribingAfterAPublishDoesNotReceiveItUnsubscribingDoes) {
  Harness late, leaving;
  in_one_turn([&] {
    leaving.socket->subscribe("s");
    Hub::instance().publish("s", "before", Opcode::text);
    late.socket->subscribe("s");
    leaving.socket->unsubscribe("s");
    Hub::instance().publish("s", "after", Opcode::text);
  });
  auto got_late = late.output();
  ASSERT_EQ(got_late.size(), 1u);
  EXPECT_EQ(got_late[0].payload, "after");
  auto got_leaving = leaving.output();
  ASSERT_EQ(got_leaving.size(), 1u);
  EXPECT_EQ(got_leaving[0].payload, "before");
  in_one_turn([&] { late.socket->unsubscribe("s"); });
}

TEST(WsHub, BigPublishesAreNotJoined) {
  Harness h;
  const std::string big(40 * 1024, 'b');
  in_one_turn([&] {
    h.socket->subscribe("big");
    Hub::instance().publish("big", big, Opcode::binary);
    Hub::instance().publish("big", big, Opcode::binary);
    Hub::instance().publish("big", "small", Opcode::binary);
  });
  // 80 KiB would pass the join limit: the first frame goes alone (not
  // copied), the second is joined with the small one.
  auto first = h.socket->take_shared();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), big.size() + 4);
  auto rest = h.socket->take_shared();
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size(), big.size() + 4 + 2 + 5);
  h.socket->on_output_flushed();
  in_one_turn([&] { h.socket->unsubscribe("big"); });
}

TEST(WsHub, DeflateSubscribersGetTheCompressedFramesOfABatch) {
  Harness plain, deflate(DeflateParams{});
  const std::string text = std::string(500, 'z') + "!";
  in_one_turn([&] {
    plain.socket->subscribe("d");
    deflate.socket->subscribe("d");
    Hub::instance().publish("d", text, Opcode::text);
    Hub::instance().publish("d", "short", Opcode::text);  // under compress_min: plain
  });
  auto p = plain.output();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_FALSE(p[0].compressed);
  EXPECT_EQ(p[0].payload, text);
  auto d = deflate.output();
  ASSERT_EQ(d.size(), 2u);
  ASSERT_TRUE(d[0].compressed);
  std::string back;
  ASSERT_EQ(inflate_message(d[0].payload, 1 << 20, back), InflateResult::ok);
  EXPECT_EQ(back, text);
  EXPECT_FALSE(d[1].compressed);
  EXPECT_EQ(d[1].payload, "short");
  in_one_turn([&] {
    plain.socket->unsubscribe("d");
    deflate.socket->unsubscribe("d");
  });
}

TEST(WsHub, ASubscriberWithASmallerWindowGetsPlainFrames) {
  // Shared frames are compressed with a 15-bit window; a peer that limited
  // ours (server_max_window_bits=9) could not inflate them.
  Harness wide(DeflateParams{}), narrow(DeflateParams{9, 15});
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i % 7) + " of the news; ";
  in_one_turn([&] {
    wide.socket->subscribe("w");
    narrow.socket->subscribe("w");
    Hub::instance().publish("w", text, Opcode::text);
  });
  auto w = wide.output();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(w[0].compressed);
  auto n = narrow.output();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_FALSE(n[0].compressed);
  EXPECT_EQ(n[0].payload, text);
  in_one_turn([&] {
    wide.socket->unsubscribe("w");
    narrow.socket->unsubscribe("w");
  });
}

TEST(WsHub, ASlowSubscriberIsClosedTheOthersGetTheWholeBatch) {
  Harness slow(std::nullopt, [](Settings& s) { s.max_backlog = 1000; });
  Harness fine;
  const std::string m(50, 'm');
  in_one_turn([&] {
    slow.socket->subscribe("slow");
    fine.socket->subscribe("slow");
    slow.socket->send(std::string(900, 'o'));  // unsent: the backlog is nearly full
    for (int i = 0; i < 3; ++i) Hub::instance().publish("slow", m, Opcode::text);
  });
  auto s = slow.output();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].close_code, close_code::policy_violation);
  auto f = fine.output();
  ASSERT_EQ(f.size(), 3u);
  for (const auto& frame : f) EXPECT_EQ(frame.payload, m);
  in_one_turn([&] {
    slow.socket.reset();  // destroying a socket unsubscribes it
    fine.socket->unsubscribe("slow");
  });
  EXPECT_EQ(Hub::instance().local_subscribers("slow"), 0u);
}

TEST(WsDeflate, Negotiation) {
  auto p = negotiate_deflate("permessage-deflate");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 15);
  p = negotiate_deflate("permessage-deflate; client_max_window_bits; server_max_window_bits=10");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 10);
  EXPECT_EQ(deflate_response(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10");
  EXPECT_TRUE(negotiate_deflate("permessage-deflate; server_max_window_bits=\"12\""));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=8"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=16"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; client_max_window_bits=7"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; foo"));
  EXPECT_FALSE(
      negotiate_deflate("permessage-deflate; server_no_context_takeover; "
                        "server_no_context_takeover"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_no_context_takeover=1"));
  EXPECT_FALSE(negotiate_deflate("x-webkit-deflate-frame"));
  // The first acceptable offer wins.
  p = negotiate_deflate("permessage-deflate; foo, permessage-deflate; server_max_window_bits=9");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 9);
}

TEST(WsDeflate, SmallWindowOutputInflates) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += std::to_string(i * 7919 % 1000);
  for (int bits = 9; bits <= 15; ++bits) {
    std::string c, back;
    deflate_message(text, bits, c);
    ASSERT_EQ(inflate_message(c, 1 << 20, back), InflateResult::ok) << bits;
    EXPECT_EQ(back, text) << bits;
  }
}

}  // namespace
}  // namespace trident::ws

namespace trident::ws {
namespace {

// ---- client side: the handshake and a client Socket talking to a server Socket

const ClientOffer kOffer = [] {
  ClientOffer o;
  o.host = "example.test:8080";
  o.path = "/chat?room=1";
  o.protocols = {"chat", "superchat"};
  o.deflate = true;
  o.origin = "https://example.test";
  o.headers = {{"Authorization", "Bearer t"}};
  return o;
}();

std::string answer(std::string_view key, std::string_view extra = {}) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
      accept_key(key) + "\r\n";
  r.append(extra);
  r.append("\r\n");
  return r;
}

TEST(WsClientHandshake, RequestCarriesTheOffer) {
  std::array<std::uint8_t, 16> nonce{};
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(i * 17);
  std::string key = client_key(nonce);
  EXPECT_TRUE(valid_client_key(key));
  std::string req = client_request(kOffer, key);
  EXPECT_TRUE(req.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.test:8080\r\n"));
  EXPECT_NE(req.find("Sec-WebSocket-Key: " + key + "\r\n"), std::string::npos);
  EXPECT_NE(req.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(req.find("Sec-WebSocket-Protocol: chat, superchat\r\n"), std::string::npos);
  EXPECT_NE(req.find("permessage-deflate; server_no_context_takeover"), std::string::npos);
  EXPECT_NE(req.find("Origin: https://example.test\r\n"), std::string::npos);
  EXPECT_NE(req.find("Authorization: Bearer t\r\n"), std::string::npos);
  EXPECT_TRUE(req.ends_with("\r\n\r\n"));
  // What the server's deflate negotiation makes of the offer.
  auto p = negotiate_deflate(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
      "client_max_window_bits");
  EXPECT_TRUE(p);
}

TEST(WsClientHandshake, AcceptsAValidAnswer) {
  std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string resp = answer(key,
                            "Sec-WebSocket-Protocol: superchat\r\n"
                            "Sec-WebSocket-Extensions: permessage-deflate; "
                            "server_no_context_takeover; client_max_window_bits=10\r\n");
  ServerAnswer a = check_server_response(resp + "\x81\x02hi", kOffer, key);
  EXPECT_EQ(a.error, "");
  EXPECT_EQ(a.status, 101);
  EXPECT_EQ(a.head_size, resp.size());  // frames after the head are not part of it
  EXPECT_EQ(a.subprotocol, "superchat");
  ASSERT_TRUE(a.deflate);
  EXPECT_EQ(a.deflate->client_max_window_bits, 10);
}

TEST(WsClientHandshake, IncompleteHeadWaits) {
  std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string resp = answer(key);
  EXPECT_EQ(check_server_response(resp.substr(0, resp.size() - 1), kOffer, key).head_size, 0u);
}

TEST(WsClientHandshake, RejectsBadAnswers) {
  std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  auto error = [&](std::string resp) { return check_server_response(resp, kOffer, key).error; };
  EXPECT_NE(error("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"), "");
  EXPECT_NE(error("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                  "Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"),
            "");
  EXPECT_NE(error("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " +
                  accept_key(key) + "\r\n\r\n"),
            "");
  EXPECT_NE(error(answer(key, "Sec-WebSocket-Protocol: other\r\n")), "");
  EXPECT_NE(error(answer(key, "Sec-WebSocket-Protocol: chat, superchat\r\n")), "");
  EXPECT_NE(error(answer(key, "Sec-WebSocket-Extensions: x-unknown\r\n")), "");
  // Deflate without the server_no_context_takeover we asked for: our
  // inflater could not follow a compressor that keeps its window.
  EXPECT_NE(error(answer(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n")), "");
  EXPECT_NE(error(answer(key,
                         "Sec-WebSocket-Extensions: permessage-deflate; "
                         "server_no_context_takeover; client_max_window_bits=8\r\n")),
            "");
  ClientOffer plain = kOffer;
  plain.deflate = false;
  EXPECT_NE(check_server_response(answer(key,
                                         "Sec-WebSocket-Extensions: permessage-deflate; "
                                         "server_no_context_takeover\r\n"),
                                  plain, key)
                .error,
            "");
  EXPECT_NE(error("HTTP/1.0 101 Switching Protocols\r\n\r\n"), "");
}

// A client Socket and a server Socket wired back to back in memory.
struct Pair {
  Settings settings;
  Route server_route{{}, settings}, client_route{{}, settings};
  Endpoint& server_ep = server_route.endpoint;
  Endpoint& client_ep = client_route.endpoint;
  std::vector<std::string> client_got;
  std::vector<std::uint16_t> client_closes, server_closes;
  struct Nop : Socket::Transport {
    net::PeerInfo peer_info;
    void wake() override {}
    void switch_session(std::unique_ptr<net::Session>) override {}
    const net::PeerInfo& peer() const override { return peer_info; }
  } nop;
  std::unique_ptr<Socket> server, client;

  explicit Pair(std::optional<DeflateParams> deflate) {
    server_ep.on_message = [](Socket& s, std::string_view m, Opcode op) { s.send(m, op); };
    server_ep.on_close = [this](Socket&, std::uint16_t c, std::string_view) {
      server_closes.push_back(c);
    };
    client_ep.on_message = [this](Socket&, std::string_view m, Opcode) {
      client_got.emplace_back(m);
    };
    client_ep.on_close = [this](Socket&, std::uint16_t c, std::string_view) {
      client_closes.push_back(c);
    };
    server = std::make_unique<Socket>(server_route, nop, "", deflate);
    client = std::make_unique<Socket>(client_route, nop, "", deflate, Role::client);
  }
  static void move(Socket& from, Socket& to) {
    std::string bytes;
    from.take_output(bytes);
    from.on_output_flushed();
    to.feed(std::span<char>(bytes.data(), bytes.size()));
  }
  void pump() {
    for (int i = 0; i < 4; ++i) {
      move(*client, *server);
      move(*server, *client);
    }
  }
};

TEST(WsClientSocket, TalksToAServerSocket) {
  for (bool deflate : {false, true}) {
    Pair p(deflate ? std::optional<DeflateParams>(DeflateParams{}) : std::nullopt);
    std::string big(5000, 'z');
    p.client->send("hello");
    p.client->send(big, Opcode::binary);
    // Client frames are masked: the server (which insists) accepted them.
    p.pump();
    ASSERT_EQ(p.client_got.size(), 2u) << deflate;
    EXPECT_EQ(p.client_got[0], "hello");
    EXPECT_EQ(p.client_got[1], big);
    p.client->close(close_code::normal, "bye");
    p.pump();
    EXPECT_TRUE(p.client->finished());
    EXPECT_TRUE(p.server->finished());
    p.client->on_transport_closed();
    p.server->on_transport_closed();
    EXPECT_EQ(p.client_closes, std::vector<std::uint16_t>{1000});
    EXPECT_EQ(p.server_closes, std::vector<std::uint16_t>{1000});
  }
}

TEST(WsClientSocket, ClientFramesAreMaskedWithFreshKeys) {
  Pair p(std::nullopt);
  p.client->send("same");
  p.client->send("same");
  std::string bytes;
  p.client->take_output(bytes);
  ASSERT_EQ(bytes.size(), 2 * (2 + 4 + 4));
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]) & 0x80, 0x80);  // MASK bit
  EXPECT_NE(bytes.substr(2, 8), bytes.substr(12, 8));            // different keys, so bytes
}

}  // namespace
}  // namespace trident::ws
