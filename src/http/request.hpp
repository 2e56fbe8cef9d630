// A protocol-neutral HTTP request: the same object whether it arrived over
// HTTP/1.1 or as an HTTP/2 stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/body.hpp"
#include "http/headers.hpp"
#include "net/peer.hpp"

namespace trident::http {

using PeerInfo = net::PeerInfo;

enum class Version : std::uint8_t { http10, http11, http2 };

class Request {
 public:
  std::string method;
  std::string target;  // as received: path plus optional "?query"
  std::string authority;
  std::string scheme;    // "http" or "https"
  std::string protocol;  // HTTP/2 extended CONNECT's :protocol (RFC 8441), else ""
  Version version = Version::http11;
  Headers headers;

  std::string_view path() const;   // target up to '?'
  std::string_view query() const;  // after '?', "" if none
  // First value of query parameter `name`, percent-decoded ("" if absent).
  std::string query_param(std::string_view name) const;
  // A path parameter captured by the router ("{id}" in the route pattern).
  std::string_view param(std::string_view name) const;

  Body& body() { return body_; }
  const PeerInfo& peer() const { return *peer_; }

  // ---- set by the protocol and the router ----
  void reset();  // ready for the next request on the same connection
  void set_peer(const PeerInfo* peer) { peer_ = peer; }
  std::vector<std::pair<std::string_view, std::string>> params;

 private:
  Body body_;
  const PeerInfo* peer_ = nullptr;
};

// Decodes %XX escapes (and '+' as space when `plus_is_space`); invalid
// escapes are kept as they are.
std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace trident::http
