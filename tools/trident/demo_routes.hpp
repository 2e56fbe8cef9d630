#pragma once

#include "http/router.hpp"
#include "http/service.hpp"

namespace trident::demo {

// The routes `trident serve` ships with (and the benchmark contract):
// /plaintext (a direct response in service.direct, like nginx's `return`),
// /hello, /echo, /stream, /, /healthz (router handlers).
void add_demo_routes(http::Router& router, http::ServiceContext& service);

}  // namespace trident::demo
