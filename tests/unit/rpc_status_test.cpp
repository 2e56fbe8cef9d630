// Unit tests for the RPC status model and its one mapping table (src/rpc/status.*).
#include "rpc/status.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace trident::rpc {
namespace {

struct Row {
  StatusCode code;
  int value;
  std::string_view name;
  std::string_view connect;
  int http;
};

// Expected values, written out independently of the table under test.
constexpr Row kRows[] = {
    {StatusCode::ok, 0, "OK", "", 200},
    {StatusCode::cancelled, 1, "CANCELLED", "canceled", 499},
    {StatusCode::unknown, 2, "UNKNOWN", "unknown", 500},
    {StatusCode::invalid_argument, 3, "INVALID_ARGUMENT", "invalid_argument", 400},
    {StatusCode::deadline_exceeded, 4, "DEADLINE_EXCEEDED", "deadline_exceeded", 504},
    {StatusCode::not_found, 5, "NOT_FOUND", "not_found", 404},
    {StatusCode::already_exists, 6, "ALREADY_EXISTS", "already_exists", 409},
    {StatusCode::permission_denied, 7, "PERMISSION_DENIED", "permission_denied", 403},
    {StatusCode::resource_exhausted, 8, "RESOURCE_EXHAUSTED", "resource_exhausted", 429},
    {StatusCode::failed_precondition, 9, "FAILED_PRECONDITION", "failed_precondition", 400},
    {StatusCode::aborted, 10, "ABORTED", "aborted", 409},
    {StatusCode::out_of_range, 11, "OUT_OF_RANGE", "out_of_range", 400},
    {StatusCode::unimplemented, 12, "UNIMPLEMENTED", "unimplemented", 501},
    {StatusCode::internal, 13, "INTERNAL", "internal", 500},
    {StatusCode::unavailable, 14, "UNAVAILABLE", "unavailable", 503},
    {StatusCode::data_loss, 15, "DATA_LOSS", "data_loss", 500},
    {StatusCode::unauthenticated, 16, "UNAUTHENTICATED", "unauthenticated", 401},
};

TEST(RpcStatus, CodeValuesMatchGrpc) {
  static_assert(std::size(kRows) == kStatusCodeCount);
  for (const auto& r : kRows) {
    EXPECT_EQ(static_cast<int>(r.code), r.value) << r.name;
    EXPECT_EQ(code_from_number(r.value), r.code) << r.name;
  }
  EXPECT_EQ(code_from_number(-1), std::nullopt);
  EXPECT_EQ(code_from_number(17), std::nullopt);
  EXPECT_EQ(code_from_number(1000), std::nullopt);
}

TEST(RpcStatus, Names) {
  for (const auto& r : kRows) {
    EXPECT_EQ(code_name(r.code), r.name);
    EXPECT_EQ(code_from_name(r.name), r.code) << r.name;
  }
  EXPECT_EQ(code_name(static_cast<StatusCode>(200)), "UNKNOWN");
  EXPECT_EQ(code_from_name("ok"), std::nullopt);  // case-sensitive
  EXPECT_EQ(code_from_name("CANCELED"), std::nullopt);
  EXPECT_EQ(code_from_name(""), std::nullopt);
  EXPECT_EQ(code_from_name("OK "), std::nullopt);
}

TEST(RpcStatus, HttpStatusFromCode) {
  for (const auto& r : kRows) EXPECT_EQ(http_status_from_code(r.code), r.http) << r.name;
  EXPECT_EQ(http_status_from_code(static_cast<StatusCode>(99)), 500);
}

TEST(RpcStatus, CodeFromHttpStatusOfNonGrpcResponse) {
  EXPECT_EQ(code_from_http_status(400), StatusCode::internal);
  EXPECT_EQ(code_from_http_status(401), StatusCode::unauthenticated);
  EXPECT_EQ(code_from_http_status(403), StatusCode::permission_denied);
  EXPECT_EQ(code_from_http_status(404), StatusCode::unimplemented);
  EXPECT_EQ(code_from_http_status(429), StatusCode::unavailable);
  EXPECT_EQ(code_from_http_status(502), StatusCode::unavailable);
  EXPECT_EQ(code_from_http_status(503), StatusCode::unavailable);
  EXPECT_EQ(code_from_http_status(504), StatusCode::unavailable);
  for (int other : {0, 100, 200, 204, 301, 402, 405, 409, 499, 500, 501, 505, 599, 999}) {
    EXPECT_EQ(code_from_http_status(other), StatusCode::unknown) << other;
  }
}

TEST(RpcStatus, ConnectCodes) {
  for (const auto& r : kRows) {
    EXPECT_EQ(connect_code_name(r.code), r.connect) << r.name;
    if (r.code == StatusCode::ok) continue;
    EXPECT_EQ(code_from_connect_name(r.connect), r.code) << r.connect;
  }
  EXPECT_EQ(code_from_connect_name(""), std::nullopt);
  EXPECT_EQ(code_from_connect_name("ok"), std::nullopt);
  EXPECT_EQ(code_from_connect_name("cancelled"), std::nullopt);  // Connect spells it "canceled"
  EXPECT_EQ(code_from_connect_name("NOT_FOUND"), std::nullopt);
  EXPECT_EQ(code_from_connect_name("not_found "), std::nullopt);
}

TEST(RpcStatus, StatusStruct) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(s.message.empty());
  EXPECT_TRUE(s.details.empty());
  s = Status{StatusCode::not_found, "no such user", std::string("\x08\x05", 2)};
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code, StatusCode::not_found);
  EXPECT_EQ(s.details.size(), 2u);
}

}  // namespace
}  // namespace trident::rpc
