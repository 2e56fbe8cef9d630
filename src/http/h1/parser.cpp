// Strict HTTP/1.1 request parser (RFC 9112). See parser.hpp for the contract.
#include "http/h1/parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace trident::http::h1 {
namespace {

// Character classes, one bit each, in a 256-entry table.
constexpr std::uint8_t kTchar = 1;       // token characters (RFC 9110 §5.6.2)
constexpr std::uint8_t kTarget = 2;      // request-target bytes: 0x21..0xff except 0x7f
constexpr std::uint8_t kFieldValue = 4;  // VCHAR, obs-text, SP, HTAB
constexpr std::uint8_t kHost = 8;        // uri-host [":" port], including IP-literals

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit) bits |= kTchar | kHost;
    for (char s : std::string_view("!#$%&'*+-.^_`|~")) {
      if (c == static_cast<unsigned char>(s)) bits |= kTchar;
    }
    for (char s : std::string_view("-._~!$&'()*+,;=:%[]")) {
      if (c == static_cast<unsigned char>(s)) bits |= kHost;
    }
    if (c >= 0x21 && c != 0x7f) bits |= kTarget;
    if ((c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t') bits |= kFieldValue;
    t[static_cast<std::size_t>(c)] = bits;
  }
  return t;
}

constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

inline bool has_class(char c, std::uint8_t cls) {
  return (kClasses[static_cast<unsigned char>(c)] & cls) != 0;
}
inline bool is_tchar(char c) {
  return has_class(c, kTchar);
}
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// `lower` must be lowercase already.
bool iequals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (ascii_lower(s[i]) != lower[i]) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && is_ows(s[b])) ++b;
  while (e > b && is_ows(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Calls fn(element) for each comma-separated element of a list value, trimmed
// of OWS (possibly empty). Stops early and returns false if fn returns false.
template <typename Fn>
bool for_each_element(std::string_view value, Fn&& fn) {
  for (;;) {
    const std::size_t comma = value.find(',');
    if (!fn(trim_ows(value.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

enum class Scan { need_more, found, bare_lf, line_too_long, too_large };

// Looks for the empty line ending a head or trailer section in d[0, max_block).
// `scanned` and `line_start` carry the progress between calls (offsets into d,
// which is re-presented from the same start). Every LF must follow a CR. When
// first_line_max is non-zero, a first line longer than that (CRLF excluded) is
// reported as soon as it is known, even before its end arrives.
Scan scan_block(std::string_view d, std::size_t& scanned, std::size_t& line_start,
                std::size_t max_block, std::size_t first_line_max, std::size_t& block_len) {
  const std::size_t limit = std::min(d.size(), max_block);
  const char* base = d.data();
  std::size_t p = scanned;
  while (p < limit) {
    const void* hit = std::memchr(base + p, '\n', limit - p);
    if (hit == nullptr) break;
    const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    const bool cr = lf > 0 && base[lf - 1] == '\r';
    if (first_line_max != 0 && line_start == 0 && (cr ? lf - 1 : lf) > first_line_max) {
      return Scan::line_too_long;
    }
    if (!cr) return Scan::bare_lf;
    if (lf - 1 == line_start) {
      block_len = lf + 1;
      scanned = 0;
      line_start = 0;
      return Scan::found;
    }
    line_start = lf + 1;
    p = lf + 1;
  }
  scanned = limit;
  if (first_line_max != 0 && line_start == 0) {
    const std::size_t known = limit - ((limit > 0 && base[limit - 1] == '\r') ? 1 : 0);
    if (known > first_line_max) return Scan::line_too_long;
  }
  if (d.size() > max_block) return Scan::too_large;
  return Scan::need_more;
}

struct LineError {
  Error error = Error::none;
  std::string_view reason;
};

// Parses one field line (CRLF excluded) into `out`.
LineError parse_field_line(std::string_view line, HeaderField& out) {
  if (!line.empty() && is_ows(line[0])) {
    return {Error::bad_request, "obsolete line folding"};
  }
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == line.size() || line[i] != ':') {
    if (i > 0 && i < line.size() && is_ows(line[i])) {
      return {Error::bad_request, "whitespace before colon"};
    }
    return {Error::bad_request, "invalid header name"};
  }
  if (i == 0) return {Error::bad_request, "invalid header name"};
  const std::string_view value = line.substr(i + 1);
  for (char c : value) {
    if (!has_class(c, kFieldValue)) return {Error::bad_request, "invalid header value"};
  }
  out.name = line.substr(0, i);
  out.value = trim_ows(value);
  return {};
}

// 1*DIGIT, or a list of identical such values. Rejects empty elements, signs,
// inner spaces and values that do not fit in 64 bits.
bool parse_content_length(std::string_view value, std::uint64_t& out) {
  bool have = false;
  std::uint64_t first = 0;
  const bool ok = for_each_element(value, [&](std::string_view e) {
    if (e.empty()) return false;
    std::uint64_t n = 0;
    for (char c : e) {
      if (!is_digit(c)) return false;
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
      n = n * 10 + d;
    }
    if (have && n != first) return false;
    have = true;
    first = n;
    return true;
  });
  out = first;
  return ok;
}

bool valid_host(std::string_view host) {
  for (char c : host) {
    if (!has_class(c, kHost)) return false;
  }
  return true;
}

constexpr std::size_t kMaxChunkSizeDigits = 16;  // 16 hex digits fill 64 bits
constexpr std::size_t kMaxChunkExtBytes = 4096;  // all extensions of one message

}  // namespace

Parser::Parser(ParserListener& listener, Limits limits) : listener_(listener), limits_(limits) {}

std::size_t Parser::fail(Error e, std::string_view reason) {
  state_ = State::failed;
  error_ = e;
  reason_ = reason;
  return 0;
}

void Parser::reset() {
  error_ = Error::none;
  reason_ = {};
  reset_message();
}

void Parser::complete() {
  reset_message();
  listener_.on_message_complete();
}

void Parser::reset_message() {
  state_ = State::head;
  scanned_ = 0;
  line_start_ = 0;
  method_checked_ = 0;
  method_done_ = false;
  remaining_ = 0;
  body_seen_ = 0;
  chunk_size_digits_ = 0;
  trailer_scanned_ = 0;
  trailer_line_start_ = 0;
  ext_len_ = 0;
}

std::size_t Parser::feed(std::string_view data) {
  std::size_t pos = 0;
  switch (state_) {
    case State::failed:
      return 0;
    case State::head: {
      if (scanned_ == 0) {
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        while (pos < data.size() && data[pos] == '\r') {
          if (pos + 1 == data.size()) return pos;
          if (data[pos + 1] != '\n') {
            fail(Error::bad_request, "bare CR");
            return pos;
          }
          pos += 2;
        }
      }
      const std::string_view rest = data.substr(pos);
      if (rest.empty()) return pos;
      // Fail fast on bytes that cannot begin a request line (binary junk, a
      // mangled HTTP/2 preface) instead of waiting for a CRLF that may never
      // come: everything before the first SP must be a token. The window is
      // bounded by both limits so the verdict never depends on how the bytes
      // were split, and resumes where it stopped so trickled input is O(n).
      if (!method_done_) {
        const std::size_t window =
            std::min({rest.size(), std::max<std::size_t>(limits_.max_request_line, 1),
                      limits_.max_head_bytes});
        for (; method_checked_ < window; ++method_checked_) {
          const char c = rest[method_checked_];
          if (c == ' ') {
            method_done_ = true;
            break;
          }
          if (!is_tchar(c)) {
            fail(Error::bad_request, "invalid method");
            return pos;  // the empty lines skipped before it stay consumed
          }
        }
      }
      std::size_t head_len = 0;
      switch (scan_block(rest, scanned_, line_start_, limits_.max_head_bytes,
                         std::max<std::size_t>(limits_.max_request_line, 1), head_len)) {
        case Scan::need_more:
          return pos;
        case Scan::bare_lf:
          fail(Error::bad_request, "bare LF line ending");
          return pos;
        case Scan::line_too_long:
          fail(Error::uri_too_long, "request line too long");
          return pos;
        case Scan::too_large:
          fail(Error::header_fields_too_large, "request head too large");
          return pos;
        case Scan::found:
          break;
      }
      if (parse_head(rest, head_len) == 0) return pos;
      pos += head_len;
      listener_.on_head(head_);
      if (state_ != State::head) return pos;  // the listener reset or broke us
      if (head_.chunked) {
        state_ = State::chunk_size;
        remaining_ = 0;
        chunk_size_digits_ = 0;
        break;
      }
      if (head_.content_length == 0) {
        complete();
        return pos;
      }
      state_ = State::body_length;
      remaining_ = head_.content_length;
      break;
    }
    default:
      break;
  }

  if (state_ == State::body_length) {
    const std::size_t avail = data.size() - pos;
    const std::size_t n = remaining_ < avail ? static_cast<std::size_t>(remaining_) : avail;
    if (n > 0) {
      remaining_ -= n;
      body_seen_ += n;
      listener_.on_body(data.substr(pos, n));
      pos += n;
    }
    if (remaining_ == 0 && state_ == State::body_length) complete();
    return pos;
  }
  if (state_ == State::failed || state_ == State::head) return pos;
  return pos + feed_chunked(data.substr(pos));
}

std::size_t Parser::parse_head(std::string_view data, std::size_t head_len) {
  const std::string_view head = data.substr(0, head_len);
  head_.headers.clear();
  head_.host = {};
  head_.chunked = false;
  head_.has_content_length = false;
  head_.content_length = 0;
  head_.expect_continue = false;
  head_.upgrade = false;
  head_.upgrade_protocol = {};

  // Request line. The scan guaranteed every line ends in CRLF.
  std::size_t eol = head.find('\n');
  const std::string_view line = head.substr(0, eol - 1);
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == 0 || i == line.size() || line[i] != ' ') {
    return fail(Error::bad_request, "invalid method");
  }
  head_.method = line.substr(0, i);
  const std::size_t target_start = ++i;
  while (i < line.size() && has_class(line[i], kTarget)) ++i;
  if (i == target_start || i == line.size() || line[i] != ' ') {
    return fail(Error::bad_request, "invalid request target");
  }
  head_.target = line.substr(target_start, i - target_start);
  const std::string_view version = line.substr(i + 1);
  if (version == "HTTP/1.1") {
    head_.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    head_.version_minor = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) &&
             version[6] == '.' && is_digit(version[7])) {
    return fail(Error::version_not_supported, "HTTP version not supported");
  } else {
    return fail(Error::bad_request, "invalid HTTP version");
  }

  // Header fields, up to the empty line.
  bool have_host = false;
  bool te_seen = false;
  bool te_chunked_seen = false;  // "chunked" appeared in the list
  bool te_chunked_last = false;  // the last coding so far is "chunked"
  bool te_other = false;         // some other coding appeared
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool conn_upgrade = false;
  bool have_upgrade = false;
  std::size_t start = eol + 1;
  for (;;) {
    eol = head.find('\n', start);
    const std::string_view field_line = head.substr(start, eol - 1 - start);
    start = eol + 1;
    if (field_line.empty()) break;
    if (head_.headers.size() >= limits_.max_headers) {
      return fail(Error::header_fields_too_large, "too many header fields");
    }
    HeaderField f;
    const LineError le = parse_field_line(field_line, f);
    if (le.error != Error::none) return fail(le.error, le.reason);
    head_.headers.push_back(f);

    const std::string_view v = f.value;
    switch (f.name.size()) {
      case 4:
        if (iequals(f.name, "host")) {
          if (have_host) return fail(Error::bad_request, "multiple Host headers");
          if (!valid_host(v)) return fail(Error::bad_request, "invalid Host header");
          have_host = true;
          head_.host = v;
        }
        break;
      case 6:
        if (iequals(f.name, "expect") && iequals(v, "100-continue")) {
          head_.expect_continue = true;
        }
        break;
      case 7:
        if (iequals(f.name, "upgrade") && !have_upgrade) {
          have_upgrade = true;
          head_.upgrade_protocol = v;
        }
        break;
      case 10:
        if (iequals(f.name, "connection")) {
          for_each_element(v, [&](std::string_view t) {
            if (iequals(t, "close")) {
              conn_close = true;
            } else if (iequals(t, "keep-alive")) {
              conn_keep_alive = true;
            } else if (iequals(t, "upgrade")) {
              conn_upgrade = true;
            }
            return true;
          });
        }
        break;
      case 14:
        if (iequals(f.name, "content-length")) {
          std::uint64_t n = 0;
          if (!parse_content_length(v, n))
            return fail(Error::bad_request, "invalid Content-Length");
          if (head_.has_content_length && n != head_.content_length) {
            return fail(Error::bad_request, "conflicting Content-Length values");
          }
          head_.has_content_length = true;
          head_.content_length = n;
        }
        break;
      case 17:
        if (iequals(f.name, "transfer-encoding")) {
          te_seen = true;
          const bool ok = for_each_element(v, [&](std::string_view e) {
            std::size_t k = 0;
            while (k < e.size() && is_tchar(e[k])) ++k;
            if (k == 0) return false;
            std::string_view params = trim_ows(e.substr(k));
            if (!params.empty() && params[0] != ';') return false;
            if (iequals(e.substr(0, k), "chunked")) {
              // Applied twice, or with parameters it does not have: malformed.
              if (te_chunked_seen || !params.empty()) return false;
              te_chunked_seen = true;
              te_chunked_last = true;
            } else {
              te_other = true;
              te_chunked_last = false;
            }
            return true;
          });
          if (!ok) return fail(Error::bad_request, "invalid Transfer-Encoding");
        }
        break;
      default:
        break;
    }
  }

  const bool http11 = head_.version_minor == 1;
  if (http11 && !have_host) return fail(Error::bad_request, "missing Host header");
  if (te_seen) {
    if (head_.has_content_length) {
      return fail(Error::bad_request, "both Content-Length and Transfer-Encoding");
    }
    if (!http11) return fail(Error::bad_request, "Transfer-Encoding in HTTP/1.0");
    // RFC 9112 §6.3: in a request, chunked must be the final coding.
    if (!te_chunked_last) return fail(Error::bad_request, "chunked is not the final coding");
    if (te_other) return fail(Error::not_implemented, "unsupported transfer coding");
    head_.chunked = true;
  }
  if (head_.content_length > limits_.max_body) {
    return fail(Error::payload_too_large, "Content-Length exceeds limit");
  }
  head_.keep_alive = !conn_close && (http11 || conn_keep_alive);
  head_.expect_continue = head_.expect_continue && http11;
  head_.upgrade = http11 && conn_upgrade && have_upgrade;
  if (!head_.upgrade) head_.upgrade_protocol = {};
  return head_len;
}

std::size_t Parser::feed_chunked(std::string_view data) {
  std::size_t pos = 0;
  const std::size_t n = data.size();
  while (pos < n) {
    const char c = data[pos];
    switch (state_) {
      case State::chunk_size: {
        const int h = hex_value(c);
        if (h >= 0) {
          if (chunk_size_digits_ == kMaxChunkSizeDigits) {
            fail(Error::bad_request, "invalid chunk size");
            return pos;
          }
          ++chunk_size_digits_;
          remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(h);
          ++pos;
          continue;
        }
        if (chunk_size_digits_ == 0) {
          fail(Error::bad_request, "invalid chunk size");
          return pos;
        }
        // Judged once the size is complete, so an overlong size is a 400
        // (malformed) rather than a 413; no byte of the chunk is read yet.
        if (remaining_ > limits_.max_body - body_seen_) {
          fail(Error::payload_too_large, "chunked body exceeds limit");
          return pos;
        }
        if (c == '\r') {
          state_ = State::chunk_size_lf;
        } else if (c == ';') {
          state_ = State::chunk_ext;
        } else if (is_ows(c)) {
          state_ = State::chunk_size_bws;
        } else {
          fail(Error::bad_request, "invalid chunk size");
          return pos;
        }
        ++pos;
        continue;
      }
      case State::chunk_size_bws:
      case State::chunk_ext: {
        if (c == '\r' && state_ == State::chunk_ext) {
          state_ = State::chunk_size_lf;
          ++pos;
          continue;
        }
        if (++ext_len_ > kMaxChunkExtBytes) {
          fail(Error::bad_request, "chunk extensions too long");
          return pos;
        }
        if (state_ == State::chunk_size_bws) {
          if (c == ';') {
            state_ = State::chunk_ext;
          } else if (!is_ows(c)) {
            fail(Error::bad_request, "invalid chunk size");
            return pos;
          }
        } else if (!has_class(c, kFieldValue)) {
          fail(Error::bad_request, "invalid chunk extension");
          return pos;
        }
        ++pos;
        continue;
      }
      case State::chunk_size_lf:
        if (c != '\n') {
          fail(Error::bad_request, "chunk size line not ended by CRLF");
          return pos;
        }
        ++pos;
        if (remaining_ == 0) {
          state_ = State::trailers;
          trailer_scanned_ = 0;
          trailer_line_start_ = 0;
        } else {
          state_ = State::chunk_data;
        }
        continue;
      case State::chunk_data: {
        const std::size_t avail = n - pos;
        const std::size_t take = remaining_ < avail ? static_cast<std::size_t>(remaining_) : avail;
        remaining_ -= take;
        body_seen_ += take;
        if (remaining_ == 0) state_ = State::chunk_data_cr;
        listener_.on_body(data.substr(pos, take));
        pos += take;
        if (state_ != State::chunk_data && state_ != State::chunk_data_cr) return pos;
        continue;
      }
      case State::chunk_data_cr:
        if (c != '\r') {
          fail(Error::bad_request, "chunk data not followed by CRLF");
          return pos;
        }
        state_ = State::chunk_data_lf;
        ++pos;
        continue;
      case State::chunk_data_lf:
        if (c != '\n') {
          fail(Error::bad_request, "chunk data not followed by CRLF");
          return pos;
        }
        state_ = State::chunk_size;
        chunk_size_digits_ = 0;
        ++pos;
        continue;
      case State::trailers: {
        const std::string_view rest = data.substr(pos);
        std::size_t block_len = 0;
        switch (scan_block(rest, trailer_scanned_, trailer_line_start_, limits_.max_head_bytes, 0,
                           block_len)) {
          case Scan::need_more:
            return pos;
          case Scan::bare_lf:
            fail(Error::bad_request, "bare LF line ending");
            return pos;
          case Scan::line_too_long:  // not requested for trailers
          case Scan::too_large:
            fail(Error::header_fields_too_large, "trailer section too large");
            return pos;
          case Scan::found:
            break;
        }
        if (!parse_trailers(rest.substr(0, block_len))) return pos;
        pos += block_len;
        if (!trailers_.empty()) listener_.on_trailers(trailers_);
        if (state_ == State::trailers) complete();
        return pos;
      }
      default:
        return pos;
    }
  }
  return pos;
}

bool Parser::parse_trailers(std::string_view block) {
  trailers_.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t eol = block.find('\n', start);
    const std::string_view line = block.substr(start, eol - 1 - start);
    start = eol + 1;
    if (line.empty()) return true;
    if (trailers_.size() >= limits_.max_headers) {
      fail(Error::header_fields_too_large, "too many trailer fields");
      return false;
    }
    HeaderField f;
    const LineError le = parse_field_line(line, f);
    if (le.error != Error::none) {
      fail(le.error, le.reason);
      return false;
    }
    trailers_.push_back(f);
  }
}

}  // namespace trident::http::h1
