#include "rpc/status.hpp"

#include <array>

namespace trident::rpc {
namespace {

struct CodeInfo {
  StatusCode code;
  std::string_view name;     // gRPC spec name
  std::string_view connect;  // Connect error code ("" for OK)
  int http;                  // HTTP status (google/rpc/code.proto)
};

// THE mapping table: every wire's view of a code is one row here, indexed by
// the code's numeric value.
constexpr std::array<CodeInfo, kStatusCodeCount> kCodes = {{
    {StatusCode::ok, "OK", "", 200},
    {StatusCode::cancelled, "CANCELLED", "canceled", 499},
    {StatusCode::unknown, "UNKNOWN", "unknown", 500},
    {StatusCode::invalid_argument, "INVALID_ARGUMENT", "invalid_argument", 400},
    {StatusCode::deadline_exceeded, "DEADLINE_EXCEEDED", "deadline_exceeded", 504},
    {StatusCode::not_found, "NOT_FOUND", "not_found", 404},
    {StatusCode::already_exists, "ALREADY_EXISTS", "already_exists", 409},
    {StatusCode::permission_denied, "PERMISSION_DENIED", "permission_denied", 403},
    {StatusCode::resource_exhausted, "RESOURCE_EXHAUSTED", "resource_exhausted", 429},
    {StatusCode::failed_precondition, "FAILED_PRECONDITION", "failed_precondition", 400},
    {StatusCode::aborted, "ABORTED", "aborted", 409},
    {StatusCode::out_of_range, "OUT_OF_RANGE", "out_of_range", 400},
    {StatusCode::unimplemented, "UNIMPLEMENTED", "unimplemented", 501},
    {StatusCode::internal, "INTERNAL", "internal", 500},
    {StatusCode::unavailable, "UNAVAILABLE", "unavailable", 503},
    {StatusCode::data_loss, "DATA_LOSS", "data_loss", 500},
    {StatusCode::unauthenticated, "UNAUTHENTICATED", "unauthenticated", 401},
}};

constexpr bool table_is_indexed_by_code() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed_by_code());

const CodeInfo& info(StatusCode code) {
  const auto i = static_cast<std::size_t>(code);
  return i < kCodes.size() ? kCodes[i] : kCodes[static_cast<std::size_t>(StatusCode::unknown)];
}

}  // namespace

std::optional<StatusCode> code_from_number(std::int64_t value) {
  if (value < 0 || value >= kStatusCodeCount) return std::nullopt;
  return static_cast<StatusCode>(value);
}

std::string_view code_name(StatusCode code) {
  return info(code).name;
}

std::optional<StatusCode> code_from_name(std::string_view name) {
  for (const auto& c : kCodes) {
    if (c.name == name) return c.code;
  }
  return std::nullopt;
}

int http_status_from_code(StatusCode code) {
  return info(code).http;
}

StatusCode code_from_http_status(int http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::internal;
    case 401:
      return StatusCode::unauthenticated;
    case 403:
      return StatusCode::permission_denied;
    case 404:
      return StatusCode::unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return StatusCode::unavailable;
    default:
      return StatusCode::unknown;
  }
}

std::string_view connect_code_name(StatusCode code) {
  return info(code).connect;
}

std::optional<StatusCode> code_from_connect_name(std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (const auto& c : kCodes) {
    if (c.connect == name) return c.code;
  }
  return std::nullopt;
}

}  // namespace trident::rpc
