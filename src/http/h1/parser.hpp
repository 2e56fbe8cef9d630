// Strict, incremental HTTP/1.1 request parser (RFC 9112): bytes in, events out.
//
// No I/O, no allocation on the hot path: the head is parsed in one pass once
// its terminating CRLFCRLF is buffered (the scan for it resumes where it left
// off, so a head trickling in byte by byte costs O(n)), and every string the
// parser hands out is a view into the caller's buffer, valid only during the
// callback. Bodies (Content-Length or chunked) are streamed through on_body.
//
// Anything ambiguous that could let two parsers disagree on where a message
// ends (request smuggling) is an error, never a guess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace trident::http::h1 {

struct Limits {
  std::size_t max_request_line = 8 * 1024;  // longer → 414
  std::size_t max_head_bytes = 64 * 1024;   // request line + headers; longer → 431
  std::size_t max_headers = 100;            // more → 431
  std::uint64_t max_body = 64ull << 20;     // declared or streamed; larger → 413
};

// The status the server must answer with (then close the connection).
enum class Error : std::uint16_t {
  none = 0,
  bad_request = 400,  // malformed syntax, smuggling patterns, bad chunk size, no Host
  payload_too_large = 413,
  uri_too_long = 414,
  header_fields_too_large = 431,
  not_implemented = 501,  // a Transfer-Encoding other than chunked
  version_not_supported = 505,
};

struct HeaderField {
  std::string_view name;   // as received (case preserved); compare case-insensitively
  std::string_view value;  // leading/trailing OWS trimmed
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // request-target as sent (origin-form, absolute-form, '*', ...)
  int version_minor = 1;    // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  std::vector<HeaderField> headers;

  // Derived while parsing, so no caller needs to re-scan the headers.
  std::string_view host;   // the Host header value ("" if absent: only legal in 1.0)
  bool keep_alive = true;  // after Connection tokens and version defaults
  bool chunked = false;    // Transfer-Encoding: chunked
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  bool expect_continue = false;       // Expect: 100-continue
  bool upgrade = false;               // Connection: upgrade with an Upgrade header
  std::string_view upgrade_protocol;  // Upgrade header value (e.g. "h2c", "websocket")
};

class ParserListener {
 public:
  virtual ~ParserListener() = default;
  // A complete, validated head. Views are valid during the call only.
  virtual void on_head(const RequestHead& head) = 0;
  // A piece of the body (de-chunked). Views are valid during the call only.
  virtual void on_body(std::string_view data) = 0;
  // Trailer fields of a chunked body (called only if any are present).
  virtual void on_trailers(const std::vector<HeaderField>& trailers) { (void)trailers; }
  // The message (head and body) is complete.
  virtual void on_message_complete() = 0;
};

class Parser {
 public:
  explicit Parser(ParserListener& listener, Limits limits = {});

  // Consumes a prefix of `data` and returns its length. Stops right after a
  // complete message (so the caller decides whether to parse the next one),
  // on error, or when more bytes are needed. Bytes not consumed must be
  // presented again, followed by new ones, on the next call (the parser never
  // keeps a pointer into `data` between calls). An incomplete head is never
  // consumed; body bytes are consumed as they arrive.
  std::size_t feed(std::string_view data);

  Error error() const { return error_; }
  // A short human-readable reason for the error, for logs and error bodies.
  std::string_view error_reason() const { return reason_; }
  // True between messages (nothing of a next message consumed yet).
  bool idle() const { return state_ == State::head && scanned_ == 0; }
  // True when the parser has read a head and is inside that message's body.
  bool in_body() const { return state_ != State::head && state_ != State::failed; }
  void reset();  // back to idle, clears the error
  // Frees the capacity kept for the next head (call only between messages).
  void release_memory() {
    std::vector<HeaderField>().swap(head_.headers);
    std::vector<HeaderField>().swap(trailers_);
  }

 private:
  enum class State : std::uint8_t {
    head,
    body_length,
    chunk_size,
    chunk_size_bws,  // whitespace after the size: only ";" (an extension) may follow
    chunk_ext,
    chunk_size_lf,
    chunk_data,
    chunk_data_cr,
    chunk_data_lf,
    trailers,
    failed,
  };

  std::size_t fail(Error e, std::string_view reason);
  std::size_t parse_head(std::string_view data, std::size_t head_len);
  std::size_t feed_chunked(std::string_view data);
  bool parse_trailers(std::string_view block);
  void complete();       // end of message: back to State::head, then on_message_complete
  void reset_message();  // per-message state back to "expecting a head"

  ParserListener& listener_;
  Limits limits_;
  State state_ = State::head;
  Error error_ = Error::none;
  std::string_view reason_;
  std::size_t scanned_ = 0;         // head bytes already scanned for CRLFCRLF
  std::size_t method_checked_ = 0;  // request-line prefix verified as token bytes
  bool method_done_ = false;        // the method's terminating SP was seen
  std::uint64_t remaining_ = 0;     // body or chunk bytes left
  std::uint64_t body_seen_ = 0;     // body bytes delivered so far (for max_body)
  std::size_t chunk_size_digits_ = 0;
  std::size_t trailer_scanned_ = 0;
  std::size_t line_start_ = 0;  // start of the head line being scanned (relative, like scanned_)
  std::size_t trailer_line_start_ = 0;  // same for the trailer section
  std::size_t ext_len_ = 0;             // chunk-extension bytes seen in this message
  RequestHead head_;                    // reused between messages to keep its vector's capacity
  std::vector<HeaderField> trailers_;
};

}  // namespace trident::http::h1
