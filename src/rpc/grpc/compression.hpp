// Whole-message compression for gRPC ("grpc-encoding" / "grpc-accept-encoding").
//
// Per the gRPC compression spec, "gzip" is the gzip format (RFC 1952) and
// "deflate" is the zlib format (RFC 1950, a zlib header and Adler-32 around a
// deflate stream), not raw deflate. Each message is compressed on its own
// (no context carried across messages). Decompression is bounded: it stops as
// soon as the output would exceed the limit, so a small "zip bomb" costs at
// most the limit in memory and the time to produce it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rpc/status.hpp"

namespace trident::rpc::grpc {

enum class Encoding : std::uint8_t { identity, gzip, deflate };

// "identity", "gzip", "deflate".
std::string_view encoding_name(Encoding e);
// Case-insensitive; nullopt for codings not supported here (e.g. "snappy",
// "zstd"), to which a server answers UNIMPLEMENTED listing what it accepts.
std::optional<Encoding> parse_encoding(std::string_view name);

// A set of encodings; identity is always a member (every peer must accept it).
class EncodingSet {
 public:
  EncodingSet() = default;
  static EncodingSet all();
  bool contains(Encoding e) const { return (bits_ & bit(e)) != 0; }
  void insert(Encoding e) { bits_ |= bit(e); }
  bool operator==(const EncodingSet&) const = default;

 private:
  static std::uint8_t bit(Encoding e) {
    return static_cast<std::uint8_t>(1u << static_cast<int>(e));
  }
  std::uint8_t bits_ = 1;  // identity
};

// Parses a "grpc-accept-encoding" value: comma-separated codings, optional
// whitespace, case-insensitive; unknown codings and empty items are ignored.
EncodingSet parse_accept_encoding(std::string_view value);
// "identity,gzip,deflate" (members only, in that order), for sending.
std::string format_accept_encoding(EncodingSet set);
// The first of `preference` that the peer accepts; identity when none is.
Encoding choose_encoding(EncodingSet peer_accepts, std::span<const Encoding> preference);

// Replaces `out` with `in` compressed. `level` is zlib's (-1 default, 0-9).
// Fails (INTERNAL) only on zlib errors or an input above 4 GiB.
Status compress(Encoding e, std::string_view in, std::string& out, int level = -1);

// Replaces `out` with `in` decompressed. Output larger than `max_size` →
// RESOURCE_EXHAUSTED (without producing more than max_size + 1 bytes);
// corrupt, truncated or trailing data → INTERNAL.
Status decompress(Encoding e, std::string_view in, std::string& out, std::size_t max_size);

}  // namespace trident::rpc::grpc
