// Fixed answers for exact (method, path) pairs, given before any handler
// runs: what nginx's `return` and Envoy's `direct_response` route action do.
// A resource that always says the same thing (a liveness probe, robots.txt,
// the benchmark's /plaintext) then costs no handler, coroutine, request or
// response object on HTTP/1.1: the session writes the prepared head right
// after the parser. Every other protocol gets the same answers through
// wrap(), so what a client sees does not depend on the wire.
//
// Matching: the request's path (the target up to '?') must equal the
// registered path byte for byte; a GET entry also answers HEAD (same head, no
// body). A path in the table belongs to it alone: a method it does not list
// gets 405 with Allow, and no handler runs for that path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/handler.hpp"
#include "http/headers.hpp"

namespace trident::http {

struct DirectResponse {
  int status = 200;
  std::string content_type;  // "" for none
  std::string body;
  Headers headers;  // extra fields; not content-length, content-type or hop-by-hop ones
};

class DirectResponses {
 public:
  struct Entry {
    std::string method;
    std::string path;
    DirectResponse response;
    // The HTTP/1.1 head fields after server and date, each ending in CRLF:
    // the extra headers, content-type, content-length.
    std::string h1_fields;
    bool has_server = false;  // the extra headers replace the default ones
    bool has_date = false;
  };

  // Throws std::invalid_argument for a malformed method, path, status or
  // field, a body on 204/304, or a (method, path) pair already present.
  void add(std::string_view method, std::string_view path, DirectResponse response);

  bool empty() const { return entries_.empty(); }
  // The entry that answers `method` on `path`, or nullptr.
  const Entry* find(std::string_view method, std::string_view path) const;
  // The methods listed for `path`, comma-separated ("" when the path is not in
  // the table); the Allow value of a 405. GET brings HEAD with it.
  std::string allowed(std::string_view path) const;

  // A handler that gives the table's answers and passes every other request
  // to `next`. The table must outlive it.
  Handler wrap(Handler next) const;

  // Adds an entry written as one line, the form `trident serve --respond`
  // takes: "METHOD PATH STATUS[ BODY]", e.g. "GET /robots.txt 200 User-agent: *".
  // A body is text/plain; charset=utf-8, with \n and \\ unescaped. Throws
  // std::invalid_argument, naming what is wrong, for anything else.
  void add_spec(std::string_view spec);

 private:
  std::vector<Entry> entries_;  // a handful: a linear scan beats hashing here
};

}  // namespace trident::http
