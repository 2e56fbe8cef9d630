#include "rpc/context.hpp"

#include "rpc/error.hpp"
#include "rpc/grpc/metadata.hpp"

namespace trident::rpc {

void Context::check_metadata(std::string_view key, std::string_view value) {
  if (!grpc::is_valid_key(key)) {
    throw Error(StatusCode::internal, "invalid metadata key \"" + std::string(key) + "\"");
  }
  if (grpc::is_reserved_key(key)) {
    throw Error(StatusCode::internal, "metadata key \"" + std::string(key) + "\" is reserved");
  }
  if (!grpc::is_binary_key(key) && !grpc::is_valid_ascii_value(value)) {
    throw Error(StatusCode::internal,
                "metadata \"" + std::string(key) + "\" has a value that is not printable ASCII");
  }
}

}  // namespace trident::rpc
