// Message streams between a handler and a wire. The wire implements the
// byte-level MessageReader / MessageWriter (framing, decompression,
// back-pressure); handlers and generated code use the typed Reader<T> and
// Writer<T>, which (de)serialize protobuf messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "rpc/error.hpp"

namespace trident::rpc {

class MessageReader {
 public:
  virtual ~MessageReader() = default;
  // The next serialized message, or nullopt once the client half-closed.
  // Throws rpc::Error (malformed input, limits) or when the call is cancelled.
  virtual Task<std::optional<std::string>> read() = 0;
};

class MessageWriter {
 public:
  virtual ~MessageWriter() = default;
  // Queues one serialized message; suspends while the peer's flow-control
  // window and our buffer are full. Throws when the call is cancelled.
  virtual Task<void> write(std::string message) = 0;
};

template <typename T>
class Reader {
 public:
  explicit Reader(MessageReader& r) : r_(r) {}
  // The next message, or nullopt at the end of the client's stream.
  Task<std::optional<T>> read() {
    auto bytes = co_await r_.read();
    if (!bytes) co_return std::nullopt;
    T message;
    if (!message.ParseFromString(*bytes)) {
      throw Error(StatusCode::internal, "could not parse the request message");
    }
    co_return message;
  }

 private:
  MessageReader& r_;
};

template <typename T>
class Writer {
 public:
  explicit Writer(MessageWriter& w) : w_(w) {}
  Task<void> write(const T& message) { return w_.write(message.SerializeAsString()); }

 private:
  MessageWriter& w_;
};

}  // namespace trident::rpc
