#include "rpc/grpc/compression.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace trident::rpc::grpc {
namespace {

constexpr int kWindowBits = 15;
constexpr int kGzipWindowBits = 15 + 16;  // zlib: +16 selects the gzip wrapper
constexpr std::size_t kMinInflateBuffer = 4096;

int window_bits(Encoding e) {
  return e == Encoding::gzip ? kGzipWindowBits : kWindowBits;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status internal(std::string message) {
  return {StatusCode::internal, std::move(message), {}};
}

class InflateGuard {
 public:
  explicit InflateGuard(z_stream& zs) : zs_(zs) {}
  ~InflateGuard() { inflateEnd(&zs_); }
  InflateGuard(const InflateGuard&) = delete;
  InflateGuard& operator=(const InflateGuard&) = delete;

 private:
  z_stream& zs_;
};

class DeflateGuard {
 public:
  explicit DeflateGuard(z_stream& zs) : zs_(zs) {}
  ~DeflateGuard() { deflateEnd(&zs_); }
  DeflateGuard(const DeflateGuard&) = delete;
  DeflateGuard& operator=(const DeflateGuard&) = delete;

 private:
  z_stream& zs_;
};

}  // namespace

std::string_view encoding_name(Encoding e) {
  switch (e) {
    case Encoding::gzip:
      return "gzip";
    case Encoding::deflate:
      return "deflate";
    case Encoding::identity:
      break;
  }
  return "identity";
}

std::optional<Encoding> parse_encoding(std::string_view name) {
  for (const Encoding e : {Encoding::identity, Encoding::gzip, Encoding::deflate}) {
    if (iequals(name, encoding_name(e))) return e;
  }
  return std::nullopt;
}

EncodingSet EncodingSet::all() {
  EncodingSet s;
  s.insert(Encoding::gzip);
  s.insert(Encoding::deflate);
  return s;
}

EncodingSet parse_accept_encoding(std::string_view value) {
  EncodingSet set;
  while (true) {
    const std::size_t comma = value.find(',');
    if (const auto e = parse_encoding(trim(value.substr(0, comma)))) set.insert(*e);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return set;
}

std::string format_accept_encoding(EncodingSet set) {
  std::string out;
  for (const Encoding e : {Encoding::identity, Encoding::gzip, Encoding::deflate}) {
    if (!set.contains(e)) continue;
    if (!out.empty()) out += ',';
    out += encoding_name(e);
  }
  return out;
}

Encoding choose_encoding(EncodingSet peer_accepts, std::span<const Encoding> preference) {
  for (const Encoding e : preference) {
    if (peer_accepts.contains(e)) return e;
  }
  return Encoding::identity;
}

Status compress(Encoding e, std::string_view in, std::string& out, int level) {
  if (e == Encoding::identity) {
    out.assign(in);
    return {};
  }
  if (in.size() > std::numeric_limits<uInt>::max())
    return internal("message too large to compress");
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits(e), 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return internal("compression failed (deflateInit2)");
  }
  DeflateGuard guard(zs);
  const uLong bound = deflateBound(&zs, static_cast<uLong>(in.size()));
  out.resize(bound);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(std::min<uLong>(bound, std::numeric_limits<uInt>::max()));
  // With a deflateBound-sized buffer one Z_FINISH call completes the stream.
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    out.clear();
    return internal("compression failed (deflate)");
  }
  out.resize(zs.total_out);
  return {};
}

Status decompress(Encoding e, std::string_view in, std::string& out, std::size_t max_size) {
  const auto too_large = [max_size] {
    return Status{StatusCode::resource_exhausted,
                  "decompressed message larger than max (" + std::to_string(max_size) + " bytes)",
                  {}};
  };
  if (e == Encoding::identity) {
    if (in.size() > max_size) {
      out.clear();
      return too_large();
    }
    out.assign(in);
    return {};
  }
  out.clear();
  if (in.size() > std::numeric_limits<uInt>::max()) return internal("compressed message too large");
  z_stream zs{};
  if (inflateInit2(&zs, window_bits(e)) != Z_OK) {
    return internal("decompression failed (inflateInit2)");
  }
  InflateGuard guard(zs);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());

  // The output may grow to one byte past the limit: producing that byte is how
  // an oversized message is detected, and nothing beyond it is inflated.
  const std::size_t cap =
      max_size < std::numeric_limits<std::size_t>::max() ? max_size + 1 : max_size;
  std::size_t produced = 0;
  // Sizes `out` to n (≤ cap) keeping the bytes produced so far, with an exact
  // reservation: std::string's own growth could double the capacity past the cap.
  const auto grow_to = [&out, &produced](std::size_t n) {
    if (out.capacity() < n) {
      std::string bigger;
      bigger.reserve(n);
      bigger.append(out, 0, produced);
      out.swap(bigger);
    }
    out.resize(n);
  };
  grow_to(std::min(cap, std::max(kMinInflateBuffer, in.size() * 4)));
  while (true) {
    if (produced == out.size()) {
      if (produced > max_size) {
        out.clear();
        return too_large();
      }
      grow_to(std::min(cap, std::max(out.size() * 2, kMinInflateBuffer)));  // geometric
    }
    const std::size_t room =
        std::min<std::size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    const int ret = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (ret == Z_STREAM_END) {
      if (produced > max_size) {
        out.clear();
        return too_large();
      }
      if (zs.avail_in != 0) {
        out.clear();
        return internal("trailing data after compressed message");
      }
      out.resize(produced);
      return {};
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room
    out.clear();
    if (ret == Z_BUF_ERROR) return internal("truncated compressed message");
    return internal(std::string("decompression failed: ") + (zs.msg ? zs.msg : "corrupt data"));
  }
}

}  // namespace trident::rpc::grpc
