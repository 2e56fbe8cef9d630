// Incremental UTF-8 validator (RFC 3629), for WebSocket text messages and
// close reasons (RFC 6455 §8.1).
//
// A DFA over byte classes: the state carries a partial code point across
// calls, so a text message may be validated piece by piece as its fragments
// arrive, with code points split anywhere. It rejects on the first byte that
// cannot continue a valid sequence: stray continuation bytes, C0/C1 and
// F5..FF lead bytes, overlong forms (E0 80..9F, F0 80..8F), surrogates
// (ED A0..BF, i.e. U+D800..DFFF) and code points above U+10FFFF (F4 90..BF),
// and truncated sequences followed by a non-continuation byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace trident::ws {

class Utf8Validator {
 public:
  // Validates the next piece of the text. Returns data.size() if every byte
  // of it may be part of valid UTF-8 so far, otherwise the index of the first
  // invalid byte (the validator then stays failed; later calls return 0).
  std::size_t feed(std::string_view data);

  // True at a code point boundary (everything fed so far is valid UTF-8).
  bool complete() const { return state_ == kAccept; }
  bool failed() const { return state_ == kReject; }
  void reset() { state_ = kAccept; }

  // DFA states; public for the transition table in utf8.cpp.
  static constexpr std::uint8_t kAccept = 0;
  static constexpr std::uint8_t kReject = 1;

 private:
  std::uint8_t state_ = kAccept;
};

// Whole-string check: true if `s` is valid UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace trident::ws
