#include "rpc/health.hpp"

#include <chrono>

#include "core/loop.hpp"

namespace trident::rpc {
namespace {
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
// How often Watch looks for a change. Status changes are rare and come from
// any thread; a short poll per watcher is simpler than cross-thread wake-ups.
constexpr auto kWatchPoll = std::chrono::milliseconds(100);
}  // namespace

void HealthService::set_status(std::string_view service, bool serving) {
  std::lock_guard lock(mutex_);
  statuses_.insert_or_assign(std::string(service), serving && !shut_down_
                                                       ? HealthCheckResponse::SERVING
                                                       : HealthCheckResponse::NOT_SERVING);
  ++version_;
}

void HealthService::clear_status(std::string_view service) {
  std::lock_guard lock(mutex_);
  if (auto it = statuses_.find(service); it != statuses_.end()) statuses_.erase(it);
  ++version_;
}

void HealthService::shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_.store(true);
  for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  ++version_;
}

HealthService::Status HealthService::status_of(std::string_view service) const {
  std::lock_guard lock(mutex_);
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

Task<HealthCheckResponse> HealthService::Check(Context&, const HealthCheckRequest& req) {
  Status s = status_of(req.service());
  if (s == HealthCheckResponse::SERVICE_UNKNOWN) {
    throw Error(StatusCode::not_found, "unknown service \"" + req.service() + "\"");
  }
  HealthCheckResponse r;
  r.set_status(s);
  co_return r;
}

Task<void> HealthService::Watch(Context& ctx, const HealthCheckRequest& req,
                                Writer<HealthCheckResponse>& out) {
  std::optional<Status> sent;
  std::uint64_t seen = ~std::uint64_t{0};
  while (!ctx.cancelled()) {
    std::uint64_t now = version_.load();
    if (now != seen) {
      seen = now;
      Status s = status_of(req.service());
      if (s != sent) {
        HealthCheckResponse r;
        r.set_status(s);
        co_await out.write(r);
        sent = s;
      }
      // A server going down ends its watches once they know.
      if (shut_down_.load()) co_return;
    }
    co_await sleep_for(kWatchPoll);
  }
}

}  // namespace trident::rpc
