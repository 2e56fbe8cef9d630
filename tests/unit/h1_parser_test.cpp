// Unit tests for the strict HTTP/1.1 request parser (src/http/h1/parser.*).
#include "http/h1/parser.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace trident::http::h1 {
namespace {

// Records every event as a string; consecutive body pieces are merged so that
// the log does not depend on how the input was split.
class Recorder : public ParserListener {
 public:
  void on_head(const RequestHead& h) override {
    std::string s = "head ";
    s += h.method;
    s += ' ';
    s += h.target;
    s += " 1." + std::to_string(h.version_minor);
    s += " host=" + std::string(h.host);
    s += h.keep_alive ? " ka" : " close";
    if (h.chunked) s += " chunked";
    if (h.has_content_length) s += " cl=" + std::to_string(h.content_length);
    if (h.expect_continue) s += " expect";
    if (h.upgrade) s += " upgrade=" + std::string(h.upgrade_protocol);
    for (const auto& f : h.headers) {
      s += " [";
      s += f.name;
      s += ':';
      s += f.value;
      s += ']';
    }
    events.push_back(s);
    heads.push_back(h);
    // Deep-copy the views: they die with the callback.
    for (auto& f : heads.back().headers) {
      f.name = keep(f.name);
      f.value = keep(f.value);
    }
    heads.back().method = keep(h.method);
    heads.back().target = keep(h.target);
    heads.back().host = keep(h.host);
    heads.back().upgrade_protocol = keep(h.upgrade_protocol);
  }
  void on_body(std::string_view data) override {
    EXPECT_FALSE(data.empty());
    if (!events.empty() && events.back().rfind("body ", 0) == 0) {
      events.back() += data;
    } else {
      events.push_back("body " + std::string(data));
    }
    ++body_calls;
  }
  void on_trailers(const std::vector<HeaderField>& trailers) override {
    std::string s = "trailers";
    for (const auto& f : trailers) {
      s += " [";
      s += f.name;
      s += ':';
      s += f.value;
      s += ']';
    }
    events.push_back(s);
  }
  void on_message_complete() override { events.push_back("complete"); }

  std::vector<std::string> events;
  std::vector<RequestHead> heads;
  int body_calls = 0;

 private:
  std::string_view keep(std::string_view v) { return storage_.emplace_back(v); }
  std::deque<std::string> storage_;  // stable addresses for the copied views
};

struct Outcome {
  std::vector<std::string> events;
  Error error = Error::none;
  std::string reason;
  std::size_t leftover = 0;  // bytes never consumed (meaningful without an error)
  std::size_t consumed = 0;  // in total
  bool idle = false;
  bool in_body = false;
};

// Feeds `pieces` following the re-presentation contract: unconsumed bytes are
// kept and the next piece is appended; after each complete message the parser
// is fed again with what is left.
Outcome run(const std::vector<std::string>& pieces, Limits limits = {}) {
  Recorder rec;
  Parser p(rec, limits);
  std::string buf;
  std::size_t consumed = 0;
  for (const auto& piece : pieces) {
    buf += piece;
    for (;;) {
      const std::size_t n = p.feed(buf);
      EXPECT_LE(n, buf.size());
      buf.erase(0, n);
      consumed += n;
      if (p.error() != Error::none || n == 0) break;
    }
    if (p.error() != Error::none) break;
  }
  Outcome o;
  o.events = rec.events;
  o.error = p.error();
  o.reason = std::string(p.error_reason());
  o.leftover = buf.size();
  o.consumed = consumed;
  o.idle = p.idle();
  o.in_body = p.in_body();
  return o;
}

Outcome run_whole(const std::string& s, Limits limits = {}) {
  return run({s}, limits);
}

// Checks that every split of `s` into two pieces, and into single bytes,
// produces exactly the same events and final state as feeding it whole.
void expect_split_invariant(const std::string& s, Limits limits = {}) {
  const Outcome whole = run_whole(s, limits);
  for (std::size_t i = 0; i <= s.size(); ++i) {
    const Outcome o = run({s.substr(0, i), s.substr(i)}, limits);
    ASSERT_EQ(o.events, whole.events) << "split at " << i;
    ASSERT_EQ(o.error, whole.error) << "split at " << i;
    ASSERT_EQ(o.consumed, whole.consumed) << "split at " << i;
    ASSERT_EQ(o.idle, whole.idle) << "split at " << i;
  }
  std::vector<std::string> bytes;
  for (char c : s) bytes.emplace_back(1, c);
  const Outcome o = run(bytes, limits);
  ASSERT_EQ(o.events, whole.events) << "byte by byte";
  ASSERT_EQ(o.error, whole.error) << "byte by byte";
  ASSERT_EQ(o.consumed, whole.consumed) << "byte by byte";
  // Three pieces, for short inputs.
  if (s.size() <= 160) {
    for (std::size_t i = 0; i <= s.size(); ++i) {
      for (std::size_t j = i; j <= s.size(); ++j) {
        const Outcome t = run({s.substr(0, i), s.substr(i, j - i), s.substr(j)}, limits);
        ASSERT_EQ(t.events, whole.events) << "split at " << i << "," << j;
        ASSERT_EQ(t.error, whole.error) << "split at " << i << "," << j;
      }
    }
  }
}

// The error for `s`, asserting that byte-by-byte feeding agrees.
Error error_of(const std::string& s, Limits limits = {}) {
  const Outcome whole = run_whole(s, limits);
  std::vector<std::string> bytes;
  for (char c : s) bytes.emplace_back(1, c);
  const Outcome o = run(bytes, limits);
  EXPECT_EQ(o.error, whole.error) << "byte-by-byte disagrees for: " << s;
  EXPECT_EQ(o.events, whole.events) << "byte-by-byte disagrees for: " << s;
  EXPECT_EQ(o.consumed, whole.consumed) << "byte-by-byte disagrees for: " << s;
  EXPECT_EQ(o.reason, whole.reason) << "byte-by-byte disagrees for: " << s;
  return whole.error;
}

using Events = std::vector<std::string>;
using namespace std::string_literals;

// ---------------------------------------------------------------- valid input

TEST(H1Parser, SimpleGet) {
  const std::string s = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.error, Error::none);
  EXPECT_EQ(o.events, (Events{"head GET /index.html?q=1 1.1 host=example.com ka [Host:example.com] "
                              "[Accept:*/*]",
                              "complete"}));
  EXPECT_EQ(o.leftover, 0u);
  EXPECT_TRUE(o.idle);
  expect_split_invariant(s);
}

TEST(H1Parser, HeadFieldsAndDerivedValues) {
  Recorder rec;
  Parser p(rec);
  const std::string s =
      "OPTIONS * HTTP/1.1\r\nhOsT:   h:8080  \r\nX-Empty:\r\nX-Tab:\tv\t1\t\r\n"
      "X-Obs: caf\xc3\xa9\r\n\r\n";
  EXPECT_EQ(p.feed(s), s.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  const RequestHead& h = rec.heads[0];
  EXPECT_EQ(h.method, "OPTIONS");
  EXPECT_EQ(h.target, "*");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.host, "h:8080");
  ASSERT_EQ(h.headers.size(), 4u);
  EXPECT_EQ(h.headers[0].name, "hOsT");
  EXPECT_EQ(h.headers[1].name, "X-Empty");
  EXPECT_EQ(h.headers[1].value, "");
  EXPECT_EQ(h.headers[2].value, "v\t1");
  EXPECT_EQ(h.headers[3].value, "caf\xc3\xa9");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.chunked);
  EXPECT_FALSE(h.has_content_length);
  EXPECT_TRUE(p.idle());
}

TEST(H1Parser, PostWithContentLength) {
  const std::string s = "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.events, (Events{"head POST /submit 1.1 host=a ka cl=11 [Host:a] [Content-Length:11]",
                              "body hello world", "complete"}));
  expect_split_invariant(s);
}

TEST(H1Parser, BodyStreamsAsItArrives) {
  Recorder rec;
  Parser p(rec);
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";
  EXPECT_EQ(p.feed(head + "abc"), head.size() + 3);
  EXPECT_TRUE(p.in_body());
  EXPECT_FALSE(p.idle());
  EXPECT_EQ(p.feed("defg"), 4u);
  EXPECT_EQ(p.feed("hijEXTRA"), 3u);  // stops after the message
  EXPECT_TRUE(p.idle());
  EXPECT_EQ(rec.body_calls, 3);
  EXPECT_EQ(rec.events.back(), "complete");
}

TEST(H1Parser, IncompleteHeadIsNotConsumed) {
  Recorder rec;
  Parser p(rec);
  const std::string s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_TRUE(p.idle());
  EXPECT_EQ(p.feed(s.substr(0, 10)), 0u);
  EXPECT_FALSE(p.idle());
  EXPECT_FALSE(p.in_body());
  EXPECT_EQ(p.feed(s.substr(0, 20)), 0u);
  EXPECT_EQ(p.feed(s), s.size());
  EXPECT_TRUE(p.idle());
  EXPECT_EQ(rec.events.size(), 2u);
}

TEST(H1Parser, ChunkedWithExtensionsAndTrailers) {
  const std::string s =
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value;q=\"quoted str\"\r\nhello\r\n"
      "1A ; x\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "000\r\nX-Checksum: abc\r\nX-Other:  v  \r\n\r\n";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.error, Error::none) << o.reason;
  EXPECT_EQ(o.events,
            (Events{"head POST /up 1.1 host=a ka chunked [Host:a] [Transfer-Encoding:chunked]",
                    "body helloabcdefghijklmnopqrstuvwxyz", "trailers [X-Checksum:abc] [X-Other:v]",
                    "complete"}));
  EXPECT_EQ(o.leftover, 0u);
  expect_split_invariant(s);
}

TEST(H1Parser, ChunkedWithoutTrailers) {
  const std::string s =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n"
      "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.events, (Events{"head POST / 1.1 host=a ka chunked [Host:a] "
                              "[Transfer-Encoding:ChUnKeD]",
                              "body abc0123456789", "complete"}));
  expect_split_invariant(s);
}

TEST(H1Parser, PipelinedRequests) {
  const std::string s =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const Outcome o = run_whole(s);
  EXPECT_EQ(
      o.events,
      (Events{"head GET /1 1.1 host=a ka [Host:a]", "complete",
              "head POST /2 1.1 host=a ka cl=3 [Host:a] [Content-Length:3]", "body xyz", "complete",
              "head POST /3 1.1 host=a ka chunked [Host:a] [Transfer-Encoding:chunked]", "body hi",
              "complete", "head GET /4 1.1 host=a close [Host:a] [Connection:close]", "complete"}));
  expect_split_invariant(s);
}

TEST(H1Parser, FeedStopsAfterEachMessage) {
  Recorder rec;
  Parser p(rec);
  const std::string a = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string b = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string s = a + b;
  EXPECT_EQ(p.feed(s), a.size());
  EXPECT_TRUE(p.idle());
  EXPECT_EQ(p.feed(std::string_view(s).substr(a.size())), b.size());
  EXPECT_EQ(rec.events.size(), 4u);
}

TEST(H1Parser, LeadingEmptyLinesAreSkipped) {
  const std::string s =
      "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.error, Error::none);
  EXPECT_EQ(o.events, (Events{"head GET / 1.1 host=a ka [Host:a]", "complete",
                              "head GET /2 1.1 host=a ka [Host:a]", "complete"}));
  expect_split_invariant(s);
}

TEST(H1Parser, Http10KeepAlive) {
  const std::string s =
      "GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
      "GET /b HTTP/1.0\r\n\r\n"
      "POST /c HTTP/1.0\r\nHost: h\r\nContent-Length: 2\r\nConnection: keep-alive, close\r\n\r\nok";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.error, Error::none);
  EXPECT_EQ(o.events, (Events{"head GET /a 1.0 host= ka [Connection:Keep-Alive]", "complete",
                              "head GET /b 1.0 host= close", "complete",
                              "head POST /c 1.0 host=h close cl=2 [Host:h] [Content-Length:2] "
                              "[Connection:keep-alive, close]",
                              "body ok", "complete"}));
  expect_split_invariant(s);
}

TEST(H1Parser, ConnectionTokens) {
  const Outcome o = run_whole(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n"
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: ,,x\r\n\r\n");
  EXPECT_EQ(o.error, Error::none);
  ASSERT_EQ(o.events.size(), 4u);
  EXPECT_NE(o.events[0].find(" close "), std::string::npos);
  EXPECT_NE(o.events[2].find(" ka "), std::string::npos);
}

TEST(H1Parser, ExpectContinue) {
  const std::string s =
      "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\ndata";
  const Outcome o = run_whole(s);
  EXPECT_EQ(o.events, (Events{"head PUT /f 1.1 host=a ka cl=4 expect [Host:a] "
                              "[Expect:100-Continue] [Content-Length:4]",
                              "body data", "complete"}));
  expect_split_invariant(s);

  // The head is delivered before the body arrives, so the server can answer 100.
  Recorder rec;
  Parser p(rec);
  const std::string head = s.substr(0, s.size() - 4);
  EXPECT_EQ(p.feed(head), head.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_TRUE(rec.heads[0].expect_continue);
  EXPECT_TRUE(p.in_body());

  // Meaningless in HTTP/1.0.
  const Outcome o10 = run_whole("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(o10.events.size(), 2u);
  EXPECT_EQ(o10.events[0].find("expect"), std::string::npos);
}

TEST(H1Parser, UpgradeH2c) {
  const std::string s =
      "GET / HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
  const Outcome o = run_whole(s + "PRI * HTTP/2.0");
  EXPECT_EQ(o.error, Error::none);
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_NE(o.events[0].find(" upgrade=h2c "), std::string::npos);
  EXPECT_EQ(o.leftover, 14u);  // the parser never looks past the message
  expect_split_invariant(s);

  // Upgrade without the Connection token, or in HTTP/1.0, is not an upgrade.
  const Outcome no1 = run_whole("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n");
  EXPECT_EQ(no1.events[0].find("upgrade="), std::string::npos);
  const Outcome no2 =
      run_whole("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_EQ(no2.events[0].find("upgrade="), std::string::npos);
  const Outcome no3 = run_whole("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n");
  EXPECT_EQ(no3.events[0].find("upgrade="), std::string::npos);
}

TEST(H1Parser, IdenticalContentLengthDuplicatesAccepted) {
  const Outcome o = run_whole(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 003\r\n\r\nabc"
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nde");
  EXPECT_EQ(o.error, Error::none);
  ASSERT_EQ(o.events.size(), 6u);
  EXPECT_EQ(o.events[1], "body abc");
  EXPECT_EQ(o.events[4], "body de");
}

TEST(H1Parser, ZeroContentLengthCompletesImmediately) {
  const Outcome o = run_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(o.error, Error::none);
  EXPECT_EQ(o.events.size(), 2u);
  EXPECT_TRUE(o.idle);
}

TEST(H1Parser, TransferEncodingListAcrossLines) {
  const std::string s =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(error_of(s), Error::not_implemented);
}

TEST(H1Parser, ResetClearsError) {
  Recorder rec;
  Parser p(rec);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\nHost: a\n\n"), 0u);
  EXPECT_EQ(p.error(), Error::bad_request);
  EXPECT_FALSE(p.error_reason().empty());
  EXPECT_FALSE(p.idle());
  EXPECT_FALSE(p.in_body());
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0u);  // stays failed
  p.reset();
  EXPECT_EQ(p.error(), Error::none);
  EXPECT_TRUE(p.idle());
  const std::string s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(p.feed(s), s.size());
  EXPECT_EQ(rec.events.size(), 2u);
}

TEST(H1Parser, HeaderVectorCapacityIsReused) {
  Recorder rec;
  Parser p(rec);
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  std::string all;
  for (int i = 0; i < 50; ++i) all += s;
  std::size_t off = 0;
  while (off < all.size()) {
    const std::size_t n = p.feed(std::string_view(all).substr(off));
    ASSERT_GT(n, 0u);
    off += n;
  }
  EXPECT_EQ(rec.events.size(), 100u);
}

// ------------------------------------------------------------- request line

TEST(H1ParserErrors, RequestLine) {
  EXPECT_EQ(error_of("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s), Error::bad_request);
  EXPECT_EQ(error_of("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET /\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / http/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/11\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), Error::bad_request);
}

TEST(H1ParserErrors, VersionNotSupported) {
  EXPECT_EQ(error_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), Error::version_not_supported);
  EXPECT_EQ(error_of("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), Error::version_not_supported);
  EXPECT_EQ(error_of("GET / HTTP/0.9\r\n\r\n"), Error::version_not_supported);
  EXPECT_EQ(error_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Error::version_not_supported);
}

TEST(H1ParserErrors, BareLineFeeds) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\n\n"), Error::bad_request);
  // Detected as soon as it is seen, without waiting for the end of the head.
  Recorder rec;
  Parser p(rec);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nX: y\nHo"), 0u);
  EXPECT_EQ(p.error(), Error::bad_request);
  EXPECT_EQ(p.error_reason(), "bare LF line ending");
}

TEST(H1ParserErrors, RequestLineTooLongDetectedEarly) {
  Limits lim;
  lim.max_request_line = 32;
  const std::string target(26, 'a');  // "GET /" + 26 + " HTTP/1.1" = 40 > 32
  EXPECT_EQ(error_of("GET /" + target + " HTTP/1.1\r\nHost: a\r\n\r\n", lim), Error::uri_too_long);

  // With only part of the line buffered, and no CRLF yet.
  Recorder rec;
  Parser p(rec, lim);
  const std::string partial = "GET /" + std::string(27, 'b');  // 32 bytes: not yet too long
  EXPECT_EQ(p.feed(partial), 0u);
  EXPECT_EQ(p.error(), Error::none);
  EXPECT_EQ(p.feed(partial + "\r"), 0u);  // could still be exactly 32 + CRLF
  EXPECT_EQ(p.error(), Error::none);
  EXPECT_EQ(p.feed(partial + "c"), 0u);  // 33 bytes without a line end
  EXPECT_EQ(p.error(), Error::uri_too_long);
  EXPECT_EQ(p.error_reason(), "request line too long");

  // Exactly at the limit is fine.
  const std::string exact = "GET /" + std::string(18, 'x') + " HTTP/1.1";  // 32
  ASSERT_EQ(exact.size(), 32u);
  EXPECT_EQ(error_of(exact + "\r\nHost: a\r\n\r\n", lim), Error::none);

  // With the default limit, a huge target is rejected long before the head limit.
  Recorder rec2;
  Parser p2(rec2);
  const std::string big = "GET /" + std::string(9000, 'z');
  EXPECT_EQ(p2.feed(big), 0u);
  EXPECT_EQ(p2.error(), Error::uri_too_long);
}

// ----------------------------------------------------------------- headers

TEST(H1ParserErrors, HeaderSyntax) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  folded\r\n\r\n"),
            Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tfolded\r\n\r\n"),
            Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n folded: x\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\n: novalue\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
                     "b\r\n\r\n"),
            Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"), Error::bad_request);
}

TEST(H1ParserErrors, Host) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), Error::bad_request);
  EXPECT_EQ(error_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), Error::bad_request);
  // Legal: no Host in 1.0, an empty Host, an IPv6 literal with a port.
  EXPECT_EQ(error_of("GET / HTTP/1.0\r\n\r\n"), Error::none);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost:\r\n\r\n"), Error::none);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), Error::none);
}

TEST(H1ParserErrors, ContentLength) {
  auto cl = [](const std::string& v) {
    return error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + v + "\r\n\r\n");
  };
  EXPECT_EQ(cl("+5"), Error::bad_request);
  EXPECT_EQ(cl("-5"), Error::bad_request);
  EXPECT_EQ(cl("5 5"), Error::bad_request);
  EXPECT_EQ(cl("0x5"), Error::bad_request);
  EXPECT_EQ(cl(""), Error::bad_request);
  EXPECT_EQ(cl("5,6"), Error::bad_request);
  EXPECT_EQ(cl("5,"), Error::bad_request);
  EXPECT_EQ(cl(",5"), Error::bad_request);
  EXPECT_EQ(cl("1.5"), Error::bad_request);
  EXPECT_EQ(cl("18446744073709551616"), Error::bad_request);  // 2^64
  EXPECT_EQ(cl("99999999999999999999999"), Error::bad_request);
  EXPECT_EQ(cl("18446744073709551615"), Error::payload_too_large);  // fits, but too large
  EXPECT_EQ(
      error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
      Error::bad_request);
}

TEST(H1ParserErrors, TransferEncoding) {
  auto te = [](const std::string& v) {
    return error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + v + "\r\n\r\n0\r\n\r\n");
  };
  EXPECT_EQ(te("chunked"), Error::none);
  EXPECT_EQ(te("gzip"), Error::bad_request);  // chunked not final: length unknown
  EXPECT_EQ(te("chunked, gzip"), Error::bad_request);
  EXPECT_EQ(te("chunked, chunked"), Error::bad_request);
  EXPECT_EQ(te("gzip, chunked"), Error::not_implemented);
  EXPECT_EQ(te("x-unknown, chunked"), Error::not_implemented);
  EXPECT_EQ(te("identity"), Error::bad_request);
  EXPECT_EQ(te(""), Error::bad_request);
  EXPECT_EQ(te("chunked,"), Error::bad_request);
  EXPECT_EQ(te(", chunked"), Error::bad_request);
  EXPECT_EQ(te("chunked;x=1"), Error::bad_request);
  EXPECT_EQ(te("\"chunked\""), Error::bad_request);
  EXPECT_EQ(te("chunked x"), Error::bad_request);
  // Multiple lines form one list.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"),
            Error::bad_request);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Transfer-Encoding: gzip\r\n\r\n"),
            Error::bad_request);
}

TEST(H1ParserErrors, ContentLengthAndTransferEncoding) {
  Recorder rec;
  Parser p(rec);
  p.feed(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  EXPECT_EQ(p.error(), Error::bad_request);
  EXPECT_EQ(p.error_reason(), "both Content-Length and Transfer-Encoding");
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Length: 0\r\n\r\n"),
            Error::bad_request);
}

TEST(H1ParserErrors, TransferEncodingInHttp10) {
  EXPECT_EQ(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Error::bad_request);
}

TEST(H1ParserErrors, HeadTooLarge) {
  Limits lim;
  lim.max_head_bytes = 64;
  const std::string ok = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(32, 'v') + "\r\n\r\n";
  ASSERT_EQ(ok.size(), 64u);
  EXPECT_EQ(error_of(ok, lim), Error::none);
  const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(33, 'v') + "\r\n\r\n";
  EXPECT_EQ(error_of(big, lim), Error::header_fields_too_large);

  // Detected as soon as more than the limit is buffered without the terminator.
  Recorder rec;
  Parser p(rec, lim);
  std::string partial = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(36, 'v');  // 64
  EXPECT_EQ(p.feed(partial), 0u);
  EXPECT_EQ(p.error(), Error::none);
  partial += 'v';
  EXPECT_EQ(p.feed(partial), 0u);
  EXPECT_EQ(p.error(), Error::header_fields_too_large);

  // The default limit: one endless header line.
  Recorder rec2;
  Parser p2(rec2);
  const std::string endless = "GET / HTTP/1.1\r\nX: " + std::string(70000, 'a');
  EXPECT_EQ(p2.feed(endless), 0u);
  EXPECT_EQ(p2.error(), Error::header_fields_too_large);
}

TEST(H1ParserErrors, TooManyHeaders) {
  Limits lim;
  lim.max_headers = 3;
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", lim), Error::none);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", lim),
            Error::header_fields_too_large);
}

TEST(H1ParserErrors, BodyTooLargeByContentLength) {
  Limits lim;
  lim.max_body = 10;
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", lim),
            Error::none);
  // Rejected from the head alone, before any body byte arrives.
  Recorder rec;
  Parser p(rec, lim);
  EXPECT_EQ(p.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"), 0u);
  EXPECT_EQ(p.error(), Error::payload_too_large);
  EXPECT_TRUE(rec.events.empty());
}

// ----------------------------------------------------------------- chunked

std::string chunked(const std::string& body) {
  return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
}

TEST(H1ParserErrors, ChunkSize) {
  EXPECT_EQ(error_of(chunked("\r\nabc\r\n0\r\n\r\n")), Error::bad_request);    // empty
  EXPECT_EQ(error_of(chunked(" 3\r\nabc\r\n0\r\n\r\n")), Error::bad_request);  // leading SP
  EXPECT_EQ(error_of(chunked("+3\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("0x3\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3g\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3 \r\nabc\r\n0\r\n\r\n")), Error::bad_request);  // BWS needs ";"
  EXPECT_EQ(error_of(chunked("3 x\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked(";x\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3\nabc\r\n0\r\n\r\n")), Error::bad_request);  // bare LF
  EXPECT_EQ(error_of(chunked("3\rabc\r\n0\r\n\r\n")), Error::bad_request);  // bare CR
  EXPECT_EQ(error_of(chunked("3;x\nabc\r\n0\r\n\r\n")), Error::bad_request);
  // More than 16 hex digits, even if the value is small.
  EXPECT_EQ(error_of(chunked("00000000000000003\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("0000000000000003\r\nabc\r\n0\r\n\r\n")), Error::none);
  Limits huge;
  huge.max_body = ~0ull;
  EXPECT_EQ(error_of(chunked("10000000000000000\r\n"), huge), Error::bad_request);  // 2^64
  EXPECT_EQ(error_of(chunked("FFFFFFFFFFFFFFFF\r\n"), huge), Error::none);          // needs more
  Recorder rec;
  Parser p(rec);
  p.feed(chunked("zz\r\n"));
  EXPECT_EQ(p.error_reason(), "invalid chunk size");
}

TEST(H1ParserErrors, ChunkExtensions) {
  EXPECT_EQ(error_of(chunked("3 ; a=b\r\nabc\r\n0;last\r\n\r\n")), Error::none);
  EXPECT_EQ(error_of(chunked("3;a\x01\r\nabc\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3;a" + std::string(4090, 'e') + "\r\nabc\r\n0\r\n\r\n")),
            Error::none);
  EXPECT_EQ(error_of(chunked("3;a" + std::string(4096, 'e') + "\r\nabc\r\n0\r\n\r\n")),
            Error::bad_request);
  // The bound is per message, over all chunks.
  std::string many;
  for (int i = 0; i < 10; ++i) many += "1;" + std::string(500, 'e') + "\r\nx\r\n";
  EXPECT_EQ(error_of(chunked(many + "0\r\n\r\n")), Error::bad_request);
}

TEST(H1ParserErrors, ChunkDataTerminator) {
  EXPECT_EQ(error_of(chunked("3\r\nabcd\r\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3\r\nabc\n0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3\r\nabc\rX0\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("3\r\nab\r\n0\r\n\r\n")), Error::bad_request);
}

TEST(H1ParserErrors, ChunkedBodyTooLarge) {
  Limits lim;
  lim.max_body = 10;
  EXPECT_EQ(error_of(chunked("5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"), lim), Error::none);
  EXPECT_EQ(error_of(chunked("5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n"), lim),
            Error::payload_too_large);
  EXPECT_EQ(error_of(chunked("B\r\n"), lim), Error::payload_too_large);
  // A huge size is rejected as soon as its size line ends, before any data.
  Recorder rec;
  Parser p(rec, lim);
  p.feed(chunked("FFFF"));
  EXPECT_EQ(p.error(), Error::none);  // more digits may follow
  Recorder rec2;
  Parser p2(rec2, lim);
  p2.feed(chunked("FFFF\r\n"));
  EXPECT_EQ(p2.error(), Error::payload_too_large);
  EXPECT_EQ(rec2.events.size(), 1u);  // just the head
  // More than 16 hex digits is malformed, whatever the limit: 400, not 413.
  EXPECT_EQ(error_of(chunked("100000000000000000000\r\n"), lim), Error::bad_request);
}

TEST(H1ParserErrors, Trailers) {
  // Bad trailer syntax.
  EXPECT_EQ(error_of(chunked("0\r\nX : y\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("0\r\nX: y\r\n z\r\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("0\r\nX: y\n\r\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("0\r\n\n")), Error::bad_request);
  EXPECT_EQ(error_of(chunked("0\r\nX: a\rb\r\n\r\n")), Error::bad_request);
  // Limits.
  Limits lim;
  lim.max_headers = 2;
  EXPECT_EQ(error_of(chunked("0\r\nA: 1\r\nB: 2\r\n\r\n"), lim), Error::none);
  EXPECT_EQ(error_of(chunked("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), lim),
            Error::header_fields_too_large);
  Limits small;
  small.max_head_bytes = 80;
  EXPECT_EQ(error_of(chunked("0\r\nA: " + std::string(100, 'x')), small),
            Error::header_fields_too_large);
  // Empty trailer section: no on_trailers call.
  const Outcome o = run_whole(chunked("0\r\n\r\n"));
  EXPECT_EQ(o.events.size(), 2u);
}

}  // namespace
}  // namespace trident::http::h1
