// How a handler fails an RPC: throw rpc::Error{code, message}. Every wire
// (gRPC, later Connect, REST, WebSocket) turns it into its own status form.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "rpc/status.hpp"

namespace trident::rpc {

class Error : public std::exception {
 public:
  explicit Error(Status status) : status_(std::move(status)) {}
  Error(StatusCode code, std::string message) : status_{code, std::move(message), {}} {}
  const Status& status() const { return status_; }
  const char* what() const noexcept override { return status_.message.c_str(); }

 private:
  Status status_;
};

}  // namespace trident::rpc
