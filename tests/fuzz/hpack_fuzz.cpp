// libFuzzer target for the HPACK decoder (and the Huffman code and dynamic
// table under it), with the encoder as its oracle.
//
// Input layout: byte 0 picks the decoder's table limit and the list limit,
// the rest is cut into header blocks at each 0x00 0x00 pair. Every block is
// decoded by one long-lived decoder (as on a connection). Whatever it
// accepts must respect the limits, and re-encoding the fields with our
// encoder and decoding them with a second decoder must give them back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/h2/hpack.hpp"

using namespace trident::http::h2::hpack;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t table_limit = (data[0] & 0x0F) * 256;
  const std::size_t list_limit = 64 + (data[0] >> 4) * 1024;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  Decoder decoder(table_limit);
  Encoder encoder;
  Decoder check_decoder;
  while (!rest.empty()) {
    std::size_t cut = rest.find(std::string_view("\0\0", 2));
    std::string_view block = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 2);

    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t listed = 0;
    DecodeResult r = decoder.decode(block, list_limit, [&](std::string_view n, std::string_view v) {
      fields.emplace_back(std::string(n), std::string(v));
      listed += entry_size(n.size(), v.size());
    });
    check(listed <= list_limit);
    check(decoder.table().size() <= decoder.table().max_size());
    check(decoder.table().max_size() <= table_limit);
    if (r == DecodeResult::compression_error) return 0;  // the connection would end here

    std::string again;
    encoder.begin_block(again);
    for (const auto& [n, v] : fields) {
      // The encoder expects lower-case names (the session checks that first).
      std::string lower = n;
      for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      encoder.add(again, lower, v, v.size() % 3 == 0 ? Indexing::never : Indexing::automatic);
    }
    std::size_t i = 0;
    DecodeResult r2 =
        check_decoder.decode(again, SIZE_MAX, [&](std::string_view n, std::string_view v) {
          check(i < fields.size());
          std::string lower = fields[i].first;
          for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
          check(n == lower && v == fields[i].second);
          ++i;
        });
    check(r2 == DecodeResult::ok && i == fields.size());
    check(encoder.table().size() == check_decoder.table().size());
  }
  return 0;
}
