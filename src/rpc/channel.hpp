// The client side of an RPC, protocol-neutral: a Channel starts calls, a
// ClientCall carries one call's messages and its final status. The gRPC
// client (rpc/grpc/) implements them; generated client stubs use the typed
// helpers below.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "rpc/context.hpp"
#include "rpc/error.hpp"

namespace trident::rpc {

struct CallOptions {
  std::optional<std::chrono::nanoseconds> timeout;  // → deadline (grpc-timeout)
  Metadata metadata;                                // sent with the request headers
  bool compress = false;                            // compress request messages
};

class ClientCall {
 public:
  virtual ~ClientCall() = default;
  virtual Task<void> write(std::string message) = 0;
  virtual Task<void> writes_done() = 0;  // half-close
  // The next response message, or nullopt at the end of the server's stream.
  virtual Task<std::optional<std::string>> read() = 0;
  // Waits for the final status (after reading every message).
  virtual Task<Status> finish() = 0;
  virtual void cancel() = 0;
  // Valid once the response headers / trailers arrived.
  virtual const Metadata& initial_metadata() const = 0;
  virtual const Metadata& trailing_metadata() const = 0;
};

class Channel {
 public:
  virtual ~Channel() = default;
  // `path` is "/package.Service/Method".
  virtual std::unique_ptr<ClientCall> start(std::string_view path, const CallOptions& options) = 0;
};

// A typed call with streams in one or both directions.
template <typename Request, typename Response>
class ClientStream {
 public:
  explicit ClientStream(std::unique_ptr<ClientCall> call) : call_(std::move(call)) {}
  Task<void> write(const Request& m) { return call_->write(m.SerializeAsString()); }
  Task<void> writes_done() { return call_->writes_done(); }
  Task<std::optional<Response>> read() {
    auto bytes = co_await call_->read();
    if (!bytes) co_return std::nullopt;
    Response m;
    if (!m.ParseFromString(*bytes)) {
      throw Error(StatusCode::internal, "could not parse the response message");
    }
    co_return m;
  }
  Task<Status> finish() { return call_->finish(); }
  void cancel() { call_->cancel(); }
  ClientCall& call() { return *call_; }

 private:
  std::unique_ptr<ClientCall> call_;
};

// One request, one response; a non-OK status is thrown as rpc::Error.
template <typename Request, typename Response>
Task<Response> unary_call(Channel& channel, std::string path, Request request,
                          CallOptions options) {
  ClientStream<Request, Response> s(channel.start(path, options));
  co_await s.write(request);
  co_await s.writes_done();
  std::optional<Response> response = co_await s.read();
  Status status = co_await s.finish();
  if (!status.ok()) throw Error(std::move(status));
  if (!response) throw Error(StatusCode::internal, "no response message");
  co_return std::move(*response);
}

}  // namespace trident::rpc
