// WebSocket handshake keys. See handshake.hpp.
#include "ws/handshake.hpp"

#include <openssl/sha.h>

#include <array>
#include <cstdint>

namespace trident::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (size - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

int base64_value(char c) {
  const std::size_t pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string accept_key(std::string_view sec_websocket_key) {
  std::string input;
  input.reserve(sec_websocket_key.size() + kGuid.size());
  input.append(sec_websocket_key);
  input.append(kGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  return base64(digest.data(), digest.size());
}

bool valid_client_key(std::string_view key) {
  // 16 bytes = 5 groups of 3 bytes (20 characters) + 1 byte (2 characters and "==").
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (base64_value(key[i]) < 0) return false;
  }
  // The last character carries the final byte's low 2 bits and 4 unused bits.
  return (base64_value(key[21]) & 0x0F) == 0;
}

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (iequal(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// The server's permessage-deflate answer, as a client that offered
// server_no_context_takeover reads it.
std::optional<DeflateParams> accept_answer(std::string_view ext, std::string& error) {
  std::size_t semi = ext.find(';');
  if (trim_ows(ext.substr(0, semi)) != "permessage-deflate") {
    error = "server accepted an extension that was not offered";
    return std::nullopt;
  }
  DeflateParams p;
  bool server_nct = false;
  while (semi != std::string_view::npos) {
    ext.remove_prefix(semi + 1);
    semi = ext.find(';');
    std::string_view param = trim_ows(ext.substr(0, semi));
    std::size_t eq = param.find('=');
    std::string_view name = trim_ows(param.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? "" : trim_ows(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    int bits = 0;
    for (char c : value) bits = c >= '0' && c <= '9' && bits < 100 ? bits * 10 + (c - '0') : 100;
    if (name == "server_no_context_takeover" && value.empty()) {
      server_nct = true;
    } else if (name == "client_no_context_takeover" && value.empty()) {
      // We never keep context across messages anyway.
    } else if (name == "server_max_window_bits" && bits >= 8 && bits <= 15) {
      p.server_max_window_bits = bits;  // our 15-bit inflater reads any
    } else if (name == "client_max_window_bits" && bits >= 9 && bits <= 15) {
      p.client_max_window_bits = bits;
    } else {
      error = "unsupported permessage-deflate parameter in the answer: " + std::string(param);
      return std::nullopt;
    }
  }
  if (!server_nct) {
    error = "permessage-deflate answer without the requested server_no_context_takeover";
    return std::nullopt;
  }
  return p;
}

}  // namespace

std::string client_key(const std::array<std::uint8_t, 16>& nonce) {
  return base64(nonce.data(), nonce.size());
}

std::string client_request(const ClientOffer& offer, std::string_view key) {
  std::string r = "GET ";
  r.append(offer.path.empty() ? "/" : offer.path).append(" HTTP/1.1\r\nHost: ");
  r.append(offer.host).append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
  r.append("Sec-WebSocket-Key: ").append(key).append("\r\nSec-WebSocket-Version: 13\r\n");
  if (!offer.protocols.empty()) {
    r.append("Sec-WebSocket-Protocol: ");
    for (std::size_t i = 0; i < offer.protocols.size(); ++i) {
      if (i) r.append(", ");
      r.append(offer.protocols[i]);
    }
    r.append("\r\n");
  }
  if (offer.deflate) {
    r.append(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover; client_max_window_bits\r\n");
  }
  if (!offer.origin.empty()) r.append("Origin: ").append(offer.origin).append("\r\n");
  for (const auto& [name, value] : offer.headers) {
    r.append(name).append(": ").append(value).append("\r\n");
  }
  r.append("\r\n");
  return r;
}

ServerAnswer check_server_response(std::string_view data, const ClientOffer& offer,
                                   std::string_view key) {
  ServerAnswer a;
  std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return a;
  a.head_size = end + 4;
  std::string_view head = data.substr(0, end + 2);
  auto fail = [&](std::string why) {
    a.error = std::move(why);
    return a;
  };
  std::size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) {
    return fail("malformed status line");
  }
  for (std::size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') return fail("malformed status line");
    a.status = a.status * 10 + (status_line[i] - '0');
  }
  if (a.status != 101) return fail("the server answered " + std::to_string(a.status));
  std::string upgrade, connection, accept, protocol, extensions;
  int protocol_fields = 0;
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("malformed header line");
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim_ows(line.substr(colon + 1));
    auto append = [&](std::string& to) {
      if (!to.empty()) to += ", ";
      to.append(value);
    };
    if (iequal(name, "upgrade")) {
      append(upgrade);
    } else if (iequal(name, "connection")) {
      append(connection);
    } else if (iequal(name, "sec-websocket-accept")) {
      append(accept);
    } else if (iequal(name, "sec-websocket-protocol")) {
      append(protocol);
      ++protocol_fields;
    } else if (iequal(name, "sec-websocket-extensions")) {
      append(extensions);
    }
  }
  if (!iequal(trim_ows(upgrade), "websocket")) return fail("Upgrade is not websocket");
  if (!has_token(connection, "upgrade")) return fail("Connection does not say upgrade");
  if (accept != accept_key(key)) return fail("wrong Sec-WebSocket-Accept");
  if (protocol_fields > 1 || protocol.find(',') != std::string::npos) {
    return fail("more than one subprotocol selected");
  }
  if (!protocol.empty()) {
    bool offered = false;
    for (const auto& p : offer.protocols) offered |= p == protocol;
    if (!offered) return fail("the server selected a subprotocol that was not offered");
    a.subprotocol = protocol;
  }
  if (!extensions.empty()) {
    if (!offer.deflate) return fail("the server accepted an extension that was not offered");
    if (extensions.find(',') != std::string::npos) return fail("more than one extension accepted");
    std::string why;
    a.deflate = accept_answer(extensions, why);
    if (!a.deflate) return fail(why);
  }
  return a;
}

}  // namespace trident::ws
