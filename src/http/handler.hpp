#pragma once

#include <functional>

#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace trident::http {

// Every HTTP handler, on every protocol, has this shape.
using Handler = std::function<Task<void>(Request&, Response&)>;

}  // namespace trident::http
