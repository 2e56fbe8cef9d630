// Incremental UTF-8 validator. See utf8.hpp.
#include "ws/utf8.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace trident::ws {
namespace {

// Byte classes: bytes that the DFA treats alike.
enum Class : std::uint8_t {
  kAscii,    // 00..7F
  kCont8,    // 80..8F continuation
  kCont9,    // 90..9F continuation
  kContA,    // A0..BF continuation
  kInvalid,  // C0, C1 (overlong 2-byte leads), F5..FF (beyond U+10FFFF)
  kLead2,    // C2..DF
  kLeadE0,   // E0: second byte A0..BF (no overlongs)
  kLead3,    // E1..EC, EE, EF
  kLeadED,   // ED: second byte 80..9F (no surrogates)
  kLeadF0,   // F0: second byte 90..BF (no overlongs)
  kLead4,    // F1..F3
  kLeadF4,   // F4: second byte 80..8F (not above U+10FFFF)
  kClasses,
};

// States besides kAccept (0) and kReject (1).
enum State : std::uint8_t {
  kNeed1 = 2,  // one continuation byte (80..BF) left
  kNeed2,      // two left
  kNeed3,      // three left
  kAfterE0,    // need A0..BF, then one more
  kAfterED,    // need 80..9F, then one more
  kAfterF0,    // need 90..BF, then two more
  kAfterF4,    // need 80..8F, then two more
  kStates,
};

constexpr std::uint8_t kA = Utf8Validator::kAccept;
constexpr std::uint8_t kR = Utf8Validator::kReject;

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    std::uint8_t c;
    if (b < 0x80) {
      c = kAscii;
    } else if (b < 0x90) {
      c = kCont8;
    } else if (b < 0xA0) {
      c = kCont9;
    } else if (b < 0xC0) {
      c = kContA;
    } else if (b < 0xC2) {
      c = kInvalid;
    } else if (b < 0xE0) {
      c = kLead2;
    } else if (b == 0xE0) {
      c = kLeadE0;
    } else if (b == 0xED) {
      c = kLeadED;
    } else if (b < 0xF0) {
      c = kLead3;
    } else if (b == 0xF0) {
      c = kLeadF0;
    } else if (b < 0xF4) {
      c = kLead4;
    } else if (b == 0xF4) {
      c = kLeadF4;
    } else {
      c = kInvalid;
    }
    t[static_cast<std::size_t>(b)] = c;
  }
  return t;
}

using Table = std::array<std::array<std::uint8_t, kClasses>, kStates>;

constexpr Table make_transitions() {
  Table t{};
  for (auto& row : t) row.fill(kR);  // everything not listed below is an error
  auto& start = t[kA];
  start[kAscii] = kA;
  start[kLead2] = kNeed1;
  start[kLeadE0] = kAfterE0;
  start[kLead3] = kNeed2;
  start[kLeadED] = kAfterED;
  start[kLeadF0] = kAfterF0;
  start[kLead4] = kNeed3;
  start[kLeadF4] = kAfterF4;
  for (std::uint8_t c : {kCont8, kCont9, kContA}) {
    t[kNeed1][c] = kA;
    t[kNeed2][c] = kNeed1;
    t[kNeed3][c] = kNeed2;
  }
  t[kAfterE0][kContA] = kNeed1;
  t[kAfterED][kCont8] = kNeed1;
  t[kAfterED][kCont9] = kNeed1;
  t[kAfterF0][kCont9] = kNeed2;
  t[kAfterF0][kContA] = kNeed2;
  t[kAfterF4][kCont8] = kNeed2;
  return t;
}

constexpr std::array<std::uint8_t, 256> kClassOf = make_classes();
constexpr Table kNext = make_transitions();

constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

}  // namespace

std::size_t Utf8Validator::feed(std::string_view data) {
  if (state_ == kReject) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::uint8_t s = state_;
  std::size_t i = 0;
  while (i < n) {
    if (s == kA) {
      // Fast path: skip ASCII sixteen (SSE2), then eight bytes at a time.
#if defined(__x86_64__)
      while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        if (_mm_movemask_epi8(v) != 0) break;
        i += 16;
      }
#endif
      while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, sizeof w);
        if ((w & kHighBits) != 0) break;
        i += 8;
      }
      if (i == n) break;
    }
    s = kNext[s][kClassOf[p[i]]];
    if (s == kR) {
      state_ = kR;
      return i;
    }
    ++i;
  }
  state_ = s;
  return n;
}

bool valid_utf8(std::string_view s) {
  Utf8Validator v;
  return v.feed(s) == s.size() && v.complete();
}

}  // namespace trident::ws
