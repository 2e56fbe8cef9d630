#pragma once

#include "http/service.hpp"
#include "net/connection.hpp"

namespace trident::http {

// Creates the HTTP/1.1 or HTTP/2 session for each new connection.
net::SessionFactory make_session_factory(ServiceContext& service);

}  // namespace trident::http
