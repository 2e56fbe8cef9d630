// HTTP/2 client session on nghttp2's byte-in/byte-out client API: the
// counterpart of h2::Session for outbound connections (the gRPC client, later
// the gateway). Like every codec here it never touches a socket: it is a
// net::Session that a connection (net::OutboundConnection) feeds with bytes.
//
// Each request is a ClientStream: request headers, a request body streamed
// through a queue that nghttp2 drains as the peer's flow-control windows
// allow (END_STREAM once end() is called and the queue is empty), and the
// response: headers, DATA, trailers, END_STREAM, RST_STREAM. Response DATA is
// buffered per stream and its flow-control credit is returned only as the
// owner takes it (no automatic WINDOW_UPDATE), so a slow reader holds at most
// one stream window per stream.
//
// Events reach the stream's owner through ClientStreamListener, always from
// the top of the session's event handling (after nghttp2 returned), never
// from inside an nghttp2 callback, so a listener may submit, write, reset or
// drop streams. A GOAWAY, a protocol error or the loss of the connection fail
// every open stream (failure() says why) and make the session refuse new ones.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/headers.hpp"
#include "net/session.hpp"

namespace trident::http::h2 {

struct ClientOptions {
  std::uint32_t stream_window = 1u << 20;          // SETTINGS_INITIAL_WINDOW_SIZE (receive)
  std::uint32_t connection_window = 16u << 20;     // the connection's receive window
  std::uint32_t max_header_list_size = 64 * 1024;  // decoded response header block; larger → reset
  std::size_t write_low_watermark = 64 * 1024;     // on_stream_writable when unsent drops to this
};

class ClientStreamListener {
 public:
  virtual ~ClientStreamListener() = default;
  // Response headers, DATA, trailers, the end of the stream, a reset or a failure.
  virtual void on_stream_response() = 0;
  // The unsent request body dropped to the low watermark, or the stream closed.
  virtual void on_stream_writable() = 0;
};

class ClientSession;

class ClientStream : public std::enable_shared_from_this<ClientStream> {
 public:
  std::int32_t id() const { return id_; }

  // ---- response ----
  // The final (non-1xx) response headers arrived.
  bool has_response() const { return final_; }
  int status() const { return status_; }
  const Headers& headers() const { return headers_; }
  bool has_trailers() const { return has_trailers_; }
  const Headers& trailers() const { return trailers_; }
  // END_STREAM received: headers, DATA and trailers are complete.
  bool remote_ended() const { return remote_ended_; }
  // Response DATA received and not taken yet.
  std::size_t available() const { return data_.size(); }
  // Takes the buffered DATA; its flow-control credit goes back to the server.
  std::string take_data();

  // The stream is over: ended both ways, reset (error_code()), or failed (failure()).
  bool closed() const { return closed_; }
  // The HTTP/2 error code the stream closed with (NGHTTP2_NO_ERROR when it ended normally).
  std::uint32_t error_code() const { return error_code_; }
  // The server sent RST_STREAM.
  bool reset_by_peer() const { return reset_by_peer_; }
  // Non-empty when the stream failed without a RST_STREAM of the peer: the
  // connection went away, a protocol error, response headers over the limit.
  const std::string& failure() const { return failure_; }
  // True when failure() comes from the connection (lost, GOAWAY, protocol
  // error), not from this stream alone.
  bool connection_failed() const { return connection_failed_; }

  // ---- request ----
  // Queues request body bytes (ignored once end() was called or the stream closed).
  void write(std::string_view data);
  // Half-close: END_STREAM after what is queued.
  void end();
  // Request body bytes queued and not yet handed to nghttp2.
  std::size_t unsent() const { return pending_.size() - pending_off_; }
  // RST_STREAM with `code` (e.g. NGHTTP2_CANCEL), if the stream is still open.
  void reset(std::uint32_t code);

  void set_listener(ClientStreamListener* listener) { listener_ = listener; }
  // The owner is done with the stream: resets it if still open, gives back the
  // credit of unread DATA, and drops what arrives later. No more events.
  void abandon();

  // Use ClientSession::submit().
  ClientStream() = default;

 private:
  friend class ClientSession;
  ClientSession* session() const { return owner_ ? *owner_ : nullptr; }

  std::shared_ptr<ClientSession*> owner_;  // nullptr inside once the session is gone
  std::int32_t id_ = -1;
  ClientStreamListener* listener_ = nullptr;

  int status_ = 0;
  Headers headers_;
  Headers trailers_;
  std::string data_;
  std::size_t header_bytes_ = 0;
  bool in_trailer_block_ = false;
  bool final_ = false;
  bool has_trailers_ = false;
  bool remote_ended_ = false;

  std::string pending_;
  std::size_t pending_off_ = 0;
  bool end_ = false;
  bool deferred_ = false;

  bool closed_ = false;
  bool reset_by_peer_ = false;
  bool connection_failed_ = false;
  bool abandoned_ = false;
  std::uint32_t error_code_ = NGHTTP2_NO_ERROR;
  std::string failure_;

  unsigned events_ = 0;  // pending listener events
  bool queued_ = false;  // in the session's delivery list
};

class ClientSession final : public net::Session {
 public:
  explicit ClientSession(net::SessionIo& io, ClientOptions options = {});
  ~ClientSession() override;
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  using Field = std::pair<std::string_view, std::string_view>;
  // Starts a request: pseudo-headers first (:method, :scheme, :authority,
  // :path), then regular fields with lower-case names. With `end_stream` the
  // request has no body; otherwise write()/end() provide it. Nullptr when the
  // session takes no new streams (see accepting(), error()).
  std::shared_ptr<ClientStream> submit(std::span<const Field> headers, bool end_stream = false);

  // New streams may be submitted: no GOAWAY, no failure, no shutdown, stream ids left.
  bool accepting() const;
  // Why the session does not accept streams ("" while it does).
  const std::string& error() const { return error_; }
  std::size_t active_streams() const { return active_.size(); }

  // Sends a PING; ping_outstanding() until its ACK arrives.
  void ping();
  bool ping_outstanding() const { return pings_outstanding_ > 0; }
  // Graceful: GOAWAY(NO_ERROR), no new streams; closes once the open ones end.
  void shutdown();

  // Called (from event handling) once the session stops accepting new streams.
  std::function<void()> on_unusable;

  // net::Session
  std::size_t on_input(std::string_view data) override;
  void take_output(std::string& out) override;
  void on_wake() override;
  bool wants_input() const override;
  bool should_close() const override;
  void on_peer_closed() override;
  void on_peer_eof() override;
  void start_drain() override { shutdown(); }
  void on_timeout(net::Phase) override {}
  net::Phase phase() const override;

 private:
  friend class ClientStream;
  enum : unsigned { kResponseEvent = 1, kWritableEvent = 2 };

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                       const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                           std::size_t, void*);
  static int on_stream_close(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                           std::uint32_t*, nghttp2_data_source*, void*);

  ClientStream* find(std::int32_t id) const;
  void touch(ClientStream& s, unsigned events);
  void deliver();
  void become_unusable(std::string why);
  void fail_all(const std::string& why);

  net::SessionIo& io_;
  ClientOptions options_;
  nghttp2_session* session_ = nullptr;
  std::shared_ptr<ClientSession*> self_;
  std::unordered_map<std::int32_t, std::shared_ptr<ClientStream>> active_;
  std::vector<std::shared_ptr<ClientStream>> failed_;  // failed while nghttp2 still knew them
  std::vector<std::shared_ptr<ClientStream>> touched_;
  std::string error_;
  int pings_outstanding_ = 0;
  bool failed_session_ = false;  // fatal: close after flushing what is queued
  bool goaway_ = false;
  bool shutdown_ = false;
  bool unusable_pending_ = false;
  bool delivering_ = false;
};

}  // namespace trident::http::h2
