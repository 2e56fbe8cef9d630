// libFuzzer target for permessage-deflate: the extension negotiation
// parser, inflating untrusted compressed messages under a size limit, and
// the compress → inflate round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ws/deflate.hpp"

using namespace trident::ws;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Negotiation: any header text; an accepted offer has a window size we support.
  if (auto p = negotiate_deflate(in)) {
    if (p->server_max_window_bits < 9 || p->server_max_window_bits > 15) std::abort();
    if (deflate_response(*p).rfind("permessage-deflate", 0) != 0) std::abort();
  }

  // Inflate: never more than the limit, whatever the input.
  constexpr std::size_t kLimit = 64 * 1024;
  std::string out;
  InflateResult r = inflate_message(in, kLimit, out);
  if (out.size() > kLimit) std::abort();
  if (r == InflateResult::too_big && out.size() > kLimit) std::abort();

  // Round trip with a window chosen by the first byte.
  int bits = size ? 9 + data[0] % 7 : 15;
  std::string compressed, back;
  deflate_message(in, bits, compressed);
  if (inflate_message(compressed, size + 1, back) != InflateResult::ok || back != in) std::abort();
  return 0;
}
