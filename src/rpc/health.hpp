// grpc.health.v1.Health: Check and Watch over a per-service serving status
// that the application sets (thread-safe). "" is the server as a whole.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "grpc/health/v1/health.trident.h"

namespace trident::rpc {

class HealthService final : public ::grpc::health::v1::Health::Service {
 public:
  using Status = ::grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() { set_status("", true); }

  void set_status(std::string_view service, bool serving);
  void clear_status(std::string_view service);
  // Graceful shutdown: everything reports NOT_SERVING from now on.
  void shutdown();

  Task<::grpc::health::v1::HealthCheckResponse> Check(
      Context& ctx, const ::grpc::health::v1::HealthCheckRequest& req) override;
  Task<void> Watch(Context& ctx, const ::grpc::health::v1::HealthCheckRequest& req,
                   Writer<::grpc::health::v1::HealthCheckResponse>& out) override;

 private:
  // SERVICE_UNKNOWN when not registered.
  Status status_of(std::string_view service) const;

  mutable std::mutex mutex_;
  std::map<std::string, Status, std::less<>> statuses_;
  std::atomic<bool> shut_down_{false};
  std::atomic<std::uint64_t> version_{0};  // bumped on every change, for Watch
};

}  // namespace trident::rpc
