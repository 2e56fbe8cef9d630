#include "grpc_demo.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>

#include "bench.trident.h"
#include "core/loop.hpp"
#include "payments.trident.h"
#include "rpc/health.hpp"
#include "rpc/reflection.hpp"

namespace trident::demo {
namespace {

class BenchService final : public ::bench::Bench::Service {
 public:
  Task<::bench::Payload> Unary(rpc::Context&, const ::bench::Payload& req) override {
    co_return req;
  }
  Task<void> ServerStream(rpc::Context&, const ::bench::Request& req,
                          rpc::Writer<::bench::Payload>& out) override {
    if (req.count() < 0 || req.size() < 0 || req.size() > (4 << 20)) {
      throw rpc::Error(rpc::StatusCode::invalid_argument, "count >= 0, 0 <= size <= 4 MiB");
    }
    ::bench::Payload p;
    p.set_data(std::string(static_cast<std::size_t>(req.size()), 'x'));
    for (int i = 0; i < req.count(); ++i) co_await out.write(p);
  }
  Task<void> Bidi(rpc::Context&, rpc::Reader<::bench::Payload>& in,
                  rpc::Writer<::bench::Payload>& out) override {
    while (auto m = co_await in.read()) co_await out.write(*m);
  }
};

// Processed payments, newest last, shared by every worker (watchers poll it).
class PaymentLog {
 public:
  std::uint64_t append(::payments::PaymentEvent e) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(e));
    if (events_.size() > kKeep) {
      events_.pop_front();
      ++first_;
    }
    return first_ + events_.size();
  }
  std::uint64_t end() const {
    std::lock_guard lock(mutex_);
    return first_ + events_.size();
  }
  // Events from sequence number `from` on (older ones may be gone).
  std::vector<::payments::PaymentEvent> since(std::uint64_t& from) const {
    std::lock_guard lock(mutex_);
    std::vector<::payments::PaymentEvent> out;
    if (from < first_) from = first_;
    for (std::uint64_t i = from; i < first_ + events_.size(); ++i) {
      out.push_back(events_[i - first_]);
    }
    from = first_ + events_.size();
    return out;
  }

 private:
  static constexpr std::size_t kKeep = 1024;
  mutable std::mutex mutex_;
  std::deque<::payments::PaymentEvent> events_;
  std::uint64_t first_ = 0;
};

class PaymentService final : public ::payments::PaymentService::Service {
 public:
  Task<::payments::PaymentResponse> ProcessPayment(rpc::Context&,
                                                   const ::payments::PaymentRequest& req) override {
    if (req.user_id().empty()) {
      throw rpc::Error(rpc::StatusCode::invalid_argument, "user_id is required");
    }
    if (!(req.amount() > 0)) {
      throw rpc::Error(rpc::StatusCode::invalid_argument, "amount must be positive");
    }
    const std::string& c = req.currency();
    if (c.size() != 3 ||
        !std::all_of(c.begin(), c.end(), [](char x) { return x >= 'A' && x <= 'Z'; })) {
      throw rpc::Error(rpc::StatusCode::invalid_argument,
                       "currency must be an ISO 4217 code such as EUR");
    }
    ::payments::PaymentEvent e;
    e.set_payment_id("pay-" + std::to_string(++next_id_));
    e.set_user_id(req.user_id());
    e.set_amount(req.amount());
    e.set_currency(c);
    e.set_status("approved");
    ::payments::PaymentResponse r;
    r.set_payment_id(e.payment_id());
    r.set_status(e.status());
    log_.append(std::move(e));
    co_return r;
  }

  Task<void> WatchPayments(rpc::Context& ctx, const ::payments::WatchPaymentsRequest& req,
                           rpc::Writer<::payments::PaymentEvent>& out) override {
    std::uint64_t next = log_.end();  // from now on
    while (!ctx.cancelled()) {
      for (auto& e : log_.since(next)) {
        if (req.user_id().empty() || e.user_id() == req.user_id()) co_await out.write(e);
      }
      co_await sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  std::atomic<std::uint64_t> next_id_{0};
  PaymentLog log_;
};

}  // namespace

struct GrpcDemo::Impl {
  rpc::ServiceRegistry registry;
  BenchService bench;
  PaymentService payments;
  rpc::HealthService health;
  rpc::ReflectionV1 reflection_v1{registry};
  rpc::ReflectionV1Alpha reflection_v1alpha{registry};
};

GrpcDemo::GrpcDemo() : impl_(std::make_unique<Impl>()) {
  Impl& i = *impl_;
  i.registry.add(i.bench);
  i.registry.add(i.payments);
  i.registry.add(i.health);
  i.registry.add(i.reflection_v1);
  i.registry.add(i.reflection_v1alpha);
  for (const auto* s : i.registry.services()) i.health.set_status(s->full_name(), true);
}

GrpcDemo::~GrpcDemo() = default;

rpc::ServiceRegistry& GrpcDemo::registry() {
  return impl_->registry;
}

void GrpcDemo::shutdown() {
  impl_->health.shutdown();
}

}  // namespace trident::demo
