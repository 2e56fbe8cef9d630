#pragma once

#include "http/router.hpp"
#include "ws/service.hpp"

namespace trident::demo {

// The WebSocket demo routes: /ws/echo, /ws/broadcast, /ws/chat (+ the /chat
// page) and /ws/stats.
void add_ws_demo_routes(http::Router& router, ws::Service& service);

}  // namespace trident::demo
