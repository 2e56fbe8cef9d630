// Payload (un)masking. See mask.hpp.
#include "ws/mask.hpp"

#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace trident::ws {
namespace {

// The key as it applies from data[0] on, repeated over eight bytes, in
// memory order.
std::uint64_t repeated_key(const MaskKey& key, std::size_t offset) {
  if constexpr (std::endian::native == std::endian::little) {
    std::uint32_t k32;
    std::memcpy(&k32, key.data(), 4);
    k32 = std::rotr(k32, static_cast<int>(8 * offset));
    return (static_cast<std::uint64_t>(k32) << 32) | k32;
  } else {
    unsigned char bytes[8];
    for (std::size_t i = 0; i < 8; ++i) bytes[i] = key[(offset + i) & 3];
    std::uint64_t k;
    std::memcpy(&k, bytes, sizeof k);
    return k;
  }
}

// Eight bytes per step from data[i]; every block size used here is a
// multiple of eight, so the key phase at `i` is the one `k` starts with.
// memcpy loads and stores: no alignment requirement, plain word moves.
void mask_tail(char* data, std::size_t size, std::uint64_t k, std::size_t i) {
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, sizeof w);
    w ^= k;
    std::memcpy(data + i, &w, sizeof w);
  }
  unsigned char bytes[8];
  std::memcpy(bytes, &k, sizeof k);
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ bytes[i & 7]);
}

#if defined(__x86_64__)
// SSE2 is part of x86-64: 64 bytes per step, then 16.
std::size_t mask_sse2(char* data, std::size_t size, std::uint64_t k) {
  const __m128i kv = _mm_set1_epi64x(static_cast<long long>(k));
  std::size_t i = 0;
  for (; i + 64 <= size; i += 64) {
    auto* p = reinterpret_cast<__m128i*>(data + i);
    __m128i a = _mm_loadu_si128(p), b = _mm_loadu_si128(p + 1);
    __m128i c = _mm_loadu_si128(p + 2), d = _mm_loadu_si128(p + 3);
    _mm_storeu_si128(p, _mm_xor_si128(a, kv));
    _mm_storeu_si128(p + 1, _mm_xor_si128(b, kv));
    _mm_storeu_si128(p + 2, _mm_xor_si128(c, kv));
    _mm_storeu_si128(p + 3, _mm_xor_si128(d, kv));
  }
  for (; i + 16 <= size; i += 16) {
    auto* p = reinterpret_cast<__m128i*>(data + i);
    _mm_storeu_si128(p, _mm_xor_si128(_mm_loadu_si128(p), kv));
  }
  return i;
}

// AVX2, when the CPU has it: 128 bytes per step, then 32.
__attribute__((target("avx2"))) std::size_t mask_avx2(char* data, std::size_t size,
                                                      std::uint64_t k) {
  const __m256i kv = _mm256_set1_epi64x(static_cast<long long>(k));
  std::size_t i = 0;
  for (; i + 128 <= size; i += 128) {
    auto* p = reinterpret_cast<__m256i*>(data + i);
    __m256i a = _mm256_loadu_si256(p), b = _mm256_loadu_si256(p + 1);
    __m256i c = _mm256_loadu_si256(p + 2), d = _mm256_loadu_si256(p + 3);
    _mm256_storeu_si256(p, _mm256_xor_si256(a, kv));
    _mm256_storeu_si256(p + 1, _mm256_xor_si256(b, kv));
    _mm256_storeu_si256(p + 2, _mm256_xor_si256(c, kv));
    _mm256_storeu_si256(p + 3, _mm256_xor_si256(d, kv));
  }
  for (; i + 32 <= size; i += 32) {
    auto* p = reinterpret_cast<__m256i*>(data + i);
    _mm256_storeu_si256(p, _mm256_xor_si256(_mm256_loadu_si256(p), kv));
  }
  return i;
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

// Below this, vector set-up costs more than it saves.
constexpr std::size_t kVectorMin = 64;

}  // namespace

std::size_t mask_portable(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  offset &= 3;
  const std::uint64_t k = repeated_key(key, offset);
  std::size_t i = 0;
#if defined(__x86_64__)
  if (size >= kVectorMin) i = mask_sse2(data, size, k);
#endif
  mask_tail(data, size, k, i);
  return (offset + size) & 3;
}

std::size_t mask(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  offset &= 3;
  const std::uint64_t k = repeated_key(key, offset);
  std::size_t i = 0;
#if defined(__x86_64__)
  if (size >= kVectorMin) i = cpu_has_avx2() ? mask_avx2(data, size, k) : mask_sse2(data, size, k);
#endif
  mask_tail(data, size, k, i);
  return (offset + size) & 3;
}

std::size_t mask_scalar(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^ key[(offset + i) & 3]);
  }
  return (offset + size) & 3;
}

}  // namespace trident::ws
