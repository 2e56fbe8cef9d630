// The protocol-neutral description of a service: its methods, each with a
// kind and a type-erased invoker over byte streams. Generated code (see
// tools/protoc-gen-trident) derives from Service; wires (gRPC, later Connect,
// REST, WebSocket) look methods up in a ServiceRegistry and call `invoke`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/task.hpp"
#include "rpc/context.hpp"
#include "rpc/stream.hpp"

namespace google::protobuf {
class ServiceDescriptor;
class MethodDescriptor;
}  // namespace google::protobuf

namespace trident::rpc {

enum class MethodKind { unary, client_streaming, server_streaming, bidi_streaming };

struct Method {
  std::string path;  // "/package.Service/Method"
  MethodKind kind = MethodKind::unary;
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  // Runs the handler: reads requests from `in`, writes responses to `out`.
  // Failure is an rpc::Error thrown out of the task.
  std::function<Task<void>(Context&, MessageReader& in, MessageWriter& out)> invoke;
};

class Service {
 public:
  virtual ~Service() = default;
  virtual const google::protobuf::ServiceDescriptor* descriptor() const = 0;
  virtual std::vector<Method> methods() = 0;
};

// Server-side interceptor: runs around every call (auth, logging, metrics).
// Call `next()` to continue; throw rpc::Error to fail the call.
using Next = std::function<Task<void>()>;
using Interceptor = std::function<Task<void>(Context&, const Method&, Next next)>;

class ServiceRegistry {
 public:
  // The service must outlive the registry.
  void add(Service& service);
  void add_interceptor(Interceptor interceptor) { interceptors_.push_back(std::move(interceptor)); }

  const Method* find(std::string_view path) const;
  // "package.Service" names registered, for health and reflection.
  bool has_service(std::string_view full_name) const;
  const std::vector<const google::protobuf::ServiceDescriptor*>& services() const {
    return services_;
  }

  // Runs `method` through the interceptors.
  Task<void> call(const Method& method, Context& ctx, MessageReader& in, MessageWriter& out) const;

 private:
  std::unordered_map<std::string, Method> methods_;
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
  std::vector<std::string> service_names_;
  std::vector<Interceptor> interceptors_;
};

}  // namespace trident::rpc
