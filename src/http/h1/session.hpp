// HTTP/1.1 server session: parser events in, handler exchanges, serialized
// responses out. Pipelined requests are answered strictly in order: the next
// request is not parsed before the current handler is done, and responses
// produced while handling one read are flushed together in one write.
#pragma once

#include <memory>
#include <string>

#include "http/exchange.hpp"
#include "http/h1/parser.hpp"
#include "http/service.hpp"
#include "net/session.hpp"

namespace trident::http::h1 {

class Session final : public net::Session, private ParserListener, private StreamSink {
 public:
  Session(ServiceContext& service, net::SessionIo& io, const PeerInfo& peer);
  ~Session() override;

  std::size_t on_input(std::string_view data) override;
  void take_output(std::string& out) override;
  void on_output_flushed() override;
  void on_wake() override;
  bool wants_input() const override;
  bool should_close() const override { return close_after_flush_; }
  void on_peer_closed() override;
  void start_drain() override;
  void on_timeout(net::Phase phase) override;
  net::Phase phase() const override;
  void release_idle_memory() override;

 private:
  // ParserListener
  void on_head(const RequestHead& head) override;
  void on_body(std::string_view data) override;
  void on_trailers(const std::vector<HeaderField>& trailers) override;
  void on_message_complete() override;

  // StreamSink
  void send_head(const Response& res, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(const Headers& trailers) override;
  std::size_t buffered() const override { return out_.size() + in_flight_; }
  void abort_stream() override;
  void on_handler_done() override;

  // Answers a request from service_.direct without an exchange; false when
  // the table has no answer for it.
  bool answer_directly(const RequestHead& head);
  void reap();  // finish the current exchange if both request and handler are done
  void send_error(int status, std::string_view reason);
  void start_h2c_upgrade();
  void switch_protocols(const Response& res);  // 101 with a takeover
  void pump();

  ServiceContext& service_;
  net::SessionIo& io_;
  const PeerInfo& peer_;
  Parser parser_;
  std::unique_ptr<Exchange> exchange_;
  std::string out_;
  std::size_t in_flight_ = 0;  // bytes taken by the connection, not yet flushed

  // Per-request state.
  bool request_complete_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool http10_ = false;
  bool chunked_out_ = false;
  bool body_allowed_ = true;
  bool discard_body_ = false;  // handler finished before reading the whole body

  bool close_after_flush_ = false;
  bool draining_ = false;
  bool saw_bytes_ = false;  // some bytes of the next head arrived
  bool switched_ = false;   // upgraded to h2c: the connection moves on to another session
};

}  // namespace trident::http::h1
