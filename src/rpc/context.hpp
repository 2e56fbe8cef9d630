// Per-call state a handler sees, whatever the wire: the method, the peer
// (address, TLS identity), the deadline, the client's metadata, metadata to
// send back, and whether the call was cancelled.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/peer.hpp"

namespace trident::rpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

class Context {
 public:
  using Clock = std::chrono::steady_clock;

  // "/package.Service/Method"
  std::string_view method() const { return method_; }
  const net::PeerInfo& peer() const {
    static const net::PeerInfo nobody;
    return peer_ ? *peer_ : nobody;
  }
  std::optional<Clock::time_point> deadline() const { return deadline_; }

  // What the client sent, keys lower-case, `-bin` values already decoded;
  // protocol headers (content-type, te, grpc-timeout, ...) are not included.
  const Metadata& client_metadata() const { return client_metadata_; }
  // The first value of `key`, if any.
  std::optional<std::string_view> client_metadata(std::string_view key) const {
    for (const auto& [k, v] : client_metadata_) {
      if (k == key) return std::string_view(v);
    }
    return std::nullopt;
  }

  // Sent with the response headers (before the first message) and with the
  // final status. `-bin` values are raw bytes; other values printable ASCII.
  // A key that is not lower-case [a-z0-9-_.], or that the protocol reserves
  // (grpc-*, content-type, te, ...), or a bad value throws rpc::Error
  // INTERNAL: the call fails visibly instead of losing the field.
  void add_initial_metadata(std::string key, std::string value) {
    check_metadata(key, value);
    initial_metadata_.emplace_back(std::move(key), std::move(value));
  }
  void add_trailing_metadata(std::string key, std::string value) {
    check_metadata(key, value);
    trailing_metadata_.emplace_back(std::move(key), std::move(value));
  }
  static void check_metadata(std::string_view key, std::string_view value);

  // The client cancelled, the deadline passed or the connection went away.
  // Pending reads and writes then throw; a handler doing other slow work
  // should check this.
  bool cancelled() const { return cancelled_ || (cancel_probe_ && cancel_probe_()); }

  // Ask for compressed responses (when the client accepts an encoding).
  void set_compress_responses(bool on) { compress_responses_ = on; }
  // Whether the request message read last arrived compressed on the wire.
  bool request_compressed() const { return request_compressed_; }

  // ---- set by the wire adapter ----
  void set_method(std::string_view m) { method_.assign(m); }
  void set_peer(const net::PeerInfo* p) { peer_ = p; }
  void set_deadline(Clock::time_point d) { deadline_ = d; }
  Metadata& mutable_client_metadata() { return client_metadata_; }
  Metadata& initial_metadata() { return initial_metadata_; }
  Metadata& trailing_metadata() { return trailing_metadata_; }
  void cancel() { cancelled_ = true; }
  // Asked by cancelled(): lets the wire report a reset stream at once.
  void set_cancel_probe(std::function<bool()> probe) { cancel_probe_ = std::move(probe); }
  bool compress_responses() const { return compress_responses_; }
  void set_request_compressed(bool c) { request_compressed_ = c; }

 private:
  std::string method_;
  const net::PeerInfo* peer_ = nullptr;
  std::optional<Clock::time_point> deadline_;
  Metadata client_metadata_;
  Metadata initial_metadata_;
  Metadata trailing_metadata_;
  std::function<bool()> cancel_probe_;
  bool cancelled_ = false;
  bool compress_responses_ = false;
  bool request_compressed_ = false;
};

}  // namespace trident::rpc
