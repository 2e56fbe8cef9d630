// HTTP/2 server session on nghttp2's byte-in/byte-out API. Each request
// stream runs the same Exchange/handler as HTTP/1.1; response bodies flow
// through a per-stream queue that nghttp2 drains as flow-control windows
// allow, and handler writes suspend while that queue is above the watermark.
//
// Hardening beyond nghttp2's defaults: rapid-reset, SETTINGS and PING flood
// limits (GOAWAY ENHANCE_YOUR_CALM), a bound on each stream's *decoded*
// header list (HPACK bombs reset the stream), and stream ids that go
// backwards are a connection error.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "http/exchange.hpp"
#include "http/h2/util.hpp"
#include "http/service.hpp"
#include "net/session.hpp"

namespace trident::http::h2 {

class Session final : public net::Session {
 public:
  Session(ServiceContext& service, net::SessionIo& io, const PeerInfo& peer);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

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
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd*, void*);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                       const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                           std::size_t, void*);
  static int on_stream_close(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame*, void*);

  Stream* find(std::int32_t id);
  Stream& open_stream(std::int32_t id);
  void close_stream(Stream& s);
  void start_stream(Stream& s);
  void pump();
  void calm_down(const char* why);  // GOAWAY ENHANCE_YOUR_CALM and close

  friend struct Stream;
  ServiceContext& service_;
  net::SessionIo& io_;
  const PeerInfo& peer_;
  nghttp2_session* session_ = nullptr;
  StreamPool<Stream> streams_;
  std::int32_t last_client_stream_ = 0;
  RateCounter resets_, settings_, pings_;
  std::size_t in_flight_ = 0;
  bool failed_ = false;  // fatal error: close after flushing what is queued
  bool draining_ = false;

  KeepaliveClock clock_;
};

}  // namespace trident::http::h2
