#include "rpc/grpc/metadata.hpp"

#include <array>
#include <cstdint>
#include <utility>

namespace trident::rpc::grpc {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHexUpper[] = "0123456789ABCDEF";

constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr std::array<std::int8_t, 256> kDecode = make_decode_table();

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool needs_escape(unsigned char c) {
  return c < 0x20 || c > 0x7e || c == '%';
}

}  // namespace

bool is_valid_key(std::string_view key) {
  if (key.empty()) return false;
  for (const char c : key) {
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool is_binary_key(std::string_view key) {
  return key.size() > 4 && key.ends_with("-bin");
}

bool is_valid_ascii_value(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

bool is_reserved_key(std::string_view key) {
  if (key.starts_with("grpc-") || key.starts_with(':')) return true;
  static constexpr std::string_view kReserved[] = {
      "te",         "content-type",     "user-agent",        "connection",
      "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
      "host",       "content-length",
  };
  for (const auto r : kReserved) {
    if (key == r) return true;
  }
  return false;
}

std::string percent_encode(std::string_view message) {
  std::size_t escapes = 0;
  for (const char c : message) escapes += needs_escape(static_cast<unsigned char>(c));
  if (escapes == 0) return std::string(message);
  std::string out;
  out.reserve(message.size() + 2 * escapes);
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (needs_escape(u)) {
      out += '%';
      out += kHexUpper[u >> 4];
      out += kHexUpper[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string percent_decode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size()) {
      const int hi = hex_value(value[i + 1]);
      const int lo = hex_value(value[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>((hi << 4) | lo);
        i += 2;
        continue;
      }
    }
    out += value[i];
  }
  return out;
}

std::string base64_encode(std::string_view data, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  for (; n >= 3; n -= 3, p += 3) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (n == 1) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (n == 2) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Strip padding: only a complete 4-character group may carry it, 1 or 2 '='.
  std::size_t len = text.size();
  if (len > 0 && text[len - 1] == '=') {
    if (len % 4 != 0) return std::nullopt;
    --len;
    if (text[len - 1] == '=') --len;
  }
  if (len % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(len / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const std::int8_t v = kDecode[static_cast<unsigned char>(text[i])];
    if (v < 0) return std::nullopt;  // includes a '=' inside the data
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The leftover bits (2 or 4) of a partial group must be zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> decode_binary_values(std::string_view value) {
  std::vector<std::string> values;
  while (true) {
    const std::size_t comma = value.find(',');
    std::string_view part = value.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto decoded = base64_decode(part);
    if (!decoded) return std::nullopt;
    values.push_back(std::move(*decoded));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return values;
}

}  // namespace trident::rpc::grpc
