#include "ws/deflate.hpp"

#include <zlib.h>

#include <array>
#include <memory>

namespace trident::ws {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A window-bits value: 8..15, optionally as a quoted string (RFC 7692 §7.1).
std::optional<int> parse_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2) return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (v.size() == 2 && v.front() == '0') return std::nullopt;
  if (n < 8 || n > 15) return std::nullopt;
  return n;
}

std::optional<DeflateParams> accept_offer(std::string_view offer) {
  std::size_t semi = offer.find(';');
  if (trim(offer.substr(0, semi)) != "permessage-deflate") return std::nullopt;
  DeflateParams p;
  bool seen_server_nct = false, seen_client_nct = false, seen_server_bits = false,
       seen_client_bits = false;
  while (semi != std::string_view::npos) {
    offer.remove_prefix(semi + 1);
    semi = offer.find(';');
    std::string_view param = trim(offer.substr(0, semi));
    std::size_t eq = param.find('=');
    std::string_view name = trim(param.substr(0, eq));
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = trim(param.substr(eq + 1));
    if (name == "server_no_context_takeover" || name == "client_no_context_takeover") {
      bool& seen = name.front() == 's' ? seen_server_nct : seen_client_nct;
      if (seen || value) return std::nullopt;
      seen = true;
    } else if (name == "server_max_window_bits") {
      if (seen_server_bits || !value) return std::nullopt;
      seen_server_bits = true;
      auto bits = parse_bits(*value);
      if (!bits || *bits == 8) return std::nullopt;
      p.server_max_window_bits = *bits;
    } else if (name == "client_max_window_bits") {
      // The client can take any window we name; we never limit it (the
      // inflater's 15-bit window reads every smaller one).
      if (seen_client_bits || (value && !parse_bits(*value))) return std::nullopt;
      seen_client_bits = true;
    } else {
      return std::nullopt;
    }
  }
  return p;
}

struct ZlibThreadState {
  std::array<std::unique_ptr<z_stream>, 16> deflaters;  // by window bits
  std::unique_ptr<z_stream> inflater;

  ~ZlibThreadState() {
    for (auto& d : deflaters) {
      if (d) deflateEnd(d.get());
    }
    if (inflater) inflateEnd(inflater.get());
  }

  z_stream* deflater(int bits) {
    auto& d = deflaters[static_cast<std::size_t>(bits)];
    if (!d) {
      d = std::make_unique<z_stream>();
      if (deflateInit2(d.get(), Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        d.reset();
        return nullptr;
      }
    }
    return d.get();
  }

  z_stream* inflate_stream() {
    if (!inflater) {
      inflater = std::make_unique<z_stream>();
      if (inflateInit2(inflater.get(), -15) != Z_OK) {
        inflater.reset();
        return nullptr;
      }
    }
    return inflater.get();
  }
};

ZlibThreadState& zlib_state() {
  thread_local ZlibThreadState state;
  return state;
}

constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

std::optional<DeflateParams> negotiate_deflate(std::string_view header) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    if (auto p = accept_offer(header.substr(0, comma))) return p;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

std::string deflate_response(const DeflateParams& p) {
  std::string r = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
  if (p.server_max_window_bits != 15) {
    r += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
  }
  return r;
}

void deflate_message(std::string_view message, int window_bits, std::string& out) {
  z_stream* z = zlib_state().deflater(window_bits);
  if (!z) throw std::bad_alloc();
  deflateReset(z);
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z->avail_in = static_cast<uInt>(message.size());
  std::size_t start = out.size();
  std::size_t room = deflateBound(z, static_cast<uLong>(message.size())) + 16;
  for (;;) {
    std::size_t used = out.size();
    out.resize(used + room);
    z->next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z->avail_out = static_cast<uInt>(room);
    deflate(z, Z_SYNC_FLUSH);
    out.resize(out.size() - z->avail_out);
    if (z->avail_in == 0 && z->avail_out != 0) break;
    room = 4096;
  }
  // A sync flush ends in an empty stored block, 00 00 FF FF: drop it.
  if (out.size() - start >= 4 && std::string_view(out).substr(out.size() - 4) ==
                                     std::string_view(reinterpret_cast<const char*>(kTail), 4)) {
    out.resize(out.size() - 4);
  }
}

InflateResult inflate_message(std::string_view compressed, std::size_t limit, std::string& out) {
  z_stream* z = zlib_state().inflate_stream();
  if (!z) throw std::bad_alloc();
  inflateReset(z);
  std::size_t start = out.size();
  char chunk[16384];
  auto run = [&](const unsigned char* data, std::size_t size) -> std::optional<InflateResult> {
    z->next_in = const_cast<Bytef*>(data);
    z->avail_in = static_cast<uInt>(size);
    for (;;) {
      z->next_out = reinterpret_cast<Bytef*>(chunk);
      z->avail_out = sizeof chunk;
      int rc = inflate(z, Z_SYNC_FLUSH);
      std::size_t produced = sizeof chunk - z->avail_out;
      if (out.size() - start + produced > limit) return InflateResult::too_big;
      out.append(chunk, produced);
      if (rc == Z_STREAM_END) return InflateResult::ok;  // a final block: the rest is ignored
      if (rc != Z_OK && rc != Z_BUF_ERROR) return InflateResult::corrupt;
      // Done when all input is in and the output buffer was not filled
      // (a full buffer may mean more output is waiting).
      if (z->avail_in == 0 && z->avail_out != 0) break;
      if (rc == Z_BUF_ERROR) break;  // no progress possible
    }
    return std::nullopt;
  };
  if (auto r = run(reinterpret_cast<const unsigned char*>(compressed.data()), compressed.size())) {
    return *r;
  }
  if (auto r = run(kTail, sizeof kTail)) return *r;
  return InflateResult::ok;
}

}  // namespace trident::ws
