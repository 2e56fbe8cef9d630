#include "http/headers.hpp"

#include <algorithm>
#include <cstring>

#include "core/ascii.hpp"

namespace trident::http {
namespace {
inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

void Headers::add(std::string_view name, std::string_view value) {
  const std::size_t off = arena_.size();
  // Appends (a resize would zero the bytes first); the name is then
  // lower-cased in place, eight bytes at a time.
  arena_.append(name);
  char* p = arena_.data() + off;
  ascii::copy_lower(p, p, name.size());
  arena_.append(value);
  entries_.push_back(Entry{static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(name.size()),
                           static_cast<std::uint32_t>(off + name.size()),
                           static_cast<std::uint32_t>(value.size())});
}

void Headers::set(std::string_view name, std::string_view value) {
  std::string_view a = arena_;
  for (const Entry& e : entries_) {
    if (iequals(a.substr(e.name_off, e.name_len), name)) {
      remove(name);
      break;
    }
  }
  add(name, value);
}

void Headers::remove(std::string_view name) {
  // The arena keeps the bytes until clear(); removals are rare.
  std::erase_if(entries_, [&](const Entry& e) {
    return iequals(std::string_view(arena_).substr(e.name_off, e.name_len), name);
  });
}

std::optional<std::string_view> Headers::find(std::string_view name) const {
  std::string_view a = arena_;
  for (const Entry& e : entries_) {
    if (a.substr(e.name_off, e.name_len) == name) return a.substr(e.value_off, e.value_len);
  }
  return std::nullopt;
}

std::string_view Headers::get(std::string_view name) const {
  return find(name).value_or("");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace trident::http
