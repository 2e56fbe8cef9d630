#include "http/cache.hpp"

namespace trident::http {

std::string make_etag(std::string_view content) {
  // FNV-1a, 64 bits: cheap and stable; a validator, not a security boundary.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : content) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(h >> shift) & 0xf]);
  out.push_back('"');
  return out;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  auto opaque = [](std::string_view t) {
    if (t.starts_with("W/")) t.remove_prefix(2);
    return t;
  };
  std::string_view want = opaque(etag);
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    std::string_view item = if_none_match.substr(0, comma);
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*" || opaque(item) == want) return true;
  }
  return false;
}

std::string format_cache_control(const CacheControl& cc) {
  std::string out;
  auto add = [&](std::string_view d) {
    if (!out.empty()) out.append(", ");
    out.append(d);
  };
  if (cc.is_public) add("public");
  if (cc.is_private) add("private");
  if (cc.no_cache) add("no-cache");
  if (cc.no_store) add("no-store");
  if (cc.max_age >= 0) add("max-age=" + std::to_string(cc.max_age));
  if (cc.must_revalidate) add("must-revalidate");
  if (cc.immutable) add("immutable");
  return out;
}

bool respond_not_modified_if_fresh(const Request& req, Response& res, std::string_view etag,
                                   const CacheControl* cache_control) {
  res.headers.set("etag", etag);
  if (cache_control) res.headers.set("cache-control", format_cache_control(*cache_control));
  auto inm = req.headers.find("if-none-match");
  if (!inm || !(req.method == "GET" || req.method == "HEAD") || !etag_matches(*inm, etag)) {
    return false;
  }
  res.status = 304;
  res.finish();  // 304 carries no body and no content-length of its own
  return true;
}

}  // namespace trident::http
