// Conditional requests and caching headers for handlers serving cacheable
// content (RFC 9110 §13, RFC 9111 §5.2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.hpp"
#include "http/response.hpp"

namespace trident::http {

// A strong validator derived from the content: "\"<16 hex digits>\"".
std::string make_etag(std::string_view content);

// True if If-None-Match lists `etag` (weak comparison) or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

struct CacheControl {
  std::int64_t max_age = -1;  // seconds; -1 → omit
  bool is_public = false;
  bool is_private = false;
  bool no_cache = false;
  bool no_store = false;
  bool immutable = false;
  bool must_revalidate = false;
};
std::string format_cache_control(const CacheControl& cc);

// Sets ETag (and Cache-Control if given) on `res`; if the request's
// If-None-Match matches, sends 304 and returns true: the handler is done.
bool respond_not_modified_if_fresh(const Request& req, Response& res, std::string_view etag,
                                   const CacheControl* cache_control = nullptr);

}  // namespace trident::http
