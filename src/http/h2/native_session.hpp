// HTTP/2 server session with trident's own framing, flow control and HPACK
// (RFC 9113, RFC 7541), selected with `--h2-engine native`. It serves the
// same Exchange/handler model as the nghttp2 session and keeps its
// hardening: rapid-reset, SETTINGS and PING flood limits (GOAWAY
// ENHANCE_YOUR_CALM), the decoded header list limit (431), stream ids that
// go backwards as a connection error, keepalive PINGs and connection age.
//
// Why a second engine: measured with callgrind on h2load -c16 -m32, nghttp2
// spends about 10,000 of the 13,700 instructions trident needs per h2c
// request; h2o's whole request costs less CPU than nghttp2's share.
//
// Byte-in/byte-out like every session: on_input parses frames, take_output
// hands over what is queued (control frames and headers at once, DATA as
// flow-control windows allow, round robin over streams).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/exchange.hpp"
#include "http/h2/hpack.hpp"
#include "http/h2/util.hpp"
#include "http/service.hpp"
#include "net/session.hpp"

namespace trident::http::h2 {

class NativeSession final : public net::Session {
 public:
  NativeSession(ServiceContext& service, net::SessionIo& io, const PeerInfo& peer);
  ~NativeSession() override;
  NativeSession(const NativeSession&) = delete;
  NativeSession& operator=(const NativeSession&) = delete;

  // HTTP/1.1 `Upgrade: h2c`: applies the client's HTTP2-Settings (base64url)
  // and serves `req` as stream 1. False if the settings are malformed.
  bool accept_upgrade(std::string_view http2_settings, Request&& req);

  std::size_t on_input(std::string_view data) override;
  void take_output(std::string& out) override;
  void on_output_flushed() override;
  void on_wake() override;
  bool wants_input() const override;
  bool should_close() const override;
  void on_peer_closed() override;
  void on_peer_eof() override;
  void start_drain() override;
  void on_timeout(net::Phase phase) override;
  net::Phase phase() const override;
  void release_idle_memory() override;
  void on_tick(std::uint32_t now) override;

  struct Stream;

 private:
  struct FrameHeader {
    std::uint32_t length;
    std::uint8_t type;
    std::uint8_t flags;
    std::uint32_t stream_id;
  };

  // ---- input ----
  // Handles one whole frame; false once the connection has failed.
  bool on_frame(const FrameHeader& h, std::string_view payload);
  bool on_data(const FrameHeader& h, std::string_view payload);
  bool on_headers(const FrameHeader& h, std::string_view payload);
  bool on_continuation(const FrameHeader& h, std::string_view payload);
  bool on_header_block(std::uint32_t id, bool end_stream);
  bool on_priority(const FrameHeader& h, std::string_view payload);
  bool on_rst_stream(const FrameHeader& h, std::string_view payload);
  bool on_settings(const FrameHeader& h, std::string_view payload);
  bool apply_settings(std::string_view payload);
  bool on_ping(const FrameHeader& h, std::string_view payload);
  bool on_goaway(const FrameHeader& h, std::string_view payload);
  bool on_window_update(const FrameHeader& h, std::string_view payload);

  // ---- streams ----
  Stream* find(std::uint32_t id);  // open (not yet closed both ways), else null
  // How a stream that is no longer open ended, if it was among the last ones.
  enum class Closed { unknown, normally, reset_by_us };
  Closed closed_how(std::uint32_t id) const;
  void reap();  // closes streams done both ways (never from inside a handler)
  Stream& open_stream(std::uint32_t id);
  void close_stream(Stream& s);
  void start_stream(Stream& s);
  // Both directions done (or the response is, and the request is not: RST NO_ERROR).
  void maybe_close(Stream& s);
  // RST_STREAM; the stream is closed at the next reap().
  void reset_stream(std::uint32_t id, std::uint32_t code);
  void return_credit(Stream* s, std::size_t n);  // bytes the handler consumed
  void pump();

  // ---- output ----
  void write_frame_header(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                          std::uint32_t id);
  void write_headers(std::uint32_t id, std::string_view block, bool end_stream);
  void write_window_update(std::uint32_t id, std::uint32_t increment);
  void write_data(std::string& out);                    // DATA frames the windows allow
  bool fail(std::uint32_t code, std::string_view why);  // GOAWAY; returns false
  void calm_down(const char* why);

  friend struct Stream;
  ServiceContext& service_;
  net::SessionIo& io_;
  const PeerInfo& peer_;
  hpack::Decoder decoder_;
  hpack::Encoder encoder_;

  std::string out_;                 // queued frames, before DATA
  std::string block_;               // a header block being assembled (HEADERS + CONTINUATION)
  std::string block_out_;           // a header block being encoded
  std::uint32_t block_stream_ = 0;  // non-zero: CONTINUATION expected on this stream
  bool block_end_stream_ = false;
  bool block_self_dependent_ = false;  // its priority names itself: reset once decoded
  std::uint32_t continuations_ = 0;
  bool preface_done_ = false;
  bool settings_seen_ = false;  // the client's first frame must be SETTINGS

  StreamPool<Stream> streams_;
  struct ClosedStream {
    std::uint32_t id = 0;
    bool reset_by_us = false;
  };
  std::array<ClosedStream, 16> recent_closed_{};  // ring
  std::size_t recent_next_ = 0;
  bool reap_pending_ = false;
  std::size_t next_data_ = 0;  // round-robin position for DATA
  std::uint32_t last_client_stream_ = 0;

  // Flow control. Send: what the peer allows us; receive: what we allow it.
  std::int64_t conn_send_window_ = 65535;
  std::int64_t conn_recv_window_ = 65535;
  std::uint32_t conn_unacked_ = 0;  // consumed, not yet returned with WINDOW_UPDATE
  std::int64_t peer_initial_window_ = 65535;
  std::uint32_t peer_max_frame_ = 16384;

  RateCounter resets_, settings_, pings_;
  std::size_t in_flight_ = 0;
  bool failed_ = false;
  bool draining_ = false;     // our GOAWAY went out
  bool peer_goaway_ = false;  // the client's GOAWAY came in

  KeepaliveClock clock_;
};

}  // namespace trident::http::h2
