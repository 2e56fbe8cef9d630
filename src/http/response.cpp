#include "http/response.hpp"

#include <charconv>
#include <stdexcept>

namespace trident::http {

void Response::start(bool end_stream) {
  if (started_) return;
  started_ = true;
  if (end_stream) finished_ = true;
  if (!aborted_) sink_->send_head(*this, end_stream);
}

void Response::send(std::string_view body, std::string_view content_type) {
  if (started_) throw std::logic_error("response already started");
  if (!content_type.empty()) headers.set("content-type", content_type);
  char len[24];
  auto [end, ec] = std::to_chars(len, len + sizeof len, body.size());
  (void)ec;
  headers.set("content-length", std::string_view(len, end - len));
  start(body.empty());
  if (!body.empty()) {
    finished_ = true;
    if (!aborted_) sink_->send_data(body, true);
  }
}

void Response::send_status(int code, std::string_view message) {
  status = code;
  std::string text(message.empty() ? reason_phrase(code) : message);
  text.push_back('\n');
  send(text, "text/plain; charset=utf-8");
}

Response::WriteAwaiter Response::write(std::string_view data) {
  if (finished_) throw std::logic_error("response already finished");
  start(false);
  if (!data.empty() && !aborted_) sink_->send_data(data, false);
  return WriteAwaiter{*this};
}

void Response::write_now(std::string_view data) {
  if (finished_) throw std::logic_error("response already finished");
  start(false);
  if (!data.empty() && !aborted_) sink_->send_data(data, false);
}

void Response::finish() {
  if (finished_) return;
  if (!started_) {
    start(true);
    return;
  }
  finished_ = true;
  if (!aborted_) sink_->send_data({}, true);
}

void Response::finish(const Headers& trailers) {
  if (trailers.empty()) return finish();
  if (finished_) return;
  start(false);
  finished_ = true;
  if (!aborted_) sink_->send_trailers(trailers);
}

}  // namespace trident::http
