// gRPC metadata rules (PROTOCOL-HTTP2 "Custom-Metadata", "Status-Message"):
// key syntax and reserved keys, grpc-message percent-encoding, and the base64
// of "-bin" values. Pure string functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trident::rpc::grpc {

// Header-Name → 1*( %x30-39 / %x61-7A / "_" / "-" / "." ): lower case only.
bool is_valid_key(std::string_view key);
// Binary-Header: a key ending in "-bin" (with at least one character before it).
bool is_binary_key(std::string_view key);
// ASCII-Value → 1*( %x20-%x7E ). Empty values are allowed here (HTTP allows them).
bool is_valid_ascii_value(std::string_view value);

// Keys an application (handler) may not set as custom metadata, because the
// gRPC runtime or the HTTP transport owns them:
//   - every key starting with "grpc-": the spec reserves the whole prefix
//     ("grpc-status", "grpc-message", "grpc-timeout", "grpc-encoding", ... and
//     any future one), so no exception is made;
//   - the Call-Definition headers the runtime writes: "te", "content-type",
//     "user-agent";
//   - HTTP/2 connection-specific fields (RFC 9113 §8.2.2), which a peer would
//     treat as malformed, and fields the transport computes: "connection",
//     "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
//     "content-length";
//   - pseudo-headers (starting with ':').
// Expects a lower-case key (as is_valid_key requires).
bool is_reserved_key(std::string_view key);

// grpc-message value: bytes outside 0x20-0x7E, and '%', become "%XX" (upper
// case hex); everything else is kept. UTF-8 text is thus encoded byte-wise.
std::string percent_encode(std::string_view message);
// Inverse, tolerant as the spec requires: a '%' not followed by two hex digits
// (either case) is kept literally; never fails.
std::string percent_decode(std::string_view value);

// Base64 with the standard alphabet (RFC 4648 §4). The spec says senders
// "should emit un-padded values" while every implementation accepts both;
// padding is on by default here (the most widely tolerated form), and
// callers may turn it off.
std::string base64_encode(std::string_view data, bool pad = true);
// Accepts padded and unpadded input; nullopt for characters outside the
// alphabet, misplaced or excess '=', a length that no encoding produces, or
// non-zero bits in the last character's unused part (non-canonical).
std::optional<std::string> base64_decode(std::string_view text);
// A "-bin" header value may join several values with ','; decodes each
// (surrounding spaces trimmed). Nullopt if any part is invalid.
std::optional<std::vector<std::string>> decode_binary_values(std::string_view value);

}  // namespace trident::rpc::grpc
