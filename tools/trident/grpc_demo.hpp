// The gRPC services `trident serve` ships with: bench.Bench (the benchmark
// contract), payments.PaymentService (the brief's example, plus a
// server-streaming WatchPayments), health and reflection.
#pragma once

#include <memory>

#include "rpc/service.hpp"

namespace trident::demo {

class GrpcDemo {
 public:
  GrpcDemo();
  ~GrpcDemo();
  rpc::ServiceRegistry& registry();
  // Health reports NOT_SERVING from now on (graceful shutdown).
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trident::demo
