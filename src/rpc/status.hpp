// Protocol-neutral RPC status: the canonical gRPC status codes, and the one
// place where they are mapped to and from every wire's representation (HTTP
// status codes, gRPC code names, Connect error code strings).
//
// Pure functions over constant tables: no I/O, no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trident::rpc {

// The canonical codes; values are fixed by the gRPC wire ("grpc-status").
enum class StatusCode : std::uint8_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};

inline constexpr int kStatusCodeCount = 17;

struct Status {
  StatusCode code = StatusCode::ok;
  std::string message;  // human-readable, UTF-8 (not yet percent-encoded)
  std::string details;  // serialized google.rpc.Status bytes; opaque at this layer

  bool ok() const { return code == StatusCode::ok; }
};

// The code for a numeric value (e.g. a parsed "grpc-status"); nullopt outside 0..16.
// (A gRPC client maps an out-of-range value to UNKNOWN.)
std::optional<StatusCode> code_from_number(std::int64_t value);

// "OK", "CANCELLED", ..., "UNAUTHENTICATED" (the names of the gRPC spec).
// A value outside the enum yields "UNKNOWN".
std::string_view code_name(StatusCode code);
// Inverse of code_name; exact (case-sensitive) match, nullopt otherwise.
std::optional<StatusCode> code_from_name(std::string_view name);

// The HTTP status that represents `code` (google/rpc/code.proto, also the
// Connect protocol's mapping): OK → 200, CANCELLED → 499, ... Values outside
// the enum map like UNKNOWN (500).
int http_status_from_code(StatusCode code);

// The code a client synthesizes for an HTTP response from a non-gRPC server
// that carries no grpc-status (gRPC's http-grpc-status-mapping; Connect uses
// the same table). Not the inverse of http_status_from_code: 200 → UNKNOWN,
// because a real OK carries a grpc-status.
StatusCode code_from_http_status(int http_status);

// Connect error code strings: "canceled", "unknown", ..., "unauthenticated".
// OK is not an error and has no Connect code: it yields "".
std::string_view connect_code_name(StatusCode code);
// Inverse of connect_code_name; exact match; nullopt for "" and unknown strings.
std::optional<StatusCode> code_from_connect_name(std::string_view name);

}  // namespace trident::rpc
