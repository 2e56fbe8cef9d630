#include "http/h2/hpack_huffman.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "http/h2/hpack_tables.hpp"

namespace trident::http::h2::hpack {
namespace {

// One step of the decoding automaton: from a state (an inner node of the
// code tree, 0 = root), consume four bits.
struct Step {
  std::uint8_t next;   // state after the four bits
  std::uint8_t sym;    // the octet completed on the way, if kEmit
  std::uint8_t flags;  // kEmit, kFail
};
constexpr std::uint8_t kEmit = 1;
constexpr std::uint8_t kFail = 2;

struct Automaton {
  std::array<std::array<Step, 16>, 256> steps{};
  // True if the input may end in this state: the bits since the last symbol
  // are a proper prefix of EOS (all ones) of at most seven bits.
  std::array<bool, 256> accepting{};
};

Automaton build_automaton() {
  // The code tree: inner nodes get ids 0..255 in creation order; children
  // are either inner nodes or leaves (symbols, stored as 256 + symbol).
  struct Node {
    int child[2] = {-1, -1};
    int depth = 0;
    bool all_ones = true;
  };
  std::vector<Node> nodes(1);
  for (int sym = 0; sym < 257; ++sym) {
    const HuffmanCode c = kHuffmanCodes[static_cast<std::size_t>(sym)];
    int n = 0;
    for (int b = c.bits - 1; b >= 0; --b) {
      const int bit = static_cast<int>((c.code >> b) & 1);
      if (b == 0) {
        nodes[static_cast<std::size_t>(n)].child[bit] = 256 + sym;
        break;
      }
      int& child = nodes[static_cast<std::size_t>(n)].child[bit];
      if (child < 0) {
        const Node& parent = nodes[static_cast<std::size_t>(n)];
        Node inner;
        inner.depth = parent.depth + 1;
        inner.all_ones = parent.all_ones && bit == 1;
        child = static_cast<int>(nodes.size());
        nodes.push_back(inner);  // `child` may dangle now: not used again
      }
      n = nodes[static_cast<std::size_t>(n)].child[bit];
    }
  }
  // 257 leaves in a full binary tree: 256 inner nodes, one state per octet value.
  if (nodes.size() != 256) std::abort();
  Automaton a;
  for (std::size_t s = 0; s < nodes.size(); ++s) {
    a.accepting[s] = nodes[s].all_ones && nodes[s].depth <= 7;
    for (int nibble = 0; nibble < 16; ++nibble) {
      Step step{0, 0, 0};
      int n = static_cast<int>(s);
      for (int b = 3; b >= 0; --b) {
        const int next = nodes[static_cast<std::size_t>(n)].child[(nibble >> b) & 1];
        if (next >= 256) {
          if (next == 256 + 256) {  // EOS inside a string
            step.flags = kFail;
            break;
          }
          step.sym = static_cast<std::uint8_t>(next - 256);
          step.flags = kEmit;  // at most one: no code is shorter than five bits
          n = 0;
        } else {
          n = next;
        }
      }
      step.next = static_cast<std::uint8_t>(n);
      a.steps[s][static_cast<std::size_t>(nibble)] = step;
    }
  }
  return a;
}

const Automaton& automaton() {
  static const Automaton a = build_automaton();
  return a;
}

}  // namespace

std::size_t huffman_length(std::string_view s) {
  std::size_t bits = 0;
  for (unsigned char c : s) bits += kHuffmanCodes[c].bits;
  return (bits + 7) / 8;
}

void huffman_encode(std::string_view s, std::string& out) {
  std::uint64_t acc = 0;
  int nbits = 0;
  for (unsigned char c : s) {
    const HuffmanCode code = kHuffmanCodes[c];
    acc = (acc << code.bits) | code.code;
    nbits += code.bits;
    while (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>(acc >> nbits));
    }
  }
  if (nbits > 0) {
    const int pad = 8 - nbits;
    out.push_back(static_cast<char>((acc << pad) | ((1u << pad) - 1)));
  }
}

char* huffman_decode(std::string_view in, char* out) {
  const Automaton& a = automaton();
  std::uint8_t state = 0;
  for (unsigned char c : in) {
    const Step hi = a.steps[state][c >> 4];
    if (hi.flags & kFail) return nullptr;
    if (hi.flags & kEmit) *out++ = static_cast<char>(hi.sym);
    const Step lo = a.steps[hi.next][c & 0xF];
    if (lo.flags & kFail) return nullptr;
    if (lo.flags & kEmit) *out++ = static_cast<char>(lo.sym);
    state = lo.next;
  }
  return a.accepting[state] ? out : nullptr;
}

}  // namespace trident::http::h2::hpack
