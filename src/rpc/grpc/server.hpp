// gRPC over HTTP/2 (the gRPC "PROTOCOL-HTTP2" spec) on trident's HTTP layer:
// a request with content-type application/grpc[+proto] becomes a call to a
// method of the ServiceRegistry. Length-prefixed messages, per-message
// compression (grpc-encoding / grpc-accept-encoding), grpc-timeout
// deadlines, metadata (-bin values base64), trailers with grpc-status,
// percent-encoded grpc-message and grpc-status-details-bin, trailers-only
// responses for calls that fail before their first message.
#pragma once

#include <cstddef>

#include "http/handler.hpp"
#include "rpc/service.hpp"

namespace trident::rpc::grpc {

struct ServerOptions {
  std::size_t max_receive_message_size = 4u << 20;  // larger → RESOURCE_EXHAUSTED
  std::size_t max_send_message_size = 4u << 20;     // larger → RESOURCE_EXHAUSTED
};

class Server {
 public:
  Server(const ServiceRegistry& registry, ServerOptions options = {})
      : registry_(registry), options_(options) {}

  // True if the request is addressed to gRPC (its content-type starts with
  // "application/grpc"; gRPC-Web's "application/grpc-web" is not).
  static bool is_grpc(const http::Request& req);
  Task<void> serve(http::Request& req, http::Response& res) const;

  // A handler that serves gRPC requests and passes everything else to `other`.
  http::Handler dispatch(http::Handler other) const;

 private:
  const ServiceRegistry& registry_;
  ServerOptions options_;
};

}  // namespace trident::rpc::grpc
