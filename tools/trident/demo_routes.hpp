#pragma once

#include "http/router.hpp"
#include "http/service.hpp"

namespace trident::demo {

// The routes `trident serve` ships with (and the benchmark contract):
// /plaintext, /echo, /stream, /, /healthz.
void add_demo_routes(http::Router& router, const http::ServiceContext& service);

}  // namespace trident::demo
