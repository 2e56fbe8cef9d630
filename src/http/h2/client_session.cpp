#include "http/h2/client_session.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/log.hpp"

namespace trident::http::h2 {
namespace {

// Output bytes produced per take_output call; the rest waits for the flush.
constexpr std::size_t kMaxOutputBatch = 512 * 1024;
// Listener rounds per delivery; more news waits for the next turn.
constexpr int kMaxDeliveryRounds = 64;

std::string error_code_name(std::uint32_t code) {
  return nghttp2_http2_strerror(code);
}

}  // namespace

// ---------------------------------------------------------------------------
// ClientStream

std::string ClientStream::take_data() {
  std::string out;
  out.swap(data_);
  if (!out.empty()) {
    if (ClientSession* s = session()) {
      // Counts for the connection window even once the stream is closed.
      nghttp2_session_consume(s->session_, id_, out.size());
      s->io_.wake();
    }
  }
  return out;
}

void ClientStream::write(std::string_view data) {
  if (end_ || closed_ || data.empty()) return;
  if (pending_off_ > 0 && pending_off_ >= pending_.size() / 2) {
    pending_.erase(0, pending_off_);
    pending_off_ = 0;
  }
  pending_.append(data);
  ClientSession* s = session();
  if (!s) return;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(s->session_, id_);
  }
  s->io_.wake();
}

void ClientStream::end() {
  if (end_ || closed_) return;
  end_ = true;
  ClientSession* s = session();
  if (!s) return;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(s->session_, id_);
  }
  s->io_.wake();
}

void ClientStream::reset(std::uint32_t code) {
  if (closed_) return;
  ClientSession* s = session();
  if (!s || id_ < 0) return;
  nghttp2_submit_rst_stream(s->session_, NGHTTP2_FLAG_NONE, id_, code);
  s->io_.wake();
}

void ClientStream::abandon() {
  listener_ = nullptr;
  if (abandoned_) return;
  abandoned_ = true;
  reset(NGHTTP2_CANCEL);
  take_data();  // returns the credit of what nobody will read
  pending_.clear();
  pending_off_ = 0;
}

// ---------------------------------------------------------------------------
// ClientSession

ClientSession::ClientSession(net::SessionIo& io, ClientOptions options)
    : io_(io), options_(options), self_(std::make_shared<ClientSession*>(this)) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &ClientSession::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &ClientSession::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &ClientSession::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &ClientSession::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &ClientSession::on_stream_close);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);  // credit is returned as the owner reads
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
  nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options_.max_header_list_size},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (options_.connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(options_.connection_window));
  }
}

ClientSession::~ClientSession() {
  *self_ = nullptr;  // streams outliving the session stop calling into it
  for (auto& [id, s] : active_) {
    if (!s->closed_) {
      s->closed_ = true;
      s->connection_failed_ = true;
      if (s->failure_.empty()) s->failure_ = "the HTTP/2 session was destroyed";
    }
  }
  nghttp2_session_del(session_);
}

std::shared_ptr<ClientStream> ClientSession::submit(std::span<const Field> headers,
                                                    bool end_stream) {
  if (!accepting()) return nullptr;
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});  // nghttp2 copies them
  }
  auto stream = std::make_shared<ClientStream>();
  stream->owner_ = self_;
  nghttp2_data_provider provider{};
  provider.source.ptr = stream.get();
  provider.read_callback = &ClientSession::read_body;
  std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                           end_stream ? nullptr : &provider, stream.get());
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      become_unusable("the connection ran out of stream ids");
    } else {
      log::debug(std::string("h2 client: submit failed: ") + nghttp2_strerror(id));
    }
    return nullptr;
  }
  stream->id_ = id;
  if (end_stream) stream->end_ = true;
  active_.emplace(id, stream);
  io_.wake();
  return stream;
}

bool ClientSession::accepting() const {
  return !failed_session_ && !goaway_ && !shutdown_ &&
         nghttp2_session_check_request_allowed(session_) != 0 &&
         nghttp2_session_get_next_stream_id(session_) <= 0x7fffffffu;
}

void ClientSession::ping() {
  if (failed_session_) return;
  if (nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr) == 0) {
    ++pings_outstanding_;
    io_.wake();
  }
}

void ClientSession::shutdown() {
  if (shutdown_ || failed_session_) return;
  shutdown_ = true;
  // The last stream id the server may have opened: none (no push).
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  become_unusable("the channel shut the connection down");
  io_.wake();
}

ClientStream* ClientSession::find(std::int32_t id) const {
  return static_cast<ClientStream*>(nghttp2_session_get_stream_user_data(session_, id));
}

void ClientSession::touch(ClientStream& s, unsigned events) {
  if (s.abandoned_) return;
  s.events_ |= events;
  if (!s.queued_) {
    s.queued_ = true;
    touched_.push_back(s.shared_from_this());
  }
}

void ClientSession::become_unusable(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  unusable_pending_ = true;
}

void ClientSession::deliver() {
  if (delivering_) return;  // the running delivery picks up what was added
  delivering_ = true;
  for (int round = 0; round < kMaxDeliveryRounds && !touched_.empty(); ++round) {
    std::vector<std::shared_ptr<ClientStream>> batch;
    batch.swap(touched_);
    for (auto& s : batch) {
      s->queued_ = false;
      unsigned events = std::exchange(s->events_, 0);
      // A listener may drop its stream (and itself) while handling an event.
      if ((events & kResponseEvent) && s->listener_) s->listener_->on_stream_response();
      if ((events & kWritableEvent) && s->listener_) s->listener_->on_stream_writable();
    }
  }
  if (unusable_pending_) {
    unusable_pending_ = false;
    if (on_unusable) {
      auto f = on_unusable;
      f();
    }
  }
  delivering_ = false;
  if (!touched_.empty()) io_.wake();
}

void ClientSession::fail_all(const std::string& why) {
  for (auto& [id, s] : active_) {
    nghttp2_session_set_stream_user_data(session_, id, nullptr);
    if (!s->closed_) {
      s->closed_ = true;
      s->connection_failed_ = true;
      s->failure_ = why;
      touch(*s, kResponseEvent | kWritableEvent);
    }
    // nghttp2 still holds the raw pointer (data provider) until it is deleted.
    failed_.push_back(std::move(s));
  }
  active_.clear();
}

// ---- nghttp2 callbacks ----

int ClientSession::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<ClientSession*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  ClientStream* s = self->find(frame->hd.stream_id);
  if (!s) return 0;
  s->in_trailer_block_ = s->final_;
  s->header_bytes_ = 0;
  if (!s->in_trailer_block_) {
    s->status_ = 0;
    s->headers_.clear();
  }
  return 0;
}

int ClientSession::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                             std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                             std::uint8_t, void* user) {
  auto* self = static_cast<ClientSession*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;  // PUSH_PROMISE: disabled, nghttp2 refuses it
  ClientStream* s = self->find(frame->hd.stream_id);
  if (!s) return 0;
  s->header_bytes_ += namelen + valuelen + 32;  // RFC 9113 §6.5.2 accounting
  if (s->header_bytes_ > self->options_.max_header_list_size) {
    if (s->failure_.empty()) {
      s->failure_ = "response header list larger than " +
                    std::to_string(self->options_.max_header_list_size) + " bytes";
    }
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // nghttp2 resets the stream
  }
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (s->in_trailer_block_) {
    s->trailers_.add(n, v);
    return 0;
  }
  if (n == ":status") {
    int status = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), status);
    (void)end;
    s->status_ = ec == std::errc() ? status : 0;
    return 0;
  }
  if (!n.empty() && n.front() == ':') return 0;
  s->headers_.add(n, v);
  return 0;
}

int ClientSession::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<ClientSession*>(user);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      ClientStream* s = self->find(frame->hd.stream_id);
      if (!s) return 0;
      if (s->in_trailer_block_) {
        s->has_trailers_ = true;
      } else if (s->status_ >= 200) {
        s->final_ = true;
      } else {
        s->headers_.clear();  // 1xx: informational, the final response follows
      }
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->remote_ended_ = true;
      self->touch(*s, kResponseEvent);
      return 0;
    }
    case NGHTTP2_DATA: {
      if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
      ClientStream* s = self->find(frame->hd.stream_id);
      if (!s) return 0;
      s->remote_ended_ = true;
      self->touch(*s, kResponseEvent);
      return 0;
    }
    case NGHTTP2_RST_STREAM: {
      ClientStream* s = self->find(frame->hd.stream_id);
      if (s) s->reset_by_peer_ = true;  // on_stream_close follows with the code
      return 0;
    }
    case NGHTTP2_GOAWAY: {
      self->goaway_ = true;
      std::string why =
          "the server sent GOAWAY (" + error_code_name(frame->goaway.error_code) + ")";
      if (frame->goaway.opaque_data_len > 0) {
        why += ": ";
        why.append(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                   std::min<std::size_t>(frame->goaway.opaque_data_len, 256));
      }
      self->become_unusable(std::move(why));
      return 0;
    }
    case NGHTTP2_PING:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && self->pings_outstanding_ > 0) {
        --self->pings_outstanding_;
      }
      return 0;
    default:
      return 0;
  }
}

int ClientSession::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                                 const std::uint8_t* data, std::size_t len, void* user) {
  auto* self = static_cast<ClientSession*>(user);
  ClientStream* s = self->find(stream_id);
  if (!s || s->abandoned_) {
    // Nobody will read it: give the flow-control credit back at once.
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  s->data_.append(reinterpret_cast<const char*>(data), len);
  self->touch(*s, kResponseEvent);
  return 0;
}

int ClientSession::on_stream_close(nghttp2_session* session, std::int32_t stream_id,
                                   std::uint32_t error_code, void* user) {
  auto* self = static_cast<ClientSession*>(user);
  ClientStream* s = self->find(stream_id);
  if (!s) return 0;
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  s->closed_ = true;
  s->error_code_ = error_code;
  if (error_code == NGHTTP2_REFUSED_STREAM && !s->reset_by_peer_ && s->failure_.empty()) {
    // Closed by nghttp2 because of the server's GOAWAY: never processed.
    s->failure_ = self->error_.empty() ? "stream refused" : self->error_;
  }
  self->touch(*s, kResponseEvent | kWritableEvent);
  // The stream object stays alive through touched_ (and its owner), not active_.
  auto it = self->active_.find(stream_id);
  if (it != self->active_.end()) self->active_.erase(it);
  return 0;
}

ssize_t ClientSession::read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf,
                                 std::size_t length, std::uint32_t* flags,
                                 nghttp2_data_source* source, void* user) {
  auto* self = static_cast<ClientSession*>(user);
  auto* s = static_cast<ClientStream*>(source->ptr);
  std::size_t before = s->unsent();
  if (before == 0) {
    if (s->end_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    s->deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  std::size_t n = std::min(length, before);
  std::memcpy(buf, s->pending_.data() + s->pending_off_, n);
  s->pending_off_ += n;
  if (s->pending_off_ == s->pending_.size()) {
    s->pending_.clear();
    s->pending_off_ = 0;
  }
  if (s->end_ && s->unsent() == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
  std::size_t low = self->options_.write_low_watermark;
  if (before > low && s->unsent() <= low) self->touch(*s, kWritableEvent);
  return static_cast<ssize_t>(n);
}

// ---- net::Session ----

std::size_t ClientSession::on_input(std::string_view data) {
  if (failed_session_) return data.size();
  ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  if (rv < 0) {
    std::string why =
        std::string("HTTP/2 protocol error: ") + nghttp2_strerror(static_cast<int>(rv));
    log::debug("h2 client: " + why);
    if (rv != NGHTTP2_ERR_FLOODED) {
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    }
    failed_session_ = true;
    become_unusable(why);
    fail_all(why);
    deliver();
    return data.size();
  }
  deliver();
  return static_cast<std::size_t>(rv);
}

void ClientSession::take_output(std::string& out) {
  while (out.size() < kMaxOutputBatch) {
    const std::uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      std::string why = std::string("HTTP/2 send error: ") + nghttp2_strerror(static_cast<int>(n));
      failed_session_ = true;
      become_unusable(why);
      fail_all(why);
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  // Streams whose request body drained (or that closed while sending) hear it
  // on the next turn, not from inside the connection's flush.
  if (!touched_.empty() || unusable_pending_) io_.wake();
}

void ClientSession::on_wake() {
  deliver();
}

bool ClientSession::wants_input() const {
  return !failed_session_ && nghttp2_session_want_read(session_);
}

bool ClientSession::should_close() const {
  if (failed_session_) return !nghttp2_session_want_write(session_);
  if ((goaway_ || shutdown_) && active_.empty()) return !nghttp2_session_want_write(session_);
  return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
}

void ClientSession::on_peer_closed() {
  if (failed_session_ && active_.empty()) return;
  failed_session_ = true;
  std::string why =
      error_.empty() ? "the connection closed" : "the connection closed after " + error_;
  become_unusable(why);
  fail_all(why);
}

void ClientSession::on_peer_eof() {
  if (failed_session_ && active_.empty()) return;
  failed_session_ = true;
  std::string why = "the server closed the connection";
  if (!error_.empty()) why += " after " + error_;
  become_unusable(why);
  fail_all(why);
}

net::Phase ClientSession::phase() const {
  return active_.empty() ? net::Phase::idle : net::Phase::busy;
}

}  // namespace trident::http::h2
