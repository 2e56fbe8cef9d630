// gRPC server reflection (grpc.reflection.v1 and v1alpha, the same messages
// in two packages): lists the registered services and serves the
// FileDescriptorProtos of their files and dependencies from the generated
// descriptor pool, so grpcurl and `buf curl` can describe and call methods.
#pragma once

#include "grpc/reflection/v1/reflection.trident.h"
#include "grpc/reflection/v1alpha/reflection.trident.h"
#include "rpc/service.hpp"

namespace trident::rpc {

class ReflectionV1 final : public ::grpc::reflection::v1::ServerReflection::Service {
 public:
  explicit ReflectionV1(const ServiceRegistry& registry) : registry_(registry) {}
  Task<void> ServerReflectionInfo(
      Context& ctx, Reader<::grpc::reflection::v1::ServerReflectionRequest>& in,
      Writer<::grpc::reflection::v1::ServerReflectionResponse>& out) override;

 private:
  const ServiceRegistry& registry_;
};

class ReflectionV1Alpha final : public ::grpc::reflection::v1alpha::ServerReflection::Service {
 public:
  explicit ReflectionV1Alpha(const ServiceRegistry& registry) : registry_(registry) {}
  Task<void> ServerReflectionInfo(
      Context& ctx, Reader<::grpc::reflection::v1alpha::ServerReflectionRequest>& in,
      Writer<::grpc::reflection::v1alpha::ServerReflectionResponse>& out) override;

 private:
  const ServiceRegistry& registry_;
};

}  // namespace trident::rpc
