// Payload (un)masking. See mask.hpp.
#include "ws/mask.hpp"

#include <bit>
#include <cstring>

namespace trident::ws {

std::size_t mask(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  offset &= 3;
  // The key as it applies from data[0] on, repeated over eight bytes, in
  // memory order.
  unsigned char bytes[8];
  std::uint64_t k;
  if constexpr (std::endian::native == std::endian::little) {
    std::uint32_t k32;
    std::memcpy(&k32, key.data(), 4);
    k32 = std::rotr(k32, static_cast<int>(8 * offset));
    k = (static_cast<std::uint64_t>(k32) << 32) | k32;
    std::memcpy(bytes, &k, sizeof k);
  } else {
    for (std::size_t i = 0; i < 8; ++i) bytes[i] = key[(offset + i) & 3];
    std::memcpy(&k, bytes, sizeof k);
  }

  // memcpy loads and stores: no alignment requirement on `data`, and the
  // compiler turns them into plain (unaligned) word moves.
  std::size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    std::uint64_t w[4];
    std::memcpy(w, data + i, sizeof w);
    w[0] ^= k;
    w[1] ^= k;
    w[2] ^= k;
    w[3] ^= k;
    std::memcpy(data + i, w, sizeof w);
  }
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, sizeof w);
    w ^= k;
    std::memcpy(data + i, &w, sizeof w);
  }
  // i is a multiple of 8 here, so the tail starts at key byte `offset` again.
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ bytes[i & 7]);
  return (offset + size) & 3;
}

std::size_t mask_scalar(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^ key[(offset + i) & 3]);
  }
  return (offset + size) & 3;
}

}  // namespace trident::ws
