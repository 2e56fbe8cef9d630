#include <google/protobuf/descriptor.h>

#include "rpc/service.hpp"

namespace trident::rpc {

void ServiceRegistry::add(Service& service) {
  if (const auto* d = service.descriptor()) {
    services_.push_back(d);
    service_names_.push_back(d->full_name());
  }
  for (Method& m : service.methods()) {
    std::string path = m.path;
    methods_.insert_or_assign(std::move(path), std::move(m));
  }
}

const Method* ServiceRegistry::find(std::string_view path) const {
  auto it = methods_.find(std::string(path));
  return it == methods_.end() ? nullptr : &it->second;
}

bool ServiceRegistry::has_service(std::string_view full_name) const {
  for (const auto& n : service_names_) {
    if (n == full_name) return true;
  }
  return false;
}

namespace {
Task<void> run_chain(const std::vector<Interceptor>& chain, std::size_t i, const Method& method,
                     Context& ctx, MessageReader& in, MessageWriter& out) {
  if (i == chain.size()) {
    co_await method.invoke(ctx, in, out);
    co_return;
  }
  co_await chain[i](ctx, method, [&chain, i, &method, &ctx, &in, &out]() {
    return run_chain(chain, i + 1, method, ctx, in, out);
  });
}
}  // namespace

Task<void> ServiceRegistry::call(const Method& method, Context& ctx, MessageReader& in,
                                 MessageWriter& out) const {
  return run_chain(interceptors_, 0, method, ctx, in, out);
}

}  // namespace trident::rpc
