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

// Eight bytes per step from data[i], then four, then single bytes; every
// block size used here is a multiple of four, so the key phase at `i` is the
// one `k` starts with. memcpy loads and stores: no alignment requirement,
// plain word moves. Returns the OR of the unmasked bytes (in its low byte
// lanes), for unmask_ascii().
std::uint64_t mask_tail(char* data, std::size_t size, std::uint64_t k, std::size_t i) {
  std::uint64_t any = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, sizeof w);
    w ^= k;
    std::memcpy(data + i, &w, sizeof w);
    any |= w;
  }
  if (i + 4 <= size) {
    std::uint32_t w;
    std::memcpy(&w, data + i, sizeof w);
    w ^= static_cast<std::uint32_t>(k);  // a 4-byte phase: the key's first four bytes
    std::memcpy(data + i, &w, sizeof w);
    any |= w;
    i += 4;
  }
  unsigned char bytes[8];
  std::memcpy(bytes, &k, sizeof k);
  for (; i < size; ++i) {
    data[i] = static_cast<char>(data[i] ^ bytes[i & 3]);
    any |= static_cast<unsigned char>(data[i]);
  }
  return any;
}

// How far a vector loop got, and whether any unmasked byte had its high bit
// set (only computed when asked for).
struct Scan {
  std::size_t done = 0;
  bool high = false;
};

#if defined(__x86_64__)
// The vector loops XOR 16 or 32 bytes per step. With `Ascii`, they also OR
// the unmasked bytes together, so the caller learns in the same pass whether
// any byte has its high bit set.
template <bool Ascii>
Scan mask_sse2(char* data, std::size_t size, std::uint64_t k) {
  const __m128i kv = _mm_set1_epi64x(static_cast<long long>(k));
  __m128i any = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + 64 <= size; i += 64) {
    auto* p = reinterpret_cast<__m128i*>(data + i);
    __m128i a = _mm_xor_si128(_mm_loadu_si128(p), kv);
    __m128i b = _mm_xor_si128(_mm_loadu_si128(p + 1), kv);
    __m128i c = _mm_xor_si128(_mm_loadu_si128(p + 2), kv);
    __m128i d = _mm_xor_si128(_mm_loadu_si128(p + 3), kv);
    _mm_storeu_si128(p, a);
    _mm_storeu_si128(p + 1, b);
    _mm_storeu_si128(p + 2, c);
    _mm_storeu_si128(p + 3, d);
    if constexpr (Ascii)
      any = _mm_or_si128(any, _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)));
  }
  for (; i + 16 <= size; i += 16) {
    auto* p = reinterpret_cast<__m128i*>(data + i);
    __m128i a = _mm_xor_si128(_mm_loadu_si128(p), kv);
    _mm_storeu_si128(p, a);
    if constexpr (Ascii) any = _mm_or_si128(any, a);
  }
  return {i, Ascii && _mm_movemask_epi8(any) != 0};
}

template <bool Ascii>
__attribute__((target("avx2"))) Scan mask_avx2(char* data, std::size_t size, std::uint64_t k) {
  const __m256i kv = _mm256_set1_epi64x(static_cast<long long>(k));
  __m256i any = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 128 <= size; i += 128) {
    auto* p = reinterpret_cast<__m256i*>(data + i);
    __m256i a = _mm256_xor_si256(_mm256_loadu_si256(p), kv);
    __m256i b = _mm256_xor_si256(_mm256_loadu_si256(p + 1), kv);
    __m256i c = _mm256_xor_si256(_mm256_loadu_si256(p + 2), kv);
    __m256i d = _mm256_xor_si256(_mm256_loadu_si256(p + 3), kv);
    _mm256_storeu_si256(p, a);
    _mm256_storeu_si256(p + 1, b);
    _mm256_storeu_si256(p + 2, c);
    _mm256_storeu_si256(p + 3, d);
    if constexpr (Ascii) {
      any = _mm256_or_si256(any, _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d)));
    }
  }
  for (; i + 32 <= size; i += 32) {
    auto* p = reinterpret_cast<__m256i*>(data + i);
    __m256i a = _mm256_xor_si256(_mm256_loadu_si256(p), kv);
    _mm256_storeu_si256(p, a);
    if constexpr (Ascii) any = _mm256_or_si256(any, a);
  }
  return {i, Ascii && _mm256_movemask_epi8(any) != 0};
}

// Read once at start-up (static initialization runs before any CPU feature
// check would otherwise be set up, hence the explicit init).
const bool kHasAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
#else
constexpr bool kHasAvx2 = false;
#endif

// Below these sizes, a wider vector's set-up (and AVX2's dispatch) costs
// more than it saves.
constexpr std::size_t kSse2Min = 16;
constexpr std::size_t kAvx2Min = 128;

template <bool Ascii>
Scan mask_vectors(char* data, std::size_t size, std::uint64_t k, bool avx2) {
#if defined(__x86_64__)
  if (avx2 && size >= kAvx2Min) return mask_avx2<Ascii>(data, size, k);
  if (size >= kSse2Min) return mask_sse2<Ascii>(data, size, k);
#else
  (void)data, (void)size, (void)k, (void)avx2;
#endif
  return {};
}

}  // namespace

std::size_t mask_portable(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  offset &= 3;
  const std::uint64_t k = repeated_key(key, offset);
  mask_tail(data, size, k, mask_vectors<false>(data, size, k, false).done);
  return (offset + size) & 3;
}

std::size_t mask(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  offset &= 3;
  const std::uint64_t k = repeated_key(key, offset);
  mask_tail(data, size, k, mask_vectors<false>(data, size, k, kHasAvx2).done);
  return (offset + size) & 3;
}

bool unmask_ascii(char* data, std::size_t size, const MaskKey& key) {
  const std::uint64_t k = repeated_key(key, 0);
  const Scan scan = mask_vectors<true>(data, size, k, kHasAvx2);
  const std::uint64_t any = mask_tail(data, size, k, scan.done);
  return !scan.high && (any & 0x8080808080808080ull) == 0;
}

std::size_t mask_scalar(char* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^ key[(offset + i) & 3]);
  }
  return (offset + size) & 3;
}

}  // namespace trident::ws
