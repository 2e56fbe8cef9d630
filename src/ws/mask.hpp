// RFC 6455 §5.3 payload masking: every payload byte i is XORed with key[i % 4].
//
// Masking and unmasking are the same operation. mask() works in place with
// the key rotated to the starting offset and repeated across a vector: 32
// bytes per instruction with AVX2 (chosen at run time), 16 with SSE2, else
// eight; it handles any buffer alignment and any starting position within
// the key, so a payload delivered in pieces can be unmasked piece by piece.
// mask_portable() is the path without AVX2; mask_scalar() is the
// byte-at-a-time reference the tests compare both with.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace trident::ws {

using MaskKey = std::array<std::uint8_t, 4>;

// XORs data[0..size) with the key, data[0] with key[offset % 4]. Returns the
// key offset for the byte that would follow: (offset + size) % 4.
std::size_t mask(char* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);

// Unmasks data[0..size) (key phase 0, a whole payload) and returns whether
// every unmasked byte is ASCII, found in the same pass: a text message that
// is all ASCII is valid UTF-8 without a second scan over it.
bool unmask_ascii(char* data, std::size_t size, const MaskKey& key);

// mask() without the AVX2 path (what a CPU without AVX2 runs).
std::size_t mask_portable(char* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);
// Reference implementation of mask(), one byte at a time.
std::size_t mask_scalar(char* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);

}  // namespace trident::ws
