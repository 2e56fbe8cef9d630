// The "grpc-timeout" header (PROTOCOL-HTTP2 "Timeout"):
//   TimeoutValue (1 to 8 ASCII digits) TimeoutUnit (H, M, S, m, u or n)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace trident::rpc::grpc {

// Nullopt for anything that is not exactly 1-8 digits and one unit letter (no
// sign, no whitespace); the server then answers INTERNAL. "0S" is accepted
// (an already expired deadline) although the spec says "positive": peers send
// it, and refusing it would turn DEADLINE_EXCEEDED into INTERNAL. Values that
// overflow nanoseconds (above ~292 years, e.g. "99999999H") saturate to
// nanoseconds::max(), i.e. effectively no deadline.
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value);

// A valid header value for `timeout`: the exact value in the largest unit that
// holds it in at most 8 digits when there is one ("1S", "1500m", "90M"),
// otherwise the value rounded up in the finest unit that fits, so the deadline
// is never shortened. Zero and negative durations give "1n": they are already
// expired, and strict peers reject a zero value.
std::string format_timeout(std::chrono::nanoseconds timeout);

}  // namespace trident::rpc::grpc
