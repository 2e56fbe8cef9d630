// grpc.testing.TestService, the standard gRPC interop service, on trident's
// RPC core (semantics: grpc/doc/interop-test-descriptions.md).
#pragma once

#include "grpc/testing/test.trident.h"

namespace trident::interop {

class TestService final : public ::grpc::testing::TestService::Service {
 public:
  Task<::grpc::testing::Empty> EmptyCall(rpc::Context& ctx,
                                         const ::grpc::testing::Empty& req) override;
  Task<::grpc::testing::SimpleResponse> UnaryCall(
      rpc::Context& ctx, const ::grpc::testing::SimpleRequest& req) override;
  Task<::grpc::testing::SimpleResponse> CacheableUnaryCall(
      rpc::Context& ctx, const ::grpc::testing::SimpleRequest& req) override;
  Task<void> StreamingOutputCall(
      rpc::Context& ctx, const ::grpc::testing::StreamingOutputCallRequest& req,
      rpc::Writer<::grpc::testing::StreamingOutputCallResponse>& out) override;
  Task<::grpc::testing::StreamingInputCallResponse> StreamingInputCall(
      rpc::Context& ctx, rpc::Reader<::grpc::testing::StreamingInputCallRequest>& in) override;
  Task<void> FullDuplexCall(
      rpc::Context& ctx, rpc::Reader<::grpc::testing::StreamingOutputCallRequest>& in,
      rpc::Writer<::grpc::testing::StreamingOutputCallResponse>& out) override;
  Task<void> HalfDuplexCall(
      rpc::Context& ctx, rpc::Reader<::grpc::testing::StreamingOutputCallRequest>& in,
      rpc::Writer<::grpc::testing::StreamingOutputCallResponse>& out) override;
};

}  // namespace trident::interop
