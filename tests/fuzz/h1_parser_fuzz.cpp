// libFuzzer target for the HTTP/1.1 request parser.
//
// Input layout: byte 0 and byte 1 pick two split points, byte 2 picks the
// limits, the rest is the byte stream. The stream is parsed whole and split in
// three pieces (and byte by byte when short), following the re-presentation
// contract; all runs must produce the same events and final state, and every
// view handed to the listener must point into the buffer being fed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/h1/parser.hpp"

namespace {

using trident::http::h1::Error;
using trident::http::h1::HeaderField;
using trident::http::h1::Limits;
using trident::http::h1::Parser;
using trident::http::h1::ParserListener;
using trident::http::h1::RequestHead;

void check(bool ok) {
  if (!ok) std::abort();
}

class Checker : public ParserListener {
 public:
  explicit Checker(const Limits& limits) : limits_(limits) {}

  void set_buffer(std::string_view b) { buf_ = b; }

  void on_head(const RequestHead& h) override {
    check(!in_message_);
    in_message_ = true;
    body_ = 0;
    chunked_ = h.chunked;
    content_length_ = h.content_length;
    check(!h.method.empty() && !h.target.empty());
    check(h.version_minor == 0 || h.version_minor == 1);
    check(!(h.chunked && h.has_content_length));
    check(!h.chunked || h.version_minor == 1);
    check(h.content_length <= limits_.max_body);
    check(h.has_content_length || h.content_length == 0);
    check(h.headers.size() <= limits_.max_headers);
    check(!h.upgrade || h.version_minor == 1);
    inside(h.method);
    inside(h.target);
    inside(h.host);
    inside(h.upgrade_protocol);
    log_ += "H";
    log_ += h.method;
    log_ += ' ';
    log_ += h.target;
    log_ += static_cast<char>('0' + h.version_minor);
    log_ += h.host;
    log_ += h.keep_alive ? 'k' : 'c';
    log_ += h.chunked ? 'T' : 'L';
    log_ += std::to_string(h.content_length);
    log_ += h.expect_continue ? 'e' : '-';
    log_ += h.upgrade ? 'u' : '-';
    log_ += h.upgrade_protocol;
    for (const auto& f : h.headers) field(f);
    log_ += '\n';
    last_body_ = false;
  }

  void on_body(std::string_view d) override {
    check(in_message_);
    check(!d.empty());
    inside(d);
    body_ += d.size();
    check(body_ <= limits_.max_body);
    check(chunked_ || body_ <= content_length_);
    if (!last_body_) log_ += "B";
    log_ += d;  // merged across calls: the split must not show
    last_body_ = true;
  }

  void on_trailers(const std::vector<HeaderField>& t) override {
    check(in_message_ && chunked_);
    check(!t.empty() && t.size() <= limits_.max_headers);
    log_ += "\nT";
    for (const auto& f : t) field(f);
    log_ += '\n';
    last_body_ = false;
  }

  void on_message_complete() override {
    check(in_message_);
    check(chunked_ || body_ == content_length_);
    in_message_ = false;
    log_ += "\nC\n";
    last_body_ = false;
  }

  const std::string& log() const { return log_; }

 private:
  void inside(std::string_view v) {
    if (v.empty()) return;
    check(v.data() >= buf_.data() && v.data() + v.size() <= buf_.data() + buf_.size());
  }
  void field(const HeaderField& f) {
    check(!f.name.empty());
    inside(f.name);
    inside(f.value);
    for (char c : f.value) check(c != '\r' && c != '\n' && c != '\0');
    if (!f.value.empty()) {
      check(f.value.front() != ' ' && f.value.front() != '\t');
      check(f.value.back() != ' ' && f.value.back() != '\t');
    }
    log_ += '[';
    log_ += f.name;
    log_ += ':';
    log_ += f.value;
    log_ += ']';
  }

  Limits limits_;
  std::string_view buf_;
  std::string log_;
  bool in_message_ = false;
  bool last_body_ = false;
  bool chunked_ = false;
  std::uint64_t body_ = 0;
  std::uint64_t content_length_ = 0;
};

struct Result {
  std::string log;
  Error error = Error::none;
  std::string_view reason;
  std::size_t consumed = 0;  // in total; on error, up to the offending message
  bool idle = false;
  bool in_body = false;
};

Result run(const std::vector<std::string_view>& pieces, const Limits& limits) {
  Checker c(limits);
  Parser p(c, limits);
  std::string buf;
  std::size_t consumed = 0;
  for (std::string_view piece : pieces) {
    buf.append(piece);
    for (;;) {
      // A fresh copy each time: the parser must not keep pointers across calls.
      const std::string data = buf;
      c.set_buffer(data);
      const std::size_t n = p.feed(data);
      check(n <= data.size());
      buf.erase(0, n);
      consumed += n;
      if (p.error() != Error::none) {
        check(!p.error_reason().empty());
        check(!p.idle() && !p.in_body());
        c.set_buffer(data);
        check(p.feed(data) == 0);  // stays failed
        break;
      }
      check(p.error_reason().empty());
      if (n == 0) break;
    }
    if (p.error() != Error::none) break;
  }
  return {c.log(), p.error(), p.error_reason(), consumed, p.idle(), p.in_body()};
}

bool same(const Result& a, const Result& b) {
  return a.log == b.log && a.error == b.error && a.reason == b.reason && a.consumed == b.consumed &&
         a.idle == b.idle && a.in_body == b.in_body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::size_t s1 = data[0] % (in.size() + 1);
  std::size_t s2 = data[1] % (in.size() + 1);
  if (s1 > s2) std::swap(s1, s2);

  Limits limits;
  switch (data[2] % 4) {
    case 0:
      break;  // defaults
    case 1:
      limits.max_request_line = 32;
      limits.max_head_bytes = 128;
      limits.max_headers = 4;
      limits.max_body = 64;
      break;
    case 2:
      limits.max_request_line = 1;
      limits.max_head_bytes = 16;
      limits.max_headers = 0;
      limits.max_body = 0;
      break;
    case 3:
      limits.max_body = ~0ull;
      break;
  }

  const Result whole = run({in}, limits);
  const Result split = run({in.substr(0, s1), in.substr(s1, s2 - s1), in.substr(s2)}, limits);
  check(same(whole, split));
  if (in.size() <= 256) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
    check(same(whole, run(bytes, limits)));
  }
  return 0;
}
