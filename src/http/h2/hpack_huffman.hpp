// The HPACK Huffman code (RFC 7541 §5.2, Appendix B), both ways.
//
// Decoding runs a table-driven automaton four bits at a time (two lookups per
// input byte, no per-bit branching); the table is derived from the code at
// first use. Encoding packs codes into a 64-bit accumulator.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace trident::http::h2::hpack {

// Octets `s` takes once Huffman-coded (padding included).
std::size_t huffman_length(std::string_view s);

// Appends the Huffman coding of `s`, padded with the EOS prefix.
void huffman_encode(std::string_view s, std::string& out);

// Most octets `in` can decode to (the shortest code is five bits).
constexpr std::size_t huffman_max_decoded(std::size_t in) {
  return in * 8 / 5 + 1;
}

// Decodes `in` into `out` (room for huffman_max_decoded(in.size()) octets) and
// returns the end of the output, or nullptr if `in` is not a valid coding: it
// contains EOS, or ends in padding longer than seven bits or not all ones
// (RFC 7541 §5.2: a decoding error).
char* huffman_decode(std::string_view in, char* out);

}  // namespace trident::http::h2::hpack
