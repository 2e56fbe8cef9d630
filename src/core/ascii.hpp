// Word-at-a-time (SWAR) helpers for header names and values: eight bytes per
// step instead of one, for the per-request loops that showed up in profiles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace trident::ascii {

namespace detail {
constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHigh = 0x8080808080808080ull;

inline std::uint64_t load(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// 0x20 in every byte that is 'A'..'Z', 0 elsewhere (bytes >= 0x80 untouched).
inline std::uint64_t upper_bits(std::uint64_t x) {
  std::uint64_t heptets = x & ~kHigh;
  std::uint64_t above_z = heptets + kOnes * (0x7f - 'Z');  // high bit set if > 'Z'
  std::uint64_t from_a = heptets + kOnes * (0x80 - 'A');   // high bit set if >= 'A'
  return ((from_a ^ above_z) & ~x & kHigh) >> 2;
}
}  // namespace detail

// Copies `n` bytes from `src` to `dst`, lower-casing ASCII letters. `dst`
// may be `src` (in place); other overlaps are not allowed.
inline void copy_lower(char* dst, const char* src, std::size_t n) {
  auto lower8 = [&](std::size_t at) {
    std::uint64_t x = detail::load(src + at);
    x |= detail::upper_bits(x);
    std::memcpy(dst + at, &x, 8);
  };
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) lower8(i);
    // The tail as one last word. It overlaps bytes already done, which is
    // harmless: their source bytes are read again and lower-cased the same
    // way (in place, they are lower-case already).
    if (i < n) lower8(n - 8);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    char c = src[i];
    dst[i] = static_cast<char>(c | ((static_cast<unsigned char>(c - 'A') < 26) << 5));
  }
}

// True if `s` contains CR, LF or NUL.
inline bool has_cr_lf_nul(const char* s, std::size_t n) {
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '\r' || c == '\n' || c == '\0') return true;
    }
    return false;
  }
  // Per word, first the cheap test: is any byte below 0x0e (the three all
  // are)? Exact as a yes/no. Only then the exact test for the three, since
  // (v - 1) & ~v & 0x80.. is non-zero iff some byte of v is 0.
  auto any_bad = [](std::uint64_t x) {
    if (((x - detail::kOnes * 0x0e) & ~x & detail::kHigh) == 0) return false;
    auto zero = [](std::uint64_t v) { return (v - detail::kOnes) & ~v & detail::kHigh; };
    return (zero(x) | zero(x ^ (detail::kOnes * '\r')) | zero(x ^ (detail::kOnes * '\n'))) != 0;
  };
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (any_bad(detail::load(s + i))) return true;
  }
  // The tail as one last word, overlapping bytes already checked.
  return i < n && any_bad(detail::load(s + n - 8));
}

}  // namespace trident::ascii
